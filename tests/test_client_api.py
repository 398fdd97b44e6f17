"""Catalogue section 4.2 (API semantic faults) with exact sequences through httpx.MockTransport.

The same cases against the loopback sandbox live in ``test_client_sandbox.py``."""

from __future__ import annotations

import email.utils
import logging

import httpx
import pytest

from dagster_sixtyfour.errors import (
    SixtyfourAuthError,
    SixtyfourConfigError,
    SixtyfourCreditsError,
    SixtyfourNotFoundError,
    SixtyfourPaginationError,
    SixtyfourPollTimeoutError,
    SixtyfourRateLimitError,
    SixtyfourServerError,
    SixtyfourValidationError,
    parse_error_body,
)
from tests.conftest import API_KEY, FakeClock, Script, make_client, ok, status_body


def test_A1_retry_after_seconds_replaces_the_exponential_wait(clock: FakeClock) -> None:
    script = Script(ok({"detail": "Rate limit exceeded"}, 429, **{"Retry-After": "3"}), ok(status_body("queued")))
    client = make_client(clock, handler=script)
    assert client.get_status("t-1").status == "queued"
    assert len(clock.sleeps) == 1 and 3.0 <= clock.sleeps[0] <= 4.0


def test_A1_429_without_header_backs_off_from_five_seconds(clock: FakeClock) -> None:
    script = Script(ok({"detail": "Rate limit exceeded"}, 429), ok({"detail": "x"}, 429), ok(status_body("queued")))
    client = make_client(clock, handler=script)
    client.get_status("t-1")
    assert 4.5 <= clock.sleeps[0] <= 5.5 and 9.0 <= clock.sleeps[1] <= 11.0


def test_A2_retry_after_as_http_date_is_honoured(clock: FakeClock) -> None:
    when = email.utils.formatdate(clock() + 7, usegmt=True)
    script = Script(ok({"detail": "slow down"}, 429, **{"Retry-After": when}), ok(status_body("queued")))
    client = make_client(clock, handler=script)
    client.get_status("t-1")
    assert 7.0 <= clock.sleeps[0] <= 8.0


def test_A2_garbage_retry_after_falls_back_to_backoff_with_one_warning(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    bad = ok({"detail": "x"}, 429, **{"Retry-After": "soon-ish"})
    script = Script(bad, bad, ok(status_body("queued")))
    client = make_client(clock, handler=script)
    with caplog.at_level(logging.WARNING, logger="dagster_sixtyfour"):
        client.get_status("t-1")
    assert len(clock.sleeps) == 2 and all(s >= 4.5 for s in clock.sleeps)
    assert sum("unreadable Retry-After" in r.getMessage() for r in caplog.records) == 1


def test_A3_retry_after_of_a_day_fails_fast_and_quotes_the_wait(clock: FakeClock) -> None:
    script = Script(ok({"detail": "Rate limit exceeded"}, 429, **{"Retry-After": "86400"}))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourRateLimitError, match="86400s") as info:
        client.get_status("t-1")
    assert clock.sleeps == [] and len(script.requests) == 1
    assert info.value.retry_after == 86400


def test_A7_unknown_status_keeps_polling_then_names_it_at_the_timeout(clock: FakeClock) -> None:
    script = Script(ok(status_body("paused", task_id="t-9")))
    client = make_client(clock, handler=script, poll_interval=10, poll_timeout=120)
    with pytest.raises(SixtyfourPollTimeoutError) as info:
        client.wait_for_search("t-9")
    assert info.value.last_status == "paused" and info.value.task_id == "t-9"
    assert "paused" in str(info.value) and "t-9" in str(info.value)
    assert len(script.requests) >= 10
    assert clock.sleeps[0] >= 9  # the first poll was immediate, then poll_interval


