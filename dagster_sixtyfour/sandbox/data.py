"""Deterministic synthetic rows for the sandbox, computed lazily by index.

A search is a :class:`SearchSpec`; row ``i`` depends only on the spec and ``i`` (stable blake2 hashes, never
Python's randomized ``hash()``), so nothing is materialized and a million-row CSV streams in constant memory.
People and companies come from pools of ``population`` shared by all searches, so the same person shows up in
several searches, under varied identity forms (``publicId``, LinkedIn URLs in several spellings, or none).
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

_SLOTS = 12  # ten-bit decision slots in a 128-bit row hash

# fmt: off
FIRST = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Hugo", "Isla", "Jonas", "Katrin", "Liam", "Mia",
         "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Victor", "Wen", "Yara", "Zane")
LAST = ("Schmidt", "Miller", "Garcia", "Chen", "Patel", "Kowalski", "Rossi", "Novak", "Jensen", "Dubois", "Kim",
        "Silva", "Andersen", "Murphy", "Fischer", "Lopez", "Nakamura", "Okafor", "Weber", "Hughes")
#: (first, last, full name, id slug): accents, CJK, RTL, combining marks, typographic apostrophe.
UNICODE_PEOPLE = (
    ("José", "Álvarez", "José Álvarez", "josé-álvarez"), ("Zoë", "Ødegaard", "Zoë Ødegaard", "zoë-ødegaard"),
    ("雷", "李", "李雷", "li-lei"), ("An", "Nguyễn Văn", "Nguyễn Văn An", "nguyễn-văn-an"),
    ("Seán", "O’Brien", "Seán O’Brien", "seán-obrien"), ("Ævar", "Þórsson", "Ævar Þórsson", "ævar-þórsson"),
    ("Rene\u0301e", "Dubois", "Rene\u0301e Dubois", "renée-dubois"), ("ليلى", "حداد", "ليلى حداد", "layla-haddad"),
    ("Łukasz", "Wójcik", "Łukasz Wójcik", "łukasz-wójcik"),
    ("François", "Lefèvre", "François Lefèvre", "françois-lefèvre"),
)
#: (title, seniority, job function)
TITLES = (
    ("Head of Data", "Head", "Data"), ("VP Engineering", "VP", "Engineering"),
    ("Chief Financial Officer", "CXO", "Finance"), ("Chief Technology Officer", "CXO", "Engineering"),
    ("Director of Operations", "Director", "Operations"), ("Founder & CEO", "Owner / Founder", "Entrepreneurship"),
    ("Partner", "Partner", "Leadership"), ("Senior Data Engineer", "Senior", "Engineering"),
    ("Head of Growth", "Head", "Marketing"), ("VP Sales", "VP", "Sales"),
    ("Product Manager", "Manager", "Product"), ("Director of People", "Director", "Human Resources"),
    ("Analytics Engineer", "Senior", "Data"), ("Chief Operating Officer", "CXO", "Operations"),
)
LOCATIONS = ("Berlin, Germany", "Singapore", "London, United Kingdom", "New York, United States",
             "São Paulo, Brazil", "Paris, France", "Zürich, Switzerland", "Toronto, Canada", "Bengaluru, India",
             "Tokyo, Japan", "Kraków, Poland", "Lagos, Nigeria")
SKILLS = ("SQL", "Python", "dbt", "Leadership", "Fundraising", "Kubernetes", "Negotiation", "Spark", "Go-to-market")
LANGUAGES = ("English", "German", "French", "Spanish", "Mandarin", "Arabic", "Portuguese")
PREFIXES = ("Acme", "Nova", "Blue", "Quant", "Hyper", "Terra", "Lumen", "Vertex", "Cobalt", "Nimbus", "Atlas", "Polar")
MIDS = ("", "ly", "ify", "io", "ix", "ora")
SUFFIXES = ("Labs", "Analytics", "Systems", "Pay", "Bank", "Health", "AI", "Logistics", "Capital", "Cloud")
TLDS = ("io", "com", "de", "ai", "co")
INDUSTRIES = ("Financial Services", "Software Development", "Hospital & Health Care", "Logistics", "Banking",
              "IT Services", "Venture Capital")
HQS = (("Berlin", "Berlin", "Germany"), ("London", "England", "United Kingdom"), ("Singapore", None, "Singapore"),
       ("New York", "New York", "United States"), ("São Paulo", "SP", "Brazil"), ("Zürich", "ZH", "Switzerland"))
SIZE_RANGES = ((1, "1-10"), (11, "11-50"), (51, "51-200"), (201, "201-500"), (501, "501-1000"), (1001, "1001-5000"),
               (5001, "5001-10000"), (10001, "10001+"))
# fmt: on


def _h(*parts: object) -> int:
    """A stable 128-bit hash of ``parts`` (blake2b)."""
    data = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=16).digest(), "big")


def _frac(bits: int, slot: int) -> float:
    """A number in [0, 1) read from ten bits of ``bits``."""
    return ((bits >> (10 * (slot % _SLOTS))) & 1023) / 1024.0


@dataclass(frozen=True)
class SearchSpec:
    """Everything the rows of one search depend on; ``n`` is the number of rows served (already capped).

    Attributes:
        seed: Server seed.
        query: The natural-language query (different queries draw different people from the same pool).
        mode: ``"people"`` or ``"company"``.
        epoch: Job-change epoch captured when the search started.
        population: Pool size.
        dup_rate: Extra chance a row repeats an earlier row's entity.
        n: Rows served.
    """

    seed: int
    query: str
    mode: str
    epoch: int
    population: int
    dup_rate: float
    n: int


def search_size(seed: int, query: str, rows_per_search: int | None, max_results: int) -> int:
    """Rows of a search: ``rows_per_search`` if set, else 150-249 derived from the query; capped by ``max_results``.

    Args:
        seed: Server seed.
        query: The search query.
        rows_per_search: Override from :class:`SandboxFaults`.
        max_results: The search's cap.

    Returns:
        The number of rows.
    """
    base = rows_per_search if rows_per_search is not None else 150 + _h(seed, "size", query) % 100
    return max(0, min(base, max_results))


def pick(spec: SearchSpec, i: int) -> int:
    """The pool index (person or company) served as row ``i`` of ``spec``, duplicates included.

    Args:
        spec: The search.
        i: Row index.

    Returns:
        An index in ``range(spec.population)``.
    """
    pop = max(1, spec.population)
    while True:
        bits = _h(spec.seed, "pick", spec.mode, spec.query, i)
        if i > 0 and _frac(bits, 11) < spec.dup_rate:
            i = (bits >> 64) % i  # repeat an earlier row's entity
            continue
        return int(bits % pop)


@dataclass(frozen=True)
class Company:
    """One company of the pool."""

    index: int
    company_id: int
    name: str
    slug: str
    domain: str
    industry: str
    founded_year: int
    hq: tuple[str, str | None, str]
    employees_count: int
    description: str
    is_public: bool

    @property
    def size_range(self) -> str:
        """LinkedIn-style size bucket of :attr:`employees_count`."""
        return [label for low, label in SIZE_RANGES if max(1, self.employees_count) >= low][-1]


@dataclass(frozen=True)
class Person:
    """One person of the pool, as of one epoch."""

    index: int
    first: str
    last: str
    full: str
    public_id: str  # canonical: NFC, lower case
    title: str
    seniority: str
    function: str
    company: Company
    location: str
    summary: str
    unicode: bool


@lru_cache(maxsize=65536)
def company(seed: int, index: int) -> Company:
    """The pool company ``index`` (cached; independent of the epoch).

    Args:
        seed: Server seed.
        index: Pool index.

    Returns:
        The company.
    """
    h = _h(seed, "company", index)
    name = f"{PREFIXES[h % len(PREFIXES)]}{MIDS[(h >> 8) % len(MIDS)]} {SUFFIXES[(h >> 16) % len(SUFFIXES)]}"
    tag = f"{index:x}"
    slug = f"{name.lower().replace(' ', '-')}-{tag}"
    domain = f"{name.lower().replace(' ', '')}-{tag}.{TLDS[(h >> 24) % len(TLDS)]}"
    employees = 0 if (h >> 32) % 25 == 0 else 3 + (h >> 40) % 12000
    industry = INDUSTRIES[(h >> 56) % len(INDUSTRIES)]
    desc = f'{name} builds {industry.lower()} products, for teams that "ship, measure, repeat".'
    if (h >> 64) % 3 == 0:
        desc += f"\nFounded by operators.\nHQ: {HQS[(h >> 72) % len(HQS)][0]}."
    return Company(
        index,
        10_000 + ((index * 2654435761 + seed * 7919) & 0xFFFFFFF),
        name,
        slug,
        domain,
        industry,
        1950 + (h >> 80) % 74,
        HQS[(h >> 72) % len(HQS)],
        int(employees),
        desc,
        (h >> 90) % 4 == 0,
    )


def _job_versions(seed: int, index: int, epoch: int) -> tuple[int, int]:
    """The epochs at which the person's title and company last changed (about 20 % move per epoch)."""
    title_v = company_v = 0
    for k in range(1, epoch + 1):
        h = _h(seed, "move", index, k)
        if h % 100 < 20:
            kind = (h >> 8) % 3  # 0: new title, 1: new company, 2: both
            title_v = k if kind != 1 else title_v
            company_v = k if kind != 0 else company_v
    return title_v, company_v


