"""``secret-kloset repair index|packs|snapshots``: put a damaged store back in order.

Each takes the store's exclusive lock (a ``--dry-run`` changes nothing and takes a shared
one), says what it did (one JSON document with ``--json``) and exits 0 once the repair ran.
The work is ``core.store.ops.repair``'s; docs/STORE.md says when to run which.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from cli.options import json_option, store_options, wait_option
from cli.parser import CommandParser, SubParsers

if TYPE_CHECKING:
    from core.store import Store


class _Report(Protocol):
    def to_json(self) -> object: ...

    def lines(self) -> list[str]: ...


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "repair", help="repair a damaged store: rebuild the index, salvage packs, fix snapshots"
    )
    p.defer(_actions)


def _actions(p: CommandParser) -> None:
    store_options(p)
    rsub = p.add_subparsers(dest="repair_command", metavar="WHAT", required=True)
    index = rsub.add_parser("index", help="rebuild the index from the packs")
    _common(index)
    index.set_defaults(func=run_index)
    packs = rsub.add_parser(
        "packs", help="copy the readable blobs of damaged packs into new packs, drop the damaged"
    )
    packs.add_argument("pack_ids", nargs="*", metavar="PACK", help="only these packs (ids)")
    _common(packs)
    packs.set_defaults(func=run_packs)
    snaps = rsub.add_parser(
        "snapshots",
        help="rewrite the snapshots that reference missing or unreadable data, marking the loss",
    )
    snaps.add_argument(
        "--forget", action="store_true", help="remove the original (damaged) snapshots"
    )
    _common(snaps)
    snaps.set_defaults(func=run_snapshots)


def _common(p: argparse.ArgumentParser) -> None:
    store_options(p, suppress_defaults=True)
    p.add_argument("--dry-run", "-n", action="store_true", help="show what would be done")
    wait_option(p, help="wait up to SECONDS for the store's lock (default: fail at once)")
    json_option(p, "print the report as JSON")


def _run(args: argparse.Namespace, body: Callable[[Store], Awaitable[_Report]]) -> int:
    from cli.output import line, print_json
    from cli.store_common import open_store, run_async

    async def main() -> _Report:
        store = await open_store(args)
        try:
            return await body(store)
        finally:
            await store.close()

    report = run_async(main())
    if args.json:
        print_json(report.to_json())
    else:
        for text in report.lines():
            line(text)
    return 0


def run_index(args: argparse.Namespace) -> int:
    from core.store.ops.repair import repair_index

    return _run(args, lambda s: repair_index(s, dry_run=args.dry_run, lock_wait=args.wait))


def run_packs(args: argparse.Namespace) -> int:
    from core.store.ops.repair import repair_packs

    ids = [p.lower() for p in args.pack_ids] or None
    return _run(args, lambda s: repair_packs(s, ids, dry_run=args.dry_run, lock_wait=args.wait))


def run_snapshots(args: argparse.Namespace) -> int:
    from core.store.ops.repair import repair_snapshots

    return _run(
        args,
        lambda s: repair_snapshots(
            s, forget=args.forget, dry_run=args.dry_run, lock_wait=args.wait
        ),
    )
