"""The error hierarchy of dagster-sixtyfour.

Every error raised by the client is a :class:`SixtyfourError`. Errors carry what a user needs to act (the route,
the HTTP status, the API's own words, the task id) and never the API key, request headers or a signed URL's
query string.

``terminal`` tells the orchestration layer whether retrying can help: a wrong key (401), missing credits (402),
a forbidden call (403) or an invalid request (400/422) fail the same way every time.

Example:
    .. code-block:: python

        from dagster_sixtyfour import SixtyfourClient
        from dagster_sixtyfour.errors import SixtyfourAuthError

        try:
            SixtyfourClient(api_key="wrong").start_search("CTOs in Berlin")
        except SixtyfourAuthError as err:
            print(err.status_code, err)  # 401 The Sixtyfour API rejected the API key ...
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from dagster_sixtyfour._redact import scrub

_EXCERPT = 200


class SixtyfourError(Exception):
    """Base class of every dagster-sixtyfour error.

    Attributes:
        terminal: ``True`` when retrying the same call cannot succeed.
    """

    terminal: bool = False


class SixtyfourConfigError(SixtyfourError, ValueError):
    """A setting or argument is invalid; raised before any request is sent."""

    terminal = True


class SixtyfourAPIError(SixtyfourError):
    """The API answered with an error status.

    Attributes:
        status_code: The HTTP status.
        detail: The API's message, parsed from any of the documented body shapes.
        method: HTTP method of the failed call.
        route: Path of the failed call (no query string).
        errors: Field errors of a validation (422) body: dicts with ``loc`` and ``msg``.
        attempts: How many attempts were made.
    """

    hint = ""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        method: str = "",
        route: str = "",
        errors: Sequence[Mapping[str, Any]] = (),
        attempts: int = 1,
        note: str = "",
    ) -> None:
        self.status_code = status_code
        self.note = note
        self.detail = detail
        self.method = method
        self.route = route
        self.errors = tuple(errors)
        self.attempts = attempts
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.method} {self.route} " if self.route else ""
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        text = f"{where}failed with HTTP {self.status_code}{tries}: {self.detail}"
        for extra in (self.note, self.hint):
            if extra:
                text = f"{text.rstrip('.')}. {extra}"
        return text


class SixtyfourAuthError(SixtyfourAPIError):
    """401/403: the key is missing, wrong, or not allowed to do this."""

    terminal = True
    hint = (
        "The Sixtyfour API rejected the API key: check SIXTYFOUR_API_KEY (create a key at "
        "app.sixtyfour.ai -> Keys) and that it belongs to the right organization."
    )


class SixtyfourCreditsError(SixtyfourAPIError):
    """402: the organization is out of credits or has no subscription."""

    terminal = True
    hint = "The organization is out of Sixtyfour credits: add credits or a subscription, then run again."


class SixtyfourValidationError(SixtyfourAPIError):
    """400/422: the request was rejected as invalid; the message names each invalid field."""

    terminal = True
    hint = "Fix the request and run again."


class SixtyfourNotFoundError(SixtyfourAPIError):
    """404: the task, search or export file does not exist (or no longer exists)."""

    terminal = True


class SixtyfourConflictError(SixtyfourAPIError):
    """409: an export of this search is already running."""


class SixtyfourRateLimitError(SixtyfourAPIError):
    """429: too many requests, or the organization already runs 5 deep searches.

    Attributes:
        retry_after: The wait the server asked for, in seconds, if it said.
    """

    hint = "Retries were exhausted; lower the number of concurrent searches (a Dagster pool of 5) or wait."

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class SixtyfourServerError(SixtyfourAPIError):
    """5xx, or a 200 whose body could not be parsed, after all retries."""


class SixtyfourTransportError(SixtyfourError):
    """The API could not be reached (connection refused, timeouts, broken bodies) after all retries."""

    def __init__(self, message: str, *, method: str = "", route: str = "", attempts: int = 1) -> None:
        self.method = method
        self.route = route
        self.attempts = attempts
        super().__init__(message)


class SixtyfourSearchFailedError(SixtyfourError):
    """The search task ended in a failure state (``failed``, ``error``, ``cancelled``...)."""

    def __init__(self, task_id: str, status: str, error: str | None) -> None:
        self.task_id = task_id
        self.status = status
        self.error = error
        super().__init__(f"Sixtyfour search task {task_id} ended with status '{status}': {error or 'no error text'}")


class SixtyfourPollTimeoutError(SixtyfourError):
    """The search did not finish within ``poll_timeout``; it may still be running on the API side."""

    def __init__(self, task_id: str, last_status: str | None, waited: float) -> None:
        self.task_id = task_id
        self.last_status = last_status
        self.waited = waited
        super().__init__(
            f"Sixtyfour search task {task_id} did not finish within {waited:.0f}s "
            f"(last status: {last_status or 'never read'}). It may still be running: run again to re-attach "
            "with the same search_id, or raise poll_timeout."
        )


class SixtyfourPaginationError(SixtyfourError):
    """Paging could not finish safely (a cursor seen twice, more pages than possible, no cursor while
    ``has_more``, too many cursor restarts)."""


class SixtyfourDownloadError(SixtyfourError):
    """The CSV export could not be downloaded safely (refused URL, expired too often, too slow)."""


class SixtyfourMalformedResponseError(SixtyfourError):
    """A 2xx answer whose body is not the JSON the contract describes."""


def parse_error_body(response: httpx.Response) -> tuple[str, list[dict[str, Any]]]:
    """Extracts a readable message and field errors from an error response.

    Understands the three shapes in the contract: ``{"detail": "..."}``, FastAPI's
    ``{"detail": [{"loc": [...], "msg": "..."}]}`` and ``{"error": "...", "message": "..."}`` (also nested
    ``{"error": {"code", "message"}}``). Anything else yields a short excerpt of the body.

    Args:
        response: A response whose body has been read.

    Returns:
        The message and the list of field errors (empty unless the body is a validation list).
    """
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return _excerpt(response), []
    if isinstance(data, Mapping):
        detail = data.get("detail")
        if isinstance(detail, str) and detail:
            return detail, []
        if isinstance(detail, list):
            errors = [e for e in detail if isinstance(e, Mapping)]
            parts = [_field_error(e) for e in errors]
            return ("; ".join(parts) or "validation error"), [dict(e) for e in errors]
        error, message = data.get("error"), data.get("message")
        if isinstance(error, Mapping):
            code, msg = error.get("code"), error.get("message")
            return " - ".join(str(p) for p in (code, msg) if p) or _excerpt(response), []
        parts = [str(p) for p in (error, message) if p]
        if parts:
            return ": ".join(parts), []
    return _excerpt(response), []


def _field_error(error: Mapping[str, Any]) -> str:
    loc = error.get("loc")
    where = ".".join(str(p) for p in loc) if isinstance(loc, list | tuple) else str(loc or "?")
    return f"{where}: {error.get('msg', 'invalid')}"


def _excerpt(response: httpx.Response) -> str:
    ctype = response.headers.get("content-type", "unknown content-type")
    text = " ".join(response.text[:_EXCERPT].split())
    return f"unexpected {ctype} body: {text!r}" if text else f"empty {ctype} body"


_STATUS_ERRORS: dict[int, type[SixtyfourAPIError]] = {
    400: SixtyfourValidationError,
    401: SixtyfourAuthError,
    402: SixtyfourCreditsError,
    403: SixtyfourAuthError,
    404: SixtyfourNotFoundError,
    409: SixtyfourConflictError,
    422: SixtyfourValidationError,
    429: SixtyfourRateLimitError,
}


def error_for_response(
    response: httpx.Response, *, attempts: int = 1, retry_after: float | None = None, note: str = ""
) -> SixtyfourAPIError:
    """Builds the typed error for an error response (the body must have been read)."""
    detail, errors = parse_error_body(response)
    detail = scrub(detail)  # an API that echoes a key or signed URL back must not leak it through us
    status = response.status_code
    cls = _STATUS_ERRORS.get(status, SixtyfourServerError if status >= 500 else SixtyfourAPIError)
    kwargs: dict[str, Any] = {
        "method": response.request.method,
        "route": response.request.url.path,
        "errors": errors,
        "attempts": attempts,
        "note": note,
    }
    if cls is SixtyfourRateLimitError:
        return SixtyfourRateLimitError(status, detail, retry_after=retry_after, **kwargs)
    return cls(status, detail, **kwargs)


class LeadStoreError(SixtyfourError):
    """A lead-table operation in DuckDB failed; the transaction was rolled back and the tables are unchanged."""


class LeadStoreLockedError(LeadStoreError):
    """The DuckDB file stayed locked by another process or connection past ``lock_timeout``."""
