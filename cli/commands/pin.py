"""``secret-kloset pin`` / ``unpin``: forget always keeps a pinned snapshot."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.options import snapshot_filter_options, store_options
from cli.parser import CommandParser, SubParsers

if TYPE_CHECKING:
    from core.store import Store


def register(sub: SubParsers) -> None:
    for name, pinned in (("pin", True), ("unpin", False)):
        p = sub.add_parser(
            name,
            help="pin a snapshot (forget always keeps it)" if pinned else "unpin a snapshot",
        )
        p.set_defaults(func=run, pinned=pinned)
        p.defer(_arguments)


def _arguments(p: CommandParser) -> None:
    store_options(p)
    snapshot_filter_options(p)
    p.add_argument("snapshots", metavar="SNAPSHOT", nargs="+")


def run(args: argparse.Namespace) -> int:
    from cli.output import say
    from cli.store_common import resolve_snapshot, with_store

    async def body(store: Store) -> int:
        for ref in args.snapshots:
            header = await resolve_snapshot(store, ref, args)
            await store.update_snapshot(header.id, pinned=args.pinned)
            say(f"{'pinned' if args.pinned else 'unpinned'} snapshot {header.short_id}")
        return 0

    return with_store(args, body)
