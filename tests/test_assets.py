"""Real Dagster materializations against the sandbox into a temp DuckDB file, and the catalogue's
orchestration cases O1-O8."""

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from dagster_sixtyfour import (
    DagsterSixtyfourTranslator,
    LeadStore,
    SearchRecord,
    SixtyfourResource,
    SixtyfourSearch,
    SixtyfourSearchProps,
    build_sixtyfour_assets,
    build_sixtyfour_schedules,
)
from dagster_sixtyfour.errors import SixtyfourTransportError
from dagster_sixtyfour.frames import rows_to_frame
from dagster_sixtyfour.sandbox import SandboxServer
from dagster_sixtyfour.staging import staged_searches, staging_dir
from tests.conftest import FakeClock

PEOPLE = SixtyfourSearch(name="heads_of_data", query="Heads of Data in Berlin", max_results=150)
COMPANIES = SixtyfourSearch(name="climate", query="Climate startups in Oslo", mode="company", max_results=80)
NO_DELAY = dg.RetryPolicy(max_retries=2)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=11) as server:
        yield server


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "leads.duckdb"


def resources(sandbox: SandboxServer, db: Path, **settings: Any) -> dict[str, Any]:
    sixtyfour = settings.pop("sixtyfour_cls", SixtyfourResource)(
        api_key=settings.pop("api_key", sandbox.api_key),
        base_url=sandbox.base_url,
        poll_interval=0,
        request_retry_delay=0,
        **settings,
    )
    return {"sixtyfour": sixtyfour, "duckdb": DuckDBResource(database=str(db))}


def assets(*searches: SixtyfourSearch, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("retry_policy", NO_DELAY)
    return build_sixtyfour_assets(searches=list(searches) or [PEOPLE, COMPANIES], **kwargs)


def count(db: Path, sql: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(sql).fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def test_materialize_twice_deduplicates_and_reports_metadata(sandbox: SandboxServer, db: Path) -> None:
    defs = assets()
    first = dg.materialize(defs, resources=resources(sandbox, db))
    assert first.success
    people = count(db, "SELECT count(*) FROM sixtyfour.people")
    assert people > 0 and count(db, "SELECT count(*) FROM sixtyfour.companies") > 0

    search_md = first.asset_materializations_for_node("sixtyfour_search_heads_of_data")[0].metadata
    for key in ("dagster/row_count", "dagster/column_schema", "fetched", "rejected", "task_id", "search_id", "pages",
                "retries", "duration_s", "preview"):  # fmt: skip
        assert key in search_md, key
    assert "linkedin" not in search_md["preview"].value.lower()  # names and titles only
    tables = {
        m.asset_key.to_user_string(): m.metadata for m in first.asset_materializations_for_node("sixtyfour_lead_tables")
    }
    assert tables["sixtyfour/people"]["dagster/row_count"].value == people
    assert tables["sixtyfour/people"]["dagster/table_name"].value == "sixtyfour.people"
    for key in ("inserted", "updated", "unchanged", "rejected", "fetched", "dagster/column_schema"):
        assert key in tables["sixtyfour/people"], key
    checks = first.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)

    second = dg.materialize(defs, resources=resources(sandbox, db))
    assert second.success
    assert sandbox.stats.tasks_created == 4  # a new run starts new searches
    assert count(db, "SELECT count(*) FROM sixtyfour.people") == people
    assert count(db, "SELECT min(times_seen) FROM sixtyfour.people") == 2  # same query, same people: seen twice
    md = {
        m.asset_key.to_user_string(): m.metadata
        for m in second.asset_materializations_for_node("sixtyfour_lead_tables")
    }
    assert md["sixtyfour/people"]["inserted"].value == 0
    assert not list(staged_searches(staging_dir(str(db), "people")))  # staged files removed after the merge


def test_job_change_between_runs_lands_in_history(sandbox: SandboxServer, db: Path) -> None:
    defs = assets(PEOPLE)
    assert dg.materialize(defs, resources=resources(sandbox, db)).success
    sandbox.faults.epoch = 1
    assert dg.materialize(defs, resources=resources(sandbox, db)).success
    assert count(db, "SELECT count(*) FROM sixtyfour.job_changes") > 0
    assert count(db, "SELECT count(*) FROM sixtyfour.people_history WHERE valid_to IS NOT NULL") > 0


def test_partition_key_fills_the_query(sandbox: SandboxServer, db: Path) -> None:
    cities = dg.StaticPartitionsDefinition(["berlin", "lisbon"])
    search = SixtyfourSearch(name="cfos", query="CFOs in {partition}", max_results=40)
    defs = assets(search, partitions_def=cities)
    result = dg.materialize(defs[:1], resources=resources(sandbox, db), partition_key="lisbon")
    assert result.success
    task = result.asset_materializations_for_node("sixtyfour_search_cfos")[0].metadata["task_id"].value
    assert sandbox.task(str(task))["query"] == "CFOs in lisbon"


def test_unpartitioned_definitions_reject_a_placeholder() -> None:
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="partition"):
        build_sixtyfour_assets(searches=[SixtyfourSearch(name="x", query="CFOs in {partition}")])


