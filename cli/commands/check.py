"""``secret-kloset check``: verify the store's structure (and optionally its data)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.options import json_option, store_options
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.store import Store


def register(sub: SubParsers) -> None:
    add_command(
        sub, "check", run, _arguments, help="verify the store's structure (and optionally its data)"
    )


def _arguments(p: CommandParser) -> None:
    store_options(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--read-data", action="store_true", help="also decrypt and verify every blob"
    )
    group.add_argument(
        "--read-data-subset",
        metavar="n/t",
        default=None,
        help="decrypt and verify the n-th of t parts of the data (t runs cover everything)",
    )
    json_option(p, "print the report as JSON")
    p.add_argument(
        "--no-lock", action="store_true", help="do not take a shared lock (read-only storage)"
    )


def parse_subset(text: str) -> tuple[int, int]:
    """``n/t`` -> ``(n, t)`` with 1 <= n <= t, else a usage error."""
    from core.errors import UsageError

    try:
        n_text, t_text = text.split("/", 1)
        n, t = int(n_text), int(t_text)
    except ValueError:
        raise UsageError(
            "--read-data-subset must look like n/t (e.g. 1/5)", hint="n runs from 1 to t"
        ) from None
    if t < 1 or not 1 <= n <= t:
        raise UsageError("--read-data-subset n/t needs 1 <= n <= t", hint="e.g. 1/5, 2/5, ..., 5/5")
    return n, t


def run(args: argparse.Namespace) -> int:
    from cli.output import line, print_json
    from cli.store_common import with_store
    from core.errors import ExitCode
    from core.store.ops.check import check_store

    subset = parse_subset(args.read_data_subset) if args.read_data_subset else None

    async def body(store: Store) -> int:
        report = await check_store(
            store, read_data=args.read_data, subset=subset, lock=not args.no_lock
        )
        if args.json:
            print_json(report.to_json())
        else:
            for text in report.lines():
                line(text)
        return int(ExitCode.OK if report.ok else ExitCode.ERROR)

    return with_store(args, body)
