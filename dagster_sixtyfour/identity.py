"""Identity keys: who a row is, so the lead tables can deduplicate across pages, searches and export formats.

Person key (``lead_key``)
    The normalized LinkedIn public id itself: percent-decoded, Unicode NFC, lower-case, stripped. It is taken
    from ``publicId`` / ``public_id`` or, failing that, from the ``/in/<id>`` part of a LinkedIn profile URL in
    ``linkedinUrl`` / ``linkedin_url`` / ``profileUrl`` / ``profile_url`` / ``linkedin`` / ``url`` (any
    spelling: http or https, ``www.`` or a country subdomain, no scheme, trailing slash, query string,
    fragment, upper case, percent-encoded or decomposed Unicode). The key is the id, not a hash of it: every
    spelling of one profile gives one key, two different ids can never collide, and the key stays readable
    and joinable with anything else that holds LinkedIn ids (exclusion lists, CRMs).

Company key (``company_key``)
    ``li:<digits>`` from the numeric LinkedIn company id (``companyId`` / ``company_id`` / ``source_id``),
    else ``domain:<domain>`` from the normalized website domain (``website_domain`` / ``domain`` /
    ``website``), else ``slug:<slug>`` from a LinkedIn ``/company/<slug>`` URL (``linkedin_url`` /
    ``canonical_linkedin_url`` / ``linkedinUrl`` / ``url``). The prefixes keep the three namespaces apart
    (a slug ``acme.io`` can never meet the domain ``acme.io``). A purely numeric ``/company/<digits>`` URL is
    LinkedIn's id form and gives ``li:<digits>``. A "website" on ``linkedin.com`` is not a company domain
    and is skipped.

Lower-casing uses ``str.lower()`` (not ``casefold()``), the same everywhere, so keys are stable; a handful of
characters whose upper-case form does not lower back (``ß`` -> ``SS``) are treated as LinkedIn's URLs treat
them: as different text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "COMPANY_DOMAIN_KEYS",
    "COMPANY_ID_KEYS",
    "COMPANY_SLUG_KEYS",
    "PERSON_ID_KEYS",
    "PERSON_URL_KEYS",
    "company_domain",
    "company_key",
    "lead_key",
    "linkedin_company_slug",
    "linkedin_public_id",
    "normalize_domain",
    "numeric_company_id",
]

#: Row keys holding a LinkedIn public id (a bare id, or a profile URL in practice too).
PERSON_ID_KEYS: tuple[str, ...] = ("publicId", "public_id")
#: Row keys that may hold a LinkedIn profile URL, in order of preference.
PERSON_URL_KEYS: tuple[str, ...] = ("linkedinUrl", "linkedin_url", "profileUrl", "profile_url", "linkedin", "url")
#: Row keys holding the numeric LinkedIn company id.
COMPANY_ID_KEYS: tuple[str, ...] = ("companyId", "company_id", "source_id")
#: Row keys holding the company website (any URL form) or its domain.
COMPANY_DOMAIN_KEYS: tuple[str, ...] = ("website_domain", "domain", "website")
#: Row keys that may hold a LinkedIn ``/company/<slug>`` URL.
COMPANY_SLUG_KEYS: tuple[str, ...] = ("linkedin_url", "canonical_linkedin_url", "linkedinUrl", "url")

_INT64_MAX = 2**63 - 1
_FORBIDDEN_IN_ID = frozenset("/?#\\")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SPACE = re.compile(r"\s")
_PLAIN_DOMAIN = re.compile(r"(?ai)(?:https?://)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)\.?(?:[/?#].*)?")
_ASCII_BAD = re.compile(r"[\x00-\x20\x7f/?#\\]")
# Common, unambiguous LinkedIn URL spellings; anything else takes the general urlsplit path.
_FAST_URL = re.compile(r"(?ai)(?:https?://)?(?:[a-z0-9-]+\.)*linkedin\.com/([a-z]+)/([^/?#\s]+)(?:[/?#]|\Z)")


def _text(value: object) -> str | None:
    """A stripped, non-empty string from ``value`` (ints count as text; bools and the rest do not)."""
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        return None
    return text or None


def _clean_segment(raw: str) -> str | None:
    """Percent-decode, NFC, lower-case and validate one id or slug; ``None`` when unusable."""
    if "%" in raw:
        try:
            raw = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            return None
    if raw.isascii():  # fast path: NFC is the identity on ASCII
        text = raw.lower().strip()
        return text if text and _ASCII_BAD.search(text) is None else None
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", raw).lower()).strip()
    if not text:
        return None
    for ch in text:
        if ch in _FORBIDDEN_IN_ID or ch.isspace() or unicodedata.category(ch)[0] in "CZ":
            return None
    return text


def _looks_like_url(text: str) -> bool:
    return "/" in text or text[:4].lower() == "http"


def _linkedin_path(text: str) -> list[str] | None:
    """The non-empty path segments of a LinkedIn URL (any scheme-less / subdomain form), else ``None``."""
    if _SCHEME.match(text) is None and not text.startswith("//"):
        if text.lower().startswith(("http:", "https:")):
            return None  # "https:linkedin.com/in/x" and other mangled schemes
        text = "//" + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("", "http", "https") or not host:
        return None
    host = host.rstrip(".")
    if host != "linkedin.com" and not host.endswith(".linkedin.com"):
        return None
    return [seg for seg in parts.path.split("/") if seg]


def _slug_after(text: str, marker: str) -> str | None:
    fast = _FAST_URL.match(text)
    if fast is not None:
        return _clean_segment(fast.group(2)) if fast.group(1).lower() == marker else None
    segments = _linkedin_path(text)
    if not segments or len(segments) < 2 or segments[0].lower() != marker:
        return None
    return _clean_segment(segments[1])


def linkedin_public_id(value: str | None) -> str | None:
    """Normalizes a LinkedIn public id, given bare or as a profile URL in any common spelling.

    Percent-decodes, applies Unicode NFC, lower-cases and strips. URLs must point at a LinkedIn host
    (``linkedin.com`` or a subdomain such as ``www.`` / ``uk.``) and a ``/in/<id>`` path; the scheme is
    optional, query strings, fragments, trailing slashes and extra path segments are ignored.

    Args:
        value: A public id (``"jane-doe-42"``) or a profile URL; anything else yields ``None``.

    Returns:
        The normalized id, or ``None`` for empty values, non-profile URLs (``/company/...``, other hosts,
        an empty id) and bare values with ``/``, whitespace inside or starting with ``http``.

    Example:
        >>> linkedin_public_id("https://UK.LinkedIn.com/in/Jos%C3%A9-Alvarez/?trk=x")
        'josé-alvarez'
        >>> linkedin_public_id("https://www.linkedin.com/company/acme") is None
        True
    """
    text = _text(value)
    if text is None:
        return None
    if _looks_like_url(text):
        return _slug_after(text, "in")
    public_id = _clean_segment(text)
    return None if public_id is None or public_id.startswith("http") else public_id


def linkedin_company_slug(value: str | None) -> str | None:
    """Extracts and normalizes the ``<slug>`` of a LinkedIn ``/company/<slug>`` URL.

    Accepts the same URL spellings as :func:`linkedin_public_id`; the slug is normalized the same way.

    Args:
        value: A LinkedIn company URL. Bare slugs are not accepted (they are indistinguishable from names).

    Returns:
        The normalized slug, or ``None``.

    Example:
        >>> linkedin_company_slug("linkedin.com/company/ACME-Labs/about/?trk=1")
        'acme-labs'
    """
    text = _text(value)
    if text is None or not _looks_like_url(text):
        return None
    return _slug_after(text, "company")


def normalize_domain(value: str | None) -> str | None:
    """Normalizes a website or domain: no scheme, no ``www.``, lower-case, no path, query, port or trailing dot.

    Args:
        value: ``"https://www.Acme.io/about"``, ``"ACME.IO"``, ``"www.acme.io:443/"`` ...

    Returns:
        The bare domain, or ``None`` when the value is empty, has whitespace inside, or has no dot.

    Example:
        >>> normalize_domain("HTTPS://WWW.Acme.io:8443/about?x=1")
        'acme.io'
    """
    text = _text(value)
    if text is None or _SPACE.search(text):
        return None
    if (plain := _PLAIN_DOMAIN.fullmatch(text)) is not None:  # fast path for the common spellings
        host = plain.group(1).lower()
        return host[4:] if host.startswith("www.") and "." in host[4:] else host
    if _SCHEME.match(text) is None and not text.startswith("//"):
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = unicodedata.normalize("NFC", host).rstrip(".")
    if host.startswith("www.") and "." in host[4:]:
        host = host[4:]
    labels = host.split(".")
    if len(labels) < 2 or not all(labels):
        return None
    if any(ch in host for ch in "[]:@%\\"):
        return None
    return host


def numeric_company_id(value: Any) -> int | None:
    """A positive LinkedIn company id from an int, an integral float or a digit string.

    Args:
        value: The raw value; ``bool`` is never an id, ``0`` and negatives are not valid.

    Returns:
        The id, or ``None``.

    Example:
        >>> numeric_company_id(" 01441 "), numeric_company_id(True), numeric_company_id("14a")
        (1441, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and (text := value.strip()).isascii() and text.isdigit():
        number = int(text)
    else:
        return None
    return number if 0 < number <= _INT64_MAX else None


def _first(row: Mapping[str, Any], keys: Iterable[str], parse: Callable[[Any], Any]) -> Any:
    """The first value among ``keys`` that ``parse`` accepts (``{"element": X}`` wrappers looked through)."""
    for key in keys:
        value = row.get(key)
        while isinstance(value, dict) and len(value) == 1 and "element" in value:
            value = value["element"]
        if value is not None and (parsed := parse(value)) is not None:
            return parsed
    return None


def _document(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """``raw_source`` or the row itself, through top-level ``{"element": X}`` wrappers (as ``frames.unwrap``)."""
    for _ in range(8):
        inner = row.get("raw_source")
        if not (isinstance(inner, Mapping) and inner) and len(row) == 1:
            inner = row.get("element")
        if not isinstance(inner, Mapping) or not inner:
            break
        row = inner
    return row


def lead_key(row: Mapping[str, Any]) -> str | None:
    """The person identity of a row: the normalized LinkedIn public id.

    ``publicId`` / ``public_id`` first, else the first LinkedIn profile URL found in ``linkedinUrl``,
    ``linkedin_url``, ``profileUrl``, ``profile_url``, ``linkedin``, ``url``. Values that do not parse are
    skipped, so a blank ``publicId`` falls back to the URL. The key *is* the id (see the module docstring):
    every spelling of one profile gives one key, and different ids never collide.

    Args:
        row: A person row (JSON or CSV record; a ``raw_source`` wrapper is looked through).

    Returns:
        The key, or ``None`` when the row has no usable LinkedIn id.

    Example:
        >>> lead_key({"publicId": None, "linkedinUrl": "http://www.linkedin.com/in/JANE-doe/"})
        'jane-doe'
    """
    found: str | None = _first(_document(row), PERSON_ID_KEYS + PERSON_URL_KEYS, linkedin_public_id)
    return found


def company_domain(value: Any) -> str | None:
    """:func:`normalize_domain`, except that LinkedIn hosts are not a company's website.

    Args:
        value: A website or domain.

    Returns:
        The normalized domain, or ``None``.

    Example:
        >>> company_domain("https://www.acme.io/"), company_domain("https://www.linkedin.com/company/acme")
        ('acme.io', None)
    """
    domain = normalize_domain(value)
    if domain is None or domain == "linkedin.com" or domain.endswith(".linkedin.com"):
        return None
    return domain


def _domain_key(value: Any) -> str | None:
    domain = company_domain(value)
    return None if domain is None else f"domain:{domain}"


def _slug_key(value: Any) -> str | None:
    slug = linkedin_company_slug(value)
    if slug is None:
        return None
    if slug.isascii() and slug.isdigit():  # /company/<digits> is LinkedIn's id form
        number = numeric_company_id(slug)
        return f"li:{number}" if number is not None else None
    return f"slug:{slug}"


def _id_key(value: Any) -> str | None:
    number = numeric_company_id(value)
    return None if number is None else f"li:{number}"


def company_key(row: Mapping[str, Any]) -> str | None:
    """The company identity of a row: ``li:<id>``, else ``domain:<domain>``, else ``slug:<slug>``.

    The numeric LinkedIn company id (``companyId`` / ``company_id`` / ``source_id``; ``bool``, ``0`` and
    negatives are not ids) beats the normalized website domain (``website_domain`` / ``domain`` /
    ``website``; LinkedIn hosts are skipped), which beats the LinkedIn company slug (``linkedin_url`` /
    ``canonical_linkedin_url`` / ``linkedinUrl`` / ``url``). The prefixes keep the namespaces from colliding.

    Args:
        row: A company row (JSON or CSV record; a ``raw_source`` wrapper is looked through).

    Returns:
        The key, or ``None`` when the row has nothing usable.

    Example:
        >>> company_key({"source_id": "1441", "website": "acme.io"})
        'li:1441'
        >>> company_key({"website": "https://www.Acme.io/about"})
        'domain:acme.io'
        >>> company_key({"linkedin_url": "https://www.linkedin.com/company/acme/"})
        'slug:acme'
    """
    doc = _document(row)
    found: str | None = (
        _first(doc, COMPANY_ID_KEYS, _id_key)
        or _first(doc, COMPANY_DOMAIN_KEYS, _domain_key)
        or _first(doc, COMPANY_SLUG_KEYS, _slug_key)
    )
    return found
