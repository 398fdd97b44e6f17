"""Catalogue section 4.1 (transport faults T1-T9): exact fault sequences through httpx.MockTransport, plus a
closed loopback port for T1. The clock is injected: no test sleeps."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from dagster_sixtyfour.errors import SixtyfourDownloadError, SixtyfourServerError, SixtyfourTransportError
from tests.conftest import API_KEY, FakeClock, Script, make_client, ok, status_body

START = "/search/start-deep-search"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_T1_connection_refused_on_a_closed_loopback_port(clock: FakeClock) -> None:
    client = make_client(clock, base_url=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(SixtyfourTransportError) as info:
        client.get_status("t-1")
    err = info.value
    assert err.attempts == 5
    assert "GET /search/status/t-1" in str(err) and "5 attempt" in str(err)
    assert "ConnectError" in str(err)
    assert API_KEY not in str(err) and API_KEY not in repr(err)
    assert len(clock.sleeps) == 4  # four backoff waits between five attempts
    assert all(0 <= s <= 30 for s in clock.sleeps)


def test_T1_connect_error_is_retried_even_for_an_unkeyed_start(clock: FakeClock) -> None:
    script = Script(httpx.ConnectError("refused"), ok({"task_id": "t-1", "status": "queued", "message": "ok"}))
    client = make_client(clock, handler=script)
    started = client.start_search("CTOs in Lyon", output_mode="query_only")
    assert started.task_id == "t-1"
    assert len(script.requests) == 2  # a refused connection never reached the API, so a retry is safe


def test_T2_read_timeout_on_a_status_poll_is_retried(clock: FakeClock) -> None:
    script = Script(httpx.ReadTimeout("silent server"), httpx.ReadTimeout("silent"), ok(status_body("completed")))
    client = make_client(clock, handler=script)
    assert client.wait_for_search("t-1").is_completed
    assert len(script.requests) == 3


def test_T2_poll_loop_keeps_its_own_poll_timeout(clock: FakeClock) -> None:
    script = Script(ok(status_body("running", progress_message="Searching index")))
    client = make_client(clock, handler=script, poll_interval=10, poll_timeout=60)
    with pytest.raises(Exception, match="did not finish within") as info:
        client.wait_for_search("t-1")
    assert "running" in str(info.value) and "t-1" in str(info.value)
    assert 6 <= len(script.requests) <= 9


def test_T3_start_timeout_after_the_task_was_created_reattaches_with_the_same_search_id(clock: FakeClock) -> None:
    created: list[str] = []

    def start(request: httpx.Request) -> httpx.Response | Exception:
        created.append(request.content.decode())
        if len(created) == 1:
            return httpx.ReadTimeout("response lost after commit")
        return ok({"task_id": "t-1", "status": "running", "message": "Search already started"})

    script = Script(start)
    client = make_client(clock, handler=script)
    started = client.start_search("CTOs in Lyon", search_id="sid-1", output_mode="query_only")
    assert started.task_id == "t-1"
    bodies = script.bodies()
    assert len(bodies) == 2 and bodies[0] == bodies[1] and bodies[0]["search_id"] == "sid-1"


def test_T3_start_without_a_search_id_is_not_resent_after_a_timeout(clock: FakeClock) -> None:
    script = Script(httpx.ReadTimeout("lost"), ok({"task_id": "t-2", "status": "queued", "message": "x"}))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourTransportError, match="1 attempt"):
        client.start_search("CTOs in Lyon", output_mode="query_only")
    assert len(script.requests) == 1  # resending could start (and bill) a second search


def test_T3_start_without_a_search_id_is_not_resent_after_a_5xx(clock: FakeClock) -> None:
    script = Script(ok({"detail": "Internal server error"}, 500))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourServerError):
        client.start_search("CTOs in Lyon", output_mode="query_only")
    assert len(script.requests) == 1


def _page(rows: list[dict[str, str]], cursor: str | None) -> httpx.Response:
    return ok({"results": rows, "has_more": cursor is not None, "next_cursor": cursor, "total_results": 0})


def test_T4_connection_reset_mid_page_retries_the_same_cursor(clock: FakeClock) -> None:
    script = Script(
        _page([{"publicId": "a"}], "c1"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        _page([{"publicId": "b"}], None),
    )
    client = make_client(clock, handler=script)
    rows = [r for p in client.iter_pages("ss-1") for r in p.rows]
    assert rows == [{"publicId": "a"}, {"publicId": "b"}]
    bodies = script.bodies()
    assert bodies[1] == bodies[2] == {"cursor": "c1"}


def test_T6_persistent_503_fails_within_the_call_deadline(clock: FakeClock) -> None:
    script = Script(ok({"detail": "Company search backend endpoint is not configured"}, 503))
    client = make_client(clock, handler=script)
    before = clock()
    with pytest.raises(SixtyfourServerError) as info:
        client.get_status("t-1")
    assert info.value.status_code == 503 and info.value.attempts == 5
    assert "not configured" in str(info.value)
    assert clock() - before <= 300
    assert len(script.requests) == 5


def test_T6_huge_retry_delay_is_cut_by_the_deadline(clock: FakeClock) -> None:
    script = Script(ok({"detail": "down"}, 503))
    client = make_client(clock, handler=script, request_retry_delay=200, request_max_retries=10)
    with pytest.raises(SixtyfourServerError):
        client.get_status("t-1")
    assert sum(clock.sleeps) <= 300


def test_T7_stale_keepalive_disconnect_is_retried_transparently(clock: FakeClock) -> None:
    script = Script(
        httpx.RemoteProtocolError("Server disconnected without sending a response."), ok(status_body("completed"))
    )
    client = make_client(clock, handler=script)
    assert client.get_status("t-1").is_completed
    assert client.retries == 1


def test_T8_slow_drip_download_hits_the_deadline_and_leaves_no_partial_file(clock: FakeClock, tmp_path: Path) -> None:
    class Drip(httpx.SyncByteStream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            for _ in range(10_000):
                clock.advance(1.0)  # one byte per second
                yield b"x"

    api = Script(ok({"url": "https://storage.example.com/b/x.csv?sig=1", "bucket": "b", "path": "x.csv"}))
    files = Script(lambda request: httpx.Response(200, stream=Drip()))
    client = make_client(clock, handler=api, download_handler=files, download_timeout=30)
    dest = tmp_path / "out.csv"
    with pytest.raises(SixtyfourDownloadError, match="deadline"):
        client.download_csv("rh_1", dest)
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []  # the .part file is gone too


def test_T9_pool_timeout_is_local_and_transient(clock: FakeClock) -> None:
    script = Script(httpx.PoolTimeout("no connection available"), ok(status_body("queued")))
    client = make_client(clock, handler=script)
    assert client.get_status("t-1").status == "queued"

    exhausted = make_client(clock, handler=Script(httpx.PoolTimeout("no connection available")))
    with pytest.raises(SixtyfourTransportError, match="local HTTP pool"):
        exhausted.get_status("t-1")


def test_T4_csv_download_broken_mid_body_remints_and_leaves_a_complete_file(clock: FakeClock, tmp_path: Path) -> None:
    class Broken(httpx.SyncByteStream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield b"full_name,title\nAda,CTO\n"
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    links = iter(range(100))
    api = Script(
        lambda request: ok({"url": f"https://storage.example.com/x.csv?sig={next(links)}", "bucket": "b", "path": "x"})
    )
    files = Script(
        lambda request: httpx.Response(200, stream=Broken()),
        httpx.Response(200, content=b"full_name,title\nAda,CTO\nGrace,CEO\n"),
    )
    client = make_client(clock, handler=api, download_handler=files)
    dest = tmp_path / "out.csv"
    assert client.download_csv("rh_1", dest) == dest
    assert dest.read_bytes() == b"full_name,title\nAda,CTO\nGrace,CEO\n"
    assert [r.url.params["sig"] for r in files.requests] == ["0", "1"]  # a fresh URL for the second try
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_T4_csv_download_that_keeps_breaking_gives_up_and_cleans_up(clock: FakeClock, tmp_path: Path) -> None:
    api = Script(ok({"url": "https://storage.example.com/x.csv?sig=1", "bucket": "b", "path": "x"}))
    files = Script(httpx.RemoteProtocolError("peer closed connection"))
    client = make_client(clock, handler=api, download_handler=files)
    with pytest.raises(SixtyfourDownloadError, match="could not be downloaded"):
        client.download_csv("rh_1", tmp_path / "out.csv")
    assert len(files.requests) == 3
    assert list(tmp_path.iterdir()) == []
