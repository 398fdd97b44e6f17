"""The sandbox HTTP layer: a loopback ``ThreadingHTTPServer`` that speaks the Sixtyfour Search API.

HTTP/1.1 with keep-alive; every answer carries ``Content-Length`` or uses chunked transfer encoding. Request
logs go to the ``dagster_sixtyfour.sandbox`` logger at DEBUG, without query strings (signed-URL tokens) and
never with the API key.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dagster_sixtyfour.sandbox import data
from dagster_sixtyfour.sandbox.faults import SandboxFaults
from dagster_sixtyfour.sandbox.state import DEFAULT_MAX_RESULTS, ApiError, SandboxState, SandboxStats
from dagster_sixtyfour.sandbox.validate import Body

logger = logging.getLogger("dagster_sixtyfour.sandbox")

#: (method, compiled path pattern, route template used in ``stats.requests``)
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/search/start-deep-search"), "POST /search/start-deep-search"),
    ("GET", re.compile(r"/search/status/(?P<id>[^/]+)"), "GET /search/status"),
    ("GET", re.compile(r"/search/deep-search-status/(?P<id>[^/]+)"), "GET /search/deep-search-status"),
    ("POST", re.compile(r"/search/query"), "POST /search/query"),
    ("POST", re.compile(r"/search/export"), "POST /search/export"),
    ("GET", re.compile(r"/search/download"), "GET /search/download"),
    ("GET", re.compile(r"/search/limits"), "GET /search/limits"),
    ("GET", re.compile(r"/files/(?P<bucket>[^/]+)/(?P<path>.+)"), "GET /files"),
)
_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_DETAILS_5XX = {
    500: "Internal server error",
    502: "NL upstream transport error: connection reset by peer",
    503: "Search backend unavailable",
    504: "Upstream request timed out",
}
_LENGTH_PASS_MAX_ROWS = 50_000  # CSVs up to this size get a Content-Length (counted in a first pass); else chunked
_MISSING_HANDLE = {"type": "missing", "loc": ["query", "resource_handle_id"], "msg": "Field required", "input": None}


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _s3_error(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<RequestId>SANDBOX</RequestId></Error>"
    ).encode()


class _Reply:
    """An answer: status, headers and a body (bytes, or byte chunks sent with chunked encoding)."""

    def __init__(
        self,
        status: int,
        body: bytes | Iterator[bytes] = b"",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        cut: bool = False,
        length: int | None = None,
    ) -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.headers, self.cut, self.length = headers or {}, cut, length


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sixtyfour-sandbox/1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; avoid 40 ms delayed-ACK stalls
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        idle = self.server.sandbox.faults.idle_close_seconds
        if idle:
            self.connection.settimeout(idle)  # an idle keep-alive connection is then closed by the server
        self.server.track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, False)

    def version_string(self) -> str:
        return self.server_version

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("sandbox %s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox: %s", re.sub(r"token=[^&\s']+", "token=***", format % args))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        method, sandbox = self.command, self.server.sandbox
        raw = self._read_body()
        split = urlsplit(self.path)
        matched = [(m, r.fullmatch(split.path), name) for m, r, name in _ROUTES]
        hits = [(m, match, name) for m, match, name in matched if match]
        route = next(((match, name) for m, match, name in hits if m == method), None)
        if route is None:
            sandbox.state.count(f"{method} {split.path if hits else '<unknown>'}")
            if hits:
                self._send(_Reply(405, _json({"detail": "Method Not Allowed"}), headers={"Allow": hits[0][0]}))
            else:
                self._send(_Reply(404, _json({"detail": "Not Found"})))
            return
        match, name = route
        sandbox.state.count(name)
        faults = sandbox.faults
        if faults.latency_ms > 0:
            time.sleep(faults.latency_ms / 1000.0)
        try:
            if name == "GET /files":
                reply = sandbox.files(
                    match["bucket"], match["path"], parse_qs(split.query), "x-api-key" in self.headers
                )
            elif name == "GET /search/status" and faults.status_path_missing:
                reply = _Reply(404, _json({"detail": "Not Found"}))
            elif not hmac.compare_digest((self.headers.get("x-api-key") or "").encode(), sandbox.api_key.encode()):
                reply = _Reply(401, _json({"detail": "Invalid API key"}))
            elif sandbox.state.chance(faults.p429):
                reply = sandbox.error_reply(429, "Rate limit exceeded")
            elif sandbox.state.chance(faults.p5xx):
                status = sandbox.state.next_5xx()
                reply = sandbox.error_reply(status, _DETAILS_5XX[status])
            else:
                reply = sandbox.api(name, match, raw, parse_qs(split.query))
        except ApiError as err:
            reply = sandbox.error_reply(err.status, err.detail, err.headers)
        except Exception:  # a sandbox bug: answer like the real API would, keep serving
            logger.exception("sandbox error on %s %s", method, split.path)
            reply = sandbox.error_reply(500, "Internal server error")
        sandbox.state.record(reply.status)
        self._send(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if isinstance(reply.body, bytes):
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.cut:
                self.wfile.write(reply.body[: max(1, len(reply.body) // 2)])
                self._abort()
                return
            self.wfile.write(reply.body)
            return
        chunked = reply.length is None
        self.send_header(*(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(reply.length))))
        self.end_headers()
        drip = self.server.sandbox.faults.files_drip_ms / 1000.0
        limit = (reply.length or 0) // 2 if not chunked else 4096  # where a cut body stops
        sent = 0
        for chunk in reply.body:
            pieces = [chunk[k : k + 64] for k in range(0, len(chunk), 64)] if drip > 0 else [chunk]
            for piece in pieces:
                if not piece:
                    continue
                if drip > 0:
                    time.sleep(drip)
                if reply.cut and sent + len(piece) > limit:
                    piece = piece[: max(1, limit - sent)]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
                if reply.cut and sent >= limit:
                    self._abort()
                    return
        if reply.cut:  # a chunked body shorter than the limit: no terminating chunk
            self._abort()
            return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _abort(self) -> None:
        """Closes the socket after a partial body: the client sees the connection drop mid-message."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection-level errors (client went away mid-body...) go to the debug log, not stderr."""
        logger.debug("sandbox connection error from %s", client_address, exc_info=True)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._open_lock:
            (self._open.add if alive else self._open.discard)(conn)

    def close_all(self) -> None:
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """A loopback HTTP server emulating the Sixtyfour Search API, with injectable faults.

    Args:
        api_key: The only accepted ``x-api-key``.
        seed: Seeds the synthetic data and every random fault decision (runs are reproducible).
        faults: Live fault knobs; mutate ``sandbox.faults`` at any time. Default: no fault.
        clock: Zero-argument callable returning seconds (default ``time.monotonic``); :meth:`advance` adds to it.
        host: Interface to bind (loopback by default).
        port: Port to bind; ``0`` picks a free one.

    Example:
        .. code-block:: python

            with SandboxServer(seed=0) as sandbox:
                httpx.get(f"{sandbox.base_url}/search/limits", headers={"x-api-key": sandbox.api_key})
    """

    def __init__(
        self,
        api_key: str = "sk-sandbox-0000",
        seed: int = 0,
        faults: SandboxFaults | None = None,
        clock: Callable[[], float] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.seed = seed
        self._clock = clock or time.monotonic
        self._offset = 0.0
        self._t0 = self._clock()
        self._wall0 = time.time()
        self.state = SandboxState(seed, faults or SandboxFaults(), self.now, self.wall)
        self._host, self._port = host, port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- public surface ------------------------------------------------------------------------------------------

    @property
    def faults(self) -> SandboxFaults:
        """The live :class:`SandboxFaults` (assigning a new instance works too)."""
        return self.state.faults

    @faults.setter
    def faults(self, value: SandboxFaults) -> None:
        self.state.faults = value

    @property
    def stats(self) -> SandboxStats:
        """Request and task counters."""
        return self.state.stats

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._httpd is None:
            raise RuntimeError("the sandbox is not running; call start() or use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def now(self) -> float:
        """The sandbox clock: the injected clock plus everything :meth:`advance` added."""
        return self._clock() + self._offset

    def wall(self) -> float:
        """Epoch seconds matching :meth:`now` (for timestamps and URL ``expires``)."""
        return self._wall0 + (self.now() - self._t0)

    def advance(self, seconds: float) -> None:
        """Moves the sandbox clock forward (expires cursors and signed URLs without sleeping).

        Args:
            seconds: How far to move.
        """
        with self.state.lock:
            self._offset += seconds

    def search_rows(self, search_id: str) -> list[dict[str, Any]]:
        """The truth: every raw row the saved search serves through ``/search/query`` (own mode, no faults).

        Args:
            search_id: A saved-search id (``ss_...``) from a completed deep search.

        Returns:
            The rows in serving order.

        Raises:
            KeyError: Unknown search id.
        """
        try:
            spec = self.state.saved_spec(search_id)
        except ApiError:
            raise KeyError(search_id) from None
        return data.rows(spec)

    def served_people_ids(self, search_id: str) -> set[str]:
        """The truth of identity: distinct canonical LinkedIn public ids among the usable people rows served.

        Args:
            search_id: A saved-search id of a people search.

        Returns:
            The public ids (NFC, lower-case).
        """
        return data.served_people_ids(self.state.saved_spec(search_id))

    def task(self, task_id: str) -> dict[str, Any]:
        """A snapshot of a task: status, polls, client ``search_id``, saved ``search_id``, handle, query...

        Args:
            task_id: Deep-search or export task id.

        Returns:
            A dict copy (``KeyError`` if unknown).
        """
        return self.state.task_snapshot(task_id)

    def start(self) -> SandboxServer:
        """Binds the port and serves on a daemon thread; returns ``self``."""
        if self._httpd is None:
            self._httpd = _HTTPServer((self._host, self._port), self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="sixtyfour-sandbox", daemon=True
            )
            self._thread.start()
            logger.debug("sandbox listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stops serving and closes every open connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_all()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling (called by the handler threads) --------------------------------------------------------

    def error_reply(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> _Reply:
        """An error answer; 429 and 5xx bodies follow ``faults.error_body_shape``, 429 gets ``Retry-After``."""
        headers = dict(headers or {})
        shape = self.faults.error_body_shape
        if status == 429 and self.faults.retry_after is not None:
            headers.setdefault("Retry-After", self.faults.retry_after)
        if status in _REASONS and shape == "html":
            title = f"{status} {_REASONS[status]}"
            page = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center><hr>"
            return _Reply(status, (page + "<center>nginx</center></body></html>").encode(), "text/html", headers)
        if status in _REASONS and shape == "error_message":
            return _Reply(status, _json({"error": _REASONS[status], "message": detail}), headers=headers)
        return _Reply(status, _json({"detail": detail}), headers=headers)

    def api(self, route: str, match: re.Match[str], raw: bytes, query: dict[str, list[str]]) -> _Reply:
        """Answers an authenticated API request (raises :class:`ApiError` for error answers)."""
        state, faults = self.state, self.faults
        default_max = min(DEFAULT_MAX_RESULTS, faults.max_results_ceiling)
        if route in ("GET /search/status", "GET /search/deep-search-status"):
            return _Reply(200, _json(state.poll(match["id"])))
        if route == "GET /search/limits":
            return _Reply(200, _json({"max_results": faults.max_results_ceiling}))
        if route == "GET /search/download":
            handle = query.get("resource_handle_id", [None])[0]
            if handle is None:
                raise ApiError(422, [_MISSING_HANDLE])
            return _Reply(200, _json(state.mint_url(handle, self.base_url)))
        body = Body(raw)
        if route == "POST /search/start-deep-search":
            text = body.string("query", required=True)
            mode = body.choice("mode", ("people", "company"), "people")
            max_results = body.integer("max_results", default_max, ceiling=faults.max_results_ceiling)
            client_id = body.string("search_id")
            output_mode = body.choice("output_mode", ("csv", "query_only"), "csv")
            body.check()
            assert text is not None and mode is not None and max_results is not None and output_mode is not None
            started = state.start_search(text, mode, max_results, client_id, output_mode)
            if faults.start_delay_after_commit_ms > 0:
                time.sleep(faults.start_delay_after_commit_ms / 1000.0)
            return _Reply(200, _json(started))
        search_id = body.string("search_id")
        mode = body.choice("mode", ("people", "company"), None)
        max_results = body.integer("max_results", None, ceiling=faults.max_results_ceiling)
        if route == "POST /search/export":
            body.check()
            if not search_id:
                raise ApiError(400, "Provide search_id (or parsed_query) to export")
            return _Reply(200, _json(state.start_export(search_id, mode, max_results or default_max)))
        cursor = body.string("cursor")
        page_size = body.integer("page_size", None, le=100)
        body.choice("output_shape", ("raw", "workflow"), None)
        body.check()
        began = time.perf_counter()
        if cursor is not None:
            if any(v is not None for k, v in body.data.items() if k != "cursor"):
                raise ApiError(400, "Send only the cursor on continuation requests")
            page = state.next_page(cursor)
        elif search_id:
            page = state.first_page(search_id, mode or "company", page_size or 10, max_results or default_max)
        else:
            raise ApiError(400, "Provide exactly one query source (the sandbox supports search_id), or a cursor")
        page["request_duration_ms"] = int((time.perf_counter() - began) * 1000)
        payload = _json(page)
        if state.chance(faults.p_malformed):
            return _Reply(200, payload[: state.randint(1, max(1, len(payload) - 1))])
        return _Reply(200, payload, cut=state.chance(faults.p_cut_body))

    def files(self, bucket: str, path: str, query: dict[str, list[str]], with_key: bool) -> _Reply:
        """Answers ``GET /files/<bucket>/<path>?token=...`` (no API key; S3-style errors)."""
        state, faults = self.state, self.faults
        with state.lock:
            state.stats.file_requests += 1
            state.stats.file_requests_with_api_key += int(with_key)
        if faults.files_redirect_url:
            return _Reply(302, b"", "text/plain", {"Location": faults.files_redirect_url})
        try:
            spec = state.open_file(bucket, path, query.get("token", [None])[0])
        except ApiError as err:
            return _Reply(err.status, _s3_error("AccessDenied", str(err.detail)), "application/xml")
        columns = faults.people_csv_columns if spec.mode == "people" else faults.company_csv_columns
        bom = faults.csv_bom
        length = None
        if spec.n <= _LENGTH_PASS_MAX_ROWS:
            length = sum(len(chunk) for chunk in data.csv_chunks(spec, columns, bom=bom))
        return _Reply(
            200,
            data.csv_chunks(spec, columns, bom=bom),
            "text/csv; charset=utf-8",
            cut=state.chance(faults.p_cut_body),
            length=length,
        )
