"""LeadStore on real DuckDB files in a temp dir: deduplication, lineage, history, quarantine, and the
catalogue's malformed-data (M) and database-fault (D) cases."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from dagster_sixtyfour import SixtyfourClient
from dagster_sixtyfour.errors import LeadStoreError, LeadStoreLockedError, SixtyfourConfigError
from dagster_sixtyfour.frames import iter_csv_frames, rows_to_frame
from dagster_sixtyfour.sandbox import SandboxServer
from dagster_sixtyfour.store import LeadStore, MergeCounts, SearchRecord
from tests.conftest import FakeClock

QUERY = "Heads of Data at fintech startups in Berlin"
T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=5) as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[SixtyfourClient]:
    with SixtyfourClient(api_key=sandbox.api_key, base_url=sandbox.base_url, poll_interval=0) as c:
        yield c


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "leads.duckdb"


def run_and_merge(
    client: SixtyfourClient, store: LeadStore, *, query: str = QUERY, seen_at: datetime = T0, **kw: Any
) -> tuple[MergeCounts, str]:
    outcome = client.run_search(query, max_results=kw.pop("max_results", 300), output_mode="query_only", **kw)
    record = SearchRecord(task_id=outcome.task_id, mode="people", query=query, spec_name="heads_of_data")
    counts = store.merge(record, [rows_to_frame(outcome.rows or [], "people")], seen_at=seen_at)
    assert outcome.search_id
    return counts, outcome.search_id


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = ["searches", "search_results", "people", "people_history", "rejected_rows"]
        return {t: sorted(con.execute(f"SELECT * FROM sixtyfour.{t}").fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def people_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return rows_to_frame(rows, "people")


def test_second_run_keeps_people_and_counts_the_sighting(
    client: SixtyfourClient, sandbox: SandboxServer, db: Path
) -> None:
    store = LeadStore(db)
    first, search_id = run_and_merge(client, store)
    truth = sandbox.served_people_ids(search_id)
    people = store.query("SELECT lead_key FROM sixtyfour.people")
    assert set(people["lead_key"]) == truth  # one row per distinct usable LinkedIn id served
    assert first.inserted == len(truth) and first.rejected > 0

    before = store.query("SELECT * EXCLUDE (last_seen_at, times_seen, last_task_id) FROM sixtyfour.people ORDER BY 1")
    second, _ = run_and_merge(client, store, seen_at=T0 + timedelta(days=1))
    after = store.query("SELECT * EXCLUDE (last_seen_at, times_seen, last_task_id) FROM sixtyfour.people ORDER BY 1")
    assert after.equals(before)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, len(truth))
    assert store.query("SELECT DISTINCT times_seen FROM sixtyfour.people")["times_seen"].to_list() == [2]
    rejected = store.query("SELECT count(*) AS n FROM sixtyfour.rejected_rows")["n"][0]
    assert rejected == first.rejected + second.rejected  # every unusable row of both searches is quarantined
    history = store.query("SELECT count(*) AS n FROM sixtyfour.people_history")["n"][0]
    assert history == len(truth)  # first versions only: nothing tracked changed


def test_job_change_lands_in_history_and_job_changes(client: SixtyfourClient, sandbox: SandboxServer, db: Path) -> None:
    store = LeadStore(db)
    run_and_merge(client, store)
    sandbox.faults.epoch = 1  # about a fifth of people change title or company
    counts, _ = run_and_merge(client, store, seen_at=T0 + timedelta(days=30))
    assert counts.updated > 0
    changes = store.query("SELECT * FROM sixtyfour.job_changes")
    assert changes.height > 0
    moved = (changes["new_title"] != changes["previous_title"]) | (
        changes["new_company"] != changes["previous_company"]
    )
    assert moved.all()
    versions = store.query(
        "SELECT lead_key, count(*) AS n, count(valid_to) AS closed FROM sixtyfour.people_history GROUP BY 1"
    )
    changed = versions.filter(pl.col("n") == 2)
    assert set(changes["lead_key"]) == set(changed["lead_key"])
    assert (changed["closed"] == 1).all()  # SCD2: the old version closed, the new one open
    open_versions = store.query("SELECT count(*) AS n FROM sixtyfour.people_history WHERE valid_to IS NULL")
    assert open_versions["n"][0] == store.query("SELECT count(*) AS n FROM sixtyfour.people")["n"][0]


def test_views_new_leads_and_leads_by_company(client: SixtyfourClient, db: Path) -> None:
    store = LeadStore(db)
    first, _ = run_and_merge(client, store)
    assert store.query("SELECT count(*) AS n FROM sixtyfour.new_leads")["n"][0] == first.inserted
    second, _ = run_and_merge(client, store, query="CTOs in Lisbon", seen_at=T0 + timedelta(days=1))
    new = store.query("SELECT * FROM sixtyfour.new_leads WHERE spec = 'heads_of_data'")
    assert new.height == second.inserted  # the latest search of the spec, its first sightings only
    by_company = store.query("SELECT sum(leads) AS n FROM sixtyfour.leads_by_company")
    people_with_company = store.query("SELECT count(*) AS n FROM sixtyfour.people WHERE company_id IS NOT NULL")
    assert by_company["n"][0] >= people_with_company["n"][0]


def test_M8_duplicates_in_one_batch_last_occurrence_wins(db: Path) -> None:
    rows = [
        {"publicId": "ada-l", "fullName": "Ada L", "headline": "CTO", "currentCompanies": [{"company": {"name": "A"}}]},
        {"publicId": "grace-h", "fullName": "Grace H"},
        {
            "linkedinUrl": "https://www.linkedin.com/in/ADA-L/",
            "fullName": "Ada Lovelace",
            "currentCompanies": [{"company": {"name": "B"}}],
        },
    ]
    counts = LeadStore(db).merge(SearchRecord(task_id="t1", mode="people"), [people_frame(rows)], seen_at=T0)
    assert (counts.inserted, counts.duplicates) == (2, 1)
    people = LeadStore(db).query("SELECT lead_key, full_name, company_name FROM sixtyfour.people ORDER BY 1")
    assert people.rows() == [("ada-l", "Ada Lovelace", "B"), ("grace-h", "Grace H", None)]


def test_M9_an_older_search_merged_late_never_downgrades(db: Path) -> None:
    store = LeadStore(db)
    new = [{"publicId": "ada-l", "fullName": "Ada", "currentCompanies": [{"company": {"name": "New Co"}}]}]
    old = [{"publicId": "ada-l", "fullName": "Ada", "currentCompanies": [{"company": {"name": "Old Co"}}]}]
    store.merge(SearchRecord(task_id="new", mode="people"), [people_frame(new)], seen_at=T0 + timedelta(days=5))
    counts = store.merge(SearchRecord(task_id="old", mode="people"), [people_frame(old)], seen_at=T0)
    assert counts.unchanged == 1
    row = store.query("SELECT company_name, times_seen, first_seen_at FROM sixtyfour.people").row(0)
    assert row[0] == "New Co" and row[1] == 2 and row[2] == T0


def test_M10_null_and_empty_keys_are_quarantined_not_merged(db: Path) -> None:
    rows = [
        {"publicId": None, "fullName": "A"},
        {"publicId": "", "fullName": "B"},
        {"fullName": "C"},
        {"publicId": "ok-1"},
    ]
    store = LeadStore(db)
    for task in ("t1", "t2"):
        counts = store.merge(SearchRecord(task_id=task, mode="people"), [people_frame(rows)], seen_at=T0)
        assert (counts.rejected, counts.fetched) == (3, 4)
    assert store.query("SELECT count(*) AS n FROM sixtyfour.people")["n"][0] == 1
    rejected = store.query("SELECT task_id, position, reason FROM sixtyfour.rejected_rows ORDER BY 1, 2")
    assert rejected.height == 6 and set(rejected["reason"]) == {"no usable LinkedIn id"}


def test_M11_csv_export_path_merges_like_the_json_path(
    client: SixtyfourClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    outcome = client.run_search(QUERY, max_results=300, output_mode="csv", dest=tmp_path / "x.csv")
    assert outcome.csv_path
    store = LeadStore(tmp_path / "csv.duckdb")
    frames = iter_csv_frames(outcome.csv_path, "people", batch_size=70)  # several batches
    counts = store.merge(SearchRecord(task_id=outcome.task_id, mode="people"), frames, seen_at=T0)
    assert counts.fetched == outcome.status.exported_count
    assert store.query("SELECT count(*) AS n FROM sixtyfour.search_results")["n"][0] == counts.fetched
    assert counts.inserted + counts.rejected + counts.duplicates == counts.fetched


def test_merging_the_same_search_twice_changes_nothing(client: SixtyfourClient, db: Path) -> None:
    store = LeadStore(db)
    outcome = client.run_search(QUERY, max_results=200, output_mode="query_only")
    record = SearchRecord(task_id=outcome.task_id, mode="people")
    first = store.merge(record, [people_frame(list(outcome.rows or []))], seen_at=T0)
    before = snapshot(db)
    again = store.merge(record, [people_frame(list(outcome.rows or []))], seen_at=T0 + timedelta(days=1))
    assert again.already_merged and (again.inserted, again.updated) == (0, 0)
    assert (again.fetched, again.rejected, again.unchanged) == (first.fetched, first.rejected, first.inserted)
    assert snapshot(db) == before


def test_company_rows_merge_by_company_key(sandbox: SandboxServer, client: SixtyfourClient, db: Path) -> None:
    outcome = client.run_search("Fintech startups in Berlin", mode="company", max_results=200, output_mode="query_only")
    store = LeadStore(db)
    frame = rows_to_frame(list(outcome.rows or []), "company")
    counts = store.merge(SearchRecord(task_id=outcome.task_id, mode="company"), [frame], seen_at=T0)
    keys = frame.filter(pl.col("company_key").is_not_null())["company_key"].n_unique()
    assert counts.inserted == keys == store.query("SELECT count(*) AS n FROM sixtyfour.companies")["n"][0]
    dupes = store.query("SELECT company_key FROM sixtyfour.companies GROUP BY 1 HAVING count(*) > 1")
    assert dupes.height == 0


def _hold_lock(db: Path, read_only: bool) -> subprocess.Popen[str]:
    code = textwrap.dedent(
        f"""
        import duckdb, sys
        con = duckdb.connect({str(db)!r}, read_only={read_only})
        print("locked", flush=True)
        sys.stdin.read()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.parametrize("read_only", [False, True], ids=["D1_read_write", "D2_read_only"])
