"""Typed, immutable values returned by :class:`~dagster_sixtyfour.SixtyfourClient`.

The API documents only a few fields as required, so every model is built tolerantly from the response JSON:
unknown keys are ignored, missing optional keys become ``None``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

Mode = Literal["people", "company"]
OutputMode = Literal["csv", "query_only"]

MODES: tuple[str, ...] = ("people", "company")
OUTPUT_MODES: tuple[str, ...] = ("csv", "query_only")

#: Status strings that end a search successfully.
SUCCESS_STATES = frozenset({"completed"})
#: Status strings that end a search unsuccessfully (the contract's safe assumption, section 8.3).
FAILURE_STATES = frozenset({"failed", "error", "cancelled", "canceled", "terminated", "timed_out"})


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class SearchStarted:
    """The answer to ``POST /search/start-deep-search``.

    Attributes:
        task_id: The task to poll.
        status: The initial status, usually ``"queued"``.
        message: The API's human message.
        search_id: The client ``search_id`` sent with the request, if any.
    """

    task_id: str
    status: str
    message: str = ""
    search_id: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], search_id: str | None = None) -> SearchStarted:
        return cls(
            task_id=str(data["task_id"]),
            status=str(data.get("status") or "queued"),
            message=str(data.get("message") or ""),
            search_id=search_id,
        )


@dataclass(frozen=True, slots=True)
class SearchStatus:
    """One reading of a task's status (``GET /search/status/{task_id}``).

    Attributes:
        task_id: The task.
        status: Free string; ``queued``, ``running``, ``completed`` and ``failed`` are documented.
        start_time: ISO-8601 start time as sent by the API.
        current_phase: Pipeline phase index while running.
        progress_message: Human progress text while running.
        close_time: Set when finished.
        resource_handle_id: Handle for ``/search/download`` (CSV output mode).
        total_results: Results found.
        exported_count: Rows written to the export.
        error: The API's error text when the task failed.
        search_id: Saved-search id usable with ``/search/query`` and ``/search/export``.
        iterations: Number of agent iterations reported so far.
    """

    task_id: str
    status: str
    start_time: str | None = None
    current_phase: int | None = None
    progress_message: str | None = None
    close_time: str | None = None
    resource_handle_id: str | None = None
    total_results: int | None = None
    exported_count: int | None = None
    error: str | None = None
    search_id: str | None = None
    iterations: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchStatus:
        iterations = data.get("iterations")
        return cls(
            task_id=str(data["task_id"]),
            status=str(data.get("status") or "unknown"),
            start_time=_opt_str(data.get("start_time")),
            current_phase=_opt_int(data.get("current_phase")),
            progress_message=_opt_str(data.get("progress_message")),
            close_time=_opt_str(data.get("close_time")),
            resource_handle_id=_opt_str(data.get("resource_handle_id")) or None,
            total_results=_opt_int(data.get("total_results")),
            exported_count=_opt_int(data.get("exported_count")),
            error=_opt_str(data.get("error")),
            search_id=_opt_str(data.get("search_id")),
            iterations=len(iterations) if isinstance(iterations, list) else 0,
        )

    @property
    def normalized(self) -> str:
        """The status lower-cased and stripped."""
        return self.status.strip().lower()

    @property
    def is_completed(self) -> bool:
        """True when the search finished successfully."""
        return self.normalized in SUCCESS_STATES

    @property
    def is_failed(self) -> bool:
        """True when the search ended in a failure state."""
        return self.normalized in FAILURE_STATES

    @property
    def is_terminal(self) -> bool:
        """True when polling should stop."""
        return self.is_completed or self.is_failed


@dataclass(frozen=True, slots=True)
class Page:
    """One page of ``POST /search/query`` rows.

    Attributes:
        rows: The raw result rows of this page, exactly as the API sent them (after overlap removal on a
            cursor restart).
        number: 1-based position of this page in the iteration (counts restarts' replayed pages once).
        has_more: The API's end signal: ``False`` on the last page.
        next_cursor: Opaque continuation token, ``None`` when exhausted.
        total_results: Cumulative rows the API says it has returned.
        total_available: People-mode match count, when the API reports it.
        search_id: The saved-search id the rows belong to.
        cursor_expires_in_seconds: TTL of ``next_cursor`` as reported.
    """

    rows: tuple[dict[str, Any], ...]
    number: int
    has_more: bool
    next_cursor: str | None = None
    total_results: int | None = None
    total_available: int | None = None
    search_id: str | None = None
    cursor_expires_in_seconds: int | None = None

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class DownloadLink:
    """A signed download URL minted by ``GET /search/download``.

    The URL carries a secret token in its query string: never log it whole (see :func:`redact_url`).
    """

    url: str = field(repr=False)
    bucket: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    """The result of :meth:`SixtyfourClient.run_search`.

    Exactly one of ``rows`` (paginated JSON flow) and ``csv_path`` (CSV export flow) is set.

    Attributes:
        task_id: The deep-search task.
        search_id: The saved-search id.
        status: The final status reading.
        output_mode: ``"query_only"`` (rows fetched by cursor) or ``"csv"`` (CSV downloaded).
        rows: All rows, in API order, for the JSON flow.
        csv_path: Where the CSV was written, for the CSV flow.
        pages: Pages fetched (JSON flow).
    """

    task_id: str
    search_id: str | None
    status: SearchStatus
    output_mode: str
    rows: Sequence[dict[str, Any]] | None = None
    csv_path: Path | None = None
    pages: int = 0


_SEARCH_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class SixtyfourSearch:
    """A declared search: what to ask Sixtyfour, and how its asset runs.

    Attributes:
        name: Asset name, ``sixtyfour/search/<name>``: lower-case letters, digits and underscores.
        query: Natural-language query. May contain ``{partition}``, filled from the partition key.
        mode: ``"people"`` or ``"company"``.
        max_results: Cap on rows (the API rejects more than the key's ceiling; nothing is clamped).
        output_mode: ``"query_only"`` (JSON pages), ``"csv"`` (CSV export) or ``None`` (by size).
        tags: Extra asset tags.
        description: Asset description (default: the query).
        cron: A cron schedule for this search, or ``None``.

    Example:
        .. code-block:: python

            from dagster_sixtyfour import SixtyfourSearch

            cfos = SixtyfourSearch(name="berlin_cfos", query="CFOs at fintechs in Berlin", max_results=200,
                                   cron="0 6 * * 1")
    """

    name: str
    query: str
    mode: str = "people"
    max_results: int = 1000
    output_mode: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    description: str | None = None
    cron: str | None = None

    def __post_init__(self) -> None:
        from dagster_sixtyfour.errors import SixtyfourConfigError

        if not isinstance(self.name, str) or not _SEARCH_NAME.match(self.name):
            raise SixtyfourConfigError(
                f"Search name {self.name!r} must be lower-case letters, digits and underscores, starting with a letter"
            )
        if not isinstance(self.query, str) or not self.query.strip():
            raise SixtyfourConfigError(f"Search {self.name!r} has an empty query")
        if self.mode not in MODES:
            raise SixtyfourConfigError(f"Search {self.name!r}: mode must be one of {MODES}, got {self.mode!r}")
        if self.output_mode is not None and self.output_mode not in OUTPUT_MODES:
            raise SixtyfourConfigError(f"Search {self.name!r}: output_mode must be one of {OUTPUT_MODES} or None")
        if isinstance(self.max_results, bool) or not isinstance(self.max_results, int) or self.max_results < 1:
            raise SixtyfourConfigError(f"Search {self.name!r}: max_results must be a positive integer")
        object.__setattr__(self, "tags", dict(self.tags))

    def to_json(self) -> str:
        """The search as JSON (stored in asset metadata)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SixtyfourSearch:
        """The search from :meth:`to_json`."""
        return cls(**json.loads(text))

    @property
    def partitioned(self) -> bool:
        """Whether the query has a ``{partition}`` placeholder."""
        return "{partition}" in self.query

    def query_for(self, partition_key: str | None) -> str:
        """The query with ``{partition}`` filled in (only that placeholder; other braces stay as they are)."""
        if self.partitioned:
            if not partition_key:
                from dagster_sixtyfour.errors import SixtyfourConfigError

                raise SixtyfourConfigError(f"Search {self.name!r} has a {{partition}} placeholder but no partition key")
            return self.query.replace("{partition}", partition_key)
        return self.query


def parse_api_time(value: str | None) -> datetime | None:
    """An ISO-8601 time from the API (``Z`` accepted) as a ``datetime``; ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
