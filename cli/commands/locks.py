"""``secret-kloset locks`` and ``unlock``: list the store's locks, remove stale (or all) ones."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cli.options import json_option, store_options
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.store import LockInfo, Store


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "locks",
        run_locks,
        _locks_arguments,
        help="list the store's locks (and remove stale ones)",
    )


def register_unlock(sub: SubParsers) -> None:
    add_command(
        sub,
        "unlock",
        run_unlock,
        _unlock_arguments,
        help="remove stale locks (all locks with --remove-all)",
    )


def _locks_arguments(p: CommandParser) -> None:
    store_options(p)
    p.add_argument(
        "--remove-stale",
        action="store_true",
        help="remove locks whose holder stopped refreshing them or is gone",
    )
    p.add_argument(
        "--remove-all",
        action="store_true",
        help="remove every lock (only when you know no other process uses the store)",
    )
    json_option(p, None)


def _unlock_arguments(p: CommandParser) -> None:
    store_options(p)
    p.add_argument(
        "--remove-all",
        action="store_true",
        help="remove every lock, live or not (only when you know no other process uses the store)",
    )
    json_option(p, None)


def _print(locks: Sequence[LockInfo], removed: Sequence[str], as_json: bool) -> None:
    from cli.output import local_time, print_json, say, table

    if as_json:
        print_json({"locks": [lk.to_dict() for lk in locks], "removed": list(removed)})
        return
    rows = [
        [
            lk.id[:16],
            "exclusive" if lk.exclusive else "shared",
            lk.purpose,
            lk.host,
            str(lk.pid),
            local_time(lk.time),
            local_time(lk.expires),
            "stale" if lk.stale() else "live",
            "removed" if lk.id in removed else "",
        ]
        for lk in locks
    ]
    table(["ID", "Kind", "Purpose", "Host", "PID", "Since", "Expires", "State", ""], rows)
    say(f"{len(locks)} lock(s), {len(removed)} removed")


def run_locks(args: argparse.Namespace) -> int:
    from cli.store_common import with_store

    async def body(store: Store) -> int:
        locks = await store.list_locks()
        removed: list[str] = []
        if args.remove_all:
            removed = await store.remove_all_locks()
        elif args.remove_stale:
            removed = await store.remove_stale_locks()
        _print(locks, removed, args.json)
        return 0

    return with_store(args, body)


def run_unlock(args: argparse.Namespace) -> int:
    from cli.store_common import with_store

    async def body(store: Store) -> int:
        locks = await store.list_locks()
        if args.remove_all:
            removed = await store.remove_all_locks()
        else:
            removed = await store.remove_stale_locks()
        _print(locks, removed, args.json)
        return 0

    return with_store(args, body)