def test_D1_D2_locked_file_waits_boundedly_then_says_what_to_do(db: Path, read_only: bool) -> None:
    LeadStore(db).ensure_schema()
    before = snapshot(db)
    clock = FakeClock()
    proc = _hold_lock(db, read_only)
    try:
        store = LeadStore(db, lock_timeout=30, clock=clock, sleep=clock.sleep)
        with pytest.raises(LeadStoreLockedError) as info:
            store.merge(SearchRecord(task_id="t", mode="people"), [people_frame([{"publicId": "a"}])])
    finally:
        proc.communicate("")
    message = str(info.value)
    assert "Could not set lock" in message  # DuckDB's own words
    assert "pool" in message
    assert 0 < sum(clock.sleeps) <= 30
    assert snapshot(db) == before


def test_D3_crash_between_begin_and_commit_leaves_tables_as_they_were(
    client: SixtyfourClient, sandbox: SandboxServer, db: Path, tmp_path: Path
) -> None:
    store = LeadStore(db)
    run_and_merge(client, store)
    before = snapshot(db)
    sandbox.faults.epoch = 1
    outcome = client.run_search(QUERY, max_results=300, output_mode="query_only")
    people = people_frame(list(outcome.rows or []))
    frame_path = tmp_path / "batch.parquet"
    people.write_parquet(frame_path)
    code = textwrap.dedent(
        f"""
        import os, polars as pl
        from dagster_sixtyfour.store import LeadStore, SearchRecord
        store = LeadStore({str(db)!r}, before_commit=lambda con: os._exit(137))
        store.merge(SearchRecord(task_id={outcome.task_id!r}, mode="people"), [pl.read_parquet({str(frame_path)!r})])
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr
    assert snapshot(db) == before  # reopening replays the WAL without the uncommitted merge
    counts = LeadStore(db).merge(SearchRecord(task_id=outcome.task_id, mode="people"), [people])
    assert counts.updated > 0 and not counts.already_merged  # the re-run converges


def test_D4_D8_error_inside_the_transaction_rolls_back_every_statement(client: SixtyfourClient, db: Path) -> None:
    store = LeadStore(db)
    run_and_merge(client, store)
    before = snapshot(db)

    def fail(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("SELECT CAST('not a number' AS INTEGER)")  # fails after every merge statement ran

    broken = LeadStore(db, before_commit=fail)
    outcome = client.run_search("CTOs in Lisbon", max_results=200, output_mode="query_only")
    with pytest.raises(LeadStoreError, match=r"rolled back.*sixtyfour.people|sixtyfour.people.*rolled back"):
        broken.merge(SearchRecord(task_id=outcome.task_id, mode="people"), [people_frame(list(outcome.rows or []))])
    assert snapshot(db) == before


def test_D5_disk_full_fails_cleanly_and_keeps_the_last_commit(
    client: SixtyfourClient, db: Path, tmp_path: Path
) -> None:
    store = LeadStore(db)
    run_and_merge(client, store)
    before = snapshot(db)
    rows = [{"publicId": f"p-{i}", "fullName": "x" * 2000} for i in range(20_000)]
    people_frame(rows).write_parquet(tmp_path / "big.parquet")
    code = textwrap.dedent(
        f"""
        import resource, os, polars as pl
        from dagster_sixtyfour.store import LeadStore, SearchRecord
        size = os.path.getsize({str(db)!r})
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 256 * 1024, size + 256 * 1024))
        import signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            LeadStore({str(db)!r}).merge(SearchRecord(task_id="big", mode="people"), [pl.read_parquet({str(tmp_path / "big.parquet")!r})])
        except Exception as exc:
            print("FAILED", type(exc).__name__)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "FAILED" in proc.stdout  # the write hit the file-size limit and raised a clean error
    assert snapshot(db) == before  # after "freeing space" (no limit here) the file opens with the last commit


