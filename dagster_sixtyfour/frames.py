"""Raw Sixtyfour rows (JSON pages or the CSV export) -> polars frames with an explicit schema and identity keys.

The API does not document its row columns, so each column reads a list of aliases (data: ``PEOPLE_COLUMNS``,
``COMPANY_COLUMNS``) and whatever no column represents is kept as JSON in ``extra``; ``raw`` keeps the row as
received. Frames are built column-wise from Python lists with explicit dtypes: polars never infers types or
columns from the first rows (it would drop keys first seen late, pola-rs/polars#25985).

A top-level key leaves ``extra`` when its value, converted like the column, equals the column's value; a key
read through nested paths (``currentCompanies[0].company.name`` ...) leaves it when every non-blank leaf under
it is shown by a column, so a second current company keeps the whole list in ``extra``. Alias keys holding
``None`` or blank text carry nothing and are dropped.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import polars as pl

from dagster_sixtyfour import identity
from dagster_sixtyfour.errors import SixtyfourConfigError, SixtyfourMalformedResponseError

__all__ = ["COMPANY_SCHEMA", "MODES", "PEOPLE_SCHEMA", "company_frame", "iter_csv_frames", "people_frame"]
__all__ += ["rows_to_frame", "unwrap"]

_S = pl.String()
_I = pl.Int64()

#: Column name -> dtype of people frames, in column order.
PEOPLE_SCHEMA: dict[str, pl.DataType] = {
    "position": _I, "lead_key": _S, "public_id": _S, "linkedin_url": _S, "full_name": _S, "first_name": _S,
    "last_name": _S, "headline": _S, "title": _S, "company_name": _S, "company_id": _S, "company_domain": _S,
    "company_linkedin_url": _S, "location": _S, "seniority": _S, "job_function": _S, "extra": _S, "raw": _S,
    "reject_reason": _S,
}  # fmt: skip

#: Column name -> dtype of company frames, in column order.
COMPANY_SCHEMA: dict[str, pl.DataType] = {
    "position": _I, "company_key": _S, "company_id": _S, "company_name": _S, "website_domain": _S,
    "linkedin_url": _S, "industry": _S, "employees_count": _I, "hq_city": _S, "hq_country": _S,
    "description": _S, "extra": _S, "raw": _S, "reject_reason": _S,
}  # fmt: skip

#: The modes :func:`rows_to_frame` and :func:`iter_csv_frames` accept.
MODES: tuple[str, ...] = ("people", "company")

Value = str | int | None
Path = tuple[str | int, ...]
Source = str | Path  # a top-level key, or a nested path of keys and list indexes
Converter = Callable[[Any], Value]

_INT64_MAX = 2**63 - 1
_LINKEDIN = "https://www.linkedin.com"
_REJECT = {"people": "no usable LinkedIn id", "company": "no usable company id, website domain or LinkedIn URL"}
_NOT_OBJECT = "row is not a JSON object"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> Value:
    if type(value) is str or isinstance(value, str):
        return value if value.strip() else None
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _company_id(value: Any) -> Value:
    number = identity.numeric_company_id(value)
    return None if number is None else str(number)


def _company_url(value: Any) -> Value:
    slug = identity.linkedin_company_slug(value)
    return None if slug is None else f"{_LINKEDIN}/company/{slug}"


def _count(value: Any) -> Value:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and (text := value.strip()).isascii() and text.isdigit():
        value = int(text)
    return value if type(value) is int and 0 <= value <= _INT64_MAX else None


_CC = ("currentCompanies", 0)

#: People columns read from rows: column -> (converter, sources in order of preference); the first source
#: whose converted value is not ``None`` wins. ``public_id`` and ``linkedin_url`` derive from ``lead_key``.
PEOPLE_COLUMNS: dict[str, tuple[Converter, tuple[Source, ...]]] = {
    "lead_key": (identity.linkedin_public_id, identity.PERSON_ID_KEYS + identity.PERSON_URL_KEYS),
    "full_name": (_text, ("fullName", "full_name", "name")),
    "first_name": (_text, ("firstName", "first_name")),
    "last_name": (_text, ("lastName", "last_name")),
    "headline": (_text, ("headline",)),
    "title": (_text, ((*_CC, "positions", 0, "title"), "title", "jobTitle", "job_title")),
    "company_name": (_text, ((*_CC, "company", "name"), "company_name", "companyName", "company", ("company", "name"))),
    "company_id": (_company_id, ((*_CC, "company", "companyId"), "company_id", "companyId")),
    "company_domain": (identity.company_domain, ((*_CC, "company", "domain"), "company_domain", "companyDomain")),
    "company_linkedin_url": (
        _company_url,
        ((*_CC, "company", "url"), "company_linkedin_url", "companyLinkedinUrl", "company_linkedin", "company_url"),
    ),
    "location": (_text, ("locationName", "location", "location_name", ("location", "name"))),
    "seniority": (_text, ("seniority",)),
    "job_function": (_text, ("jobFunction", "job_function")),
}

#: Company columns read from rows (``company_key`` itself comes from :func:`identity.company_key`).
COMPANY_COLUMNS: dict[str, tuple[Converter, tuple[Source, ...]]] = {
    "company_id": (_company_id, identity.COMPANY_ID_KEYS),
    "company_name": (_text, ("company_name", "companyName", "name")),
    "website_domain": (identity.company_domain, identity.COMPANY_DOMAIN_KEYS),
    "linkedin_url": (_company_url, identity.COMPANY_SLUG_KEYS),
    "industry": (_text, ("industry",)),
    "employees_count": (_count, ("employees_count", "employeesCount", "employee_count")),
    "hq_city": (_text, ("hq_city", "hqCity")),
    "hq_country": (_text, ("hq_country", "hqCountry")),
    "description": (_text, ("description",)),
}


class _Plan(NamedTuple):
    converters: tuple[Converter, ...]
    keys: dict[str, int]  # top-level key -> column * 64 + rank
    paths: tuple[tuple[Path, tuple[tuple[int, Path, Path], ...]], ...]  # (prefix, ((order, tail, full path), ...))


def _plan(spec: Mapping[str, tuple[Converter, tuple[Source, ...]]]) -> _Plan:
    keys: dict[str, int] = {}
    paths: dict[Path, list[tuple[int, Path, Path]]] = {}
    for col, (_, sources) in enumerate(spec.values()):
        for rank, src in enumerate(sources):
            if isinstance(src, str):
                if keys.setdefault(src, col * 64 + rank) != col * 64 + rank:
                    raise AssertionError(f"{src!r} feeds two columns")
            else:  # nested paths sharing a prefix (currentCompanies[0]) resolve it once per row
                cut = 2 if len(src) > 2 else 1
                paths.setdefault(src[:cut], []).append((col * 64 + rank, src[cut:], src))
    return _Plan(tuple(c for c, _ in spec.values()), keys, tuple((p, tuple(t)) for p, t in paths.items()))


_PLANS = {"people": _plan(PEOPLE_COLUMNS), "company": _plan(COMPANY_COLUMNS)}
_ALIAS_KEYS = frozenset(_PLANS["people"].keys) | frozenset(_PLANS["company"].keys)


def _strip_elements(value: Any) -> Any:
    if type(value) is dict:
        if len(value) == 1 and "element" in value:
            return _strip_elements(value["element"])
        return {k: _strip_elements(v) for k, v in value.items()}
    if type(value) is list:
        return [_strip_elements(v) for v in value]
    return _strip_elements(dict(value)) if isinstance(value, Mapping) else value


def _document(row: Any) -> Any:
    """``raw_source`` or the row itself, through top-level ``{"element": X}`` wrappers (not recursive)."""
    for _ in range(8):
        if type(row) is not dict and not isinstance(row, Mapping):
            break
        inner = row.get("raw_source")
        if isinstance(inner, Mapping) and inner:
            row = inner
        elif len(row) == 1 and "element" in row:
            row = row["element"]
        else:
            break
    return row


def unwrap(row: Any) -> Any:
    """The document inside a raw API row: ``row.get("raw_source") or row``, ``{"element": X}`` wrappers removed.

    Every single-key ``{"element": X}`` wrapper is replaced by ``X``, recursively through lists and dicts. The
    input is not modified; mapping rows give a new plain ``dict``.

    Args:
        row: A row as received.

    Returns:
        The unwrapped document.

    Example:
        >>> unwrap({"raw_source": {"currentCompanies": [{"element": {"company": {"name": "Acme"}}}]}})
        {'currentCompanies': [{'company': {'name': 'Acme'}}]}
    """
    return _strip_elements(_document(row))


def _get(doc: Any, path: Path) -> Any:
    """The value at ``path`` (keys and list indexes), looking through ``{"element": X}`` wrappers."""
    cur = doc
    for step in path:
        while type(cur) is dict and len(cur) == 1 and "element" in cur:
            cur = cur["element"]
        if type(step) is int:
            if type(cur) is not list or len(cur) <= step:
                return None
            cur = cur[step]
        elif type(cur) is dict or isinstance(cur, Mapping):
            cur = cur.get(step)
        else:
            return None
    while type(cur) is dict and len(cur) == 1 and "element" in cur:
        cur = cur["element"]
    return cur


def _c_encoder() -> Callable[[Any, int], Iterable[str]] | None:
    """The C encoder behind ``json.dumps``, built once (``json.dumps`` rebuilds it per call), if it checks out."""
    make, escape = getattr(json.encoder, "c_make_encoder", None), getattr(json.encoder, "encode_basestring", None)
    try:
        encode = make(None, str, escape, None, ": ", ", ", True, False, True) if make and escape else None
        sample = {"b": [1.5, None, "é\n"], "a": {"z": True, "y": 1}}
        expected = json.dumps(sample, ensure_ascii=False, sort_keys=True, default=str)
        return encode if encode and "".join(encode(sample, 0)) == expected else None
    except Exception:  # another interpreter or signature: the public API below
        return None


_C_ENCODE = _c_encoder()


def _dumps(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)``, faster."""
    try:
        if _C_ENCODE is not None:
            return "".join(_C_ENCODE(value, 0))
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except TypeError:  # mixed key types cannot be sorted
        return json.dumps(value, ensure_ascii=False, default=str)


