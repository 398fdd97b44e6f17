"""Server-side state of the sandbox: tasks, saved searches, cursors, export handles, signed-URL tokens, stats.

Everything is guarded by one lock. Handlers in ``server.py`` validate requests, then call these methods, which
return JSON-ready dicts or raise :class:`ApiError`. Fault randomness comes from a generator seeded by the
server seed; ids are random.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from dagster_sixtyfour.sandbox import data
from dagster_sixtyfour.sandbox.faults import SandboxFaults

PHASES = ("Parsing query", "Searching index", "Ranking candidates", "Enriching profiles", "Finalizing results")
BUCKET = "sixtyfour-sandbox-exports"
NOT_FOUND_TASK = "Search task or export file not found."
NOT_FOUND_SEARCH = "Search not found or has no parsed_query."
#: ``max_results`` of ``/search/query`` and ``/search/export`` when omitted (the API-key default).
DEFAULT_MAX_RESULTS = 1000
_STATUS_FIELDS = (
    "task_id",
    "status",
    "start_time",
    "current_phase",
    "progress_message",
    "close_time",
    "resource_handle_id",
    "total_results",
    "exported_count",
    "error",
    "search_id",
    "iterations",
)


class ApiError(Exception):
    """An error answer: ``status`` and a FastAPI-style ``detail`` (a string, or the 422 list)."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


@dataclass
class SandboxStats:
    """Counters the tests read (``sandbox.stats``); updated under the state lock.

    Attributes:
        requests: Requests per route template, e.g. ``"POST /search/query"`` or ``"GET /files"`` (all answers).
        tasks_created: Deep-search tasks created.
        exports_created: Export tasks created.
        max_in_flight: Most non-terminal deep searches at any time.
        responses_429: 429 answers (injected and concurrency cap).
        responses_5xx: 5xx answers.
        file_requests: Requests to ``/files``.
        file_requests_with_api_key: Requests to ``/files`` that carried an ``x-api-key`` header.
        cursor_restarts_from_search_id: First-page ``/search/query`` requests for a search already paged.
        polls: Status polls answered.
    """

    requests: Counter[str] = field(default_factory=Counter)
    tasks_created: int = 0
    exports_created: int = 0
    max_in_flight: int = 0
    responses_429: int = 0
    responses_5xx: int = 0
    file_requests: int = 0
    file_requests_with_api_key: int = 0
    cursor_restarts_from_search_id: int = 0
    polls: int = 0


@dataclass
class Task:
    """A deep search (``kind="search"``) or an export (``kind="export"``)."""

    task_id: str
    kind: str
    spec: data.SearchSpec
    start_time: str
    output_mode: str = "csv"
    client_search_id: str | None = None
    max_results: int = DEFAULT_MAX_RESULTS
    will_fail: bool = False
    source_search_id: str | None = None  # exports: the saved search exported
    status: str = "queued"
    polls: int = 0
    close_time: str | None = None
    search_id: str | None = None  # deep searches: saved search created on completion
    resource_handle_id: str | None = None

    @property
    def terminal(self) -> bool:
        """Whether the task reached ``completed`` or ``failed``."""
        return self.status in ("completed", "failed")


@dataclass
class SavedSearch:
    """A completed deep search, replayable with ``/search/query`` and ``/search/export``."""

    search_id: str
    spec: data.SearchSpec  # in the search's own mode, ``n`` capped by the search's max_results
    task_id: str


@dataclass
class Cursor:
    """What an opaque cursor token stands for."""

    search_id: str
    spec: data.SearchSpec  # ``n`` = rows this pagination may deliver
    offset: int
    page_number: int
    page_size: int
    max_results: int
    expires_at: float


