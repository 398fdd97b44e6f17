"""``dagster-sixtyfour``: run a Sixtyfour Deep Search into DuckDB lead tables, serve the sandbox, query the tables.

Subcommands: ``search`` (one search, merged into the lead tables of a DuckDB file, with a live progress display),
``sandbox`` (the local API emulator in the foreground) and ``sql`` (a read-only query of a DuckDB file). Errors
are one ``error: ...`` line on stderr; exit codes are 1 for runtime and API errors, 2 for usage errors and 130
for Ctrl-C. This module does not import Dagster.

Example:
    .. code-block:: console

        $ dagster-sixtyfour search "Heads of Data at fintechs in Berlin" --sandbox --db leads.duckdb
        $ dagster-sixtyfour sql "select count(*) from sixtyfour.people" --db leads.duckdb
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import tempfile
import threading
import traceback
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import polars as pl
from rich.console import Console

from dagster_sixtyfour._progress import SearchDisplay, print_rows, print_summary
from dagster_sixtyfour._redact import scrub
from dagster_sixtyfour.client import DEFAULT_BASE_URL, SixtyfourClient, choose_output_mode
from dagster_sixtyfour.errors import SixtyfourConfigError, SixtyfourError
from dagster_sixtyfour.frames import iter_csv_frames, rows_to_frame
from dagster_sixtyfour.models import MODES, OUTPUT_MODES, SearchStatus, parse_api_time
from dagster_sixtyfour.store import LEAD_TABLES, LeadStore, SearchRecord
from dagster_sixtyfour.version import __version__

PROG = "dagster-sixtyfour"
DEFAULT_DB = "leads.duckdb"
SANDBOX_SEED = 64
_REAL_POLL_INTERVAL = 10.0
_SANDBOX_POLL_INTERVAL = 0.2
_HINT_SQL = {
    "people": "select full_name, title, company_name from sixtyfour.people limit 10",
    "company": "select company_name, industry from sixtyfour.companies limit 10",
}


class UsageError(Exception):
    """A command-line mistake the user can fix (exit code 2)."""


# -- parser ------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``dagster-sixtyfour`` argument parser with its three subcommands.

    Returns:
        The parser.

    Example:
        >>> build_parser().parse_args(["sql", "select 1", "--db", "x.duckdb"]).format
        'table'
    """
    parser = argparse.ArgumentParser(prog=PROG, description="Sixtyfour Deep Search into DuckDB lead tables.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")
    db_help = f"DuckDB file (default: $SIXTYFOUR_DUCKDB_PATH, else {DEFAULT_DB})"
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    search = commands.add_parser("search", parents=[common], help="run one search into the lead tables")
    search.description = (
        "Run one Sixtyfour Deep Search and merge its rows into the lead tables (sixtyfour.people or "
        "sixtyfour.companies) of a DuckDB file. The API key is read from $SIXTYFOUR_API_KEY."
    )
    search.add_argument("query", help="natural-language description of who or what to find")
    search.add_argument("--db", default=None, metavar="PATH", help=db_help)
    search.add_argument("--mode", choices=MODES, default="people", help="people or company (default: people)")
    search.add_argument("--max-results", type=int, default=1000, metavar="N", help="cap on rows (default: 1000)")
    search.add_argument(
        "--output-mode", choices=OUTPUT_MODES, default=None, help="JSON pages or CSV export (default: by size)"
    )
    search.add_argument(
        "--page-size", type=int, default=100, metavar="N", help="rows per JSON page, 1-100 (default: 100)"
    )
    search.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help=f"API root (default: $SIXTYFOUR_BASE_URL, else {DEFAULT_BASE_URL})",
    )
    search.add_argument(
        "--sandbox", action="store_true", help="use an embedded local sandbox with synthetic data (no key needed)"
    )
    search.add_argument(
        "--poll-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"seconds between status polls (default: {_REAL_POLL_INTERVAL:g}; --sandbox: {_SANDBOX_POLL_INTERVAL:g})",
    )
    search.add_argument("--quiet", action="store_true", help="no progress display, only the summary")

    sandbox = commands.add_parser("sandbox", parents=[common], help="serve the local API sandbox until Ctrl-C")
    sandbox.description = "Serve a local emulator of the Sixtyfour Search API with synthetic data until Ctrl-C."
    sandbox.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8064, help="port, 0 for any free port (default: 8064)")
    sandbox.add_argument(
        "--seed", type=int, default=SANDBOX_SEED, metavar="N", help=f"data seed (default: {SANDBOX_SEED})"
    )

    sql = commands.add_parser("sql", parents=[common], help="run a read-only SQL query on a DuckDB file")
    sql.description = "Run a SQL query on a DuckDB file opened read-only (the file is never created or changed)."
    sql.add_argument("query", help='SQL text, e.g. "select count(*) from sixtyfour.people"')
    sql.add_argument("--db", default=None, metavar="PATH", help=db_help)
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output (default: table)")
    sql.add_argument("--limit", type=int, default=None, metavar="N", help="print at most N rows (default: all)")
    return parser


