"""Keeps secrets out of logs, whatever the log levels are.

Dagster's log capture and users' ``DEBUG`` settings change levels, so hiding secrets by raising a logger's level
does not hold. Instead a :class:`logging.Filter` rewrites every record of the loggers that can see a secret
(``httpx``, ``httpcore.*`` and ``dagster_sixtyfour``): known secret values become ``[REDACTED]`` and the query
string of any URL (a signed download URL carries its token there) becomes ``?[REDACTED]``.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[REDACTED]"

#: Loggers whose records are filtered. A filter on a logger does not see records of its child loggers, so
#: httpcore's children are listed one by one.
FILTERED_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "dagster_sixtyfour",
    "dagster_sixtyfour.sandbox",
)

_URL_QUERY = re.compile(r"(\bhttps?://[^\s?#\"'<>]+)\?[^\s\"'<>]*", re.IGNORECASE)
_MIN_SECRET_LEN = 4


def redact_url(url: object) -> str:
    """Returns ``url`` as scheme, host and path only: the query string and any user info are dropped.

    Example:
        >>> redact_url("https://storage.example.com/b/x.csv?X-Goog-Signature=abc")
        'https://storage.example.com/b/x.csv'
    """
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class SecretRedactingFilter(logging.Filter):
    """A logging filter that removes registered secrets and URL query strings from each record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, secret: str) -> None:
        """Registers a value that must never be logged."""
        if len(secret) >= _MIN_SECRET_LEN:
            with self._lock:
                self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        """Returns ``text`` with secrets and URL query strings replaced."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _URL_QUERY.sub(rf"\1?{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break logging
            message = str(record.msg)
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


_FILTER = SecretRedactingFilter()
_INSTALLED: set[str] = set()
_INSTALL_LOCK = threading.Lock()


def install_redaction(*secrets: str) -> SecretRedactingFilter:
    """Attaches the shared redacting filter to every logger that may see a secret and registers ``secrets``.

    Safe to call many times; each logger gets the filter once.
    """
    for secret in secrets:
        _FILTER.add_secret(secret)
    with _INSTALL_LOCK:
        for name in FILTERED_LOGGERS:
            if name not in _INSTALLED:
                logging.getLogger(name).addFilter(_FILTER)
                _INSTALLED.add(name)
    return _FILTER


def scrub(text: str) -> str:
    """Returns ``text`` without registered secrets or URL query strings (for error messages)."""
    return _FILTER.scrub(text)
