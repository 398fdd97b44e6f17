"""Identity keys: every spelling of one LinkedIn profile / company gives one key, different ones never collide."""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dagster_sixtyfour.identity import (
    company_domain,
    company_key,
    lead_key,
    linkedin_company_slug,
    linkedin_public_id,
    normalize_domain,
    numeric_company_id,
)

JOSE_NFC = "josé-alvarez"
JOSE_NFD = unicodedata.normalize("NFD", JOSE_NFC)
assert JOSE_NFD != JOSE_NFC

# (value, expected normalized public id)
PUBLIC_ID_VARIANTS: list[tuple[Any, str | None]] = [
    ("jane-doe-42", "jane-doe-42"),
    ("Jane-Doe-42", "jane-doe-42"),
    ("  jane-doe-42 \n", "jane-doe-42"),
    ("https://www.linkedin.com/in/jane-doe-42", "jane-doe-42"),
    ("http://www.linkedin.com/in/jane-doe-42", "jane-doe-42"),
    ("https://linkedin.com/in/jane-doe-42", "jane-doe-42"),
    ("https://www.linkedin.com/in/jane-doe-42/", "jane-doe-42"),
    ("https://uk.linkedin.com/in/jane-doe-42", "jane-doe-42"),
    ("https://de.linkedin.com/in/jane-doe-42?originalSubdomain=de", "jane-doe-42"),
    ("linkedin.com/in/jane-doe-42", "jane-doe-42"),
    ("www.linkedin.com/in/jane-doe-42/", "jane-doe-42"),
    ("https://www.linkedin.com/in/jane-doe-42?trk=public_profile_browsemap", "jane-doe-42"),
    ("https://www.linkedin.com/in/jane-doe-42/#experience", "jane-doe-42"),
    ("https://www.linkedin.com/in/jane-doe-42/details/experience/", "jane-doe-42"),
    ("HTTPS://WWW.LINKEDIN.COM/IN/JANE-DOE-42/", "jane-doe-42"),
    ("  https://www.linkedin.com/in/jane-doe-42  ", "jane-doe-42"),
    ("https://www.linkedin.com:443/in/jane-doe-42", "jane-doe-42"),
    ("https://www.linkedin.com//in//jane-doe-42", "jane-doe-42"),
    ("jos%C3%A9-alvarez", JOSE_NFC),
    ("JOS%C3%89-ALVAREZ", JOSE_NFC),
    (JOSE_NFC, JOSE_NFC),
    (JOSE_NFD, JOSE_NFC),
    ("José-Álvarez".replace("Á", "A"), JOSE_NFC),
    ("https://www.linkedin.com/in/jos%C3%A9-alvarez/", JOSE_NFC),
    (f"https://de.linkedin.com/in/{quote(JOSE_NFD)}?originalSubdomain=de", JOSE_NFC),
    (f"https://www.linkedin.com/in/{JOSE_NFD}/", JOSE_NFC),
    ("https://www.linkedin.com/in/%E6%9D%8E%E9%9B%B7", "李雷"),
    ("https://www.linkedin.com/in/httpster", "httpster"),
    # not a person / not usable
    ("https://www.linkedin.com/company/acme", None),
    ("https://www.linkedin.com/school/acme-university/", None),
    ("https://www.linkedin.com/in/", None),
    ("https://www.linkedin.com/in//", None),
    ("https://www.linkedin.com/", None),
    ("https://example.com/in/jane-doe-42", None),
    ("https://linkedin.com.evil.example/in/jane-doe-42", None),
    ("https://evil.example/linkedin.com/in/jane-doe-42", None),
    ("https://notlinkedin.com/in/jane-doe-42", None),
    ("ftp://www.linkedin.com/in/jane-doe-42", None),
    ("https:linkedin.com/in/jane-doe-42", None),
    ("https://www.linkedin.com/in/jane%20doe", None),
    ("https://www.linkedin.com/in/jane%2Fdoe", None),
    ("https://www.linkedin.com/in/%FF%FE", None),
    ("in/jane-doe-42", None),
    ("jane doe", None),
    ("jane/doe", None),
    ("http", None),
    ("httpster", None),
    ("", None),
    ("   ", None),
    (None, None),
    (True, None),
    ({"element": "jane"}, None),
]


@pytest.mark.parametrize(("value", "expected"), PUBLIC_ID_VARIANTS)
def test_linkedin_public_id_variants(value: Any, expected: str | None) -> None:
    assert linkedin_public_id(value) == expected


