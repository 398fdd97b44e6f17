"""The sandbox itself, over real loopback HTTP with plain httpx: contract behaviour, faults, data, CLI."""

from __future__ import annotations

import csv
import io
import json
import logging
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx
import pytest

from dagster_sixtyfour.sandbox import SandboxServer
from dagster_sixtyfour.sandbox import data as sandbox_data
from dagster_sixtyfour.sandbox import server as sandbox_server
from dagster_sixtyfour.sandbox.faults import PEOPLE_CSV_COLUMNS

KEY = "sk-sandbox-test"
QUERY = "Heads of Data at fintech startups in Berlin"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(api_key=KEY, seed=11) as server:
        yield server


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, headers={"x-api-key": KEY}, timeout=10) as client:
        yield client


def start(api: httpx.Client, query: str = QUERY, **body: Any) -> str:
    r = api.post("/search/start-deep-search", json={"query": query, **body})
    assert r.status_code == 200, r.text
    return str(r.json()["task_id"])


def finish(api: httpx.Client, task_id: str, path: str = "/search/status") -> dict[str, Any]:
    for _ in range(50):
        doc: dict[str, Any] = api.get(f"{path}/{task_id}").json()
        if doc["status"] in ("completed", "failed"):
            return doc
    raise AssertionError("task never finished")


def saved_search(api: httpx.Client, query: str = QUERY, **body: Any) -> str:
    doc = finish(api, start(api, query, **body))
    assert doc["status"] == "completed"
    return str(doc["search_id"])


def drain(api: httpx.Client, search_id: str, **first: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All rows of a search through /search/query, and every page's metadata."""
    body: dict[str, Any] = {"search_id": search_id, "mode": "people", **first}
    rows: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    for _ in range(10_000):
        r = api.post("/search/query", json=body)
        assert r.status_code == 200, r.text
        page = r.json()
        rows += page.pop("results")
        pages.append(page)
        if not page["has_more"]:
            return rows, pages
        body = {"cursor": page["next_cursor"]}
    raise AssertionError("pagination never ended")


def person_id(row: dict[str, Any]) -> str | None:
    """Reference identity resolution (DESIGN section 3): publicId or the /in/<id> of a LinkedIn URL."""
    doc = row.get("raw_source") or row
    pid = doc.get("publicId")
    if not pid:
        url = doc.get("linkedinUrl") or doc.get("linkedin_url") or doc.get("profileUrl")
        if not url:
            return None
        pid = urlsplit(url).path.split("/in/", 1)[1].strip("/")
    return unicodedata.normalize("NFC", unquote(pid)).strip().lower()


# -- auth, validation, routing ----------------------------------------------------------------------------------


def test_missing_or_wrong_key_is_401_and_counted(sandbox: SandboxServer) -> None:
    for headers in ({}, {"x-api-key": "sk-wrong"}):
        r = httpx.post(f"{sandbox.base_url}/search/start-deep-search", json={"query": QUERY}, headers=headers)
        assert r.status_code == 401 and r.json() == {"detail": "Invalid API key"}
    assert sandbox.stats.requests["POST /search/start-deep-search"] == 2
    assert sandbox.stats.tasks_created == 0


def test_validation_errors_have_the_fastapi_shape(api: httpx.Client, sandbox: SandboxServer) -> None:
    r = api.post("/search/start-deep-search", json={"mode": "people"})
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", "query"] and err["type"] == "missing" and err["msg"]
    r = api.post("/search/start-deep-search", json={"query": "", "mode": "robots", "max_results": 0})
    locs = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert locs == {("body", "query"), ("body", "mode"), ("body", "max_results")}
    r = api.post("/search/start-deep-search", json={"query": QUERY, "max_results": 10_001})
    assert r.status_code == 422 and "10000" in r.json()["detail"][0]["msg"]
    sandbox.faults.max_results_ceiling = 100
    assert api.get("/search/limits").json() == {"max_results": 100}
    search_id = saved_search(api, max_results=100)
    for page_size in (0, 101, "ten"):
        r = api.post("/search/query", json={"search_id": search_id, "page_size": page_size})
        assert r.status_code == 422
        (err,) = r.json()["detail"]
        assert err["loc"] == ["body", "page_size"] and {"msg", "type", "input"} <= err.keys()
    r = api.post("/search/query", json={"search_id": search_id, "max_results": 101})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "max_results"]
    assert api.post("/search/query", content=b"{not json").status_code == 422