@lru_cache(maxsize=65536)
def person(seed: int, population: int, index: int, epoch: int) -> Person:
    """The pool person ``index`` as of ``epoch`` (cached).

    Args:
        seed: Server seed.
        population: Pool size (the company pool has the same size).
        index: Pool index.
        epoch: Job-change epoch.

    Returns:
        The person.
    """
    h = _h(seed, "person", index)
    suffix = f"{(index * 0x9E3779B1 + seed * 0x632BE5AB) & 0xFFFFFFFF:08x}"
    uni = _h(seed, "unicode", index) % 10 == 0
    if uni:
        first, last, full, slug = UNICODE_PEOPLE[h % len(UNICODE_PEOPLE)]
    else:
        first, last = FIRST[h % len(FIRST)], LAST[(h >> 8) % len(LAST)]
        full, slug = f"{first} {last}", f"{first}-{last}".lower()
    title_v, company_v = _job_versions(seed, index, max(0, epoch))
    title, seniority, function = TITLES[_h(seed, "title", index, title_v) % len(TITLES)]
    works_at = company(seed, _h(seed, "works-at", index, company_v) % max(1, population))
    summary = f'{title} at {works_at.name}. Turning messy data into decisions, one "quick question" at a time.'
    if (h >> 16) % 3 == 0:
        summary += f"\nPreviously: {LAST[(h >> 24) % len(LAST)]} & Co.\n\nSpeaks {LANGUAGES[(h >> 32) % 7]}, ☕ first."
    return Person(
        index,
        first,
        last,
        full,
        unicodedata.normalize("NFC", f"{slug}-{suffix}").lower(),
        title,
        seniority,
        function,
        works_at,
        LOCATIONS[(h >> 40) % len(LOCATIONS)],
        summary,
        uni,
    )


