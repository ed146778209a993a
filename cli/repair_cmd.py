"""``repair index|packs|snapshots``: put a damaged store back in order (core.store.ops.repair).

Each takes the store's exclusive lock (a ``--dry-run`` changes nothing and takes a shared
one), prints what it did (one JSON document with ``--json``) and exits 0 once the repair ran.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias

from cli.store_common import add_store_arguments, open_store, print_json, run_async
from core.errors import ExitCode

if TYPE_CHECKING:
    from core.store import Store

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class _Report(Protocol):
    def to_json(self) -> object: ...

    def lines(self) -> list[str]: ...


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "repair", help="repair a damaged store: rebuild the index, salvage packs, fix snapshots"
    )
    rsub = p.add_subparsers(dest="repair_command", metavar="WHAT", required=True)
    index = rsub.add_parser("index", help="rebuild the index from the packs")
    _common(index)
    index.set_defaults(func=cmd_repair_index)
    packs = rsub.add_parser(
        "packs", help="copy the readable blobs of damaged packs into new packs, drop the damaged"
    )
    packs.add_argument("pack_ids", nargs="*", metavar="PACK", help="only these packs (ids)")
    _common(packs)
    packs.set_defaults(func=cmd_repair_packs)
    snaps = rsub.add_parser(
        "snapshots",
        help="rewrite the snapshots that reference missing or unreadable data, marking the loss",
    )
    snaps.add_argument(
        "--forget", action="store_true", help="remove the original (damaged) snapshots"
    )
    _common(snaps)
    snaps.set_defaults(func=cmd_repair_snapshots)


def _common(p: argparse.ArgumentParser) -> None:
    add_store_arguments(p)
    p.add_argument("--dry-run", "-n", action="store_true", help="show what would be done")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for the store's lock (default: fail at once)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _run(args: argparse.Namespace, body: Callable[[Store], Awaitable[_Report]]) -> int:
    async def main() -> int:
        store = await open_store(args)
        try:
            report = await body(store)
        finally:
            await store.close()
        if args.json:
            print_json(report.to_json())
        else:
            for line in report.lines():
                print(line)
        return int(ExitCode.OK)

    return run_async(main())


def cmd_repair_index(args: argparse.Namespace) -> int:
    from core.store.ops.repair import repair_index

    return _run(args, lambda s: repair_index(s, dry_run=args.dry_run, lock_wait=args.wait))


def cmd_repair_packs(args: argparse.Namespace) -> int:
    from core.store.ops.repair import repair_packs

    ids = [p.lower() for p in args.pack_ids] or None
    return _run(args, lambda s: repair_packs(s, ids, dry_run=args.dry_run, lock_wait=args.wait))


def cmd_repair_snapshots(args: argparse.Namespace) -> int:
    from core.store.ops.repair import repair_snapshots

    return _run(
        args,
        lambda s: repair_snapshots(
            s, forget=args.forget, dry_run=args.dry_run, lock_wait=args.wait
        ),
    )