def test_unknown_routes_methods_and_ids(api: httpx.Client) -> None:
    assert api.get("/nope").status_code == 404 and api.get("/nope").json() == {"detail": "Not Found"}
    assert api.get("/search/start-deep-search").status_code == 405
    for path in ("/search/status/x", "/search/deep-search-status/x"):
        r = api.get(path)
        assert r.status_code == 404 and r.json() == {"detail": "Search task or export file not found."}
    r = api.post("/search/query", json={"search_id": "ss_missing"})
    assert r.status_code == 404 and r.json() == {"detail": "Search not found or has no parsed_query."}
    assert api.post("/search/export", json={"search_id": "ss_missing"}).status_code == 404
    r = api.get("/search/download")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "resource_handle_id"]
    assert api.get("/search/download", params={"resource_handle_id": "rh_nope"}).status_code == 404


# -- deep-search lifecycle ----------------------------------------------------------------------------------------


def test_status_advances_per_poll_on_both_paths(api: httpx.Client, sandbox: SandboxServer) -> None:
    task_id = start(api, output_mode="csv")
    states = []
    for path in ("/search/status", "/search/deep-search-status", "/search/status", "/search/deep-search-status"):
        doc = api.get(f"{path}/{task_id}").json()
        assert {"task_id", "status", "start_time"} <= doc.keys() and doc["start_time"].endswith("Z")
        states.append(doc["status"])
        if doc["status"] == "running":
            assert isinstance(doc["current_phase"], int) and doc["progress_message"] and doc["iterations"]
    assert states == ["queued", "running", "running", "completed"]
    assert doc["resource_handle_id"].startswith("rh_") and doc["search_id"].startswith("ss_")
    assert doc["total_results"] == doc["exported_count"] == len(sandbox.search_rows(doc["search_id"]))
    assert doc["close_time"] and doc["error"] is None
    assert api.get(f"/search/status/{task_id}").json()["status"] == "completed"  # terminal stays
    assert sandbox.stats.requests["GET /search/deep-search-status"] == 2


def test_query_only_search_has_no_handle_and_failures_stay_failed(api: httpx.Client, sandbox: SandboxServer) -> None:
    doc = finish(api, start(api, output_mode="query_only"))
    assert doc["status"] == "completed" and doc["resource_handle_id"] is None and doc["search_id"]
    failed = finish(api, start(api, "__fail__ everyone"))
    assert failed["status"] == "failed" and failed["error"] == "Search agent failed: upstream model error"
    assert failed["resource_handle_id"] is None and failed["close_time"]
    sandbox.faults.p_search_fail = 1.0
    task_id = start(api, "a normal query")
    sandbox.faults.p_search_fail = 0.0  # decided at start: changing it later does not save the task
    assert finish(api, task_id)["status"] == "failed"


