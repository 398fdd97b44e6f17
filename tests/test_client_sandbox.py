"""The client against the sandbox over real loopback HTTP: both API flows, and the catalogue cases whose faults
the sandbox injects. The sandbox and the client share one injected clock, so nothing sleeps for real."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dagster_sixtyfour import SixtyfourClient
from dagster_sixtyfour.errors import (
    SixtyfourAuthError,
    SixtyfourPaginationError,
    SixtyfourPollTimeoutError,
    SixtyfourSearchFailedError,
    SixtyfourValidationError,
)
from dagster_sixtyfour.sandbox import SandboxFaults, SandboxServer
from tests.conftest import FakeClock, make_client

QUERY = "Heads of Data at fintech startups in Berlin"


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[SandboxServer]:
    with SandboxServer(seed=3, faults=SandboxFaults(), clock=clock) as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer, clock: FakeClock) -> Iterator[SixtyfourClient]:
    with make_client(clock, base_url=sandbox.base_url, api_key=sandbox.api_key, poll_interval=10) as c:
        yield c


def _json_flow(client: SixtyfourClient, **kwargs: Any) -> tuple[str, list[dict[str, Any]]]:
    outcome = client.run_search(QUERY, output_mode="query_only", **kwargs)
    assert outcome.search_id and outcome.rows is not None
    return outcome.search_id, list(outcome.rows)


def test_json_flow_end_to_end_matches_the_sandbox_truth(client: SixtyfourClient, sandbox: SandboxServer) -> None:
    progress: list[str] = []
    outcome = client.run_search(
        QUERY, max_results=120, output_mode="query_only", on_progress=lambda s: progress.append(s.status)
    )
    assert outcome.output_mode == "query_only" and outcome.search_id
    assert outcome.rows == sandbox.search_rows(outcome.search_id)
    assert len(outcome.rows) == 120
    assert outcome.pages == 2  # page_size 100
    assert progress[0] == "queued" and "running" in progress and progress[-1] == "completed"


def test_csv_flow_end_to_end_streams_a_complete_file(
    client: SixtyfourClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    outcome = client.run_search(QUERY, max_results=150, output_mode="csv", dest=tmp_path / "leads.csv")
    assert outcome.csv_path == tmp_path / "leads.csv"
    with outcome.csv_path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == outcome.status.exported_count == 150
    assert rows[0].keys() >= {"full_name", "linkedin_url"}
    assert any("\n" in (r.get("summary") or "") for r in rows)  # a multi-line quoted column survived
    assert sandbox.stats.file_requests_with_api_key == 0  # S4


def test_T4_bodies_cut_mid_stream_are_retried(client: SixtyfourClient, sandbox: SandboxServer) -> None:
    sandbox.faults.p_cut_body = 0.3
    search_id, rows = _json_flow(client, max_results=300)
    assert rows == sandbox.search_rows(search_id)
    assert client.retries > 0


def test_T5_5xx_burst_still_converges_to_the_truth(client: SixtyfourClient, sandbox: SandboxServer) -> None:
    sandbox.faults.p5xx = 0.3
    search_id, rows = _json_flow(client, max_results=300, search_id="t5-run")  # a keyed start may be resent
    assert rows == sandbox.search_rows(search_id)
    assert client.retries > 0 and sandbox.stats.responses_5xx > 0


def test_A1_sandbox_429_with_retry_after_is_waited_out(
    client: SixtyfourClient, sandbox: SandboxServer, clock: FakeClock
) -> None:
    sandbox.faults.p429, sandbox.faults.retry_after = 0.3, "3"
    search_id, rows = _json_flow(client, max_results=200)
    assert rows == sandbox.search_rows(search_id)
    waits = [s for s in clock.sleeps if 3.0 <= s <= 4.0]
    assert sandbox.stats.responses_429 > 0 and len(waits) >= sandbox.stats.responses_429


def test_A4_the_sixth_concurrent_search_waits_for_a_free_slot(sandbox: SandboxServer, clock: FakeClock) -> None:
    sandbox.faults.retry_after = None
    first = make_client(clock, base_url=sandbox.base_url, api_key=sandbox.api_key)
    tasks = [first.start_search(f"{QUERY} #{i}", output_mode="query_only").task_id for i in range(5)]
    # While the sixth start backs off, another worker finishes the first search (driven by the fake sleep).
    clock.on_sleep = lambda _s: first.wait_for_search(tasks[0]) if sandbox.stats.responses_429 else None
    sixth = first.start_search(f"{QUERY} #6", output_mode="query_only")
    assert sixth.task_id not in tasks
    assert sandbox.stats.responses_429 >= 1
    assert sandbox.stats.max_in_flight <= 5
    assert sandbox.stats.tasks_created == 6
    assert 15 * 0.9 <= clock.sleeps[0] <= 15 * 1.1  # the concurrency cap is waited out from 15 s


def test_A5_429_storm_across_parallel_searches_completes_without_amplification(
    sandbox: SandboxServer, clock: FakeClock
) -> None:
    sandbox.faults.p429, sandbox.faults.retry_after = 0.3, "1"
    lock = threading.Lock()
    results: dict[int, int] = {}

    def run(i: int) -> None:
        c = make_client(clock, base_url=sandbox.base_url, api_key=sandbox.api_key)
        outcome = c.run_search(f"{QUERY} {i}", max_results=150, output_mode="query_only", search_id=f"storm-{i}")
        with lock:
            results[i] = len(outcome.rows or [])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == {i: 150 for i in range(4)}
    assert sandbox.stats.tasks_created == 4
    total = sum(sandbox.stats.requests.values())
    successes = total - sandbox.stats.responses_429
    assert sandbox.stats.responses_429 <= successes * 2  # each refusal is one extra call, never a cascade


def test_A6_failed_search_raises_with_the_task_and_the_api_error(
    client: SixtyfourClient, sandbox: SandboxServer
) -> None:
    with pytest.raises(SixtyfourSearchFailedError) as info:
        client.run_search("__fail__ everyone", output_mode="query_only")
    assert info.value.task_id and info.value.task_id in str(info.value)
    assert "upstream model error" in str(info.value)
    assert sandbox.stats.requests["POST /search/query"] == 0


def test_A8_never_completing_search_times_out_then_a_rerun_reattaches(sandbox: SandboxServer, clock: FakeClock) -> None:
    sandbox.faults.complete_after_polls = 100_000
    client = make_client(clock, base_url=sandbox.base_url, api_key=sandbox.api_key, poll_interval=10, poll_timeout=120)
    with pytest.raises(SixtyfourPollTimeoutError, match="running"):
        client.run_search(QUERY, output_mode="query_only", search_id="asset-x-run-1")
    again = client.start_search(QUERY, output_mode="query_only", search_id="asset-x-run-1")
    assert sandbox.stats.tasks_created == 1
    assert again.task_id == sandbox.task(again.task_id)["task_id"]


def test_A9_cursor_expiry_mid_paging_restarts_and_dedups_the_overlap(
    client: SixtyfourClient, sandbox: SandboxServer
) -> None:
    status = client.wait_for_search(client.start_search(QUERY, max_results=250, output_mode="query_only").task_id)
    sandbox.faults.cursor_ttl = 1
    rows: list[dict[str, Any]] = []
    for page in client.iter_pages(status.search_id or "", page_size=50, max_results=250):
        rows.extend(page.rows)
        if page.number == 2:
            sandbox.advance(5)  # the cursor returned with page 2 is now expired
    assert rows == sandbox.search_rows(status.search_id or "")


def test_A9_cursor_expiring_every_time_gives_up_after_three_restarts(
    client: SixtyfourClient, sandbox: SandboxServer
) -> None:
    status = client.wait_for_search(client.start_search(QUERY, max_results=250, output_mode="query_only").task_id)
    sandbox.faults.p_cursor_expired = 1.0
    with pytest.raises(SixtyfourPaginationError, match="expired 4 times"):
        list(client.iter_pages(status.search_id or "", page_size=50))


def test_A10_short_and_empty_pages_lose_no_row(client: SixtyfourClient, sandbox: SandboxServer) -> None:
    sandbox.faults.p_short_page, sandbox.faults.p_empty_page = 0.3, 0.2
    search_id, rows = _json_flow(client, max_results=400)
    assert rows == sandbox.search_rows(search_id)


def test_A12_expired_signed_url_is_reminted_not_retried(
    sandbox: SandboxServer, clock: FakeClock, tmp_path: Path
) -> None:
    sandbox.faults.url_ttl = 1
    fetched: list[str] = []

    class ExpireFirst(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            fetched.append(str(request.url))
            if len(fetched) == 1:
                sandbox.advance(5)  # the URL expires between minting and fetching
            return super().handle_request(request)

    client = SixtyfourClient(
        api_key=sandbox.api_key,
        base_url=sandbox.base_url,
        download_transport=ExpireFirst(),
        clock=clock,
        sleep=clock.sleep,
    )
    outcome = client.run_search(QUERY, max_results=120, output_mode="csv", dest=tmp_path / "x.csv")
    assert outcome.csv_path is not None and outcome.csv_path.exists()
    assert sandbox.stats.requests["GET /search/download"] == 2
    assert len(set(fetched)) == 2  # a fresh URL, never the expired one again


def test_A13_second_export_of_a_running_search_reattaches(client: SixtyfourClient, sandbox: SandboxServer) -> None:
    status = client.wait_for_search(client.start_search(QUERY, max_results=100, output_mode="query_only").task_id)
    first = client.export(status.search_id or "", mode="people")
    second = client.export(status.search_id or "", mode="people")
    assert first.task_id == second.task_id
    assert sandbox.stats.exports_created == 1
    done = client.wait_for_search(first.task_id)
    assert done.resource_handle_id


def test_A14_wrong_key_fails_after_one_request(sandbox: SandboxServer, clock: FakeClock) -> None:
    client = make_client(clock, base_url=sandbox.base_url, api_key="sk-wrong-key-123")
    with pytest.raises(SixtyfourAuthError, match="rejected the API key") as info:
        client.start_search(QUERY, search_id="abc")
    assert sum(sandbox.stats.requests.values()) == 1
    assert "sk-wrong-key-123" not in str(info.value)


def test_A15_over_ceiling_max_results_shows_the_server_422(client: SixtyfourClient, sandbox: SandboxServer) -> None:
    sandbox.faults.max_results_ceiling = 100
    with pytest.raises(SixtyfourValidationError, match="max_results") as info:
        client.start_search(QUERY, max_results=500, search_id="x")
    assert info.value.status_code == 422 and info.value.errors


def test_A16_missing_status_path_falls_back_to_deep_search_status(
    client: SixtyfourClient, sandbox: SandboxServer
) -> None:
    sandbox.faults.status_path_missing = True
    search_id, rows = _json_flow(client, max_results=50)
    assert rows == sandbox.search_rows(search_id)
    assert sandbox.stats.requests["GET /search/status"] == 1  # tried once, then remembered the fallback


def test_M1_malformed_pages_are_re_requested(client: SixtyfourClient, sandbox: SandboxServer) -> None:
    sandbox.faults.p_malformed = 0.2
    search_id, rows = _json_flow(client, max_results=300)
    assert rows == sandbox.search_rows(search_id)


def test_S3_csv_flow_logs_no_signed_url_token(
    client: SixtyfourClient, sandbox: SandboxServer, debug_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    client.run_search(QUERY, max_results=50, output_mode="csv", dest=tmp_path / "x.csv")
    assert "token=" not in debug_logs.text
    assert sandbox.api_key not in debug_logs.text
    assert "/files/" in debug_logs.text  # the download is logged, without its query string
