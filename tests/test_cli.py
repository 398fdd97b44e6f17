"""The ``dagster-sixtyfour`` command line against the sandbox over real loopback HTTP.

Commands run in-process through ``main([...])`` with ``--poll-interval 0`` (nothing sleeps for real); two tests run
the module as a separate process to prove the entry point, the exit codes and the ``sandbox`` command.
"""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from dagster_sixtyfour._progress import SearchDisplay
from dagster_sixtyfour.cli import main
from dagster_sixtyfour.models import SearchStatus
from dagster_sixtyfour.sandbox import SandboxFaults, SandboxServer
from dagster_sixtyfour.version import __version__

QUERY = "Heads of Data at fintech startups in Berlin"
SANDBOX_KEY = "sk-sandbox-cli-5e1d"
_ENV = ("SIXTYFOUR_API_KEY", "SIXTYFOUR_BASE_URL", "SIXTYFOUR_DUCKDB_PATH", "FORCE_COLOR", "TTY_COMPATIBLE")
_SUMMARY = re.compile(r"^\s*(fetched|inserted|updated|unchanged|rejected|task id|table|database)\s{2,}(\S+)\s*$")
_ANSI = "\x1b["


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*_ENV, "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    with SandboxServer(api_key=SANDBOX_KEY, seed=11, faults=SandboxFaults(max_results_ceiling=500)) as server:
        monkeypatch.setenv("SIXTYFOUR_API_KEY", server.api_key)
        monkeypatch.setenv("SIXTYFOUR_BASE_URL", server.base_url)
        yield server


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def search(capsys: pytest.CaptureFixture[str], db: Path, *extra: str, query: str = QUERY) -> tuple[int, str, str]:
    return cli(capsys, "search", query, "--db", str(db), "--poll-interval", "0", *extra)


def summary(out: str) -> dict[str, str]:
    found = dict(m.groups() for line in out.splitlines() if (m := _SUMMARY.match(line)))
    return {k: v.replace(",", "") for k, v in found.items()}


def count(capsys: pytest.CaptureFixture[str], db: Path, table: str = "people") -> int:
    code, out, err = cli(
        capsys, "sql", f"select count(*) as n from sixtyfour.{table}", "--db", str(db), "--format", "csv"
    )
    assert code == 0, err
    return int(out.splitlines()[1])


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith("Using the embedded")]