def test_variant_table_is_large_and_all_spellings_of_jose_agree() -> None:
    assert len(PUBLIC_ID_VARIANTS) >= 25
    spellings = ["jos%C3%A9-alvarez", JOSE_NFC, JOSE_NFD, "https://uk.linkedin.com/in/JOS%C3%89-ALVAREZ?trk=x"]
    assert {lead_key({"publicId": s}) for s in spellings} == {JOSE_NFC}
    assert unicodedata.is_normalized("NFC", JOSE_NFC)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"publicId": "Jane"}, "jane"),
        ({"public_id": "Jane"}, "jane"),
        ({"publicId": "jane", "linkedinUrl": "https://www.linkedin.com/in/other"}, "jane"),
        ({"publicId": None, "linkedinUrl": "https://www.linkedin.com/in/jane/"}, "jane"),
        ({"publicId": "", "linkedin_url": "linkedin.com/in/Jane"}, "jane"),
        ({"publicId": "   ", "profileUrl": "https://uk.linkedin.com/in/jane"}, "jane"),
        ({"publicId": "not valid", "profile_url": "https://www.linkedin.com/in/jane"}, "jane"),
        ({"linkedin": "https://www.linkedin.com/in/jane?trk=1"}, "jane"),
        ({"url": "https://www.linkedin.com/in/jane"}, "jane"),
        ({"url": "https://www.linkedin.com/company/acme"}, None),
        ({"linkedinUrl": "https://www.linkedin.com/company/acme", "url": "linkedin.com/in/jane"}, "jane"),
        ({"publicId": "https://www.linkedin.com/in/Jane"}, "jane"),
        ({"raw_source": {"publicId": "Jane"}}, "jane"),
        ({"publicId": {"element": "Jane"}}, "jane"),
        ({"publicId": None}, None),
        ({"publicId": ""}, None),
        ({}, None),
        ({"fullName": "Jane Doe"}, None),
    ],
)
def test_lead_key_sources_and_fallbacks(row: dict[str, Any], expected: str | None) -> None:
    assert lead_key(row) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme.io", "acme.io"),
        ("ACME.IO", "acme.io"),
        ("www.acme.io", "acme.io"),
        ("https://www.acme.io/about?x=1#y", "acme.io"),
        ("http://acme.io:8080/", "acme.io"),
        ("acme.io.", "acme.io"),
        ("//acme.io", "acme.io"),
        ("shop.acme.co.uk/", "shop.acme.co.uk"),
        ("  www.Acme.io/  ", "acme.io"),
        ("www.com", "www.com"),
        ("MÜNCHEN.de", "münchen.de"),
        ("acme", None),
        ("localhost", None),
        ("acme .io", None),
        ("a..io", None),
        ("http://", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_normalize_domain(value: Any, expected: str | None) -> None:
    assert normalize_domain(value) == expected


def test_company_domain_skips_linkedin_pages() -> None:
    assert company_domain("https://www.linkedin.com/company/acme") is None
    assert company_domain("https://uk.linkedin.com/") is None
    assert company_domain("https://acme.io") == "acme.io"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.linkedin.com/company/acme-labs", "acme-labs"),
        ("https://www.linkedin.com/company/Acme-Labs/", "acme-labs"),
        ("http://linkedin.com/company/ACME-LABS?trk=x", "acme-labs"),
        ("linkedin.com/company/acme-labs/about/", "acme-labs"),
        ("https://de.linkedin.com/company/m%C3%BCller-gmbh", "müller-gmbh"),
        ("https://www.linkedin.com/company/1441", "1441"),
        ("https://www.linkedin.com/in/jane", None),
        ("https://example.com/company/acme", None),
        ("https://www.linkedin.com/company/", None),
        ("acme-labs", None),
        (None, None),
    ],
)
def test_linkedin_company_slug(value: Any, expected: str | None) -> None:
    assert linkedin_company_slug(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1441, 1441), ("1441", 1441), (" 01441 ", 1441), (1441.0, 1441), (True, None), (False, None), (0, None),
     (-5, None), ("-5", None), ("14a", None), (1.5, None), ("", None), (None, None), (2**63, None), ("١٢", None)],
)  # fmt: skip
def test_numeric_company_id(value: Any, expected: int | None) -> None:
    assert numeric_company_id(value) == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"companyId": 1441}, "li:1441"),
        ({"company_id": "1441"}, "li:1441"),
        ({"source_id": 1441, "website": "acme.io"}, "li:1441"),
        ({"source_id": None, "company_id": 1441}, "li:1441"),
        ({"source_id": True, "website_domain": "acme.io"}, "domain:acme.io"),
        ({"source_id": 0, "company_id": -3, "domain": "ACME.io"}, "domain:acme.io"),
        ({"website": "https://www.acme.io/about"}, "domain:acme.io"),
        ({"website": "https://www.linkedin.com/company/acme"}, None),
        ({"website": "https://www.linkedin.com/company/acme", "linkedin_url": "linkedin.com/company/acme"},
         "slug:acme"),
        ({"website": "not a domain", "linkedinUrl": "https://www.linkedin.com/company/Acme/"}, "slug:acme"),
        ({"canonical_linkedin_url": "https://www.linkedin.com/company/acme"}, "slug:acme"),
        ({"url": "https://www.linkedin.com/company/1441/"}, "li:1441"),
        ({"url": "https://www.linkedin.com/in/jane"}, None),
        ({"raw_source": {"source_id": "77"}}, "li:77"),
        ({"company_name": "Acme"}, None),
        ({}, None),
    ],
)  # fmt: skip
def test_company_key(row: dict[str, Any], expected: str | None) -> None:
    assert company_key(row) == expected


