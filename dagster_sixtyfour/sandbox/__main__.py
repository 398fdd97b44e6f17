"""``python -m dagster_sixtyfour.sandbox``: serve the sandbox until Ctrl-C.

Every :class:`SandboxFaults` field is a flag (``p_short_page`` -> ``--p-short-page``; booleans are switches,
CSV column lists are comma-separated), e.g.
``python -m dagster_sixtyfour.sandbox --port 8064 --p429 0.1 --retry-after 3 --csv-bom``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import threading
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from dagster_sixtyfour.sandbox.faults import SandboxFaults
from dagster_sixtyfour.sandbox.server import SandboxServer


def _columns(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


def _converter(hint: Any) -> Callable[[str], Any]:
    """The argparse ``type`` of a ``SandboxFaults`` field from its resolved annotation."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        hint = args[0]
    if hint is float:
        return float
    if hint is int:
        return int
    if typing.get_origin(hint) is not None or hint is Sequence:
        return _columns
    return str


_METAVARS: dict[Callable[[str], Any], str] = {float: "X", int: "N", _columns: "COL,COL,..."}


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser: server options plus one flag per :class:`SandboxFaults` field.

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="python -m dagster_sixtyfour.sandbox",
        description="Serve a local emulator of the Sixtyfour Search API (Deep Search) with injectable faults.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8064, help="port to bind, 0 for any free port (default: 8064)")
    parser.add_argument("--api-key", default="sk-sandbox-0000", help="the accepted x-api-key")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data and fault draws")
    parser.add_argument("--verbose", action="store_true", help="log every request at DEBUG")
    faults = parser.add_argument_group("faults and data (SandboxFaults fields)")
    hints = typing.get_type_hints(SandboxFaults)
    for f in dataclasses.fields(SandboxFaults):
        flag = "--" + f.name.replace("_", "-")
        if hints[f.name] is bool:
            faults.add_argument(flag, dest=f.name, action="store_true", help=f"enable {f.name}")
        else:
            convert = _converter(hints[f.name])
            faults.add_argument(
                flag,
                dest=f.name,
                type=convert,
                default=f.default,
                metavar=_METAVARS.get(convert, "TEXT"),
                help=f"default: {f.default!r}",
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the sandbox until interrupted.

    Args:
        argv: Command-line arguments (default ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    args = build_parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(SandboxFaults)}
    server = SandboxServer(
        api_key=args.api_key, seed=args.seed, faults=SandboxFaults(**values), host=args.host, port=args.port
    )
    with server:
        print(f"Sixtyfour sandbox listening on {server.base_url}", flush=True)
        print(f"API key: {server.api_key}", flush=True)
        print(f"export SIXTYFOUR_BASE_URL={server.base_url} SIXTYFOUR_API_KEY={server.api_key}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        try:
            while not stop.wait(0.5):  # bounded waits: Ctrl-C is seen even when it lands during a request
                pass
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