def _covered(value: Any, shown: int) -> bool:
    """Whether ``value`` holds at most ``shown`` non-blank leaves (the ones columns show)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
        elif item is not None and not (type(item) is str and not item.strip()):
            shown -= 1
            if shown < 0:
                return False
    return True


def _map(doc: Mapping[str, Any], plan: _Plan, wrapped: bool = True) -> tuple[list[Value], str | None]:
    """Column values (plan order) and the JSON of what no column represents, in one pass over the row.

    ``wrapped=False`` promises there is no ``element`` wrapper to strip.
    """
    keys, converters = plan.keys, plan.converters
    values: list[Value] = [None] * len(converters)
    ranks = [64] * len(converters)
    taken: list[tuple[int, str | Path, Any, Value]] = []  # (column, key or full nested path, value, converted)
    leftover: dict[Any, Any] = {}
    for k, v in doc.items():
        order = keys.get(k)
        if order is None:
            leftover[k] = v
            continue
        if type(v) is str:
            if not v.strip():
                continue  # blank aliases carry nothing
            convert = converters[order >> 6]
            out = v if convert is _text else convert(v)
        elif v is None:
            continue
        else:
            if wrapped and (type(v) is dict or type(v) is list):
                v = _strip_elements(v)
            out = converters[order >> 6](v)
        if out is None:
            leftover[k] = v
            continue
        taken.append((col := order >> 6, k, v, out))
        if (order & 63) < ranks[col]:
            values[col], ranks[col] = out, order & 63
    for prefix, tails in plan.paths:
        if (base := _get(doc, prefix)) is not None:
            for order, tail, full in tails:
                if (v := _get(base, tail)) is not None and (out := converters[order >> 6](v)) is not None:
                    taken.append((col := order >> 6, full, v, out))
                    if (order & 63) < ranks[col]:
                        values[col], ranks[col] = out, order & 63
    shown: dict[Any, int] = {}  # nested root key -> leaves shown by a column (distinct paths)
    for col, src, v, out in taken:
        if out == values[col]:
            if type(src) is tuple:
                shown[src[0]] = shown.get(src[0], 0) + 1
        elif type(src) is str:
            leftover[src] = v
    for root, count in shown.items():
        if root in leftover and _covered(leftover[root], count):
            del leftover[root]
    if not leftover:
        return values, None
    return values, _dumps({k: _strip_elements(v) for k, v in leftover.items()} if wrapped else leftover)


def _person(doc: Any, wrapped: bool) -> tuple[Value, ...]:
    if not isinstance(doc, Mapping):
        return (None,) * 16 + (_NOT_OBJECT,)
    v, extra = _map(doc, _PLANS["people"], wrapped)
    url = None if v[0] is None else f"{_LINKEDIN}/in/{v[0]}"
    return (v[0], v[0], url, *v[1:], extra, None if v[0] is not None else _REJECT["people"])


def _company(doc: Any, wrapped: bool) -> tuple[Value, ...]:
    if not isinstance(doc, Mapping):
        return (None,) * 11 + (_NOT_OBJECT,)
    v, extra = _map(doc, _PLANS["company"], wrapped)
    key = identity.company_key(doc)
    return (key, *v, extra, None if key is not None else _REJECT["company"])


_MODES = {"people": (PEOPLE_SCHEMA, _person), "company": (COMPANY_SCHEMA, _company)}


def _mode(mode: str) -> tuple[dict[str, pl.DataType], Callable[[Any, bool], tuple[Value, ...]]]:
    if not isinstance(mode, str) or mode not in _MODES:
        raise SixtyfourConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return _MODES[mode]


def _frame(mode: str, items: Iterable[tuple[Any, Any]], start_position: int) -> pl.DataFrame:
    """Builds a frame from ``(raw row, document)`` pairs; positions count up from ``start_position``."""
    schema, mapper = _mode(mode)
    raws: list[str] = []
    mapped: list[tuple[Value, ...]] = []
    for raw, doc in items:
        raws.append(text := _dumps(raw))
        mapped.append(mapper(doc, '"element"' in text))
    names = [n for n in schema if n not in ("position", "raw")]
    transposed = zip(*mapped, strict=True) if mapped else ([] for _ in names)
    columns: dict[str, list[Any]] = {name: list(values) for name, values in zip(names, transposed, strict=True)}
    columns["raw"], columns["position"] = raws, list(range(start_position, start_position + len(raws)))
    try:
        return pl.DataFrame([pl.Series(name, columns[name], dtype=dtype) for name, dtype in schema.items()])
    except UnicodeEncodeError:  # lone surrogates (JSON "\ud800" escapes) are not UTF-8: escape them in the JSON
        for name, dtype in schema.items():  # columns, as ensure_ascii would (lossless); replace them elsewhere
            fix = _escape_surrogate if name in ("extra", "raw") else (lambda _: "\ufffd")
            if dtype == _S:
                columns[name] = [v if v is None else _SURROGATE.sub(fix, v) for v in columns[name]]
        return pl.DataFrame([pl.Series(name, columns[name], dtype=dtype) for name, dtype in schema.items()])


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def people_frame(rows: Iterable[Any], start_position: int = 0) -> pl.DataFrame:
    """People rows as received (JSON rows or CSV records) -> a frame with :data:`PEOPLE_SCHEMA`.

    Every row gives one frame row: a row without a usable LinkedIn id (or not an object) gets a null
    ``lead_key`` and a ``reject_reason``, so the store can quarantine it.

    Args:
        rows: Raw rows (``raw_source`` and ``element`` wrappers are handled).
        start_position: Position of the first row within its search (continue it across pages).

    Returns:
        The frame (empty, with every column, for no rows).

    Example:
        >>> df = people_frame([{"publicId": "Jane-Doe", "fullName": "Jane Doe"}], start_position=10)
        >>> df.select("position", "lead_key", "linkedin_url").row(0)
        (10, 'jane-doe', 'https://www.linkedin.com/in/jane-doe')
    """
    return _frame("people", ((row, _document(row)) for row in rows), start_position)


def company_frame(rows: Iterable[Any], start_position: int = 0) -> pl.DataFrame:
    """Company rows as received -> a frame with :data:`COMPANY_SCHEMA` (see :func:`people_frame`).

    Args:
        rows: Raw rows; those without an id, domain or LinkedIn slug get a null ``company_key`` and a reason.
        start_position: Position of the first row within its search.

    Returns:
        The frame.

    Example:
        >>> company_frame([{"source_id": 1441, "website": "https://www.acme.io/"}])["company_key"].to_list()
        ['li:1441']
    """
    return _frame("company", ((row, _document(row)) for row in rows), start_position)


def rows_to_frame(rows: Iterable[Any], mode: str, start_position: int = 0) -> pl.DataFrame:
    """:func:`people_frame` for ``mode="people"``, :func:`company_frame` for ``mode="company"``.

    Args:
        rows: Raw rows as received.
        mode: ``"people"`` or ``"company"``; anything else raises :class:`SixtyfourConfigError` (a ``ValueError``).
        start_position: Position of the first row within its search.

    Returns:
        The frame.

    Example:
        >>> rows_to_frame([], "company").columns[:2]
        ['position', 'company_key']
    """
    _mode(mode)
    return _frame(mode, ((row, _document(row)) for row in rows), start_position)


_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_CANON_ALIASES = {_NON_ALNUM.sub("_", k.lower()).strip("_"): k for k in sorted(_ALIAS_KEYS, reverse=True)}


def _csv_headers(header: list[str]) -> tuple[list[str], list[str]]:
    """Unique header names as in the file (BOM, spaces stripped; ``_2`` for repeats) and the names to map."""
    names: list[str] = []
    for i, raw in enumerate(header):
        name = base = raw.lstrip("\ufeff").strip() or f"column_{i + 1}"
        n = 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names.append(name)
    keys = list(names)
    for i, name in enumerate(names):  # "Full Name" -> full_name, "LinkedIn URL" -> linkedin_url
        alias = _CANON_ALIASES.get(_NON_ALNUM.sub("_", name.lower()).strip("_"))
        if name not in _ALIAS_KEYS and alias is not None and alias not in keys:
            keys[i] = alias
    return names, keys


def iter_csv_frames(
    path: str | os.PathLike[str],
    mode: str,
    *,
    batch_size: int = 2_000,
    start_position: int = 0,
    max_field_size: int = 64 * 1024 * 1024,
) -> Iterator[pl.DataFrame]:
    """Streams a deep-search CSV export as frames of at most ``batch_size`` rows, same schema as JSON rows.

    The header is read from the file, never assumed: aliases (``full_name``/``name``, ``linkedin_url``/
    ``linkedin``/``public_id``, ``title``, ``company``/``company_name``, spellings like ``Full Name``) map to
    columns, other columns go to ``extra``, missing ones stay null. The BOM is stripped; CRLF and quoted
    multi-line cells are kept; every cell is text (empty -> ``None``). Each ``header -> value`` record goes
    through the JSON rows' mapping (same keys) and is ``raw``. Repeated headers get a ``_2`` suffix, cells past
    the header go to ``_overflow``, blank lines are skipped; a file without data rows yields one empty frame.

    Args:
        path: The CSV file (UTF-8).
        mode: ``"people"`` or ``"company"``.
        batch_size: Rows per frame; memory stays bounded by one batch.
        start_position: Position of the first data row; positions continue across batches.
        max_field_size: Largest cell in characters (the ``csv`` limit is raised only while reading).

    Returns:
        An iterator of frames with :data:`PEOPLE_SCHEMA` or :data:`COMPANY_SCHEMA`.

    Raises:
        SixtyfourConfigError: Unknown mode or ``batch_size < 1`` (at call time).
        SixtyfourMalformedResponseError: While iterating: invalid UTF-8 or broken quoting (names the line).

    Example:
        .. code-block:: python

            for frame in iter_csv_frames("export.csv", "people", batch_size=10_000):
                print(frame.height, frame["lead_key"].null_count())
    """
    _mode(mode)
    if batch_size < 1:
        raise SixtyfourConfigError(f"batch_size must be at least 1, not {batch_size}")
    return _csv_frames(os.fspath(path), mode, batch_size, start_position, max_field_size)


def _csv_frames(path: str, mode: str, batch_size: int, position: int, max_field: int) -> Iterator[pl.DataFrame]:
    names: list[str] | None = None
    keys: list[str] = []
    done = yielded = False
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        while not done:
            batch: list[tuple[dict[str, Any], dict[str, Any]]] = []
            previous = csv.field_size_limit(max(max_field, 1))
            try:
                for values in reader:
                    if not any(values):
                        continue
                    if names is None:
                        names, keys = _csv_headers(values)
                        continue
                    record: dict[str, Any] = {n: v or None for n, v in zip(names, values, strict=False)}
                    record.update((n, None) for n in names[len(values) :])
                    if len(values) > len(names):
                        record["_overflow"] = values[len(names) :]
                    doc = record if keys == names else dict(zip([*keys, "_overflow"], record.values(), strict=False))
                    batch.append((record, doc))
                    if len(batch) >= batch_size:
                        break
                else:
                    done = True
            except (UnicodeDecodeError, csv.Error) as exc:
                what = "is not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else f"is malformed ({exc})"
                where = f"{os.path.basename(path)} {what} near line {reader.line_num + 1}"
                raise SixtyfourMalformedResponseError(f"CSV export {where}") from None
            finally:
                csv.field_size_limit(previous)
            if batch or not yielded:
                yield (frame := _frame(mode, batch, position))
                position, yielded = position + frame.height, True
