"""``secret-kloset prune``: free the space of data no snapshot uses."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.options import json_option, store_options, wait_option
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.store import Store


def register(sub: SubParsers) -> None:
    add_command(sub, "prune", run, _arguments, help="free the space of data no snapshot uses")


def _arguments(p: CommandParser) -> None:
    store_options(p)
    p.add_argument(
        "--dry-run", "-n", action="store_true", help="show what would be freed, change nothing"
    )
    p.add_argument(
        "--repack-below",
        type=float,
        default=None,
        metavar="PERCENT",
        help="repack packfiles less than PERCENT used (default 60)",
    )
    wait_option(p, help="wait up to SECONDS for running backups to finish (default: fail at once)")
    json_option(p, "print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from cli.output import line, print_json
    from cli.store_common import with_store
    from core.errors import ExitCode, UsageError
    from core.store.ops.prune import DEFAULT_REPACK_BELOW, prune

    threshold = DEFAULT_REPACK_BELOW if args.repack_below is None else args.repack_below / 100.0
    if not 0.0 <= threshold <= 1.0:
        raise UsageError("--repack-below must be between 0 and 100", hint="e.g. --repack-below 50")

    async def body(store: Store) -> int:
        report = await prune(
            store, dry_run=args.dry_run, repack_below=threshold, lock_wait=args.wait
        )
        if args.json:
            print_json(report.to_json())
        else:
            for text in report.lines():
                line(text)
        return int(ExitCode.OK)

    return with_store(args, body)