def _url_form(pid: str, form: int) -> str:
    """One of several spellings of the LinkedIn profile URL of ``pid`` (all resolve to the same id)."""
    if form == 0:
        return f"https://www.linkedin.com/in/{pid}/"
    if form == 1:
        return f"http://linkedin.com/in/{quote(pid.upper(), safe='-')}?trk=abc"
    if form == 2:
        return f"https://uk.linkedin.com/in/{pid}"
    if form == 3:
        return f"https://www.linkedin.com/in/{quote(pid, safe='-')}/"
    return f"https://de.linkedin.com/in/{quote(unicodedata.normalize('NFD', pid), safe='-')}?originalSubdomain=de"


def _people_row(spec: SearchSpec, i: int) -> tuple[dict[str, Any], Person]:
    bits = _h(spec.seed, "row", spec.mode, spec.query, i)
    p = person(spec.seed, spec.population, pick(spec, i), spec.epoch)
    doc: dict[str, Any] = {}
    ident = _frac(bits, 0)
    url_key = ("linkedinUrl", "linkedin_url", "profileUrl")[int(_frac(bits, 1) * 3)]
    if ident < 0.03:  # no usable id at all
        doc["publicId"] = None if _frac(bits, 2) < 0.5 else ""
    elif ident < 0.30:  # a URL, maybe no publicId key
        if _frac(bits, 2) < 0.5:
            doc["publicId"] = None if _frac(bits, 3) < 0.5 else ""
        doc[url_key] = _url_form(p.public_id, int(_frac(bits, 4) * 5))
    else:
        variant = _frac(bits, 2)
        if p.unicode and variant < 0.3:
            doc["publicId"] = quote(p.public_id, safe="-")
        elif p.unicode and variant < 0.45:
            doc["publicId"] = unicodedata.normalize("NFD", p.public_id)
        else:
            doc["publicId"] = p.public_id
        if ident < 0.32:
            doc[url_key] = _url_form(p.public_id, int(_frac(bits, 4) * 5))
    doc.update(
        fullName=p.full,
        firstName=p.first,
        lastName=p.last,
        headline=f"{p.title} at {p.company.name}",
        locationName=p.location,
        seniority=p.seniority,
        jobFunction=p.function,
    )
    c = p.company
    item: dict[str, Any] = {
        "company": {"companyId": c.company_id, "name": c.name, "url": f"https://www.linkedin.com/company/{c.slug}"}
    }
    if _frac(bits, 5) >= 0.15:
        pos: dict[str, Any] = {"title": p.title}
        item["positions"] = [{"element": pos} if _frac(bits, 6) < 0.7 else pos]
    doc["currentCompanies"] = [{"element": item} if _frac(bits, 7) < 0.7 else item]
    doc["summary"] = p.summary
    if _frac(bits, 8) < 0.4:
        doc["skills"] = [SKILLS[(bits >> (100 + 3 * k)) % len(SKILLS)] for k in range(2 + (bits >> 120) % 3)]
    if _frac(bits, 9) < 0.25:
        doc["openToWork"] = bool((bits >> 96) & 1)
    if i >= 100 and _frac(bits, 10) < 0.33:  # a key that first appears late (page 2 or later)
        doc["languages"] = [LANGUAGES[(bits >> 90) % len(LANGUAGES)], "English"]
    return ({"raw_source": doc} if (bits >> 127) & 1 else doc), p