def test_status_path_missing_sends_clients_to_deep_search_status(api: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.faults.status_path_missing = True
    task_id = start(api)
    r = api.get(f"/search/status/{task_id}")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    assert finish(api, task_id, "/search/deep-search-status")["status"] == "completed"


def test_start_is_idempotent_on_the_client_search_id(api: httpx.Client, sandbox: SandboxServer) -> None:
    first = api.post("/search/start-deep-search", json={"query": QUERY, "search_id": "run-1"}).json()
    api.get(f"/search/status/{first['task_id']}")
    again = api.post("/search/start-deep-search", json={"query": QUERY, "search_id": "run-1"}).json()
    assert again == {"task_id": first["task_id"], "status": "queued", "message": "Search already started"}
    assert sandbox.stats.tasks_created == 1
    done = finish(api, first["task_id"])
    assert done["search_id"] != "run-1"
    assert sandbox.task(first["task_id"])["client_search_id"] == "run-1"


def test_five_concurrent_searches_then_429_with_retry_after(api: httpx.Client, sandbox: SandboxServer) -> None:
    tasks = [start(api, f"{QUERY} {i}") for i in range(5)]
    r = api.post("/search/start-deep-search", json={"query": "sixth"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json() == {"detail": "Rate limit exceeded: at most 5 concurrent deep searches"}
    finish(api, tasks[0])
    start(api, "sixth")
    assert sandbox.stats.max_in_flight == 5 and sandbox.stats.tasks_created == 6
    assert sandbox.stats.responses_429 == 1


# -- /search/query paging -----------------------------------------------------------------------------------------


def test_paging_end_to_end_equals_the_truth(api: httpx.Client, sandbox: SandboxServer) -> None:
    search_id = saved_search(api)
    truth = sandbox.search_rows(search_id)
    rows, pages = drain(api, search_id, page_size=40)
    assert rows == truth and 150 <= len(truth) < 250
    assert [p["page_number"] for p in pages] == list(range(1, len(pages) + 1))
    assert all("total_pages" not in p for p in pages[:-1]) and pages[-1]["total_pages"] == len(pages)
    last = pages[-1]
    assert last["next_cursor"] is None and last["total_results"] == len(truth) == last["total_available"]
    assert {
        "cursor_expires_in_seconds",
        "max_pages",
        "max_results",
        "remaining_results",
        "search_id",
        "resource_handle_id",
        "exported_count",
        "request_duration_ms",
        "output_shape",
        "page_count",
    } <= last.keys()
    capped, _ = drain(api, search_id, page_size=100, max_results=55)
    assert capped == truth[:55]


def test_continuations_send_only_the_cursor(api: httpx.Client, sandbox: SandboxServer) -> None:
    search_id = saved_search(api)
    cursor = api.post("/search/query", json={"search_id": search_id, "mode": "people"}).json()["next_cursor"]
    r = api.post("/search/query", json={"cursor": cursor, "mode": "people"})
    assert r.status_code == 400 and r.json() == {"detail": "Send only the cursor on continuation requests"}
    assert api.post("/search/query", json={"cursor": cursor, "page_size": None}).status_code == 200
    r = api.post("/search/query", json={"cursor": "forged"})
    assert r.status_code == 400 and r.json() == {"detail": "Invalid cursor"}
    assert sandbox.stats.cursor_restarts_from_search_id == 0
    api.post("/search/query", json={"search_id": search_id, "mode": "people"})
    assert sandbox.stats.cursor_restarts_from_search_id == 1


def test_omitted_mode_serves_company_rows(api: httpx.Client) -> None:
    search_id = saved_search(api, mode="people")
    page = api.post("/search/query", json={"search_id": search_id}).json()
    assert page["page_size"] == 10 and len(page["results"]) == 10
    assert all("company_name" in row and "fullName" not in row for row in page["results"])
    assert page["total_available"] is None


def test_cursor_expires_after_advance_and_is_reusable_before(api: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.faults.cursor_ttl = 60
    search_id = saved_search(api)
    page = api.post("/search/query", json={"search_id": search_id, "mode": "people"}).json()
    assert page["cursor_expires_in_seconds"] == 60
    again = [api.post("/search/query", json={"cursor": page["next_cursor"]}).json()["results"] for _ in range(2)]
    assert again[0] == again[1]  # not single-use
    sandbox.advance(61)
    r = api.post("/search/query", json={"cursor": page["next_cursor"]})
    assert r.status_code == 410 and r.json() == {"detail": "Cursor expired; restart from search_id"}


def test_injected_cursor_expiry_hits_fresh_cursors(api: httpx.Client, sandbox: SandboxServer) -> None:
    search_id = saved_search(api)
    cursor = api.post("/search/query", json={"search_id": search_id, "mode": "people"}).json()["next_cursor"]
    sandbox.faults.p_cursor_expired = 1.0
    assert api.post("/search/query", json={"cursor": cursor}).status_code == 410
    sandbox.faults.p_cursor_expired = 0.0
    assert api.post("/search/query", json={"cursor": cursor}).status_code == 200


def test_short_and_empty_pages_keep_has_more_and_lose_no_row(api: httpx.Client, sandbox: SandboxServer) -> None:
    search_id = saved_search(api)
    sandbox.faults.p_short_page, sandbox.faults.p_empty_page = 0.4, 0.2
    rows, pages = drain(api, search_id, page_size=25)
    assert rows == sandbox.search_rows(search_id)
    short = [p for p in pages if p["has_more"] and p["page_count"] < 25]
    assert short and any(p["page_count"] == 0 for p in short)
    assert all(p["next_cursor"] for p in short)


# -- faults on the wire -------------------------------------------------------------------------------------------


def test_p429_and_p5xx_bodies_and_headers(api: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.faults.p429, sandbox.faults.retry_after = 1.0, "Wed, 21 Oct 2026 07:28:00 GMT"
    r = api.get("/search/limits")
    assert r.status_code == 429 and r.json() == {"detail": "Rate limit exceeded"}
    assert r.headers["Retry-After"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    sandbox.faults.error_body_shape = "error_message"
    assert api.get("/search/limits").json() == {"error": "Too Many Requests", "message": "Rate limit exceeded"}
    sandbox.faults.p429, sandbox.faults.p5xx, sandbox.faults.error_body_shape = 0.0, 1.0, "html"
    statuses = [api.get("/search/limits") for _ in range(4)]
    assert [r.status_code for r in statuses] == [500, 502, 503, 504]
    assert statuses[1].headers["content-type"].startswith("text/html") and "502 Bad Gateway" in statuses[1].text
    assert sandbox.stats.responses_429 == 2 and sandbox.stats.responses_5xx == 4
    sandbox.faults.p5xx, sandbox.faults.p429, sandbox.faults.retry_after = 0.0, 1.0, None
    assert "Retry-After" not in api.get("/search/limits").headers
    sandbox.faults.p429 = 0.0
    assert api.get("/search/limits").status_code == 200


def test_cut_body_breaks_the_response(api: httpx.Client, sandbox: SandboxServer) -> None:
    search_id = saved_search(api)
    sandbox.faults.p_cut_body = 1.0
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/search/query", json={"search_id": search_id, "mode": "people", "page_size": 100})
    sandbox.faults.p_cut_body = 0.0
    rows, _ = drain(api, search_id, page_size=100)  # the retry returns the right data on a new connection
    assert rows == sandbox.search_rows(search_id)


def test_malformed_page_is_unparsable_json(api: httpx.Client, sandbox: SandboxServer) -> None:
    search_id = saved_search(api)
    sandbox.faults.p_malformed = 1.0
    r = api.post("/search/query", json={"search_id": search_id, "mode": "people"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content.decode("utf-8", errors="replace"))


# -- exports, downloads, CSV --------------------------------------------------------------------------------------


def _download(api: httpx.Client, handle: str) -> httpx.Response:
    signed = api.get("/search/download", params={"resource_handle_id": handle}).json()
    assert signed["bucket"] == "sixtyfour-sandbox-exports" and signed["path"] == f"exports/{handle}.csv"
    return httpx.get(signed["url"])  # a plain GET: no API key


def test_csv_download_through_a_signed_url(api: httpx.Client, sandbox: SandboxServer) -> None:
    doc = finish(api, start(api, output_mode="csv"))
    r = _download(api, doc["resource_handle_id"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert b"\r\n" in r.content and not r.content.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(r.content.decode("utf-8"), newline=""))
    records = list(reader)
    assert reader.fieldnames == list(PEOPLE_CSV_COLUMNS)
    assert len(records) == doc["exported_count"] == len(sandbox.search_rows(doc["search_id"]))
    assert any("\n" in rec["summary"] for rec in records)
    truth = sandbox.search_rows(doc["search_id"])
    assert [rec["full_name"] for rec in records] == [(t.get("raw_source") or t)["fullName"] for t in truth]
    assert sandbox.stats.file_requests == 1 and sandbox.stats.file_requests_with_api_key == 0
    httpx.get(
        api.get("/search/download", params={"resource_handle_id": doc["resource_handle_id"]}).json()["url"],
        headers={"x-api-key": KEY},
    )
    assert sandbox.stats.file_requests_with_api_key == 1


def test_csv_options_bom_columns_company_and_chunked(
    api: httpx.Client, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.faults.csv_bom = True
    sandbox.faults.company_csv_columns = ("company_id", "company_name", "not_a_column")
    monkeypatch.setattr(sandbox_server, "_LENGTH_PASS_MAX_ROWS", 0)  # force chunked transfer encoding
    doc = finish(api, start(api, mode="company", output_mode="csv", max_results=120))
    r = _download(api, doc["resource_handle_id"])
    assert r.headers.get("transfer-encoding") == "chunked" and r.content.startswith(b"\xef\xbb\xbf")
    records = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    assert len(records) == 120 and list(records[0]) == ["company_id", "company_name", "not_a_column"]
    assert {rec["not_a_column"] for rec in records} == {""}


def test_signed_urls_are_fresh_each_time_and_expire(api: httpx.Client, sandbox: SandboxServer) -> None:
    handle = finish(api, start(api))["resource_handle_id"]
    urls = {api.get("/search/download", params={"resource_handle_id": handle}).json()["url"] for _ in range(2)}
    assert len(urls) == 2
    sandbox.advance(901)
    r = httpx.get(urls.pop())
    assert r.status_code == 403 and "<Code>AccessDenied</Code><Message>Request has expired</Message>" in r.text
    assert httpx.get(f"{sandbox.base_url}/files/sixtyfour-sandbox-exports/exports/{handle}.csv").status_code == 403
    assert _download(api, handle).status_code == 200
    sandbox.faults.download_url = "http://169.254.169.254/latest/meta-data"
    signed = api.get("/search/download", params={"resource_handle_id": handle}).json()
    assert signed["url"] == sandbox.faults.download_url


def test_redirecting_storage_and_quiet_logs(
    api: httpx.Client, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dagster_sixtyfour.sandbox")
    handle = finish(api, start(api))["resource_handle_id"]
    url = api.get("/search/download", params={"resource_handle_id": handle}).json()["url"]
    assert httpx.get(url).status_code == 200
    token = parse_qs(urlsplit(url).query)["token"][0]
    assert "/files/" in caplog.text and token not in caplog.text and KEY not in caplog.text
    sandbox.faults.files_redirect_url = "http://169.254.169.254/latest"
    r = httpx.get(url)
    assert r.status_code == 302 and r.headers["location"] == "http://169.254.169.254/latest"


def test_cut_csv_download_is_a_broken_body(api: httpx.Client, sandbox: SandboxServer) -> None:
    handle = finish(api, start(api))["resource_handle_id"]
    sandbox.faults.p_cut_body = 1.0
    with pytest.raises(httpx.RemoteProtocolError):
        _download(api, handle)


def test_export_conflicts_while_running_then_completes(api: httpx.Client, sandbox: SandboxServer) -> None:
    search_id = saved_search(api, output_mode="query_only")
    first = api.post("/search/export", json={"search_id": search_id, "mode": "people"})
    assert first.status_code == 200 and first.json()["status"] == "queued"
    assert first.json()["message"] == "Export started"
    second = api.post("/search/export", json={"search_id": search_id, "mode": "people"})
    assert second.status_code == 409
    assert second.json() == {"detail": "Export workflow is already running for this search."}
    done = finish(api, first.json()["task_id"])
    assert done["status"] == "completed" and done["resource_handle_id"] and sandbox.stats.exports_created == 1
    records = list(csv.DictReader(io.StringIO(_download(api, done["resource_handle_id"]).text, newline="")))
    assert len(records) == done["exported_count"] == len(sandbox.search_rows(search_id))
    assert api.post("/search/export", json={"search_id": search_id}).status_code == 200  # the first one ended


# -- synthetic data -----------------------------------------------------------------------------------------------


def test_rows_are_deterministic_for_a_seed() -> None:
    results = []
    for seed in (5, 5, 6):
        with (
            SandboxServer(seed=seed) as server,
            httpx.Client(base_url=server.base_url, headers={"x-api-key": server.api_key}) as client,
        ):
            search_id = saved_search(client)
            task_ids = [start(client, f"q{i}") for i in range(2)]
            results.append((search_id, task_ids, drain(client, search_id, page_size=100)[0]))
    assert results[0][2] == results[1][2] and results[0][2] != results[2][2]  # rows follow the seed
    assert results[0][1] != results[1][1]  # ids never do: two sandboxes must not hand out one task id


def test_identity_forms_resolve_to_one_id_per_person(api: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.faults.rows_per_search = 2000
    search_id = saved_search(api, max_results=2000)
    spec = sandbox.state.saved_spec(search_id)
    rows = sandbox.search_rows(search_id)
    missing = 0
    for i, row in enumerate(rows):
        got = person_id(row)
        missing += got is None
        want = sandbox_data.person(spec.seed, spec.population, sandbox_data.pick(spec, i), spec.epoch).public_id
        assert got in (None, want)
    assert 0.01 < missing / len(rows) < 0.06
    assert 0.4 < sum("raw_source" in r for r in rows) / len(rows) < 0.6
    assert len({person_id(r) for r in rows}) < len(rows)  # repeats within a search
    names = [(r.get("raw_source") or r)["fullName"] for r in rows]
    assert any(not n.isascii() for n in names) and any("\u0301" in n for n in names)
    first_languages = next(i for i, r in enumerate(rows) if "languages" in (r.get("raw_source") or r))
    assert first_languages >= 100
    for index in range(sandbox.faults.population):  # every spelling of every id resolves back to it
        pid = sandbox_data.person(11, 5000, index, 0).public_id
        for url in (sandbox_data._url_form(pid, form) for form in range(5)):
            assert person_id({"linkedinUrl": url}) == pid
        assert person_id({"publicId": quote(pid, safe="-")}) == pid


def test_company_rows_carry_varied_identities(api: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.faults.rows_per_search = 1000
    rows = sandbox.search_rows(saved_search(api, mode="company"))
    with_id = sum(r["source_id"] is not None for r in rows) / len(rows)
    domain_only = sum(r["source_id"] is None and "website" in r for r in rows) / len(rows)
    nothing = sum(r["source_id"] is None and "website" not in r and "linkedin_url" not in r for r in rows) / len(rows)
    assert 0.7 < with_id < 0.9 and 0.05 < domain_only < 0.15 and 0.005 < nothing < 0.06


def test_searches_share_the_pool_and_epochs_change_jobs(api: httpx.Client, sandbox: SandboxServer) -> None:
    a = {person_id(r) for r in sandbox.search_rows(saved_search(api, "CFOs in Paris"))}
    b = {person_id(r) for r in sandbox.search_rows(saved_search(api, "CTOs in Lagos"))}
    assert len((a & b) - {None}) > 0
    before = sandbox.search_rows(saved_search(api, QUERY))
    sandbox.faults.epoch = 1
    after = sandbox.search_rows(saved_search(api, QUERY))
    assert [person_id(r) for r in before] == [person_id(r) for r in after]  # same people, same order
    headlines = [
        ((x.get("raw_source") or x)["headline"], (y.get("raw_source") or y)["headline"])
        for x, y in zip(before, after, strict=True)
    ]
    changed = sum(h0 != h1 for h0, h1 in headlines) / len(headlines)
    assert 0.05 < changed < 0.4


def test_cli_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dagster_sixtyfour.sandbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "--port" in out and "--p429" in out and "--p-short-page" in out and "--csv-bom" in out
