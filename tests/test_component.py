"""SixtyfourSearchComponent: scaffolding, loading from YAML, translation, op settings and a materialization."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
import yaml
from dagster.components.testing import create_defs_folder_sandbox

from dagster_sixtyfour import SixtyfourResource, SixtyfourSearchComponent
from dagster_sixtyfour.components.search_component import SixtyfourSettings
from dagster_sixtyfour.sandbox.server import SandboxServer

TYPE = "dagster_sixtyfour.SixtyfourSearchComponent"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    with SandboxServer(seed=11) as server:
        monkeypatch.setenv("SIXTYFOUR_TEST_KEY", server.api_key)
        yield server


def attributes(sandbox: SandboxServer, db: Path, **extra: Any) -> dict[str, Any]:
    return {
        "database": str(db),
        "sixtyfour": {"api_key_env_var": "SIXTYFOUR_TEST_KEY", "base_url": sandbox.base_url, "poll_interval": 0},
        "searches": [
            {"name": "cfos_berlin", "query": "CFOs in Berlin", "max_results": 60, "cron": "0 6 * * 1"},
            {"name": "saas_lisbon", "query": "SaaS companies in Lisbon", "mode": "company", "max_results": 30},
        ],
        **extra,
    }


def load(attrs: dict[str, Any]) -> Iterator[tuple[SixtyfourSearchComponent, dg.Definitions]]:
    with create_defs_folder_sandbox() as project:
        path = project.scaffold_component(
            SixtyfourSearchComponent, defs_yaml_contents={"type": TYPE, "attributes": attrs}
        )
        with project.load_component_and_build_defs(defs_path=path) as (component, defs):
            assert isinstance(component, SixtyfourSearchComponent)
            yield component, defs


def test_yaml_loads_assets_checks_schedule_and_resources(sandbox: SandboxServer, tmp_path: Path) -> None:
    for component, defs in load(attributes(sandbox, tmp_path / "leads.duckdb")):
        keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
        assert keys == {"sixtyfour/search/cfos_berlin", "sixtyfour/search/saas_lisbon", "sixtyfour/people",
                        "sixtyfour/companies"}  # fmt: skip
        checks = {c.name for c in defs.resolve_asset_graph().asset_check_keys}
        assert {"lead_key_unique_and_not_null", "company_key_unique_and_not_null"} <= checks
        assert [s.name for s in defs.schedules or []] == ["sixtyfour_cfos_berlin_schedule"]
        resource = (defs.resources or {})["sixtyfour"]
        assert isinstance(resource, SixtyfourResource)
        assert resource.base_url == sandbox.base_url
        assert sandbox.api_key not in repr(resource)
        assert component.build_searches()[1].mode == "company"


def test_materializes_into_the_lead_tables(sandbox: SandboxServer, tmp_path: Path) -> None:
    db = tmp_path / "leads.duckdb"
    for _, defs in load(attributes(sandbox, db)):
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), resources=None)
        assert result.success
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == 4 and all(e.passed for e in evaluations)
    with duckdb.connect(str(db), read_only=True) as con:
        people = con.execute("select count(*) from sixtyfour.people").fetchone()
        companies = con.execute("select count(*) from sixtyfour.companies").fetchone()
    assert people and people[0] > 0 and companies and companies[0] > 0


def test_translation_block_overrides_keys_groups_and_tags(sandbox: SandboxServer, tmp_path: Path) -> None:
    translation = {"key": "leads/{{ kind }}/{{ name }}", "group_name": "growth", "tags": {"team": "sales"}}
    for _, defs in load(attributes(sandbox, tmp_path / "x.duckdb", translation=translation)):
        graph = defs.resolve_asset_graph()
        keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
        assert keys == {"leads/search/cfos_berlin", "leads/search/saas_lisbon", "leads/table/people",
                        "leads/table/companies"}  # fmt: skip
        node = graph.get(dg.AssetKey(["leads", "table", "people"]))
        assert node.group_name == "growth" and node.tags["team"] == "sales"
        # the lead table still depends on its (renamed) search, and the schedule follows the new key
        assert dg.AssetKey(["leads", "search", "cfos_berlin"]) in node.parent_keys
        schedule = next(iter(defs.schedules or []))
        assert isinstance(schedule, dg.ScheduleDefinition)


def test_op_block_sets_pools_retries_backfill_and_partitions(sandbox: SandboxServer, tmp_path: Path) -> None:
    op = {
        "pool": "api",
        "duckdb_pool": "writer",
        "tags": {"cost": "high"},
        "retry_policy": {"max_retries": 4, "delay": 5, "backoff": "linear"},
        "backfill_policy": {"type": "multi_run", "max_partitions_per_run": 2},
    }
    attrs = attributes(sandbox, tmp_path / "x.duckdb", op=op, partition_keys=["berlin", "lisbon"])
    attrs["searches"] = [{"name": "cfos", "query": "CFOs in {partition}"}]
    for _, defs in load(attrs):
        search = defs.resolve_assets_def(dg.AssetKey.from_user_string("sixtyfour/search/cfos"))
        node = search.node_def
        assert isinstance(node, dg.OpDefinition)
        assert node.pool == "api" and node.tags["cost"] == "high"
        assert node.retry_policy == dg.RetryPolicy(
            max_retries=4, delay=5, backoff=dg.Backoff.LINEAR, jitter=dg.Jitter.PLUS_MINUS
        )
        assert search.backfill_policy == dg.BackfillPolicy.multi_run(2)
        assert search.partitions_def == dg.StaticPartitionsDefinition(["berlin", "lisbon"])
        tables = defs.resolve_assets_def(dg.AssetKey.from_user_string("sixtyfour/people")).node_def
        assert isinstance(tables, dg.OpDefinition) and tables.pool == "writer"


def test_null_retry_policy_means_no_step_retries(sandbox: SandboxServer, tmp_path: Path) -> None:
    for _, defs in load(attributes(sandbox, tmp_path / "x.duckdb", op={"retry_policy": None})):
        node = defs.resolve_assets_def(dg.AssetKey.from_user_string("sixtyfour/search/cfos_berlin")).node_def
        assert isinstance(node, dg.OpDefinition) and node.retry_policy is None


def test_invalid_yaml_is_refused_with_the_field_named(sandbox: SandboxServer, tmp_path: Path) -> None:
    attrs = attributes(sandbox, tmp_path / "x.duckdb")
    attrs["searches"][0]["mode"] = "robots"
    with pytest.raises(Exception, match=r"defs\.yaml") as info:  # the tree error names the file ...
        for _ in load(attrs):
            pass
    chain = []
    err: BaseException | None = info.value
    while err is not None:
        chain.append(str(err))
        err = err.__cause__ or err.__context__
    assert "Input should be 'people' or 'company'" in "\n".join(chain)  # ... and its cause the field


def test_key_never_in_yaml_and_sandbox_only_when_allowed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SIXTYFOUR_API_KEY", raising=False)
    strict = SixtyfourSearchComponent(database=str(tmp_path / "x.duckdb"), searches=[])
    key = strict.build_resource().api_key
    assert isinstance(key, dg.EnvVar) and key == "SIXTYFOUR_API_KEY"  # resolved at launch; no silent fallback
    demo = SixtyfourSearchComponent(database=str(tmp_path / "x.duckdb"), searches=[], sandbox_when_no_key=True)
    resource = demo.build_resource()
    assert resource.base_url.startswith("http://127.0.0.1:")


def test_settings_cover_every_resource_field() -> None:
    resource_fields = set(SixtyfourResource.model_fields) - {"api_key"}
    assert set(SixtyfourSettings.model_fields) == resource_fields | {"api_key_env_var"}


def test_scaffolder_writes_a_defs_yaml_that_loads(tmp_path: Path) -> None:
    with create_defs_folder_sandbox() as project:
        path = project.scaffold_component(
            SixtyfourSearchComponent, scaffold_params={"search_name": "cmos", "database": str(tmp_path / "s.duckdb")}
        )
        written = yaml.safe_load((path / "defs.yaml").read_text())
        assert written["type"].endswith("SixtyfourSearchComponent")
        assert written["attributes"]["searches"][0]["name"] == "cmos"
        assert written["attributes"]["sixtyfour"] == {"api_key_env_var": "SIXTYFOUR_API_KEY"}
        with project.load_component_and_build_defs(defs_path=path) as (_, defs):
            assert defs.resolve_assets_def(dg.AssetKey.from_user_string("sixtyfour/search/cmos"))


def test_two_components_with_their_own_keys_and_files_coexist(sandbox: SandboxServer, tmp_path: Path) -> None:
    team_b = attributes(sandbox, tmp_path / "b.duckdb", translation={"key_prefix": "team_b"})
    team_b.update(sixtyfour_resource_key="sixtyfour_b", duckdb_resource_key="duckdb_b")
    team_b["searches"] = [{"name": "ctos_paris", "query": "CTOs in Paris", "max_results": 40}]
    with create_defs_folder_sandbox() as project:
        for name, attrs in (("a", attributes(sandbox, tmp_path / "a.duckdb")), ("b", team_b)):
            project.scaffold_component(
                SixtyfourSearchComponent, defs_path=name, defs_yaml_contents={"type": TYPE, "attributes": attrs}
            )
        with project.build_all_defs() as defs:
            result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
                instance=dg.DagsterInstance.ephemeral()
            )
            assert result.success
    for db, table in ((tmp_path / "a.duckdb", "people"), (tmp_path / "b.duckdb", "people")):
        with duckdb.connect(str(db), read_only=True) as con:
            row = con.execute(f"select count(*) from sixtyfour.{table}").fetchone()
        assert row and row[0] > 0, db


def test_dg_lists_the_component_through_the_registry_entry_point() -> None:
    import json
    import shutil
    import subprocess
    import sys

    dg_cli = shutil.which("dg", path=str(Path(sys.executable).parent)) or shutil.which("dg")
    if dg_cli is None:
        pytest.skip("dagster-dg-cli is not installed (it comes with the dev extra)")
    project = Path(__file__).parents[1] / "examples" / "leads_project"
    out = subprocess.run(
        [dg_cli, "list", "components", "--json"], cwd=project, capture_output=True, text=True, timeout=120, check=True
    )
    keys = [item["key"] for item in json.loads(out.stdout)["items"]]
    assert "dagster_sixtyfour.SixtyfourSearchComponent" in keys