def test_translator_is_the_one_override_point(sandbox: SandboxServer, db: Path) -> None:
    class MyTranslator(DagsterSixtyfourTranslator):
        def get_asset_spec(self, props: Any) -> dg.AssetSpec:
            spec = super().get_asset_spec(props)
            if isinstance(props, SixtyfourSearchProps):
                return spec.replace_attributes(
                    key=dg.AssetKey(["leads", props.search.name]),
                    automation_condition=dg.AutomationCondition.on_cron("0 * * * *"),
                )
            return spec.replace_attributes(group_name="crm")

    defs = assets(PEOPLE, dagster_sixtyfour_translator=MyTranslator())
    keys = {key.to_user_string() for d in defs if isinstance(d, dg.AssetsDefinition) for key in d.keys}
    assert keys == {"leads/heads_of_data", "sixtyfour/people"}
    lead_tables = next(
        d for d in defs if isinstance(d, dg.AssetsDefinition) and d.node_def.name == "sixtyfour_lead_tables"
    )
    assert lead_tables.group_names_by_key[dg.AssetKey(["sixtyfour", "people"])] == "crm"
    assert dg.AssetKey(["leads", "heads_of_data"]) in lead_tables.asset_deps[dg.AssetKey(["sixtyfour", "people"])]
    assert dg.materialize(defs, resources=resources(sandbox, db)).success


def test_schedule_for_a_search_with_cron() -> None:
    searches = [PEOPLE, SixtyfourSearch(name="weekly", query="CTOs in Paris", cron="0 6 * * 1")]
    schedules = build_sixtyfour_schedules(searches)
    assert [s.name for s in schedules] == ["sixtyfour_weekly_schedule"]
    assert schedules[0].cron_schedule == "0 6 * * 1"
    defs = dg.Definitions(
        assets=build_sixtyfour_assets(searches=searches),
        schedules=schedules,
        resources={
            "sixtyfour": SixtyfourResource(api_key="k", base_url="http://127.0.0.1:1"),
            "duckdb": DuckDBResource(database="x.duckdb"),
        },
    )
    job = defs.resolve_job_def(schedules[0].job_name)
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {
        "sixtyfour/search/weekly",
        "sixtyfour/people",
    }


def test_pools_and_retry_policy_reach_the_steps() -> None:
    defs = build_sixtyfour_assets(searches=[PEOPLE], op_tags={"team": "growth"})
    by_name = {d.node_def.name: d for d in defs if not isinstance(d, dg.AssetChecksDefinition)}
    search, tables = by_name["sixtyfour_search_heads_of_data"], by_name["sixtyfour_lead_tables"]
    assert search.op.pool == "sixtyfour" and tables.op.pool == "duckdb"
    assert search.op.retry_policy is not None and search.op.retry_policy.max_retries == 2
    assert search.op.tags["team"] == "growth"


class FlakyOnce(SixtyfourResource):
    """Fails the first wait of each test, as a network blip or a dying step worker would."""

    def get_client(self) -> Any:
        client = super().get_client()
        if not FLAKY["failed"]:
            FLAKY["failed"] = True

            def broken(task_id: str, on_progress: Any = None) -> Any:
                raise SixtyfourTransportError("connection reset while polling", attempts=5)

            client.wait_for_search = broken  # type: ignore[method-assign]
        return client


FLAKY = {"failed": False}


def test_O1_retried_step_reattaches_to_the_search_already_started(sandbox: SandboxServer, db: Path) -> None:
    FLAKY["failed"] = False
    result = dg.materialize(assets(PEOPLE), resources=resources(sandbox, db, sixtyfour_cls=FlakyOnce))
    assert result.success and FLAKY["failed"]
    assert sandbox.stats.requests["POST /search/start-deep-search"] == 2
    assert sandbox.stats.tasks_created == 1  # the sandbox saw one search, not two


