"""The hand-off between search assets and lead-table assets: one staged file per finished search.

A search asset talks only to the API and writes its rows next to the DuckDB file (``<db>.staging/<mode>/``):
a Parquet file (JSON flow) or the downloaded CSV (CSV flow), then a small JSON manifest, renamed into place
last. The lead-table asset, the only DuckDB writer, merges every staged search in one transaction each and
deletes its files after the commit. A crash between the commit and the delete is harmless: merging a task
again is a no-op.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from dagster_sixtyfour.frames import iter_csv_frames, rows_to_frame
from dagster_sixtyfour.store import SearchRecord


@dataclass(frozen=True)
class StagedSearch:
    """One finished search waiting to be merged."""

    manifest: Path
    record: SearchRecord
    data: Path

    def frames(self) -> Iterator[pl.DataFrame]:
        """The search's rows as frames (CSV read in batches)."""
        if self.data.suffix == ".csv":
            yield from iter_csv_frames(self.data, self.record.mode)
        else:
            yield pl.read_parquet(self.data)

    def remove(self) -> None:
        """Deletes the staged files (after the merge committed)."""
        self.data.unlink(missing_ok=True)
        self.manifest.unlink(missing_ok=True)


def staging_dir(database: str, mode: str) -> Path:
    """Where searches of ``mode`` are staged for the DuckDB file ``database``."""
    if database in ("", ":memory:") or database.startswith("md:"):
        raise ValueError("the lead tables need a DuckDB file path (not :memory: or MotherDuck) to stage searches")
    path = Path(database).with_name(Path(database).name + ".staging") / mode
    path.mkdir(parents=True, exist_ok=True)
    return path


def stage_rows(directory: Path, record: SearchRecord, rows: Sequence[dict[str, Any]]) -> StagedSearch:
    """Stages the rows of a JSON-flow search as Parquet."""
    data = directory / f"{_safe(record.task_id)}.parquet"
    partial = data.with_name(data.name + ".part")
    rows_to_frame(rows, record.mode).write_parquet(partial)
    os.replace(partial, data)
    return _write_manifest(directory, record, data)


def stage_csv(directory: Path, record: SearchRecord, csv_path: Path) -> StagedSearch:
    """Stages a downloaded CSV export (moved into the staging folder)."""
    data = directory / f"{_safe(record.task_id)}.csv"
    os.replace(csv_path, data)
    return _write_manifest(directory, record, data)


def csv_download_path(directory: Path, task_id: str) -> Path:
    """Where the CSV export of ``task_id`` is downloaded before staging."""
    return directory / f"{_safe(task_id)}.download.csv"


def staged_searches(directory: Path) -> list[StagedSearch]:
    """Every complete staged search in ``directory``, oldest completion first."""
    staged = []
    for manifest in directory.glob("*.json"):
        raw = json.loads(manifest.read_text(encoding="utf-8"))
        data = directory / raw.pop("data")
        for key in ("started_at", "completed_at"):
            raw[key] = datetime.fromisoformat(raw[key]) if raw.get(key) else None
        if data.exists():
            staged.append(StagedSearch(manifest, SearchRecord(**raw), data))
    return sorted(staged, key=lambda s: (s.record.completed_at is None, s.record.completed_at, s.record.task_id))


def _write_manifest(directory: Path, record: SearchRecord, data: Path) -> StagedSearch:
    manifest = directory / f"{_safe(record.task_id)}.json"
    body = {**asdict(record), "data": data.name}
    for key in ("started_at", "completed_at"):
        body[key] = body[key].isoformat() if body[key] else None
    partial = manifest.with_name(manifest.name + ".part")
    partial.write_text(json.dumps(body), encoding="utf-8")
    os.replace(partial, manifest)
    return StagedSearch(manifest, record, data)


def _safe(task_id: str) -> str:
    """A task id as a file name: path separators and other unusual characters are refused."""
    if not task_id or not all(c.isalnum() or c in "-_" for c in task_id):
        raise ValueError(f"unexpected task id {task_id!r}")
    return task_id