def test_D6_missing_columns_are_added_never_dropped(db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA sixtyfour")
    con.execute("CREATE TABLE sixtyfour.people (lead_key VARCHAR, full_name VARCHAR, my_note VARCHAR)")
    con.execute("INSERT INTO sixtyfour.people VALUES ('old-1', 'Old', 'keep me')")
    con.close()
    store = LeadStore(db)
    store.merge(SearchRecord(task_id="t", mode="people"), [people_frame([{"publicId": "new-1", "fullName": "New"}])])
    people = store.query("SELECT lead_key, my_note, job_function FROM sixtyfour.people ORDER BY 1")
    assert people.rows() == [("new-1", None, None), ("old-1", "keep me", None)]


def test_D7_user_table_with_a_primary_key_still_merges(db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA sixtyfour")
    con.close()
    LeadStore(db).ensure_schema()
    con = duckdb.connect(str(db))
    con.execute("CREATE UNIQUE INDEX people_key ON sixtyfour.people (lead_key)")
    con.close()
    store = LeadStore(db)
    for task in ("t1", "t2"):
        store.merge(SearchRecord(task_id=task, mode="people"), [people_frame([{"publicId": "a"}, {"publicId": "a"}])])
    assert store.query("SELECT times_seen FROM sixtyfour.people").rows() == [(2,)]


def test_D9_same_file_open_with_another_configuration_gives_a_clear_error(db: Path) -> None:
    LeadStore(db).ensure_schema()
    holder = duckdb.connect(str(db), config={"threads": 1, "access_mode": "READ_ONLY"})
    try:
        with pytest.raises((LeadStoreError, LeadStoreLockedError)) as info:
            LeadStore(db, lock_timeout=0).merge(
                SearchRecord(task_id="t", mode="people"), [people_frame([{"publicId": "a"}])]
            )
        assert "DuckDB" in str(info.value) or "configuration" in str(info.value)
    finally:
        holder.close()
    assert (
        LeadStore(db).merge(SearchRecord(task_id="t", mode="people"), [people_frame([{"publicId": "a"}])]).inserted == 1
    )


@pytest.mark.parametrize("schema", ['leads"; DROP TABLE x; --', "1abc", "a b", "", "x" * 64])
def test_S7_schema_names_are_validated(db: Path, schema: str) -> None:
    with pytest.raises(SixtyfourConfigError, match="Invalid SQL identifier"):
        LeadStore(db, schema=schema)
    assert not db.exists()


def test_custom_schema_name_is_used(db: Path) -> None:
    store = LeadStore(db, schema="crm_leads")
    store.merge(SearchRecord(task_id="t", mode="people"), [people_frame([{"publicId": "a"}])])
    assert store.query("SELECT count(*) AS n FROM crm_leads.people")["n"][0] == 1
    assert store.query("SELECT count(*) AS n FROM crm_leads.job_changes")["n"][0] == 0


def test_store_accepts_a_dagster_duckdb_resource(db: Path) -> None:
    from dagster_duckdb import DuckDBResource

    store = LeadStore(DuckDBResource(database=str(db)))
    counts = store.merge(SearchRecord(task_id="t", mode="people"), [people_frame([{"publicId": "a"}])], seen_at=T0)
    assert counts.inserted == 1
    assert LeadStore(db).query("SELECT lead_key FROM sixtyfour.people").rows() == [("a",)]


def test_D4_a_failed_commit_is_reported_not_masked_by_the_rollback(db: Path) -> None:
    def commit_then_fail(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("COMMIT")  # the transaction is over when the error comes, as after a failed COMMIT
        raise duckdb.IOException("disk went away")

    store = LeadStore(db, before_commit=commit_then_fail)
    with pytest.raises(LeadStoreError, match="disk went away"):
        store.merge(SearchRecord(task_id="t1", mode="people"), [people_frame([{"publicId": "ada-l"}])], seen_at=T0)


def test_merge_memory_limit_is_set_validated_and_yields_to_the_resource(db: Path) -> None:
    from dagster_duckdb import DuckDBResource

    seen: list[str] = []
    store = LeadStore(
        db,
        memory_limit="64MB",
        before_commit=lambda con: seen.append(str(con.execute("SELECT current_setting('memory_limit')").fetchone())),
    )
    store.merge(SearchRecord(task_id="t1", mode="people"), [people_frame([{"publicId": "ada-l"}])], seen_at=T0)
    assert seen == ["('61.0 MiB',)"]  # DuckDB shows 64 MB in MiB
    with pytest.raises(SixtyfourConfigError, match="memory_limit"):
        LeadStore(db, memory_limit="64MB'; DROP TABLE x; --")
    configured = DuckDBResource(database=str(db), connection_config={"memory_limit": "1GB"})
    assert LeadStore(configured).memory_limit is None
    assert LeadStore(DuckDBResource(database=str(db))).memory_limit == "192MB"


def test_D4_a_merge_that_runs_out_of_memory_is_retried_with_more(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = [{"publicId": f"p-{i}", "fullName": "x" * 200, "headline": "h" * 100} for i in range(20_000)]
    with caplog.at_level("WARNING", logger="dagster_sixtyfour"):
        counts = LeadStore(db, memory_limit="4MB").merge(
            SearchRecord(task_id="t1", mode="people"), [people_frame(rows)]
        )
    assert counts.inserted == 20_000
    assert any("retrying with memory_limit" in r.getMessage() for r in caplog.records)
    lineage = LeadStore(db).query("SELECT count(*) AS n FROM sixtyfour.search_results")["n"][0]
    assert lineage == 20_000  # the attempts that ran out of memory were rolled back whole
    assert not list(db.parent.glob(".sixtyfour-stage-*"))  # the staged Parquet files are gone


def test_D4_a_merge_that_never_fits_fails_after_bounded_retries(db: Path) -> None:
    rows = [{"publicId": f"p-{i}", "fullName": "x" * 200, "headline": "h" * 100} for i in range(20_000)]
    with pytest.raises(LeadStoreError, match="Out of Memory"):
        LeadStore(db, memory_limit="1MB").merge(SearchRecord(task_id="t1", mode="people"), [people_frame(rows)])
    assert LeadStore(db).query("SELECT count(*) AS n FROM sixtyfour.people")["n"][0] == 0


def test_small_frames_are_staged_together_and_the_files_removed(db: Path) -> None:
    from dagster_sixtyfour.store import STAGE_ROWS

    staged: list[str] = []

    def look(con: duckdb.DuckDBPyConnection) -> None:
        row = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'staged_rows'").fetchone()
        staged.append(str(row[0]) if row else "")

    pages = [people_frame([{"publicId": f"p-{page}-{i}"} for i in range(100)]) for page in range(50)]
    counts = LeadStore(db, before_commit=look).merge(SearchRecord(task_id="t1", mode="people"), pages, seen_at=T0)
    assert counts.inserted == 5_000
    assert staged[0].count(".parquet") == -(-5_000 // STAGE_ROWS)  # 3 files of up to 2,000 rows, not 50
    assert not list(db.parent.glob(".sixtyfour-stage-*"))