@pytest.mark.parametrize("state", ["failed", "error", "cancelled", "terminated", "timed_out", "FAILED"])
def test_A6_every_terminal_failure_string_stops_polling(clock: FakeClock, state: str) -> None:
    script = Script(ok(status_body("running")), ok(status_body(state, error="upstream model error")))
    client = make_client(clock, handler=script)
    with pytest.raises(Exception, match="upstream model error") as info:
        client.wait_for_search("t-1")
    assert "t-1" in str(info.value)
    assert len(script.requests) == 2


def _page(rows: list[dict[str, str]], cursor: str | None, has_more: bool | None = None) -> httpx.Response:
    more = cursor is not None if has_more is None else has_more
    return ok({"results": rows, "has_more": more, "next_cursor": cursor, "total_results": 1})


def test_A11_has_more_without_a_cursor_is_an_error_not_a_silent_stop(clock: FakeClock) -> None:
    script = Script(_page([{"publicId": "a"}], None, has_more=True))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourPaginationError, match="ended early"):
        list(client.iter_pages("ss-1"))


def test_A11_same_cursor_twice_is_a_loop(clock: FakeClock) -> None:
    script = Script(_page([{"publicId": "a"}], "c1"), _page([{"publicId": "b"}], "c1"))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourPaginationError, match="looped"):
        list(client.iter_pages("ss-1"))
    assert len(script.requests) == 2


def test_A11_more_pages_than_the_row_cap_allows_stops(clock: FakeClock) -> None:
    counter = iter(range(10_000))
    script = Script(lambda request: _page([], f"c{next(counter)}"))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourPaginationError):
        list(client.iter_pages("ss-1", page_size=10, max_results=20))
    assert len(script.requests) < 40


def test_A11_first_request_carries_search_id_and_mode_then_only_the_cursor(clock: FakeClock) -> None:
    script = Script(_page([{"publicId": "a"}], "c1"), _page([], "c2"), _page([{"publicId": "b"}], None))
    client = make_client(clock, handler=script, page_size=50)
    pages = list(client.iter_pages("ss-1", mode="people"))
    assert [len(p.rows) for p in pages] == [1, 1]  # the empty middle page is skipped, not an end signal
    bodies = script.bodies()
    assert bodies[0] == {"search_id": "ss-1", "mode": "people", "page_size": 50}
    assert bodies[1] == {"cursor": "c1"} and bodies[2] == {"cursor": "c2"}


def test_A9_expired_cursor_restarts_from_the_search_and_drops_the_overlap(clock: FakeClock) -> None:
    script = Script(
        _page([{"publicId": "a"}, {"publicId": "b"}], "c1"),
        ok({"detail": "Cursor expired; restart from search_id"}, 410),
        _page([{"publicId": "a"}, {"publicId": "b"}], "c9"),
        _page([{"publicId": "c"}], None),
    )
    client = make_client(clock, handler=script)
    rows = [r["publicId"] for p in client.iter_pages("ss-1") for r in p.rows]
    assert rows == ["a", "b", "c"]
    assert script.bodies()[2]["search_id"] == "ss-1"


def test_A9_cursor_restarts_are_capped(clock: FakeClock) -> None:
    script = Script(_page([{"publicId": "a"}], "c1"), ok({"detail": "Cursor expired"}, 410))
    script.steps = [_page([{"publicId": "a"}], "c1"), ok({"detail": "Cursor expired"}, 410)] * 10
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourPaginationError, match="expired 4 times"):
        list(client.iter_pages("ss-1"))


def test_A14_401_fails_after_exactly_one_request_with_advice_and_no_key(clock: FakeClock) -> None:
    script = Script(ok({"detail": "Invalid API key"}, 401))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourAuthError) as info:
        client.start_search("x", search_id="s", output_mode="query_only")
    assert len(script.requests) == 1 and info.value.terminal
    assert "rejected the API key" in str(info.value) and "SIXTYFOUR_API_KEY" in str(info.value)
    assert API_KEY not in str(info.value)


def test_A14_402_says_out_of_credits(clock: FakeClock) -> None:
    script = Script(ok({"detail": "Insufficient API credits"}, 402))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourCreditsError, match="out of Sixtyfour credits") as info:
        client.start_search("x", search_id="s")
    assert len(script.requests) == 1 and info.value.terminal