def test_O1_crash_after_commit_before_cleanup_does_not_duplicate(
    sandbox: SandboxServer, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster_sixtyfour import staging

    monkeypatch.setattr(staging.StagedSearch, "remove", lambda self: (_ for _ in ()).throw(RuntimeError("killed")))
    failed = dg.materialize(assets(PEOPLE), resources=resources(sandbox, db), raise_on_error=False)
    assert not failed.success  # the merge committed, then the step died before cleaning up
    before = (
        count(db, "SELECT count(*) FROM sixtyfour.search_results"),
        count(db, "SELECT sum(times_seen) FROM sixtyfour.people"),
    )
    monkeypatch.undo()
    again = dg.materialize(assets(PEOPLE)[1:], resources=resources(sandbox, db), selection=["sixtyfour/people"])
    assert again.success
    after = (
        count(db, "SELECT count(*) FROM sixtyfour.search_results"),
        count(db, "SELECT sum(times_seen) FROM sixtyfour.people"),
    )
    assert after == before
    assert not list(staged_searches(staging_dir(str(db), "people")))


def test_O2_run_retry_reattaches_through_the_root_run_id(sandbox: SandboxServer, db: Path) -> None:
    sandbox.faults.complete_after_polls = 10_000
    first = dg.materialize(
        assets(PEOPLE)[:1], resources=resources(sandbox, db, poll_timeout=0.05), raise_on_error=False
    )
    assert not first.success
    sandbox.faults.complete_after_polls = 0
    tags = {"dagster/parent_run_id": first.run_id, "dagster/root_run_id": first.run_id}
    retry = dg.materialize(assets(PEOPLE)[:1], resources=resources(sandbox, db), tags=tags)
    assert retry.success
    assert sandbox.stats.tasks_created == 1


def test_O3_two_writers_on_one_file_are_serialized_by_the_lock_wait(db: Path) -> None:
    LeadStore(db).ensure_schema()
    code = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); sys.stdin.read()"
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    clock = FakeClock()
    clock.on_sleep = lambda _s: holder.poll() is None and holder.communicate("")  # the other writer finishes
    store = LeadStore(db, clock=clock, sleep=clock.sleep)
    counts = store.merge(SearchRecord(task_id="t", mode="people"), [rows_to_frame([{"publicId": "a"}], "people")])
    assert counts.inserted == 1 and len(clock.sleeps) >= 1


def test_O4_two_runs_of_the_same_tick_share_one_search(sandbox: SandboxServer, db: Path) -> None:
    tags = {"dagster/scheduled_execution_time": "2026-12-07T06:00:00+00:00"}
    for _ in range(2):
        assert dg.materialize(assets(PEOPLE), resources=resources(sandbox, db), tags=tags).success
    assert sandbox.stats.tasks_created == 1
    assert count(db, "SELECT count(*) FROM sixtyfour.searches") == 1
    assert count(db, "SELECT max(times_seen) FROM sixtyfour.people") == 1