# -- entry point -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Runs the command line and returns its exit code.

    Args:
        argv: Arguments without the program name (default ``sys.argv[1:]``).

    Returns:
        0 on success, 1 on a runtime or API error, 2 on a usage error, 130 when interrupted.

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        dagster-sixtyfour 0.1.0
        0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and argparse's own usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    commands = {"search": run_search, "sandbox": run_sandbox, "sql": run_sql}
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        return _fail("interrupted", 130, args.debug)
    except (UsageError, SixtyfourConfigError) as err:
        return _fail(str(err), 2, args.debug)
    except (SixtyfourError, duckdb.Error, OSError) as err:
        return _fail(str(err) or type(err).__name__, 1, args.debug)


def _fail(message: str, code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"error: {' '.join(scrub(message).split())}", file=sys.stderr, flush=True)
    return code


def _database(value: str | None) -> Path:
    return Path(value or os.environ.get("SIXTYFOUR_DUCKDB_PATH") or DEFAULT_DB)


# -- search ------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _api(args: argparse.Namespace) -> Iterator[tuple[str, str, float]]:
    """Yields the API key, base URL and poll interval: of an embedded sandbox with ``--sandbox``, else from env."""
    if args.sandbox:
        if args.base_url:
            raise UsageError("--sandbox and --base-url cannot be used together")
        from dagster_sixtyfour.sandbox.server import SandboxServer

        with SandboxServer(seed=SANDBOX_SEED) as sandbox:
            print(f"Using the embedded Sixtyfour sandbox at {sandbox.base_url}: synthetic data, not the real API.",
                  file=sys.stderr, flush=True)  # fmt: skip
            yield sandbox.api_key, sandbox.base_url, _poll(args, _SANDBOX_POLL_INTERVAL)
        return
    key = os.environ.get("SIXTYFOUR_API_KEY", "").strip()
    if not key:
        raise UsageError("SIXTYFOUR_API_KEY is not set: export your Sixtyfour API key, or pass --sandbox to try "
                         "the embedded sandbox with synthetic data")  # fmt: skip
    base_url = args.base_url or os.environ.get("SIXTYFOUR_BASE_URL") or DEFAULT_BASE_URL
    yield key, base_url, _poll(args, _REAL_POLL_INTERVAL)


def _poll(args: argparse.Namespace, default: float) -> float:
    return default if args.poll_interval is None else float(args.poll_interval)


def run_search(args: argparse.Namespace) -> int:
    """The ``search`` subcommand: start, wait, fetch, merge, then print a summary on stdout.

    Args:
        args: Parsed arguments of ``search``.

    Returns:
        The exit code (0).

    Example:
        >>> run_search(build_parser().parse_args(["search", "CFOs in Berlin", "--sandbox"]))  # doctest: +SKIP
        0
    """
    database = _database(args.db)
    output_mode = args.output_mode or choose_output_mode(args.max_results)
    display = SearchDisplay(Console(stderr=True), quiet=args.quiet)
    with _api(args) as (key, base_url, poll), display:
        client = SixtyfourClient(key, base_url, page_size=args.page_size, poll_interval=poll)
        with client:
            record, status = _start_and_wait(client, args, output_mode, display)
            with _frames(client, args, record, status, display) as (frames, expected):
                display.step(f"Merging into {database}", total=expected)
                counts = LeadStore(database).merge(record, frames)
                display.done(f"Merged {counts.fetched:,} rows into {database}")
    hint = f"{PROG} sql {shlex.quote(_HINT_SQL[record.mode])} --db {shlex.quote(str(database))}"
    details = [
        ("task id", record.task_id),
        ("table", f"sixtyfour.{LEAD_TABLES[record.mode]}"),
        ("database", str(database)),
    ]
    print_summary(Console(), counts, details, hint)
    return 0


def _start_and_wait(
    client: SixtyfourClient, args: argparse.Namespace, output_mode: str, display: SearchDisplay
) -> tuple[SearchRecord, SearchStatus]:
    client_id = f"cli-{uuid.uuid4().hex}"  # makes a retried start re-attach instead of starting another search
    started = client.start_search(
        args.query, mode=args.mode, max_results=args.max_results, output_mode=output_mode, search_id=client_id
    )
    display.note(f"Started {args.mode} search: task {started.task_id} ({output_mode})")
    display.step("Searching")
    status = client.wait_for_search(started.task_id, on_progress=display.status)
    found = f", {status.total_results:,} results" if status.total_results is not None else ""
    display.done(f"Search completed{found}")
    record = SearchRecord(
        task_id=started.task_id, mode=args.mode, query=args.query, search_id=status.search_id,
        client_search_id=client_id, spec_name="cli", output_mode=output_mode, status=status.status,
        started_at=parse_api_time(status.start_time), completed_at=parse_api_time(status.close_time),
    )  # fmt: skip
    return record, status


