"""The README's runnable SQL runs against real lead tables, and an installed wheel finds its SQL files."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import zipfile
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from dagster_sixtyfour import SixtyfourClient
from dagster_sixtyfour.frames import rows_to_frame
from dagster_sixtyfour.sandbox import SandboxServer
from dagster_sixtyfour.store import LeadStore, SearchRecord
from tests.test_store import T0

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def runnable_sql() -> list[str]:
    return re.findall(r"```sql runnable\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_runnable_sql() -> None:
    assert len(runnable_sql()) >= 5


def test_readme_sql_examples_run_and_return_rows(tmp_path: Path) -> None:
    db = tmp_path / "leads.duckdb"
    store = LeadStore(db)
    with (
        SandboxServer(seed=9) as sandbox,
        SixtyfourClient(api_key=sandbox.api_key, base_url=sandbox.base_url, poll_interval=0) as client,
    ):
        for day, epoch in enumerate((0, 1)):
            sandbox.faults.epoch = epoch
            outcome = client.run_search("Heads of Data in Berlin", max_results=200, output_mode="query_only")
            record = SearchRecord(task_id=outcome.task_id, mode="people", query="Heads of Data", spec_name="hod")
            store.merge(record, [rows_to_frame(outcome.rows or [], "people")], seen_at=T0 + timedelta(days=day))
    con = duckdb.connect(str(db), read_only=True)
    try:
        for sql in runnable_sql():
            rows = con.execute(sql).fetchall()
            assert rows, f"README query returned nothing:\n{sql}"
    finally:
        con.close()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        timeout=600,
    )
    return next(out.glob("dagster_sixtyfour-*.whl"))


def test_wheel_ships_the_sql_files(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for filename in ("schema.sql", "merge_people.sql", "merge_companies.sql", "views.sql"):
        assert f"dagster_sixtyfour/sql/{filename}" in names


def test_non_editable_install_finds_its_sql(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
        check=True,
        timeout=600,
    )
    code = textwrap.dedent(
        f"""
        import dagster_sixtyfour, dagster_sixtyfour._sql as s
        from dagster_sixtyfour.frames import rows_to_frame
        from dagster_sixtyfour.store import LeadStore, SearchRecord
        assert dagster_sixtyfour.__file__.startswith({str(site)!r}), dagster_sixtyfour.__file__
        assert str(s.sql_dir()).startswith({str(site)!r}), s.sql_dir()
        store = LeadStore({str(tmp_path / "x.duckdb")!r})
        print(store.merge(SearchRecord(task_id="t", mode="people"), [rows_to_frame([{{"publicId": "a"}}], "people")]).inserted)
        """
    )
    # Run from a folder outside the repository so the source tree's sql/ cannot be picked up.
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "1"


def readme_blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind} runnable\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def readme_table(heading: str) -> dict[str, str]:
    """First and second cell of each row of the first table after ``heading``, names without backticks."""
    text = README.read_text(encoding="utf-8").split(heading, 1)[1]
    rows: dict[str, str] = {}
    for line in text.split("\n|---", 1)[1].splitlines()[1:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        names = re.findall(r"`([a-z_]+)`", cells[0])
        values = cells[1].replace("`", "").split(" / ")
        for i, name in enumerate(names):  # "`a` / `b` | `1` / `2`" documents two settings
            rows[name] = values[i] if len(values) == len(names) else " / ".join(values)
    return rows


def test_readme_shell_snippets_run_on_the_sandbox(tmp_path: Path) -> None:
    import os
    import shutil

    blocks = readme_blocks("bash")
    assert len(blocks) >= 3
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples", ignore=shutil.ignore_patterns("*.duckdb*", "__pycache__"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXTYFOUR_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DAGSTER_HOME"] = str(home)
    env["PYTHONPATH"] = str(work / "examples" / "leads_project" / "src")  # as `pip install -e` of the example
    for block in blocks:
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"README block failed:\n{block}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    for db in (work / "leads.duckdb", work / "examples" / "leads_project" / "leads.duckdb"):
        with duckdb.connect(str(db), read_only=True) as con:
            people = con.execute("SELECT count(*) FROM sixtyfour.people").fetchone()
        assert people and people[0] > 0, db


def test_readme_resource_settings_match_the_code() -> None:
    from dagster_sixtyfour import SixtyfourResource

    documented = readme_table("### Resource settings")
    fields = SixtyfourResource.model_fields
    assert set(documented) == set(fields)
    for name, field in fields.items():
        expected = "(required)" if field.is_required() else str(field.default)
        assert documented[name] == expected, name


def test_readme_component_attributes_match_the_code() -> None:
    from dagster_sixtyfour import SixtyfourSearchComponent

    documented = readme_table("| attribute | default | meaning |")
    assert set(documented) == set(SixtyfourSearchComponent.model_fields)
    for name, field in SixtyfourSearchComponent.model_fields.items():
        if field.is_required():
            assert documented[name] == "(required)", name
        elif isinstance(field.default, bool | int | float | str):
            assert documented[name] == str(field.default).lower(), name
