"""``SixtyfourClient``: the Sixtyfour Search API over httpx, with retries, polling, paging and downloads.

This module imports nothing from Dagster, so scripts and other orchestrators can use it as is.
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from dagster_sixtyfour._download import DownloadFailed, check_download_url, is_loopback_host, stream_to_file
from dagster_sixtyfour._http import CallPolicy, Requester, for_start
from dagster_sixtyfour._paging import paginate
from dagster_sixtyfour._redact import install_redaction
from dagster_sixtyfour._retry import RetrySettings
from dagster_sixtyfour.errors import (
    SixtyfourAPIError,
    SixtyfourConfigError,
    SixtyfourConflictError,
    SixtyfourDownloadError,
    SixtyfourMalformedResponseError,
    SixtyfourPaginationError,
    SixtyfourPollTimeoutError,
    SixtyfourSearchFailedError,
)
from dagster_sixtyfour.models import (
    MODES,
    OUTPUT_MODES,
    DownloadLink,
    Page,
    SearchOutcome,
    SearchStarted,
    SearchStatus,
)

logger = logging.getLogger("dagster_sixtyfour")

DEFAULT_BASE_URL = "https://api.sixtyfour.ai"
#: Above this many requested rows a search defaults to the CSV export flow; at or below it, to JSON pages.
CSV_THRESHOLD = 2000
MAX_DOWNLOAD_MINTS = 3
_STATUS_PATHS = ("/search/status/{}", "/search/deep-search-status/{}")

ProgressCallback = Callable[[SearchStatus], None]


def choose_output_mode(max_results: int) -> str:
    """The default flow for a search: JSON pages up to :data:`CSV_THRESHOLD` rows, the CSV export above."""
    return "query_only" if max_results <= CSV_THRESHOLD else "csv"


class SixtyfourClient:
    """A client for the Sixtyfour Search API ("Deep Search").

    Args:
        api_key: The organization's API key, sent as ``x-api-key``. Never logged or shown.
        base_url: The API root. Plain ``http`` is accepted only for loopback hosts (the sandbox).
        request_timeout: Seconds to wait for one response (connect and pool waits are capped at 10 s).
        request_max_retries: Retries of a failed call after the first attempt.
        request_retry_delay: First backoff step in seconds (doubles per retry, capped at 30 s, full jitter).
        poll_interval: Seconds between status polls (+-10 % jitter). The first poll is immediate.
        poll_timeout: Seconds to wait for a search to finish before giving up (it keeps running remotely).
        page_size: Rows per ``/search/query`` page, 1-100.
        download_timeout: Overall seconds for one CSV download.
        transport: An httpx transport for the API (tests use ``httpx.MockTransport``).
        download_transport: An httpx transport for signed-URL downloads.
        clock: Monotonic seconds; ``sleep``: waits; ``wall_clock``: epoch seconds (``Retry-After`` dates);
            ``rng``: jitter source. All injectable so tests never sleep.

    Example:
        .. code-block:: python

            import os
            from dagster_sixtyfour import SixtyfourClient

            with SixtyfourClient(api_key=os.environ["SIXTYFOUR_API_KEY"]) as client:
                outcome = client.run_search("VPs of Engineering at fintechs in Berlin", max_results=200)
                print(len(outcome.rows or []), "rows")
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        request_timeout: float = 60.0,
        request_max_retries: int = 4,
        request_retry_delay: float = 1.0,
        poll_interval: float = 10.0,
        poll_timeout: float = 1800.0,
        page_size: int = 100,
        download_timeout: float = 600.0,
        transport: httpx.BaseTransport | None = None,
        download_transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise SixtyfourConfigError("api_key is empty: set SIXTYFOUR_API_KEY (or use the sandbox)")
        self._check_settings(base_url, request_timeout, request_max_retries, poll_interval, poll_timeout, page_size)
        install_redaction(api_key)
        self.base_url = base_url.rstrip("/")
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.page_size = page_size
        self.download_timeout = download_timeout
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()
        self._loopback = is_loopback_host(urlsplit(self.base_url).hostname)
        self._status_paths = list(_STATUS_PATHS)
        self._exports: dict[str, str] = {}
        timeout = httpx.Timeout(request_timeout, connect=min(10.0, request_timeout), pool=min(10.0, request_timeout))
        http = httpx.Client(
            base_url=self.base_url,
            headers={"x-api-key": api_key, "user-agent": "dagster-sixtyfour"},
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
        )
        self._download_http = httpx.Client(timeout=timeout, follow_redirects=False, transport=download_transport)
        settings = RetrySettings(max_retries=request_max_retries, retry_delay=request_retry_delay)
        self._requester = Requester(
            http,
            settings,
            self._rng,
            clock=clock,
            sleep=sleep,
            wall_clock=wall_clock,
        )

    @staticmethod
    def _check_settings(
        base_url: str, timeout: float, retries: int, interval: float, poll_timeout: float, page_size: int
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SixtyfourConfigError(f"base_url must be an http(s) URL, got {base_url!r}")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise SixtyfourConfigError("base_url must use https (plain http is allowed only on loopback)")
        if timeout <= 0 or retries < 0 or interval < 0 or poll_timeout <= 0:
            raise SixtyfourConfigError("request_timeout and poll_timeout must be > 0; retries and intervals >= 0")
        _check_page_size(page_size)

    def __repr__(self) -> str:
        return f"SixtyfourClient(base_url={self.base_url!r}, api_key='[REDACTED]')"

    def __enter__(self) -> SixtyfourClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the HTTP connections."""
        self._requester.http.close()
        self._download_http.close()

    @property
    def retries(self) -> int:
        """Retries made by this client so far (for run metadata)."""
        return self._requester.retries

    # -- searches -------------------------------------------------------------------------------------------

    def start_search(
        self,
        query: str,
        *,
        mode: str = "people",
        max_results: int = 1000,
        output_mode: str | None = None,
        search_id: str | None = None,
    ) -> SearchStarted:
        """Starts a deep search (``POST /search/start-deep-search``).

        Args:
            query: Natural-language description of who or what to find.
            mode: ``"people"`` or ``"company"``.
            max_results: Cap on rows across pages.
            output_mode: ``"query_only"`` (browse rows with :meth:`iter_pages`) or ``"csv"`` (an export is
                written; fetch it with :meth:`download_csv`). ``None`` picks by size (:func:`choose_output_mode`).
            search_id: A client id that makes the start idempotent: the same id re-attaches to the task
                already started. Only a start that carries one is retried after a timeout or a 5xx.

        Returns:
            The new (or re-attached) task.

        Example:
            >>> started = client.start_search("CFOs at SaaS firms", search_id="run-42")  # doctest: +SKIP
        """
        if not isinstance(query, str) or not query.strip():
            raise SixtyfourConfigError("query must be a non-empty string")
        _check_mode(mode)
        if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
            raise SixtyfourConfigError(f"max_results must be a positive integer, got {max_results!r}")
        output_mode = output_mode or choose_output_mode(max_results)
        if output_mode not in OUTPUT_MODES:
            raise SixtyfourConfigError(f"output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}")
        body: dict[str, Any] = {"query": query, "mode": mode, "max_results": max_results, "output_mode": output_mode}
        if search_id:
            body["search_id"] = search_id
        policy = CallPolicy(
            idempotent=bool(search_id),
            rate_limit_retries=None,
            settings=for_start(self._requester.settings, self.poll_timeout),
        )
        data = self._requester.call("POST", "/search/start-deep-search", body=body, policy=policy)
        if not data.get("task_id"):
            raise SixtyfourMalformedResponseError("POST /search/start-deep-search answered without a task_id")
        started = SearchStarted.from_json(data, search_id=search_id)
        logger.info("Started Sixtyfour %s search: task %s (%s)", mode, started.task_id, started.status)
        return started

    def get_status(self, task_id: str) -> SearchStatus:
        """Reads a task's status: ``/search/status/{id}``, falling back to ``/search/deep-search-status/{id}``
        when the first path answers 404 or 405 (the fallback is then remembered)."""
        if not task_id:
            raise SixtyfourConfigError("task_id is empty")
        last: SixtyfourAPIError | None = None
        for path in tuple(self._status_paths):
            try:
                data = self._requester.call("GET", path.format(task_id))
            except SixtyfourAPIError as err:
                if err.status_code not in (404, 405):
                    raise
                last = err
                continue
            if path != self._status_paths[0]:
                logger.info("Status path %s answered; using it from now on", path.format("{task_id}"))
                self._status_paths.remove(path)
                self._status_paths.insert(0, path)
            return SearchStatus.from_json({"task_id": task_id, **data})
        assert last is not None
        raise last

    def wait_for_search(self, task_id: str, on_progress: ProgressCallback | None = None) -> SearchStatus:
        """Polls a task until it completes; the first poll is immediate, then every ``poll_interval``.

        Progress (status, phase, message, counts) goes to ``on_progress`` on every poll and to the
        ``dagster_sixtyfour`` logger whenever it changes.

        Raises:
            SixtyfourSearchFailedError: the task ended ``failed`` (or ``error``, ``cancelled``...).
            SixtyfourPollTimeoutError: ``poll_timeout`` passed; names the task and its last status.
        """
        started = self._clock()
        last_seen: tuple[object, ...] | None = None
        status: SearchStatus | None = None
        while True:
            status = self.get_status(task_id)
            if on_progress is not None:
                on_progress(status)
            seen = (status.status, status.current_phase, status.progress_message, status.total_results)
            if seen != last_seen:
                last_seen = seen
                logger.info("Sixtyfour task %s: %s", task_id, describe_status(status))
            if status.is_completed:
                return status
            if status.is_failed:
                raise SixtyfourSearchFailedError(task_id, status.status, status.error)
            waited = self._clock() - started
            if waited >= self.poll_timeout:
                raise SixtyfourPollTimeoutError(task_id, status.status, waited)
            pause = self.poll_interval * self._rng.uniform(0.9, 1.1)
            self._sleep(min(pause, max(0.0, self.poll_timeout - waited)))

    # -- JSON pages -----------------------------------------------------------------------------------------

    def iter_pages(
        self, search_id: str, *, mode: str = "people", page_size: int | None = None, max_results: int | None = None
    ) -> Iterator[Page]:
        """Yields the rows of a saved search page by page (``POST /search/query``).

        The first request sends ``search_id`` and ``mode`` (the endpoint's own default mode is ``company``),
        later ones only the cursor. Paging stops only on the API's end signal (``has_more`` false or no
        cursor); short and empty pages are normal. An expired cursor restarts from ``search_id`` and the
        rows already yielded are skipped. A cursor seen twice, more pages than the row cap allows, or
        ``has_more`` without a cursor raise :class:`SixtyfourPaginationError` instead of looping.

        Example:
            >>> for page in client.iter_pages(status.search_id, mode="people"):  # doctest: +SKIP
            ...     print(page.number, len(page.rows))
        """
        if not search_id:
            raise SixtyfourConfigError("search_id is empty: wait for the search to complete first")
        _check_mode(mode)
        size = _check_page_size(page_size or self.page_size)
        first: dict[str, Any] = {"search_id": search_id, "mode": mode, "page_size": size}
        if max_results is not None:
            first["max_results"] = max_results
        yield from paginate(self._requester, first, search_id=search_id, page_size=size, max_results=max_results)

    # -- CSV export -----------------------------------------------------------------------------------------

    def export(self, search_id: str, *, mode: str = "people", max_results: int | None = None) -> SearchStarted:
        """Starts a CSV export of a saved search (``POST /search/export``); poll it with :meth:`wait_for_search`.

        A 409 ("already running") re-attaches to the export this client started for the same search; an export
        started elsewhere is waited out (409s are retried with backoff) before this one starts.
        """
        _check_mode(mode)
        body: dict[str, Any] = {"search_id": search_id, "mode": mode}
        if max_results is not None:
            body["max_results"] = max_results
        started_at = self._clock()
        conflicts = 0
        while True:
            try:
                data = self._requester.call("POST", "/search/export", body=body)
            except SixtyfourConflictError:
                known = self._exports.get(search_id)
                if known:
                    logger.info("Export of search %s already running: re-attaching to task %s", search_id, known)
                    return SearchStarted(task_id=known, status="running", search_id=search_id)
                conflicts += 1
                wait = min(60.0, 5.0 * 2 ** (conflicts - 1))
                if self._clock() - started_at + wait > self.poll_timeout:
                    raise
                logger.warning("An export of search %s is already running elsewhere; waiting %.0fs", search_id, wait)
                self._sleep(wait)
                continue
            started = SearchStarted.from_json(data, search_id=search_id)
            self._exports[search_id] = started.task_id
            return started

    def get_download_link(self, resource_handle_id: str) -> DownloadLink:
        """Mints a signed download URL (``GET /search/download``); each call gives a fresh URL."""
        if not resource_handle_id:
            raise SixtyfourConfigError("resource_handle_id is empty: the search has no CSV export")
        data = self._requester.call("GET", "/search/download", params={"resource_handle_id": resource_handle_id})
        url = data.get("url")
        if not isinstance(url, str) or not url:
            raise SixtyfourDownloadError("GET /search/download returned no url")
        return DownloadLink(url=url, bucket=str(data.get("bucket", "")), path=str(data.get("path", "")))

    def download_csv(self, resource_handle_id: str, dest: str | Path) -> Path:
        """Downloads a CSV export to ``dest`` and returns its path.

        The body is streamed to disk, never held in memory. An expired or refused URL, or a broken transfer,
        is retried with a freshly minted URL (at most 3 URLs); a partial file is deleted on failure. The
        signed URL is fetched without the API key and must pass :func:`check_download_url`.

        Example:
            >>> path = client.download_csv(status.resource_handle_id, "leads.csv")  # doctest: +SKIP
        """
        target = Path(dest)
        deadline = self._clock() + self.download_timeout
        failures: list[str] = []
        for mint in range(1, MAX_DOWNLOAD_MINTS + 1):
            link = self.get_download_link(resource_handle_id)
            check_download_url(link.url, allow_loopback_http=self._loopback)
            try:
                size = stream_to_file(self._download_http, link.url, target, clock=self._clock, deadline=deadline)
            except DownloadFailed as exc:
                failures.append(str(exc))
                if not exc.expired or self._clock() > deadline:
                    break
                logger.warning("Download attempt %d failed (%s); minting a new URL", mint, exc)
                continue
            logger.info("Downloaded CSV export %s (%d bytes)", resource_handle_id, size)
            return target
        raise SixtyfourDownloadError(f"CSV export {resource_handle_id} could not be downloaded: {'; '.join(failures)}")

    # -- all in one -----------------------------------------------------------------------------------------

    def run_search(
        self,
        query: str,
        *,
        mode: str = "people",
        max_results: int = 1000,
        output_mode: str | None = None,
        search_id: str | None = None,
        dest: str | Path | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> SearchOutcome:
        """Starts a search, waits for it, then fetches its rows (JSON pages) or its CSV export.

        Args:
            dest: Where to write the CSV in the CSV flow (default: a new temporary file).

        Example:
            >>> outcome = client.run_search("Heads of Data in Lisbon", max_results=100)  # doctest: +SKIP
            >>> outcome.rows[0]["fullName"]  # doctest: +SKIP
        """
        chosen = output_mode or choose_output_mode(max_results)
        started = self.start_search(query, mode=mode, max_results=max_results, output_mode=chosen, search_id=search_id)
        status = self.wait_for_search(started.task_id, on_progress=on_progress)
        return self.fetch_results(started.task_id, status, mode=mode, max_results=max_results, output_mode=chosen,
                                  dest=dest)  # fmt: skip

    def fetch_results(
        self,
        task_id: str,
        status: SearchStatus,
        *,
        mode: str = "people",
        max_results: int | None = None,
        output_mode: str = "query_only",
        dest: str | Path | None = None,
    ) -> SearchOutcome:
        """Fetches a completed search's rows: its CSV export when ``output_mode`` is ``"csv"`` and the status
        carries a ``resource_handle_id``, else every JSON page.

        Args:
            task_id: The completed task.
            status: Its final status, from :meth:`wait_for_search`.
            dest: Where to write the CSV in the CSV flow (default: a new temporary file).

        Example:
            >>> status = client.wait_for_search(task_id)  # doctest: +SKIP
            >>> outcome = client.fetch_results(task_id, status, max_results=100)  # doctest: +SKIP
        """
        if output_mode == "csv" and status.resource_handle_id:
            path = Path(dest) if dest else Path(tempfile.mkstemp(prefix="sixtyfour-", suffix=".csv")[1])
            self.download_csv(status.resource_handle_id, path)
            return SearchOutcome(task_id, status.search_id, status, "csv", csv_path=path)
        if not status.search_id:
            raise SixtyfourPaginationError(f"Task {task_id} completed without a search_id to page through")
        rows: list[dict[str, Any]] = []
        pages = 0
        for page in self.iter_pages(status.search_id, mode=mode, max_results=max_results):
            rows.extend(page.rows)
            pages += 1
        return SearchOutcome(task_id, status.search_id, status, "query_only", rows=rows, pages=pages)


def describe_status(status: SearchStatus) -> str:
    """A one-line, human description of a status reading (no personal data)."""
    parts = [status.status]
    if status.current_phase is not None:
        parts.append(f"phase {status.current_phase}")
    if status.progress_message:
        parts.append(status.progress_message)
    if status.total_results is not None:
        parts.append(f"{status.total_results} results")
    return " - ".join(parts)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise SixtyfourConfigError(f"mode must be one of {MODES}, got {mode!r}")


def _check_page_size(page_size: int) -> int:
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 100:
        raise SixtyfourConfigError(f"page_size must be an integer from 1 to 100, got {page_size!r}")
    return page_size