@contextlib.contextmanager
def _frames(
    client: SixtyfourClient,
    args: argparse.Namespace,
    record: SearchRecord,
    status: SearchStatus,
    display: SearchDisplay,
) -> Iterator[tuple[Iterable[pl.DataFrame], int | None]]:
    """Yields the search's frames and the rows the merge can count on its way: fetched JSON pages (None: already
    counted), or a downloaded CSV export read lazily during the merge (its exported row count)."""
    if record.output_mode == "csv" and status.resource_handle_id:
        with tempfile.TemporaryDirectory(prefix="sixtyfour-") as tmp:
            target = Path(tmp) / f"{record.task_id}.csv"
            display.step("Downloading CSV export")
            client.download_csv(status.resource_handle_id, target)
            display.done(f"Downloaded CSV export ({target.stat().st_size:,} bytes)")
            yield _counted(iter_csv_frames(target, record.mode), display), status.exported_count
        return
    if not status.search_id:
        raise SixtyfourError(f"Task {record.task_id} completed without a search_id to page through")
    yield _fetch_pages(client, args, status.search_id, status, display), None


def _counted(frames: Iterable[pl.DataFrame], display: SearchDisplay) -> Iterator[pl.DataFrame]:
    seen = 0
    for frame in frames:
        seen += frame.height
        display.advance(seen)
        yield frame


def _fetch_pages(
    client: SixtyfourClient, args: argparse.Namespace, search_id: str, status: SearchStatus, display: SearchDisplay
) -> list[pl.DataFrame]:
    total = args.max_results if status.total_results is None else min(args.max_results, status.total_results)
    display.step("Fetching rows", total=total)
    frames: list[pl.DataFrame] = []
    position = 0
    for page in client.iter_pages(search_id, mode=args.mode, max_results=args.max_results):
        frames.append(rows_to_frame(page.rows, args.mode, start_position=position))
        position += len(page.rows)
        display.advance(position)
    display.done(f"Fetched {position:,} rows")
    return frames


# -- sandbox -----------------------------------------------------------------------------------------------------


def run_sandbox(args: argparse.Namespace) -> int:
    """The ``sandbox`` subcommand: serve the sandbox in the foreground until Ctrl-C (or SIGTERM).

    Args:
        args: Parsed arguments of ``sandbox``.

    Returns:
        0 when stopped.

    Example:
        >>> run_sandbox(build_parser().parse_args(["sandbox", "--port", "0"]))  # doctest: +SKIP
    """
    from dagster_sixtyfour.sandbox.server import SandboxServer

    server = SandboxServer(seed=args.seed, host=args.host, port=args.port)
    try:
        server.start()
    except OSError as err:
        raise OSError(f"could not start the sandbox on {args.host}:{args.port}: {err.strerror or err}") from err
    stop = threading.Event()
    main_thread = threading.current_thread() is threading.main_thread()  # signal handlers live only there
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if main_thread else None
    try:
        lines = (
            f"Sixtyfour sandbox (synthetic data) listening on {server.base_url}",
            f"API key: {server.api_key}",
            "Use it from another shell:",
            f"  export SIXTYFOUR_BASE_URL={server.base_url}",
            f"  export SIXTYFOUR_API_KEY={server.api_key}",
            "Press Ctrl-C to stop.",
        )
        print("\n".join(lines), flush=True)
        while not stop.wait(0.5):  # a bounded wait: a signal landing on a server thread still gets handled
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        server.stop()
    print("sandbox stopped", file=sys.stderr, flush=True)
    return 0


# -- sql ---------------------------------------------------------------------------------------------------------


def run_sql(args: argparse.Namespace) -> int:
    """The ``sql`` subcommand: one query on a read-only connection, printed as a table, CSV or JSON lines.

    Args:
        args: Parsed arguments of ``sql``.

    Returns:
        The exit code (0).

    Example:
        >>> run_sql(build_parser().parse_args(["sql", "select 1 as one", "--db", "leads.duckdb"]))  # doctest: +SKIP
    """
    database = _database(args.db)
    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    if not database.is_file():
        raise UsageError(
            f"database file {database} does not exist (create it with `{PROG} search ... --db {database}`)"
        )
    con = duckdb.connect(str(database), read_only=True)
    try:
        cursor = con.execute(args.query)
        columns = [d[0] for d in cursor.description or ()]
        rows = cursor.fetchmany(args.limit) if args.limit is not None else cursor.fetchall()
    finally:
        con.close()
    print_rows(columns, rows, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