def test_search_then_sql_counts_match_and_a_rerun_inserts_nothing(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "leads.duckdb"
    code, out, err = search(capsys, db, "--max-results", "150")
    assert code == 0, err
    first = summary(out)
    assert first["fetched"] == "150" and int(first["inserted"]) > 100
    assert first["database"] == str(db) and first["table"] == "sixtyfour.people"
    assert "dagster-sixtyfour sql 'select full_name, title, company_name from sixtyfour.people limit 10'" in out
    assert f"--db {db}" in out
    assert count(capsys, db) == int(first["inserted"])

    code, out, err = search(capsys, db, "--max-results", "150")
    assert code == 0, err
    second = summary(out)
    assert second["inserted"] == "0" and second["updated"] == "0"
    assert second["unchanged"] == first["inserted"] and second["task id"] != first["task id"]
    assert count(capsys, db) == int(first["inserted"])


def test_progress_is_plain_status_lines_on_stderr_when_not_a_tty(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = search(capsys, tmp_path / "leads.duckdb", "--max-results", "120", "--page-size", "50")
    assert code == 0, err
    lines = err.splitlines()
    assert any(line.startswith("Started people search: task ") for line in lines)
    assert "  status: queued" in lines
    assert any(line.startswith("  status: running - phase ") for line in lines)
    assert any(line.startswith("  status: completed") for line in lines)
    assert "  120/120 rows" in lines and "Fetched 120 rows" in lines
    assert any(line.startswith("Merged 120 rows into ") for line in lines)
    assert _ANSI not in err and _ANSI not in out
    assert "status:" not in out  # progress never goes to stdout

    code, out, err = search(capsys, tmp_path / "leads.duckdb", "--max-results", "120", "--quiet")
    assert code == 0 and err == "" and summary(out)["fetched"] == "120"


def test_csv_output_mode(sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "csv.duckdb"
    code, out, err = search(capsys, db, "--max-results", "140", "--output-mode", "csv")
    assert code == 0, err
    assert "Downloaded CSV export (" in err and "140/140 rows" in err
    result = summary(out)
    assert result["fetched"] == "140" and count(capsys, db) == int(result["inserted"]) > 0
    assert sandbox.stats.file_requests_with_api_key == 0
    assert not list(tmp_path.glob("*.csv"))


def test_company_mode(sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "companies.duckdb"
    code, out, err = search(capsys, db, "--mode", "company", "--max-results", "80", query="Fintech startups in Berlin")
    assert code == 0, err
    result = summary(out)
    assert result["table"] == "sixtyfour.companies" and result["fetched"] == "80"
    assert count(capsys, db, "companies") == int(result["inserted"]) > 0
    assert count(capsys, db, "people") == 0
    assert "select company_name, industry from sixtyfour.companies limit 10" in out


def test_sandbox_flag_needs_no_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "try.duckdb"
    code, out, err = search(capsys, db, "--sandbox", "--max-results", "50")
    assert code == 0, err
    assert "embedded Sixtyfour sandbox" in err and "synthetic data" in err
    assert summary(out)["fetched"] == "50" and count(capsys, db) == int(summary(out)["inserted"])


def test_no_key_and_no_sandbox_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "leads.duckdb"
    code, out, err = search(capsys, db)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: SIXTYFOUR_API_KEY is not set")
    assert "--sandbox" in err and "Traceback" not in err
    assert not db.exists()


def test_wrong_key_is_one_line_without_the_key(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "sk-live-wrong-9c2e41b7"
    monkeypatch.setenv("SIXTYFOUR_API_KEY", wrong)
    code, out, err = search(capsys, tmp_path / "leads.duckdb")
    assert code == 1 and out == ""
    [line] = error_lines(err)
    assert line.startswith("error: ") and "HTTP 401" in line and "rejected the API key" in line
    assert wrong not in out + err and "Traceback" not in err


def test_max_results_above_the_ceiling_shows_the_api_422(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = search(capsys, tmp_path / "leads.duckdb", "--max-results", "501")
    assert code == 1 and out == ""
    [line] = error_lines(err)
    assert "HTTP 422" in line and "max_results 501 exceeds this API key's ceiling of 500" in line
    assert "Traceback" not in err
    assert sandbox.stats.requests.get("POST /search/start-deep-search") == 1  # sent as given, not clamped


def test_debug_shows_the_traceback(sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = search(capsys, tmp_path / "leads.duckdb", "--max-results", "501", "--debug")
    assert code == 1
    assert "Traceback (most recent call last)" in err and "SixtyfourValidationError" in err
    assert err.splitlines()[-1].startswith("error: POST /search/start-deep-search failed with HTTP 422")


def test_sql_formats_and_read_only(sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "leads.duckdb"
    assert search(capsys, db, "--max-results", "60")[0] == 0
    query = "select lead_key, full_name, title from sixtyfour.people order by lead_key"

    code, out, err = cli(capsys, "sql", query, "--db", str(db), "--format", "csv", "--limit", "5")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 5 and list(rows[0]) == ["lead_key", "full_name", "title"]

    code, out, err = cli(capsys, "sql", query, "--db", str(db), "--format", "json")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == count(capsys, db) and records[0]["lead_key"] == rows[0]["lead_key"]

    code, out, err = cli(capsys, "sql", "select 42 as answer, null as nothing", "--db", str(db))
    assert code == 0 and "answer" in out and "42" in out and "NULL" in out and "1 row" in out and _ANSI not in out

    before = count(capsys, db)
    code, out, err = cli(capsys, "sql", "delete from sixtyfour.people", "--db", str(db))
    assert code == 1 and err.startswith("error: ") and "read-only" in err and err.count("\n") == 1
    assert count(capsys, db) == before


def test_sql_on_a_missing_file_creates_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "nowhere" / "missing.duckdb"
    code, out, err = cli(capsys, "sql", "select 1", "--db", str(db))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "does not exist" in err and str(db) in err
    assert not db.exists() and not db.parent.exists()


def test_usage_errors_and_version(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.strip() == f"dagster-sixtyfour {__version__}"
    assert cli(capsys, "search", "x", "--mode", "robots")[0] == 2
    assert cli(capsys, "sql")[0] == 2
    code, _, err = cli(capsys, "search", "x", "--sandbox", "--base-url", "http://127.0.0.1:1")
    assert code == 2 and err.strip() == "error: --sandbox and --base-url cannot be used together"
    code, _, err = search(capsys, tmp_path / "x.duckdb", "--sandbox", "--page-size", "500")
    assert code == 2 and "page_size must be an integer from 1 to 100" in err


def test_terminal_display_draws_rich_progress() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    with SearchDisplay(console) as display:
        assert display.live
        display.step("Searching")
        display.status(SearchStatus(task_id="t-1", status="running", current_phase=2, progress_message="Ranking"))
        display.done("Search completed")
        display.step("Fetching rows", total=10)
        display.advance(10)
        display.done("Fetched 10 rows")
    text = buffer.getvalue()
    assert _ANSI in text and "Fetched 10 rows" in text and "Search completed" in text


def _subprocess_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _ENV}


def test_module_entry_point_and_exit_codes(tmp_path: Path) -> None:
    db = tmp_path / "leads.duckdb"
    command = [sys.executable, "-m", "dagster_sixtyfour.cli"]
    args = ["search", QUERY, "--sandbox", "--poll-interval", "0", "--max-results", "30", "--db", str(db)]
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, env=_subprocess_env())
    assert done.returncode == 0, done.stderr
    assert summary(done.stdout)["fetched"] == "30" and "status: completed" in done.stderr
    assert _ANSI not in done.stdout + done.stderr

    done = subprocess.run(
        [*command, "search", QUERY, "--db", str(tmp_path / "other.duckdb")],
        capture_output=True, text=True, timeout=120, env=_subprocess_env(),
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: SIXTYFOUR_API_KEY is not set") and done.stderr.count("\n") == 1


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_sandbox_command_serves_until_stopped(stop: signal.Signals) -> None:
    command = [sys.executable, "-m", "dagster_sixtyfour.cli", "sandbox", "--port", "0", "--seed", "3"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_subprocess_env()
    )
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None

    def read() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        announced: dict[str, str] = {}
        while "SIXTYFOUR_API_KEY" not in announced:
            line = lines.get(timeout=60).strip()
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                announced[name] = value
        base_url, key = announced["SIXTYFOUR_BASE_URL"], announced["SIXTYFOUR_API_KEY"]
        assert base_url.startswith("http://127.0.0.1:")
        response = httpx.get(f"{base_url}/search/limits", headers={"x-api-key": key}, timeout=10)
        assert response.status_code == 200 and response.json()["max_results"] > 0
        process.send_signal(stop)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
