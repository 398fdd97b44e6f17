"""One JSON call to the Sixtyfour API, with retries done right.

Transient failures (timeouts, connection errors, broken bodies, 408, 429, 500-504, an unparsable 200) are
retried; everything else fails at once with a typed error. A call whose effect is not idempotent (starting a
search without a client ``search_id``) is retried only when the request provably did not reach the API
(connection refused, pool timeout) or was refused before taking effect (429).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from dagster_sixtyfour._redact import scrub
from dagster_sixtyfour._retry import RETRY_STATUSES, TRANSIENT_ERRORS, Backoff, RetrySettings, parse_retry_after
from dagster_sixtyfour.errors import (
    SixtyfourAPIError,
    SixtyfourMalformedResponseError,
    SixtyfourTransportError,
    error_for_response,
)

logger = logging.getLogger("dagster_sixtyfour")

#: Failures after which the request certainly never reached the API.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class CallPolicy:
    """Per-call retry overrides.

    Attributes:
        idempotent: Whether the call may be repeated after it possibly reached the API.
        rate_limit_retries: How many 429 answers to wait out (``None``: as many as the deadline allows).
        settings: Timing overrides for this call (``None``: the requester's settings).
    """

    idempotent: bool = True
    rate_limit_retries: int | None = 8
    settings: RetrySettings | None = None


DEFAULT_POLICY = CallPolicy()


class Requester:
    """Sends API calls and retries them; counts retries for run metadata."""

    def __init__(
        self,
        http: httpx.Client,
        settings: RetrySettings,
        rng: random.Random,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        wall_clock: Callable[[], float],
    ) -> None:
        self.http = http
        self.settings = settings
        self.rng = rng
        self.clock = clock
        self.sleep = sleep
        self.wall_clock = wall_clock
        self.retries = 0

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        policy: CallPolicy = DEFAULT_POLICY,
    ) -> dict[str, Any]:
        """Sends one call and returns its JSON object body, retrying transient failures.

        Raises:
            SixtyfourAPIError: a subclass matching the status, when the API says no or retries run out.
            SixtyfourTransportError: when the API cannot be reached within the retry budget.
            SixtyfourMalformedResponseError: when 2xx bodies stay unparsable.
        """
        settings = policy.settings or self.settings
        backoff = Backoff(settings, self.rng)
        rate_budget = policy.rate_limit_retries if policy.rate_limit_retries is not None else 1_000_000
        started = self.clock()
        attempt = failures = limited = malformed = 0
        warned_retry_after = False
        while True:
            attempt += 1
            try:
                response = self.http.request(method, path, json=body, params=params)
            except TRANSIENT_ERRORS as exc:
                failures += 1
                repeatable = policy.idempotent or isinstance(exc, _NOT_SENT)
                wait = backoff.exponential(failures)
                if not repeatable or failures > settings.max_retries or self._past(started, wait, settings):
                    raise self._transport_error(method, path, exc, attempt) from None
                self._pause(f"{method} {path} failed ({_describe(exc)})", attempt, wait)
                continue

            if response.is_success:
                try:
                    data = response.json()
                    if not isinstance(data, dict):
                        raise ValueError("not a JSON object")
                    return data
                except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
                    malformed += 1
                    wait = backoff.exponential(malformed)
                    if (
                        not policy.idempotent
                        or malformed >= settings.max_malformed
                        or self._past(started, wait, settings)
                    ):
                        raise _malformed(response, attempt) from None
                    self._pause(f"{method} {path} returned an unparsable body", attempt, wait)
                    continue

            status = response.status_code
            if status not in RETRY_STATUSES or (status != 429 and not policy.idempotent):
                raise error_for_response(response, attempts=attempt)

            header = response.headers.get("retry-after")
            asked = parse_retry_after(header, self.wall_clock())
            if header is not None and asked is None and not warned_retry_after:
                warned_retry_after = True
                logger.warning("%s %s sent an unreadable Retry-After header; using backoff", method, path)
            if status == 429:
                limited += 1
                if asked is not None and asked > settings.max_retry_after:
                    raise _too_long(response, attempt, asked, settings.max_retry_after)
                wait = backoff.with_jitter(asked) if asked is not None else backoff.rate_limited(limited)
                exhausted = limited > rate_budget
            else:
                failures += 1
                asked = min(asked, settings.max_retry_after) if asked is not None else None
                wait = backoff.with_jitter(asked) if asked is not None else backoff.exponential(failures)
                exhausted = failures > settings.max_retries
            if exhausted or self._past(started, wait, settings):
                raise error_for_response(response, attempts=attempt, retry_after=asked)
            self._pause(f"{method} {path} answered {status}", attempt, wait)

    def _past(self, started: float, wait: float, settings: RetrySettings) -> bool:
        return self.clock() - started + wait > settings.deadline

    def _pause(self, what: str, attempt: int, wait: float) -> None:
        self.retries += 1
        logger.warning("%s (attempt %d); retrying in %.1fs", what, attempt, wait)
        self.sleep(wait)

    def _transport_error(self, method: str, path: str, exc: Exception, attempts: int) -> SixtyfourTransportError:
        if isinstance(exc, httpx.PoolTimeout):
            cause = "no free connection in the local HTTP pool (raise the pool size or lower concurrency)"
        else:
            cause = _describe(exc)
        host = self.http.base_url.host
        return SixtyfourTransportError(
            f"{method} {path} on {host} failed after {attempts} attempt(s): {cause}",
            method=method,
            route=path,
            attempts=attempts,
        )


def for_start(settings: RetrySettings, poll_timeout: float) -> RetrySettings:
    """Timing for the start call: the 5-concurrent-search cap is waited out (15 s doubling to 60 s) for up
    to ``poll_timeout`` instead of the usual 300 s call deadline."""
    return replace(settings, rate_limit_delay=15.0, rate_limit_max=60.0, deadline=max(poll_timeout, 1.0))


def _describe(exc: Exception) -> str:
    text = scrub(str(exc)).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _malformed(response: httpx.Response, attempts: int) -> SixtyfourMalformedResponseError:
    ctype = response.headers.get("content-type", "no content-type")
    excerpt = " ".join(response.text[:200].split())
    return SixtyfourMalformedResponseError(
        f"{response.request.method} {response.request.url.path} returned HTTP {response.status_code} with an "
        f"unparsable {ctype} body after {attempts} attempt(s): {excerpt!r}"
    )


def _too_long(response: httpx.Response, attempts: int, asked: float, limit: float) -> SixtyfourAPIError:
    note = f"The server asked to wait {asked:.0f}s, longer than the {limit:.0f}s this client waits; run again later"
    return error_for_response(response, attempts=attempts, retry_after=asked, note=note)
