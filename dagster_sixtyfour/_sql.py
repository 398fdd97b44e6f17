"""The project's SQL files: where they live, how they are split, and how identifiers are made safe.

The SQL sits in the top-level ``sql/`` folder of the repository so users can read it, and is shipped inside
the wheel as ``dagster_sixtyfour/sql``. Statements in a file are separated by ``-- name: <name>`` markers.
The only text ever substituted into SQL is a validated, quoted identifier (``{schema}``); values are bound.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from dagster_sixtyfour.errors import SixtyfourConfigError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_NAME_MARKER = re.compile(r"^--\s*name:\s*([a-z_]+)\s*$", re.MULTILINE)


def quote_identifier(name: str) -> str:
    """Validates a schema or table name and returns it double-quoted.

    Only ``[A-Za-z_][A-Za-z0-9_]{0,62}`` is accepted, so nothing a configuration can hold ever changes the
    meaning of a statement.

    Example:
        >>> quote_identifier("sixtyfour")
        '"sixtyfour"'
    """
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise SixtyfourConfigError(
            f"Invalid SQL identifier {name!r}: use letters, digits and underscores, starting with a letter or _"
        )
    return f'"{name}"'


def sql_dir() -> Path:
    """The folder holding the SQL files: inside the installed package, else the repository's ``sql/``."""
    packaged = resources.files("dagster_sixtyfour") / "sql"
    if packaged.is_dir():
        return Path(str(packaged))
    source = Path(__file__).resolve().parent.parent / "sql"
    if source.is_dir():
        return source
    raise FileNotFoundError("dagster_sixtyfour's SQL files are missing from this installation")


@cache
def _read(filename: str) -> str:
    return (sql_dir() / filename).read_text(encoding="utf-8")


def render(filename: str, schema: str) -> str:
    """Returns a SQL file with ``{schema}`` replaced by the quoted, validated schema name."""
    return _read(filename).replace("{schema}", quote_identifier(schema))


def statements(filename: str, schema: str) -> dict[str, str]:
    """Splits a SQL file into its named statements (``-- name: x`` markers), in file order."""
    text = render(filename, schema)
    marks = list(_NAME_MARKER.finditer(text))
    if not marks:
        raise ValueError(f"{filename} has no '-- name:' markers")
    out: dict[str, str] = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out[mark.group(1)] = text[mark.end() : end].strip().rstrip(";")
    return out