def test_company_key_namespaces_never_collide() -> None:
    keys = {
        company_key({"website": "acme.io"}),
        company_key({"linkedin_url": "https://www.linkedin.com/company/acme.io"}),
        company_key({"company_id": 123}),
        company_key({"linkedin_url": "https://www.linkedin.com/company/li-123"}),
    }
    assert keys == {"domain:acme.io", "slug:acme.io", "li:123", "slug:li-123"}


# --- properties ---------------------------------------------------------------------------------------------

ID_CHARS = st.characters(categories=["Ll", "Lu", "Lo", "Nd"]) | st.sampled_from("-")
ids = st.text(alphabet=ID_CHARS, min_size=1, max_size=40)


def url_forms(raw: str) -> list[str]:
    """Every spelling of the profile URL of ``raw`` that LinkedIn and exports produce."""
    nfd = unicodedata.normalize("NFD", raw)
    forms = [
        f"https://www.linkedin.com/in/{raw}",
        f"http://www.linkedin.com/in/{raw}/",
        f"https://linkedin.com/in/{raw}",
        f"linkedin.com/in/{raw}",
        f"www.linkedin.com/in/{raw}/",
        f"https://uk.linkedin.com/in/{raw}?trk=public_profile",
        f"https://de.linkedin.com/in/{quote(nfd)}?originalSubdomain=de",
        f"https://www.linkedin.com/in/{quote(raw)}/#about",
        f"HTTPS://WWW.LINKEDIN.COM/in/{raw}",
        f"  https://www.linkedin.com/in/{nfd}/  ",
    ]
    if raw.upper().lower() == raw.lower():  # some letters do not survive a case round trip (ß -> SS)
        forms.append(f"https://www.linkedin.com/IN/{raw.upper()}/")
        forms.append(quote(raw.upper()))
    return forms


@given(ids)
def test_every_url_form_gives_the_bare_id_key(raw: str) -> None:
    key = linkedin_public_id(raw)
    assume(key is not None)  # e.g. ids starting with "http" are not bare ids
    assert linkedin_public_id(key) == key  # normalization is idempotent: the key is a normalized id
    assert lead_key({"publicId": raw}) == key
    assert lead_key({"publicId": unicodedata.normalize("NFD", raw)}) == key
    assert lead_key({"publicId": quote(raw)}) == key
    for form in url_forms(raw):
        assert linkedin_public_id(form) == key, form
        assert lead_key({"publicId": None, "linkedinUrl": form}) == key, form


@given(ids, ids)
def test_different_ids_never_share_a_key(a: str, b: str) -> None:
    ka, kb = linkedin_public_id(a), linkedin_public_id(b)
    assume(ka is not None and kb is not None)
    assert (lead_key({"publicId": a}) == lead_key({"publicId": b})) == (ka == kb)
    assert lead_key({"linkedinUrl": f"https://www.linkedin.com/in/{quote(a)}"}) == ka  # the key is the id itself


labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
domains = st.builds(lambda a, b: f"{a}.{b}", labels, st.sampled_from(["io", "com", "de", "co.uk"]))
slugs = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20)
company_ids = st.integers(min_value=1, max_value=2**63 - 1)


@given(company_ids, domains, slugs, st.randoms())
def test_company_key_id_beats_domain_beats_slug(number: int, domain: str, slug: str, rnd: Any) -> None:
    assume(domain != "linkedin.com")  # a LinkedIn page is never a company website
    parts = {
        "source_id": rnd.choice([number, str(number)]),
        "website": rnd.choice([domain, f"https://www.{domain}/about", domain.upper()]),
        "linkedin_url": f"https://www.linkedin.com/company/{slug}/",
    }
    items = list(parts.items())
    rnd.shuffle(items)  # dict order must not matter
    row = dict(items)
    assert company_key(row) == f"li:{number}"
    del row["source_id"]
    assert company_key(row) == f"domain:{domain}"
    del row["website"]
    assert company_key(row) == f"slug:{slug}"