class SandboxState:
    """All mutable sandbox state behind one lock.

    Args:
        seed: Seeds the fault and id generators and the synthetic data.
        faults: The live fault knobs.
        now: Sandbox clock (seconds; moves with ``advance``).
        wall: Wall-clock epoch seconds matching ``now`` (for ISO timestamps and URL ``expires``).
    """

    def __init__(self, seed: int, faults: SandboxFaults, now: Callable[[], float], wall: Callable[[], float]) -> None:
        self.seed = seed
        self.faults = faults
        self.now = now
        self.wall = wall
        self.lock = threading.RLock()
        self.stats = SandboxStats()
        self._rng = random.Random(f"faults-{seed}")
        # Ids (tasks, searches, cursors, tokens) are random, not seeded: two sandboxes started with one seed (one
        # per Dagster step process) must never hand out the same task id. Rows stay deterministic per seed.
        self._ids = random.SystemRandom()
        self._5xx_cycle = 0
        self.tasks: dict[str, Task] = {}
        self._by_client_id: dict[str, str] = {}
        self.saved: dict[str, SavedSearch] = {}
        self._paged: set[str] = set()
        self._cursors: dict[str, Cursor] = {}
        self.handles: dict[str, data.SearchSpec] = {}
        self._tokens: dict[str, tuple[str, float]] = {}

    # -- randomness and ids --------------------------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        """True with probability ``p`` (no draw at all when ``p <= 0``)."""
        if p <= 0:
            return False
        with self.lock:
            return self._rng.random() < p

    def randint(self, low: int, high: int) -> int:
        """A seeded integer in ``[low, high]``."""
        with self.lock:
            return self._rng.randint(low, high)

    def next_5xx(self) -> int:
        """The next status of the 500/502/503/504 cycle."""
        with self.lock:
            self._5xx_cycle += 1
            return (500, 502, 503, 504)[(self._5xx_cycle - 1) % 4]

    def _hex(self, nbytes: int) -> str:
        return f"{self._ids.getrandbits(8 * nbytes):0{2 * nbytes}x}"

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def iso_now(self) -> str:
        """The sandbox time as ISO-8601 with ``Z``."""
        return datetime.fromtimestamp(self.wall(), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def count(self, route: str) -> None:
        """Counts one request of ``route``."""
        with self.lock:
            self.stats.requests[route] += 1

    def record(self, status: int) -> None:
        """Counts 429/5xx answers."""
        with self.lock:
            if status == 429:
                self.stats.responses_429 += 1
            elif status >= 500:
                self.stats.responses_5xx += 1

    # -- deep searches -------------------------------------------------------------------------------------------

    def in_flight(self) -> int:
        """Non-terminal deep searches."""
        return sum(1 for t in self.tasks.values() if t.kind == "search" and not t.terminal)

    def start_search(
        self, query: str, mode: str, max_results: int, client_search_id: str | None, output_mode: str
    ) -> dict[str, Any]:
        """``POST /search/start-deep-search`` after validation: idempotent on ``client_search_id``, capped."""
        f = self.faults
        with self.lock:
            if client_search_id is not None and client_search_id in self._by_client_id:
                old = self.tasks[self._by_client_id[client_search_id]]
                return {"task_id": old.task_id, "status": old.status, "message": "Search already started"}
            if self.in_flight() >= f.max_concurrent:
                raise ApiError(429, f"Rate limit exceeded: at most {f.max_concurrent} concurrent deep searches")
            n = data.search_size(self.seed, query, f.rows_per_search, max_results)
            spec = data.SearchSpec(self.seed, query, mode, f.epoch, f.population, f.dup_rate, n)
            fail = "__fail__" in query or (f.p_search_fail > 0 and self._rng.random() < f.p_search_fail)
            task = Task(self._uuid(), "search", spec, self.iso_now(), output_mode, client_search_id, max_results, fail)
            self.tasks[task.task_id] = task
            if client_search_id is not None:
                self._by_client_id[client_search_id] = task.task_id
            self.stats.tasks_created += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.in_flight())
            return {"task_id": task.task_id, "status": task.status, "message": "Search started successfully"}

    def poll(self, task_id: str) -> dict[str, Any]:
        """A status poll: advances the task by one poll and answers its status document."""
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                raise ApiError(404, NOT_FOUND_TASK)
            self.stats.polls += 1
            idx, cap = task.polls, self.faults.complete_after_polls
            task.polls += 1
            if not task.terminal:
                if idx >= cap:
                    self._finish(task)
                else:
                    task.status = "queued" if idx == 0 else "running"
            return self._status_doc(task, idx, cap)

    def _finish(self, task: Task) -> None:
        task.close_time = self.iso_now()
        if task.will_fail:
            task.status = "failed"
            return
        task.status = "completed"
        if task.kind == "search":
            saved = SavedSearch(f"ss_{self._hex(12)}", task.spec, task.task_id)
            self.saved[saved.search_id] = saved
            task.search_id = saved.search_id
        if task.output_mode == "csv":
            task.resource_handle_id = f"rh_{self._hex(16)}"
            self.handles[task.resource_handle_id] = task.spec

    def _status_doc(self, task: Task, idx: int, cap: int) -> dict[str, Any]:
        n = task.spec.n
        doc: dict[str, Any] = dict.fromkeys(_STATUS_FIELDS)
        doc.update(task_id=task.task_id, status=task.status, start_time=task.start_time, close_time=task.close_time)
        doc["resource_handle_id"] = task.resource_handle_id
        if task.kind == "export":
            doc["search_id"] = task.source_search_id
        if task.status == "running":
            steps = max(1, cap - 1)
            phase = min(len(PHASES) - 1, (idx - 1) * len(PHASES) // steps)
            doc.update(current_phase=phase, progress_message=PHASES[phase], total_results=n * idx // max(1, cap))
            if task.kind == "search":
                doc["iterations"] = [self._iteration(j, n, cap) for j in range(1, idx + 1)]
        elif task.status == "completed":
            doc.update(current_phase=len(PHASES) - 1, progress_message="Completed", total_results=n)
            if task.output_mode == "csv":
                doc["exported_count"] = n
            if task.kind == "search":
                doc["search_id"] = task.search_id
                doc["iterations"] = [self._iteration(j, n, cap) for j in range(1, max(1, cap) + 1)]
        elif task.status == "failed":
            doc.update(progress_message="Failed", error="Search agent failed: upstream model error")
        return doc

    @staticmethod
    def _iteration(j: int, n: int, cap: int) -> dict[str, Any]:
        results = min(n, n * j // max(1, cap))
        return {
            "iteration": j,
            "results": results,
            "elapsed_ms": 1500 * j + 37 * (j % 7),
            "message": f"Iteration {j}: {results} candidates",
        }

    def task_snapshot(self, task_id: str) -> dict[str, Any]:
        """A copy of a task's fields (``KeyError`` if unknown)."""
        with self.lock:
            t = self.tasks[task_id]
            snapshot = {k: v for k, v in vars(t).items() if k != "spec"}
            snapshot.update(query=t.spec.query, mode=t.spec.mode, rows=t.spec.n, epoch=t.spec.epoch)
            return snapshot

    def saved_spec(self, search_id: str, mode: str | None = None, cap: int | None = None) -> data.SearchSpec:
        """The rows spec of a saved search, in ``mode`` (default: its own) and capped by ``cap``."""
        with self.lock:
            saved = self.saved.get(search_id)
            if saved is None:
                raise ApiError(404, NOT_FOUND_SEARCH)
            spec = saved.spec if mode is None else replace(saved.spec, mode=mode)
            return spec if cap is None else replace(spec, n=min(spec.n, cap))

    # -- /search/query -------------------------------------------------------------------------------------------

    def first_page(self, search_id: str, mode: str, page_size: int, max_results: int) -> dict[str, Any]:
        """The first page of a saved search."""
        spec = self.saved_spec(search_id, mode, max_results)
        with self.lock:
            if search_id in self._paged:
                self.stats.cursor_restarts_from_search_id += 1
            self._paged.add(search_id)
            return self._page(Cursor(search_id, spec, 0, 1, page_size, max_results, 0.0))

    def next_page(self, token: str) -> dict[str, Any]:
        """The page a cursor stands for; cursors are reusable until they expire."""
        with self.lock:
            cur = self._cursors.get(token)
            if cur is None:
                raise ApiError(400, "Invalid cursor")
            if self.now() >= cur.expires_at or (
                self.faults.p_cursor_expired > 0 and self._rng.random() < self.faults.p_cursor_expired
            ):
                raise ApiError(410, "Cursor expired; restart from search_id")
            return self._page(cur)

    def _page(self, cur: Cursor) -> dict[str, Any]:
        f, total = self.faults, cur.spec.n
        count = min(cur.page_size, total - cur.offset)
        if count > 0 and f.p_empty_page > 0 and self._rng.random() < f.p_empty_page:
            count = 0
        elif count > 1 and f.p_short_page > 0 and self._rng.random() < f.p_short_page:
            count = self._rng.randint(1, count - 1)
        delivered = cur.offset + count
        has_more = delivered < total
        doc: dict[str, Any] = {
            "results": data.rows(cur.spec, cur.offset, delivered),
            "has_more": has_more,
            "next_cursor": None,
            "cursor_expires_in_seconds": int(f.cursor_ttl),
            "page_size": cur.page_size,
            "page_count": count,
            "page_number": cur.page_number,
        }
        if has_more:
            token = f"c1.{self._hex(18)}"
            expires = self.now() + f.cursor_ttl
            self._cursors[token] = replace(cur, offset=delivered, page_number=cur.page_number + 1, expires_at=expires)
            doc["next_cursor"] = token
        else:
            doc["total_pages"] = cur.page_number
        doc.update(
            max_pages=-(-cur.max_results // cur.page_size),
            max_results=cur.max_results,
            remaining_results=max(0, cur.max_results - delivered),
            total_results=delivered,
            total_available=self.saved_spec(cur.search_id).n if cur.spec.mode == "people" else None,
            search_id=cur.search_id,
            resource_handle_id="",
            exported_count=0,
            request_duration_ms=0,
            output_shape="raw",
        )
        return doc

    # -- exports and downloads -----------------------------------------------------------------------------------

    def start_export(self, search_id: str, mode: str | None, max_results: int) -> dict[str, Any]:
        """``POST /search/export``: one running export per saved search."""
        spec = self.saved_spec(search_id, mode, max_results)
        with self.lock:
            for t in self.tasks.values():
                if t.kind == "export" and t.source_search_id == search_id and not t.terminal:
                    raise ApiError(409, "Export workflow is already running for this search.")
            task = Task(
                self._uuid(), "export", spec, self.iso_now(), "csv", max_results=max_results, source_search_id=search_id
            )
            self.tasks[task.task_id] = task
            self.stats.exports_created += 1
            return {"task_id": task.task_id, "status": task.status, "message": "Export started"}

    def mint_url(self, handle: str, base_url: str) -> dict[str, Any]:
        """``GET /search/download``: a new signed URL (new token) on every call."""
        with self.lock:
            if handle not in self.handles:
                raise ApiError(404, NOT_FOUND_TASK)
            token = self._hex(24)
            ttl = self.faults.url_ttl
            self._tokens[token] = (handle, self.now() + ttl)
            path = f"exports/{handle}.csv"
            expires = int(self.wall() + ttl)
            url = self.faults.download_url or f"{base_url}/files/{BUCKET}/{path}?token={token}&expires={expires}"
            return {"url": url, "bucket": BUCKET, "path": path}

    def open_file(self, bucket: str, path: str, token: str | None) -> data.SearchSpec:
        """Checks a signed URL; returns the export's rows spec or raises 403 (``detail`` = S3 message) / 404."""
        with self.lock:
            entry = self._tokens.get(token or "")
            if entry is None:
                raise ApiError(403, "Access Denied")
            handle, expires_at = entry
            if bucket != BUCKET or path != f"exports/{handle}.csv":
                raise ApiError(403, "Access Denied")
            if self.now() >= expires_at:
                raise ApiError(403, "Request has expired")
            return self.handles[handle]
