"""What the asset steps do: run a search and stage its rows; merge staged searches into the lead tables."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from dagster_sixtyfour.client import SixtyfourClient, choose_output_mode, describe_status
from dagster_sixtyfour.errors import SixtyfourError
from dagster_sixtyfour.models import SearchStatus, SixtyfourSearch, parse_api_time
from dagster_sixtyfour.resource import SixtyfourResource
from dagster_sixtyfour.staging import (
    StagedSearch,
    csv_download_path,
    stage_csv,
    stage_rows,
    staged_searches,
    staging_dir,
)
from dagster_sixtyfour.store import LeadStore, MergeCounts, SearchRecord
from dagster_sixtyfour.translator import LEAD_TABLE_MODES

PREVIEW_ROWS = 10
_PREVIEW_COLUMNS = {"people": ("full_name", "title", "company_name"), "company": ("company_name", "industry")}


def client_search_id(asset_key: dg.AssetKey, partition_key: str | None, run: Any) -> str:
    """The idempotency key sent with the start request.

    The same asset, partition and root run (a step retry, or a run retry of the same run) give the same id, so
    the API re-attaches to the search already started instead of starting (and billing) another; a new run
    gives a new id. Runs launched by a schedule share the id of their tick.
    """
    tags = getattr(run, "tags", {}) or {}
    origin = (
        tags.get("dagster/scheduled_execution_time")
        or getattr(run, "root_run_id", None)
        or tags.get("dagster/root_run_id")
        or run.run_id
    )
    raw = "\x1f".join([asset_key.to_user_string(), partition_key or "", str(origin)])
    return "dg-" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def materialize_search(
    context: dg.AssetExecutionContext,
    sixtyfour: SixtyfourResource,
    database: str,
    search: SixtyfourSearch,
    asset_key: dg.AssetKey,
) -> dg.MaterializeResult[Any]:
    """Runs one search (re-attaching to a search already started by this run) and stages its rows.

    Terminal API errors (wrong key, no credits, invalid request) fail without step retries.
    """
    partition = context.partition_key if context.has_partition_key else None
    query = search.query_for(partition)
    search_id = client_search_id(asset_key, partition, context.run)
    output_mode = search.output_mode or choose_output_mode(search.max_results)
    began = time.monotonic()
    with sixtyfour.get_client() as client:
        try:
            started = client.start_search(
                query, mode=search.mode, max_results=search.max_results, output_mode=output_mode, search_id=search_id
            )
            if started.status.strip().lower() in ("failed", "error", "cancelled", "terminated", "timed_out"):
                search_id = f"{search_id}-retry{context.retry_number}"  # a failed search is not re-attached
                context.log.warning("Search %s had failed; starting a new one as %s", started.task_id, search_id)
                started = client.start_search(
                    query, mode=search.mode, max_results=search.max_results, output_mode=output_mode,
                    search_id=search_id,
                )  # fmt: skip
            context.log.info("Sixtyfour search %s: task %s (%s)", search.name, started.task_id, started.status)
            status = client.wait_for_search(started.task_id, on_progress=_progress_logger(context))
            record = SearchRecord(
                task_id=started.task_id, mode=search.mode, query=query, search_id=status.search_id,
                client_search_id=search_id, spec_name=search.name, output_mode=output_mode, status=status.status,
                run_id=context.run_id, started_at=parse_api_time(status.start_time),
                completed_at=parse_api_time(status.close_time),
            )  # fmt: skip
            staged, pages = _fetch_and_stage(client, search, status, record, staging_dir(database, search.mode))
        except SixtyfourError as err:
            raise dg.Failure(description=str(err), allow_retries=not err.terminal) from err
        retries = client.retries
    return dg.MaterializeResult(
        asset_key=asset_key,
        metadata=_search_metadata(staged, search, pages, retries, time.monotonic() - began),
    )


def _progress_logger(context: dg.AssetExecutionContext) -> Any:
    last: list[str] = []

    def log(status: SearchStatus) -> None:
        text = describe_status(status)
        if not last or last[-1] != text:
            last.append(text)
            context.log.info("Sixtyfour task %s: %s", status.task_id, text)

    return log


def _fetch_and_stage(
    client: SixtyfourClient, search: SixtyfourSearch, status: SearchStatus, record: SearchRecord, directory: Path
) -> tuple[StagedSearch, int]:
    target = csv_download_path(directory, record.task_id)
    try:
        outcome = client.fetch_results(
            record.task_id, status, mode=search.mode, max_results=search.max_results,
            output_mode=record.output_mode or "query_only", dest=target,
        )  # fmt: skip
        if outcome.csv_path is not None:
            return stage_csv(directory, record, outcome.csv_path), 0
        return stage_rows(directory, record, outcome.rows or []), outcome.pages
    finally:
        target.unlink(missing_ok=True)  # moved into place on success; a leftover on failure or cancel


def _search_metadata(
    staged: StagedSearch, search: SixtyfourSearch, pages: int, retries: int, duration: float
) -> dict[str, Any]:
    fetched = rejected = 0
    preview: pl.DataFrame | None = None
    schema: dg.TableSchema | None = None
    key = "lead_key" if search.mode == "people" else "company_key"
    for frame in staged.frames():
        fetched += frame.height
        rejected += frame[key].null_count()
        if preview is None:
            schema = table_schema(frame.schema)
            preview = frame.select(_PREVIEW_COLUMNS[search.mode]).head(PREVIEW_ROWS)
    record = staged.record
    metadata: dict[str, Any] = {
        "dagster/row_count": fetched,
        "fetched": fetched,
        "rejected": rejected,
        "task_id": record.task_id,
        "search_id": record.search_id or "",
        "client_search_id": record.client_search_id or "",
        "query": record.query or "",
        "output_mode": record.output_mode or "",
        "pages": pages,
        "retries": retries,
        "duration_s": round(duration, 3),
        "staged_file": dg.MetadataValue.path(str(staged.data)),
    }
    if schema is not None:
        metadata["dagster/column_schema"] = schema
    if preview is not None and preview.height:
        metadata["preview"] = dg.MetadataValue.md(_markdown(preview))
    return metadata


def _markdown(frame: pl.DataFrame) -> str:
    """A small markdown table: names and titles only, no other personal data."""

    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")[:80]

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join(lines)


def table_schema(schema: Mapping[str, Any]) -> dg.TableSchema:
    """A Dagster table schema from column names and types."""
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in schema.items()])


def materialize_lead_tables(
    context: dg.AssetExecutionContext, duckdb: Any, schema: str, tables: Mapping[dg.AssetKey, str]
) -> Iterator[dg.MaterializeResult[Any]]:
    """Merges every staged search into the selected lead tables (one transaction per search)."""
    store = LeadStore(duckdb, schema=schema)
    store.ensure_schema()
    database = str(duckdb.database)
    for key in sorted(context.selected_asset_keys, key=lambda k: k.to_user_string()):
        table = tables[key]
        mode = LEAD_TABLE_MODES[table]
        total = MergeCounts(0, 0, 0, 0, 0)
        merged = 0
        for staged in staged_searches(staging_dir(database, mode)):
            counts = store.merge(staged.record, staged.frames())
            staged.remove()  # after COMMIT; merging the task again would be a no-op
            merged += 1
            total = _add(total, counts)
            context.log.info("Merged search %s (task %s): %s", staged.record.spec_name, staged.record.task_id, counts)
        rows = store.query(f'SELECT count(*) AS n FROM "{schema}"."{table}"')["n"][0]
        columns = store.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        )
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": int(rows),
                "dagster/table_name": f"{schema}.{table}",
                "dagster/column_schema": table_schema(dict(columns.iter_rows())),
                "searches_merged": merged,
                **total.as_metadata(),
            },
        )


def _add(a: MergeCounts, b: MergeCounts) -> MergeCounts:
    return MergeCounts(
        a.fetched + b.fetched,
        a.inserted + b.inserted,
        a.updated + b.updated,
        a.unchanged + b.unchanged,
        a.rejected + b.rejected,
        a.duplicates + b.duplicates,
    )