def test_O5_backfill_of_eight_partitions_never_exceeds_five_searches(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.faults.retry_after = "0"  # the cap's 429s are waited out without real sleeping
    sandbox.faults.complete_after_polls = 6
    cities = [f"city{i}" for i in range(8)]
    search = SixtyfourSearch(name="cfos", query="CFOs in {partition}", max_results=30)
    defs = assets(search, partitions_def=dg.StaticPartitionsDefinition(cities))
    results: dict[str, bool] = {}

    def run(city: str) -> None:
        res = resources(sandbox, tmp_path / f"{city}.duckdb")
        results[city] = dg.materialize(defs[:1], resources=res, partition_key=city).success

    threads = [threading.Thread(target=run, args=(c,)) for c in cities]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results == {c: True for c in cities}
    assert sandbox.stats.tasks_created == 8
    assert sandbox.stats.max_in_flight <= 5


def test_O6_cancelled_download_leaves_no_files_and_the_rerun_reattaches(sandbox: SandboxServer, db: Path) -> None:
    search = SixtyfourSearch(name="big", query="Data engineers in Warsaw", max_results=3000)  # CSV flow
    sandbox.faults.rows_per_search = 300
    sandbox.faults.p_cut_body = 1.0  # every download breaks mid-body
    first = dg.materialize(assets(search)[:1], resources=resources(sandbox, db), raise_on_error=False)
    assert not first.success
    directory = staging_dir(str(db), "people")
    assert list(directory.iterdir()) == []  # no partial, download or staged file left behind
    sandbox.faults.p_cut_body = 0.0
    tags = {"dagster/root_run_id": first.run_id}
    assert dg.materialize(assets(search), resources=resources(sandbox, db), tags=tags).success
    assert sandbox.stats.tasks_created == 1
    assert count(db, "SELECT count(*) FROM sixtyfour.search_results") == 300


def test_O7_blocking_checks_fail_on_a_corrupted_table_and_stop_downstream(sandbox: SandboxServer, db: Path) -> None:
    defs = assets(PEOPLE)
    assert dg.materialize(defs, resources=resources(sandbox, db)).success
    con = duckdb.connect(str(db))
    for _ in range(2):  # two copies of one person: one stays a duplicate, the other loses its key below
        con.execute("INSERT INTO sixtyfour.people SELECT * FROM sixtyfour.people WHERE rowid = 0")
    con.execute("ALTER TABLE sixtyfour.people ALTER lead_key DROP NOT NULL")  # a hand-made mess
    con.execute("UPDATE sixtyfour.people SET lead_key = NULL WHERE rowid = (SELECT max(rowid) FROM sixtyfour.people)")
    con.close()

    ran: list[bool] = []

    @dg.asset(deps=[dg.AssetKey(["sixtyfour", "people"])])
    def crm_export() -> None:
        ran.append(True)

    result = dg.materialize([*defs[1:], crm_export], resources=resources(sandbox, db), raise_on_error=False)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    key_check = evaluations["lead_key_unique_and_not_null"]
    assert not key_check.passed
    assert key_check.metadata["duplicate_keys"].value >= 1 and key_check.metadata["null_keys"].value == 1
    assert ran == []  # the blocking check stopped the downstream asset


def test_O8_401_fails_once_without_step_retries(sandbox: SandboxServer, db: Path) -> None:
    res = resources(sandbox, db, api_key="sk-wrong-key-999")
    result = dg.materialize(
        assets(PEOPLE, retry_policy=dg.RetryPolicy(max_retries=3))[:1], resources=res, raise_on_error=False
    )
    assert not result.success
    assert sandbox.stats.requests["POST /search/start-deep-search"] == 1
    failure = result.get_step_failure_events()[0]
    assert "rejected the API key" in str(failure.step_failure_data.error)
    assert "sk-wrong-key-999" not in str(failure.step_failure_data.error)


def test_O8_persistent_503_is_bounded_by_calls_times_step_retries(sandbox: SandboxServer, db: Path) -> None:
    sandbox.faults.p5xx = 1.0
    res = resources(sandbox, db, request_max_retries=2)
    result = dg.materialize(
        assets(PEOPLE, retry_policy=dg.RetryPolicy(max_retries=2))[:1], resources=res, raise_on_error=False
    )
    assert not result.success
    assert sandbox.stats.requests["POST /search/start-deep-search"] == 3 * 3  # (1 + 2 retries) x (1 + 2 step retries)


def test_partitioned_example_definitions_load() -> None:
    code = textwrap.dedent(
        """
        import runpy
        defs = runpy.run_path("examples/partitioned_definitions.py")["defs"]
        print(len(list(defs.resolve_all_asset_keys())))
        """
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.strip().splitlines()[-1]) >= 2


def test_decorator_form_runs_the_selected_searches(sandbox: SandboxServer, db: Path) -> None:
    from dagster_sixtyfour import run_sixtyfour_searches, sixtyfour_assets

    other = SixtyfourSearch(name="ctos", query="CTOs in Porto", max_results=60)

    @sixtyfour_assets(searches=[PEOPLE, other], retry_policy=NO_DELAY)
    def my_searches(context: dg.AssetExecutionContext, sixtyfour: SixtyfourResource, duckdb: DuckDBResource) -> Any:
        yield from run_sixtyfour_searches(context, sixtyfour=sixtyfour, database=duckdb.database)

    lead_tables = [d for d in assets(PEOPLE, other) if not d.node_def.name.startswith("sixtyfour_search_")]
    result = dg.materialize(
        [my_searches, *lead_tables],
        resources=resources(sandbox, db),
        selection=["sixtyfour/search/ctos", "sixtyfour/people"],
    )
    assert result.success
    assert sandbox.stats.tasks_created == 1  # only the selected search ran
    assert count(db, "SELECT count(DISTINCT spec_name) FROM sixtyfour.searches") == 1
    assert count(db, "SELECT count(*) FROM sixtyfour.people") > 0