def test_A15_invalid_settings_are_rejected_before_any_request(clock: FakeClock) -> None:
    script = Script(ok({}))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourConfigError, match="page_size"):
        list(client.iter_pages("ss-1", page_size=500))
    with pytest.raises(SixtyfourConfigError, match="mode"):
        client.start_search("x", mode="persons")
    with pytest.raises(SixtyfourConfigError, match="max_results"):
        client.start_search("x", max_results=0)
    with pytest.raises(SixtyfourConfigError, match="query"):
        client.start_search("  ")
    assert script.requests == []


def test_A15_server_422_surfaces_location_and_message(clock: FakeClock) -> None:
    body = {"detail": [{"loc": ["body", "max_results"], "msg": "must be at most 100", "type": "less_than_equal"}]}
    script = Script(ok(body, 422))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourValidationError) as info:
        client.start_search("x", max_results=500, search_id="s")
    assert "body.max_results: must be at most 100" in str(info.value)
    assert info.value.errors[0]["loc"] == ["body", "max_results"]
    assert len(script.requests) == 1


def test_A16_status_path_404_falls_back_and_remembers(clock: FakeClock) -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/search/status/"):
            return ok({"detail": "Not Found"}, 404)
        return ok(status_body("completed", search_id="ss-1"))

    script = Script(route)
    client = make_client(clock, handler=script)
    assert client.get_status("t-1").search_id == "ss-1"
    assert client.get_status("t-1").is_completed
    assert script.paths() == ["/search/status/t-1", "/search/deep-search-status/t-1", "/search/deep-search-status/t-1"]


def test_A16_unknown_task_on_both_paths_is_not_found(clock: FakeClock) -> None:
    script = Script(ok({"detail": "Search task or export file not found."}, 404))
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourNotFoundError, match="not found"):
        client.get_status("nope")
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(500, json={"detail": "Internal server error"}), "Internal server error"),
        (
            httpx.Response(422, json={"detail": [{"loc": ["query", "resource_handle_id"], "msg": "Field required"}]}),
            "query.resource_handle_id: Field required",
        ),
        (httpx.Response(429, json={"error": "Too Many Requests", "message": "Rate limit exceeded"}), "Too Many"),
        (httpx.Response(400, json={"error": {"code": "bad_cursor", "message": "Invalid cursor"}}), "Invalid cursor"),
        (httpx.Response(502, text="<html><body><h1>502 Bad Gateway</h1></body></html>"), "502 Bad Gateway"),
        (httpx.Response(503, content=b""), "empty"),
        (httpx.Response(500, json=["not", "a", "dict"]), "unexpected"),
    ],
)
def test_A16_every_error_body_shape_gives_a_readable_message(response: httpx.Response, expected: str) -> None:
    response.request = httpx.Request("GET", "https://api.sixtyfour.test/search/status/t")
    message, _ = parse_error_body(response)
    assert expected in message


def test_A16_html_502_after_retries_is_a_readable_server_error(clock: FakeClock) -> None:
    script = Script(
        httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>", headers={"content-type": "text/html"})
    )
    client = make_client(clock, handler=script)
    with pytest.raises(SixtyfourServerError, match="502 Bad Gateway"):
        client.get_status("t-1")


def test_M1_unparsable_200_is_retried_at_most_three_times(clock: FakeClock) -> None:
    broken = httpx.Response(200, content=b'{"results": [{"publicId": "a"', headers={"content-type": "application/json"})
    script = Script(broken, broken, _page([{"publicId": "a"}], None))
    client = make_client(clock, handler=script)
    assert [r for p in client.iter_pages("ss-1") for r in p.rows] == [{"publicId": "a"}]

    always = make_client(clock, handler=Script(broken))
    with pytest.raises(Exception, match="unparsable"):
        list(always.iter_pages("ss-1"))
