"""What the command line shows: the live progress of a search (rich widgets on a terminal, plain lines on stderr
otherwise), the summary of a merge, and query results as a table, CSV or JSON lines.

Used by :mod:`dagster_sixtyfour.cli`; nothing here talks to the API or to DuckDB.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from dagster_sixtyfour.client import describe_status
from dagster_sixtyfour.models import SearchStatus
from dagster_sixtyfour.store import MergeCounts

_PLAIN_STEPS = 10  # in plain mode a row count is printed about every tenth of the total


class SearchDisplay:
    """Shows one search as it runs: status messages, then row counts, then the merge.

    On a terminal (``console.is_terminal``) it is a rich progress display with a spinner, a bar and the elapsed
    time. Anywhere else (pipes, files, tests) it prints plain lines without ANSI codes to ``sys.stderr``: each
    new status, a row count about every tenth of the way, and each finished step. ``quiet`` prints nothing.

    Args:
        console: The console to draw on (a ``Console(stderr=True)``).
        quiet: Show nothing.

    Example:
        .. code-block:: python

            from rich.console import Console

            with SearchDisplay(Console(stderr=True)) as display:
                display.step("Fetching rows", total=150)
                display.advance(100)
                display.advance(150)
                display.done("Fetched 150 rows")
    """

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self._console = console
        self._quiet = quiet
        self._progress: Progress | None = None
        if console.is_terminal and not quiet:
            self._progress = Progress(
                SpinnerColumn(finished_text="[green]✓[/green]"),
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                TextColumn("{task.fields[detail]}", markup=False),
                TimeElapsedColumn(),
                console=console,
            )
        self._task: TaskID | None = None
        self._label = ""
        self._total: int | None = None
        self._last_status = ""
        self._last_step = -1

    def __enter__(self) -> SearchDisplay:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    @property
    def live(self) -> bool:
        """Whether the rich (terminal) display is in use."""
        return self._progress is not None

    def note(self, text: str) -> None:
        """Prints one line of information above the display (or as a plain line)."""
        if self._quiet:
            return
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=sys.stderr, flush=True)

    def step(self, label: str, total: int | None = None) -> None:
        """Starts a step: a spinner with ``label``, and a bar when ``total`` is known."""
        self._label, self._total, self._last_step = label, total, -1
        if self._progress is not None:
            self._task = self._progress.add_task(label, total=total, detail="")
        elif not self._quiet:
            print(f"{label}...", file=sys.stderr, flush=True)

    def status(self, status: SearchStatus) -> None:
        """Shows a status reading of the running search (a plain line only when it changed)."""
        text = describe_status(status)
        if text == self._last_status:
            return
        self._last_status = text
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=f"{self._label}: {text}")
        else:
            self.note(f"  status: {text}")

    def advance(self, count: int, unit: str = "rows") -> None:
        """Shows ``count`` items done so far in the current step."""
        total = self._total
        detail = f"{count:,}/{total:,} {unit}" if total else f"{count:,} {unit}"
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=count, detail=detail)
            return
        step = count * _PLAIN_STEPS // total if total else count
        if step != self._last_step:
            self._last_step = step
            self.note(f"  {detail}")

    def done(self, text: str) -> None:
        """Ends the current step with a final line."""
        if self._progress is not None and self._task is not None:
            task = self._task
            finished = self._total or 1
            self._progress.update(task, description=text, total=finished, completed=finished, detail="")
            self._progress.stop_task(task)
        else:
            self.note(text)
        self._task = None


def print_summary(console: Console, counts: MergeCounts, details: Sequence[tuple[str, str]], hint: str) -> None:
    """Prints the counts of a merge and ``details`` (label, value) as a two-column table, then ``hint``.

    Args:
        console: Where to print (stdout).
        counts: What the merge did.
        details: Extra rows, e.g. ``("task id", "...")``.
        hint: A command line to try next, printed unwrapped so it can be copied.

    Example:
        >>> print_summary(Console(width=60), MergeCounts(3, 2, 0, 1, 0), [("task id", "t-1")], "next")  # doctest: +SKIP
    """
    table = Table(title="Search merged", box=box.SIMPLE, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    for name in ("fetched", "inserted", "updated", "unchanged", "rejected"):
        table.add_row(name, f"{getattr(counts, name):,}")
    for label, value in details:
        table.add_row(label, value)
    longest = max((len(value) for _, value in details), default=0)
    if not console.is_terminal:  # no screen to fit: keep paths and ids whole so they can be copied
        console.width = max(console.width, longest + 20)
    console.print(table)
    console.print("Look at the rows:", markup=False, highlight=False)
    console.print(f"  {hint}", markup=False, highlight=False, soft_wrap=True)


def print_rows(columns: Sequence[str], rows: Sequence[tuple[Any, ...]], fmt: str) -> None:
    """Prints query results on stdout as a rich ``table``, ``csv`` (with a header) or ``json`` (one object a line).

    Example:
        >>> print_rows(["n"], [(1,)], "csv")
        n
        1
    """
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(v) for v in row] for row in rows)
    elif fmt == "json":
        for row in rows:
            print(json.dumps(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False))
    else:
        table = Table(box=box.SIMPLE_HEAD)
        for name in columns:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*("NULL" if v is None else str(v) for v in row))
        console = Console()
        console.print(table)
        console.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}", markup=False, highlight=False)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    return value
