"""Typed, immutable values returned by :class:`~dagster_sixtyfour.SixtyfourClient`.

The API documents only a few fields as required, so every model is built tolerantly from the response JSON:
unknown keys are ignored, missing optional keys become ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