def _website_form(domain: str, form: int) -> str:
    return (f"https://www.{domain}/about", domain.upper(), f"http://{domain}", f"www.{domain}/")[form % 4]


def _company_row(spec: SearchSpec, i: int) -> dict[str, Any]:
    bits = _h(spec.seed, "row", spec.mode, spec.query, i)
    c = company(spec.seed, pick(spec, i))
    city, state, country = c.hq
    li = f"https://www.linkedin.com/company/{c.slug}"
    ident = _frac(bits, 0)
    doc: dict[str, Any] = {"source_id": None}
    if ident < 0.03:  # nothing usable
        pass
    elif ident < 0.08:  # only a LinkedIn company URL
        doc["linkedin_url"] = (f"{li}/", f"http://linkedin.com/company/{c.slug.upper()}?trk=x", li)[int(bits % 3)]
    elif ident < 0.18:  # only a website, in various forms
        doc["website"] = _website_form(c.domain, int(bits % 4))
        if _frac(bits, 1) < 0.5:
            doc["website_domain"] = c.domain.upper() if _frac(bits, 2) < 0.5 else c.domain
    else:
        doc.update(
            source_id=c.company_id,
            company_id=c.company_id,
            website=f"https://www.{c.domain}",
            website_domain=c.domain,
            canonical_linkedin_url=li,
            linkedin_url=li,
        )
    doc.update(
        company_name=c.name,
        description=c.description,
        industry=c.industry,
        founded_year=c.founded_year,
        hq_city=city,
        hq_country=country,
        employees_count=c.employees_count,
        size_range=c.size_range,
    )
    if state is not None and _frac(bits, 3) < 0.7:
        doc["hq_state"] = state
    if _frac(bits, 4) < 0.3:
        doc["is_public"] = c.is_public
    if i >= 100 and _frac(bits, 5) < 0.3:  # a key that first appears late
        doc["employees_count_by_country"] = [{"country": country, "employee_count": c.employees_count}]
    return doc


