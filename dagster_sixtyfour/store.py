"""``LeadStore``: deduplicated lead tables in DuckDB, with lineage, history and quarantine.

One search is merged in ONE explicit transaction: its rows are staged, recorded in ``search_results``
(lineage) and ``rejected_rows`` (no usable key), deduplicated (last occurrence wins), and merged into
``people`` or ``companies``; a person's changed title, company, location or seniority opens a new
``people_history`` version. Either all of it is committed or none of it. Merging the same search task again
changes nothing.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any, cast

import duckdb
import polars as pl

from dagster_sixtyfour._sql import quote_identifier, render, statements
from dagster_sixtyfour.errors import LeadStoreError, LeadStoreLockedError, SixtyfourConfigError
from dagster_sixtyfour.frames import COMPANY_SCHEMA, PEOPLE_SCHEMA

logger = logging.getLogger("dagster_sixtyfour")

LEAD_TABLES = {"people": "people", "company": "companies"}
_MERGE_FILES = {"people": "merge_people.sql", "company": "merge_companies.sql"}
_MEMORY_LIMIT = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|[KMGT]i?B)$", re.IGNORECASE)
#: Rows per staged Parquet file (frames are gathered up to this size, so a search of 100-row pages is not
#: staged as thousands of tiny files).
STAGE_ROWS = 2_000
#: How many times a merge that ran out of memory is retried, each time with twice the memory_limit.
MEMORY_GROWTH = 3
_LOCK_HINT = (
    "Another process or connection holds this DuckDB file. Serialize writers: give the assets a Dagster pool "
    "with a limit of 1 per database file (pool='duckdb:<file>'), or run one job at a time."
)


@dataclass(frozen=True)
class SearchRecord:
    """What the store records about one search task (the ``searches`` table).

    Attributes:
        task_id: The deep-search task; the unit of idempotence (merging the same task twice is a no-op).
        mode: ``"people"`` or ``"company"``.
        query: The natural-language query.
        spec_name: The name of the search spec (asset), used by the ``new_leads`` view.
    """

    task_id: str
    mode: str
    query: str | None = None
    search_id: str | None = None
    client_search_id: str | None = None
    spec_name: str | None = None
    output_mode: str | None = None
    status: str | None = "completed"
    run_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class MergeCounts:
    """What one merge did.

    Attributes:
        fetched: Rows received for the search.
        inserted: Keys new to the lead table.
        updated: Keys whose attributes changed.
        unchanged: Keys seen again with the same attributes.
        rejected: Rows with no usable key (kept in ``rejected_rows``).
        duplicates: Rows folded into another row of the same key within the search.
        already_merged: The task had been merged before; nothing was written.
    """

    fetched: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    duplicates: int = 0
    already_merged: bool = False

    def as_metadata(self) -> dict[str, int]:
        """The counts as a flat dict (for Dagster metadata)."""
        return {
            "fetched": self.fetched,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
        }


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LeadStore:
    """Deduplicated lead tables in one DuckDB file.

    Args:
        database: A DuckDB file path, or a ``dagster_duckdb.DuckDBResource``.
        schema: The schema holding the tables (validated: letters, digits, underscores).
        lock_timeout: Seconds to wait for a locked database file before failing.
        memory_limit: DuckDB ``memory_limit`` a merge starts with (past it DuckDB spills to ``<file>.tmp``), so
            a large search merges in bounded memory; a merge that still runs out is retried with twice as much,
            up to three times. ``None`` keeps DuckDB's own (80% of RAM) or the one in the ``DuckDBResource``'s
            ``connection_config``, which always wins.
        now: Current time for ``seen_at`` when a search has no completion time.
        before_commit: Called with the connection just before COMMIT (fault injection in tests).

    Example:
        .. code-block:: python

            from dagster_sixtyfour.frames import rows_to_frame
            from dagster_sixtyfour.store import LeadStore, SearchRecord

            store = LeadStore("leads.duckdb")
            counts = store.merge(
                SearchRecord(task_id="t-1", mode="people", query="CFOs in Berlin"),
                [rows_to_frame(rows, "people")],
            )
            print(counts.inserted, store.query("SELECT count(*) AS n FROM sixtyfour.people"))
    """

    def __init__(
        self,
        database: str | os.PathLike[str] | Any,
        *,
        schema: str = "sixtyfour",
        lock_timeout: float = 60.0,
        memory_limit: str | None = "192MB",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utc_now,
        before_commit: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> None:
        self.schema = schema
        self._quoted = quote_identifier(schema)
        if isinstance(database, str | os.PathLike):
            self.database: str = os.fspath(database)
            self._resource = None
        elif hasattr(database, "get_connection") and hasattr(database, "database"):
            self.database, self._resource = str(database.database), database
        else:
            raise SixtyfourConfigError("database must be a file path or a dagster_duckdb.DuckDBResource")
        self.lock_timeout = lock_timeout
        configured = getattr(self._resource, "connection_config", None) or {}
        if memory_limit is not None and not _MEMORY_LIMIT.match(memory_limit):
            raise SixtyfourConfigError(f"memory_limit must look like '256MB' or '2GiB', got {memory_limit!r}")
        self.memory_limit = None if "memory_limit" in configured else memory_limit
        self._clock, self._sleep, self._now = clock, sleep, now
        self._before_commit = before_commit
        self._ready = False

    def __repr__(self) -> str:
        return f"LeadStore(database={self.database!r}, schema={self.schema!r})"

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Opens a connection (waiting up to ``lock_timeout`` for a locked file) and closes it afterwards."""
        if self._resource is not None and not read_only:
            with self._translate_lock(), self._resource.get_connection() as con:
                yield con
            return
        con = self._open(read_only)
        try:
            yield con
        finally:
            con.close()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        deadline = self._clock() + self.lock_timeout
        delay = 0.1
        while True:
            with self._translate_lock(final=False):
                try:
                    return duckdb.connect(self.database, read_only=read_only)
                except duckdb.IOException as exc:
                    if "lock" not in str(exc).lower() or self._clock() + delay > deadline:
                        raise
                    logger.warning("DuckDB file %s is locked; retrying in %.1fs", self.database, delay)
            self._sleep(delay)
            delay = min(delay * 2, 5.0)

    @contextmanager
    def _translate_lock(self, final: bool = True) -> Iterator[None]:
        try:
            yield
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise LeadStoreLockedError(
                    f"Could not open {self.database} within {self.lock_timeout:.0f}s. DuckDB said: {exc}. {_LOCK_HINT}"
                ) from exc
            raise
        except duckdb.ConnectionException as exc:
            if "different configuration" in str(exc):
                raise LeadStoreError(
                    f"{self.database} is already open in this process with other settings ({exc}). "
                    "Open each DuckDB file with one configuration (e.g. only through one DuckDBResource)."
                ) from exc
            raise

    def ensure_schema(self) -> None:
        """Creates the schema, tables and views if missing, and adds columns a newer version introduced."""
        with self.connect() as con:
            self._ensure(con)

    def _ensure(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._ready:
            return
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(render("schema.sql", self.schema))
            for table, columns in _expected_columns().items():
                present = {
                    row[0]
                    for row in con.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                        [self.schema, table],
                    ).fetchall()
                }
                for column, dtype in columns.items():
                    if column not in present:  # evolve: add, never drop or narrow
                        con.execute(
                            f"ALTER TABLE {self._quoted}.{quote_identifier(table)} "
                            f"ADD COLUMN {quote_identifier(column)} {dtype}"
                        )
            con.execute(render("views.sql", self.schema))
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        self._ready = True

    def merge(
        self, search: SearchRecord, frames: Iterable[pl.DataFrame], *, seen_at: datetime | None = None
    ) -> MergeCounts:
        """Merges one search's frames into the lead tables in one transaction.

        Args:
            search: The search the rows came from.
            frames: Frames from :mod:`dagster_sixtyfour.frames` for ``search.mode`` (any number of batches).
            seen_at: When the rows were observed (default: the search's completion time, else now).

        Returns:
            The counts of the merge. A task merged before returns ``already_merged=True`` and writes nothing.

        Raises:
            LeadStoreLockedError: the file stayed locked past ``lock_timeout``.
            LeadStoreError: the merge failed and was rolled back.
        """
        if search.mode not in LEAD_TABLES:
            raise SixtyfourConfigError(f"mode must be 'people' or 'company', got {search.mode!r}")
        when = seen_at or search.completed_at or self._now()
        params = {"task_id": search.task_id, "seen_at": when, "mode": search.mode}
        with self.connect() as con:
            self._ensure(con)
            done = self._already_merged(con, search)
            if done is not None:
                return done
            with self._staged(con, search.mode, frames):  # files only: nothing is written to DuckDB yet
                counts = self._merge_in_transaction(con, search, params)
        logger.info("Merged task %s into %s.%s: %s", search.task_id, self.schema, LEAD_TABLES[search.mode], counts)
        return counts

    def _merge_in_transaction(
        self, con: duckdb.DuckDBPyConnection, search: SearchRecord, params: Mapping[str, Any]
    ) -> MergeCounts:
        """Runs the merge statements in one transaction; one that runs out of memory is rolled back and run
        again with twice the ``memory_limit`` (at most :data:`MEMORY_GROWTH` times)."""
        limit, grown = self.memory_limit, 0
        while True:
            if limit is not None:  # validated: digits and a unit, safe as a literal (SET takes no parameters)
                con.execute(f"SET memory_limit = '{limit}'")
            con.execute("BEGIN TRANSACTION")
            try:
                counts = self._already_merged(con, search) or self._merge_staged(con, search, params)
                if self._before_commit is not None:
                    self._before_commit(con)
                con.execute("COMMIT")
                return counts
            except BaseException as exc:
                _rollback(con)
                if isinstance(exc, duckdb.OutOfMemoryException) and limit is not None and grown < MEMORY_GROWTH:
                    limit, grown = _doubled(limit), grown + 1
                    logger.warning("Merge of task %s ran out of memory; retrying with memory_limit %s: %s",
                                   search.task_id, limit, str(exc).splitlines()[0])  # fmt: skip
                    continue
                translated = self._translated(exc, search)
                if translated is exc:
                    raise
                raise translated from exc

    def _translated(self, exc: BaseException, search: SearchRecord) -> BaseException:
        if isinstance(exc, duckdb.Error) and "could not set lock" in str(exc).lower():
            return LeadStoreLockedError(
                f"Merging task {search.task_id} was rolled back: another process holds {self.database}. "
                f"DuckDB said: {exc}. {_LOCK_HINT}"
            )
        if isinstance(exc, duckdb.Error):
            return LeadStoreError(
                f"Merging task {search.task_id} into {self.schema}.{LEAD_TABLES[search.mode]} failed and was "
                f"rolled back: {exc}"
            )
        return exc

    def _already_merged(self, con: duckdb.DuckDBPyConnection, search: SearchRecord) -> MergeCounts | None:
        done = con.execute(
            f"SELECT rows_fetched, rejected, inserted + updated + unchanged FROM {self._quoted}.searches "
            "WHERE task_id = ?",
            [search.task_id],
        ).fetchone()
        if done is None:
            return None
        fetched, rejected, keys = (int(v) for v in done)
        return MergeCounts(fetched, 0, 0, keys, rejected, fetched - rejected - keys, already_merged=True)

    @contextmanager
    def _staged(self, con: duckdb.DuckDBPyConnection, mode: str, frames: Iterable[pl.DataFrame]) -> Iterator[None]:
        """Writes the frames to Parquet files, one per batch, and exposes them as the temp view ``staged_rows``.

        The batches never sit in DuckDB's memory or the process's at once: a million-row CSV export merges in
        bounded memory. The files live in a temporary folder next to the database, removed afterwards.
        """
        schema = PEOPLE_SCHEMA if mode == "people" else COMPANY_SCHEMA
        near = None if self.database == ":memory:" else Path(self.database).resolve().parent
        with tempfile.TemporaryDirectory(prefix=".sixtyfour-stage-", dir=near) as folder:
            files: list[Path] = []
            for batch in _gathered(frames, list(schema), STAGE_ROWS):  # API pages are small: write them together
                files.append(Path(folder) / f"{len(files):08d}.parquet")
                batch.write_parquet(files[-1])
            if not files:
                files.append(Path(folder) / "empty.parquet")
                pl.DataFrame(schema=schema).write_parquet(files[-1])
            # our own temporary paths, as SQL string literals (a view's definition takes no bound parameters)
            paths = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            con.execute(f"CREATE OR REPLACE TEMP VIEW staged_rows AS SELECT * FROM read_parquet([{paths}])")
            try:
                yield
            finally:
                con.execute("DROP VIEW IF EXISTS staged_rows")

    def _merge_staged(
        self, con: duckdb.DuckDBPyConnection, search: SearchRecord, params: Mapping[str, Any]
    ) -> MergeCounts:
        key = "lead_key" if search.mode == "people" else "company_key"
        fetched, rejected = _one(con, f"SELECT count(*), count(*) FILTER (WHERE {key} IS NULL) FROM staged_rows")
        inserted = updated = unchanged = 0
        for name, sql in statements(_MERGE_FILES[search.mode], self.schema).items():
            used = {k: v for k, v in params.items() if f"${k}" in sql}
            result = con.execute(sql, used)
            if name == "counts":
                inserted, updated, unchanged = (int(v) for v in result.fetchone() or (0, 0, 0))
        batch = _one(con, "SELECT count(*) FROM batch")[0]
        con.execute("DROP TABLE IF EXISTS batch")
        con.execute("DROP TABLE IF EXISTS batch_action")
        counts = MergeCounts(fetched, inserted, updated, unchanged, rejected, duplicates=fetched - rejected - batch)
        self._record(con, search, counts, params["seen_at"])
        return counts

    def _record(self, con: duckdb.DuckDBPyConnection, s: SearchRecord, c: MergeCounts, when: datetime) -> None:
        con.execute(  # the schema is a validated, quoted identifier; every value is bound
            f"INSERT INTO {self._quoted}.searches (task_id, search_id, client_search_id, spec_name, query, mode, "
            "output_mode, status, run_id, started_at, completed_at, merged_at, rows_fetched, inserted, updated, "
            "unchanged, rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                s.task_id, s.search_id, s.client_search_id, s.spec_name, s.query, s.mode, s.output_mode, s.status,
                s.run_id, s.started_at, s.completed_at, when, c.fetched, c.inserted, c.updated, c.unchanged,
                c.rejected,
            ],
        )  # fmt: skip

    def query(self, sql: str, params: list[Any] | Mapping[str, Any] | None = None) -> pl.DataFrame:
        """Runs a read query on a read-only connection and returns a polars frame."""
        with self.connect(read_only=True) as con:
            return cast(pl.DataFrame, con.sql(sql, params=params).pl())


