"""Retry timing: which failures are transient, how long to wait, and how ``Retry-After`` is read.

Defaults follow the reliability catalogue (section 2): exponential backoff from ``request_retry_delay``
doubling to a 30 s cap with full jitter; 429 without ``Retry-After`` waits 5 s doubling to 60 s;
``Retry-After`` (seconds or an HTTP date) replaces the computed wait, is clamped to 120 s, and gets up to 1 s of
jitter; nothing ever sleeps past the per-call deadline.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass, field

import httpx

#: Statuses that are worth another attempt.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: httpx exceptions that mean "the exchange broke", not "the API said no".
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,  # connect / read / write / pool timeouts
    httpx.NetworkError,  # connect errors, read/write errors, closed sockets
    httpx.RemoteProtocolError,  # "server disconnected", bodies cut mid-stream
)


@dataclass(frozen=True)
class RetrySettings:
    """How one API call is retried.

    Attributes:
        max_retries: Retries after the first attempt (attempts = max_retries + 1).
        retry_delay: First backoff step in seconds; doubles per retry.
        max_delay: Cap of one computed backoff step.
        rate_limit_delay: First wait after a 429 that carries no ``Retry-After``; doubles to ``rate_limit_max``.
        rate_limit_max: Cap of the 429 wait.
        max_retry_after: Longest ``Retry-After`` honoured; a longer ask fails at once (and says so).
        deadline: Total seconds one call may take across its attempts.
        max_malformed: Attempts spent on 200s whose JSON cannot be parsed.
    """

    max_retries: int = 4
    retry_delay: float = 1.0
    max_delay: float = 30.0
    rate_limit_delay: float = 5.0
    rate_limit_max: float = 60.0
    max_retry_after: float = 120.0
    deadline: float = 300.0
    max_malformed: int = 3


@dataclass
class Backoff:
    """Computes waits for one call; ``rng`` is injectable for tests."""

    settings: RetrySettings
    rng: random.Random = field(default_factory=random.Random)

    def exponential(self, retry: int) -> float:
        """Full-jitter exponential wait before retry number ``retry`` (1-based)."""
        ceiling = min(self.settings.max_delay, self.settings.retry_delay * 2.0 ** (retry - 1))
        return self.rng.uniform(0, ceiling) if ceiling > 0 else 0.0

    def rate_limited(self, retry: int) -> float:
        """Wait before retry ``retry`` after a 429 without ``Retry-After``: 5 s doubling to 60 s, +-10 %."""
        base = min(self.settings.rate_limit_max, self.settings.rate_limit_delay * 2.0 ** (retry - 1))
        return base * self.rng.uniform(0.9, 1.1)

    def with_jitter(self, seconds: float) -> float:
        """``seconds`` plus up to one second of jitter (never a multiple of it)."""
        return seconds + self.rng.uniform(0, 1) if seconds > 0 else 0.0


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Reads a ``Retry-After`` header: delay-seconds or an HTTP date.

    Args:
        value: The header value, or ``None``.
        now: The current wall-clock time (epoch seconds) for HTTP dates.

    Returns:
        Seconds to wait (never negative), or ``None`` when the header is absent or unreadable.

    Example:
        >>> parse_retry_after("3", now=0.0)
        3.0
        >>> parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=4.0)
        6.0
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        return max(0.0, float(when.timestamp()) - now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return max(0.0, seconds)
