"""FastAPI/pydantic-style validation of sandbox request bodies: every error is collected, as pydantic does."""

from __future__ import annotations

import json
from typing import Any

from dagster_sixtyfour.sandbox.state import ApiError

_MISSING = object()


class Body:
    """FastAPI/pydantic-style validation of a JSON request body; collects every error, like pydantic."""

    def __init__(self, raw: bytes) -> None:
        self.errors: list[dict[str, Any]] = []
        self.data: dict[str, Any] = {}
        if not raw.strip():
            self.errors.append({"type": "missing", "loc": ["body"], "msg": "Field required", "input": None})
            return
        try:
            parsed = json.loads(raw)
        except ValueError as err:
            self.errors.append(
                {
                    "type": "json_invalid",
                    "loc": ["body", getattr(err, "pos", 0)],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": str(err).split(":")[0]},
                }
            )
            return
        if not isinstance(parsed, dict):
            self.errors.append(
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "input": parsed,
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                }
            )
            return
        self.data = parsed

    def _error(self, name: str, kind: str, msg: str, value: Any, ctx: dict[str, Any] | None = None) -> None:
        err: dict[str, Any] = {"type": kind, "loc": ["body", name], "msg": msg, "input": value}
        if ctx:
            err["ctx"] = ctx
        self.errors.append(err)

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required and value is _MISSING:
                self._error(name, "missing", "Field required", self.data)
            elif required:
                self._error(name, "string_type", "Input should be a valid string", value)
            return None
        if not isinstance(value, str):
            self._error(name, "string_type", "Input should be a valid string", value)
            return None
        if required and not value:
            self._error(name, "string_too_short", "String should have at least 1 character", value, {"min_length": 1})
            return None
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str | None) -> str | None:
        value = self.data.get(name)
        if value is None:
            return default
        if value not in choices:
            expected = " or ".join(f"'{c}'" for c in choices)
            self._error(name, "literal_error", f"Input should be {expected}", value, {"expected": expected})
            return default
        return str(value)

    def integer(
        self, name: str, default: int | None, *, ge: int = 1, le: int | None = None, ceiling: int | None = None
    ) -> int | None:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self._error(name, "int_type", "Input should be a valid integer", value)
            return default
        if value < ge:
            self._error(name, "greater_than_equal", f"Input should be greater than or equal to {ge}", value, {"ge": ge})
        elif le is not None and value > le:
            self._error(name, "less_than_equal", f"Input should be less than or equal to {le}", value, {"le": le})
        elif ceiling is not None and value > ceiling:
            self._error(
                name,
                "less_than_equal",
                f"max_results {value} exceeds this API key's ceiling of {ceiling} (see GET /search/limits)",
                value,
                {"le": ceiling},
            )
        return value

    def check(self) -> None:
        if self.errors:
            raise ApiError(422, self.errors)
