"""Safe streaming download of a signed CSV export URL.

The signed URL points at cloud storage, not at the API, so it gets a client of its own: it never sends the
API key, never follows redirects, accepts only ``https`` (plain ``http`` only when the API itself is on
loopback, as with the sandbox) and refuses private, link-local and other internal addresses before any request.
The body is streamed to a ``.part`` file created with mode 0600 and renamed into place only when complete.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from dagster_sixtyfour._redact import redact_url
from dagster_sixtyfour._retry import TRANSIENT_ERRORS
from dagster_sixtyfour.errors import SixtyfourDownloadError

logger = logging.getLogger("dagster_sixtyfour")

_CHUNK = 1 << 16
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` names and loopback IP literals (127.0.0.0/8, ::1)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_download_url(url: str, *, allow_loopback_http: bool) -> None:
    """Refuses URLs that could leak data or reach internal services (SSRF).

    Args:
        url: The signed URL returned by ``/search/download``.
        allow_loopback_http: Whether plain ``http`` to a loopback host is allowed (only when the API base URL
            is itself loopback, i.e. the sandbox).

    Raises:
        SixtyfourDownloadError: naming the refused scheme or host, never the query string.
    """
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    shown = f"{scheme}://{host}" if host else redact_url(url)
    if not host:
        raise SixtyfourDownloadError(f"Refused download URL {shown}: no host")
    if parts.username or parts.password:
        raise SixtyfourDownloadError(f"Refused download URL {shown}: credentials in the URL")
    loopback = is_loopback_host(host)
    if scheme == "http" and loopback and allow_loopback_http:
        return
    if scheme != "https":
        raise SixtyfourDownloadError(f"Refused download URL {shown}: only https is allowed (got '{scheme}')")
    if loopback and not allow_loopback_http:
        raise SixtyfourDownloadError(f"Refused download URL {shown}: host '{host}' is a loopback address")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if host.endswith((".internal", ".local", ".localhost")):
            raise SixtyfourDownloadError(f"Refused download URL {shown}: host '{host}' is internal") from None
        return
    if not address.is_global or address.is_multicast:
        raise SixtyfourDownloadError(f"Refused download URL {shown}: host '{host}' is not a public address")


class DownloadFailed(Exception):
    """One download attempt failed; ``expired`` says whether a fresh URL may help."""

    def __init__(self, message: str, *, expired: bool) -> None:
        super().__init__(message)
        self.expired = expired


def stream_to_file(
    http: httpx.Client,
    url: str,
    dest: Path,
    *,
    clock: Callable[[], float],
    deadline: float,
) -> int:
    """Streams ``url`` into ``dest`` through a ``.part`` file; returns the bytes written.

    Raises:
        DownloadFailed: on a refused status, a broken transfer or the deadline; the partial file is removed.
    """
    partial = dest.with_name(dest.name + ".part")
    shown = redact_url(url)
    written = 0
    try:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                response.read()
                expired = response.status_code in (400, 401, 403, 404, 410)
                where = response.headers.get("location")
                reason = f"redirect to {redact_url(where)} not followed" if response.is_redirect and where else ""
                raise DownloadFailed(
                    f"GET {shown} answered HTTP {response.status_code} {reason}".rstrip(), expired=expired
                )
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_bytes(_CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                    if clock() > deadline:
                        raise DownloadFailed(f"GET {shown} exceeded the download deadline", expired=True)
        os.replace(partial, dest)
    except TRANSIENT_ERRORS as exc:
        partial.unlink(missing_ok=True)
        raise DownloadFailed(f"GET {shown} broke after {written} bytes: {type(exc).__name__}", expired=True) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written