def _gathered(frames: Iterable[pl.DataFrame], columns: list[str], rows: int) -> Iterator[pl.DataFrame]:
    """The frames' rows in frames of at least ``rows`` rows (the last may be smaller), in order."""
    pending: list[pl.DataFrame] = []
    size = 0
    for frame in frames:
        pending.append(frame.select(columns))
        size += frame.height
        if size >= rows:
            yield pl.concat(pending)
            pending, size = [], 0
    if pending:
        yield pl.concat(pending)


def _doubled(limit: str) -> str:
    match = _MEMORY_LIMIT.match(limit)
    assert match is not None  # validated in LeadStore.__init__
    return f"{float(match.group(1)) * 2:g}{match.group(2)}"


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Rolls back if a transaction is still open: a failed COMMIT has already ended it, and the error to
    report is the COMMIT's, not the ROLLBACK's."""
    with suppress(duckdb.TransactionException):
        con.execute("ROLLBACK")


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, ...]:
    row = con.execute(sql).fetchone()
    assert row is not None
    return tuple(int(v) for v in row)


@cache
def _expected_columns() -> dict[str, dict[str, str]]:
    """Columns and types of every table as ``schema.sql`` defines them (read from a scratch database)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(render("schema.sql", "expected"))
        out: dict[str, dict[str, str]] = {}
        for table, column, dtype in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'expected' ORDER BY table_name, ordinal_position"
        ).fetchall():
            out.setdefault(table, {})[column] = dtype
        return out
    finally:
        con.close()