def row(spec: SearchSpec, i: int) -> dict[str, Any]:
    """Raw row ``i`` of a search, as ``/search/query`` serves it (a fresh dict on every call).

    Args:
        spec: The search.
        i: Row index, ``0 <= i < spec.n``.

    Returns:
        A people row (nested camelCase, maybe wrapped in ``raw_source``) or a company row.
    """
    return _people_row(spec, i)[0] if spec.mode == "people" else _company_row(spec, i)


def served_people_ids(spec: SearchSpec) -> set[str]:
    """The truth of identity: the canonical public ids of the people rows of ``spec`` that carry a usable id.

    Computed from the synthetic pool, not by parsing the rows, so tests can check the connector's keys.
    """
    ids: set[str] = set()
    for i in range(spec.n):
        if _frac(_h(spec.seed, "row", spec.mode, spec.query, i), 0) >= 0.03:
            ids.add(person(spec.seed, spec.population, pick(spec, i), spec.epoch).public_id)
    return ids


def rows(spec: SearchSpec, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
    """Rows ``start``..``stop`` (exclusive, default ``spec.n``) of a search.

    Args:
        spec: The search.
        start: First row index.
        stop: End index, clipped to ``spec.n``.

    Returns:
        The rows, in order.
    """
    end = spec.n if stop is None else min(stop, spec.n)
    return [row(spec, i) for i in range(max(0, start), end)]


def csv_record(spec: SearchSpec, i: int) -> dict[str, Any]:
    """Row ``i`` flattened to CSV columns (same entity and identity form as the JSON row).

    Args:
        spec: The search.
        i: Row index.

    Returns:
        Column name to value (``None`` is written as an empty field).
    """
    if spec.mode != "people":
        doc = _company_row(spec, i)
        website_domain = doc.get("website_domain") or doc.get("website")
        linkedin_url = doc.get("canonical_linkedin_url") or doc.get("linkedin_url")
        return {**doc, "website_domain": website_domain, "linkedin_url": linkedin_url, "company_id": doc["source_id"]}
    wrapped, p = _people_row(spec, i)
    doc = wrapped.get("raw_source", wrapped)
    public_id = doc.get("publicId") or ""
    url = doc.get("linkedinUrl") or doc.get("linkedin_url") or doc.get("profileUrl")
    if not url and public_id:
        url = f"https://www.linkedin.com/in/{public_id}"
    return {
        "full_name": p.full,
        "first_name": p.first,
        "last_name": p.last,
        "title": p.title,
        "headline": doc["headline"],
        "company_name": p.company.name,
        "company_domain": p.company.domain,
        "linkedin_url": url,
        "public_id": public_id,
        "location": p.location,
        "seniority": p.seniority,
        "job_function": p.function,
        "summary": p.summary,
    }


def csv_chunks(spec: SearchSpec, columns: Sequence[str], *, bom: bool = False, batch: int = 256) -> Iterator[bytes]:
    """The CSV export of a search, UTF-8 and RFC 4180 (CRLF, quoted newlines), in chunks of ``batch`` rows.

    Args:
        spec: The search (``spec.n`` rows are written after the header).
        columns: Header; unknown column names are written empty.
        bom: Start with a UTF-8 byte order mark.
        batch: Rows per yielded chunk.

    Yields:
        Encoded pieces of the file; memory stays bounded whatever ``spec.n`` is.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(list(columns))
    prefix = b"\xef\xbb\xbf" if bom else b""
    for i in range(spec.n):
        record = csv_record(spec, i)
        writer.writerow([record.get(c) for c in columns])
        if (i + 1) % batch == 0:
            yield prefix + buf.getvalue().encode("utf-8")
            prefix = b""
            buf.seek(0)
            buf.truncate()
    yield prefix + buf.getvalue().encode("utf-8")
