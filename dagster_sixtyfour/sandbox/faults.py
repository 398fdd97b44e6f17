"""Fault and data knobs of the sandbox: one mutable dataclass, read on every request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Default header of a people CSV export (contract section 5.3, an emulator guess the connector must not hard-code).
PEOPLE_CSV_COLUMNS: tuple[str, ...] = (
    "full_name",
    "first_name",
    "last_name",
    "title",
    "headline",
    "company_name",
    "company_domain",
    "linkedin_url",
    "public_id",
    "location",
    "seniority",
    "job_function",
    "summary",
)

#: Default header of a company CSV export (contract section 5.3).
COMPANY_CSV_COLUMNS: tuple[str, ...] = (
    "company_name",
    "website_domain",
    "linkedin_url",
    "company_id",
    "industry",
    "employees_count",
    "hq_city",
    "hq_country",
    "description",
)

#: Accepted values of :attr:`SandboxFaults.error_body_shape`.
ERROR_BODY_SHAPES: tuple[str, ...] = ("detail", "error_message", "html")


@dataclass
class SandboxFaults:
    """Everything the sandbox can get wrong on purpose, plus the knobs of its synthetic data.

    Every field defaults to "no fault". The server reads the instance when a request arrives, so a test may change
    a field at any time (``sandbox.faults.p429 = 0.5``) and the next request obeys it. Probabilities are drawn
    from a ``random.Random`` seeded from the server seed. Faults never change the data: a retried request returns
    the same rows.

    Attributes:
        p429: Probability that any API route (not ``/files``) answers 429 ``Rate limit exceeded``.
        retry_after: ``Retry-After`` header sent verbatim with every 429 (also the concurrency cap); ``None``
            sends no header. May be an HTTP date or garbage on purpose.
        p5xx: Probability that an API route answers a 5xx; the status cycles 500, 502, 503, 504.
        error_body_shape: Body of 429/5xx answers: ``"detail"`` (``{"detail": str}``), ``"error_message"``
            (``{"error": ..., "message": ...}``) or ``"html"`` (an HTML page, ``text/html``).
        latency_ms: Real server-side sleep before answering any request.
        p_short_page: Probability that a ``/search/query`` page holds fewer rows than ``page_size`` while
            ``has_more`` stays true.
        p_empty_page: Probability that a ``/search/query`` page holds no row while ``has_more`` stays true.
        cursor_ttl: Lifetime of a pagination cursor, in seconds of the sandbox clock.
        p_cursor_expired: Probability that a continuation request answers 410 although its cursor is fresh.
        url_ttl: Lifetime of a signed download URL, in seconds of the sandbox clock.
        p_search_fail: Probability, drawn when a deep search starts, that it ends ``failed``.
        p_malformed: Probability that a 200 ``/search/query`` page carries JSON truncated mid-document.
        p_cut_body: Probability that a ``/search/query`` page or a ``/files`` download announces its full length,
            sends part of the body and closes the socket.
        max_concurrent: Non-terminal deep searches allowed at once; the next start answers 429.
        complete_after_polls: Status polls after which a task is terminal (poll 0 is ``queued``).
        max_results_ceiling: The key's row ceiling (``GET /search/limits``); larger ``max_results`` answer 422.
        csv_bom: Start CSV downloads with a UTF-8 byte order mark.
        status_path_missing: ``GET /search/status/{id}`` answers 404 ``Not Found`` (the client must fall back
            to ``/search/deep-search-status/{id}``).
        rows_per_search: Rows of every search (before ``max_results``); ``None`` derives 150-249 from the query.
        population: Size of the people pool and of the company pool that searches draw from.
        epoch: Bumping it gives about 20 % of the people a new title and/or company ("job changes"); it is
            captured when a search starts.
        dup_rate: Extra chance that a row repeats a person (or company) seen earlier in the same search.
        download_url: Returned verbatim as ``url`` by ``GET /search/download`` (SSRF tests).
        people_csv_columns: Header of people CSV exports.
        company_csv_columns: Header of company CSV exports.
        start_delay_after_commit_ms: Real sleep after a deep search was created, before the start answers (a
            client read timeout then hides a task that exists).
        files_drip_ms: Real sleep between small pieces (64 bytes) of a ``/files`` download (slow-drip).
        idle_close_seconds: Close a keep-alive connection idle for this many real seconds (stale connections).
        files_redirect_url: ``/files`` answers ``302`` with this ``Location`` instead of the file.
    """

    p429: float = 0.0
    retry_after: str | None = "1"
    p5xx: float = 0.0
    error_body_shape: str = "detail"
    latency_ms: float = 0.0
    p_short_page: float = 0.0
    p_empty_page: float = 0.0
    cursor_ttl: float = 300.0
    p_cursor_expired: float = 0.0
    url_ttl: float = 900.0
    p_search_fail: float = 0.0
    p_malformed: float = 0.0
    p_cut_body: float = 0.0
    max_concurrent: int = 5
    complete_after_polls: int = 3
    max_results_ceiling: int = 10000
    csv_bom: bool = False
    status_path_missing: bool = False
    rows_per_search: int | None = None
    population: int = 5000
    epoch: int = 0
    dup_rate: float = 0.05
    download_url: str | None = None
    people_csv_columns: Sequence[str] = PEOPLE_CSV_COLUMNS
    company_csv_columns: Sequence[str] = COMPANY_CSV_COLUMNS
    start_delay_after_commit_ms: float = 0.0
    files_drip_ms: float = 0.0
    idle_close_seconds: float | None = None
    files_redirect_url: str | None = None
