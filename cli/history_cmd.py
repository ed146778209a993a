"""``history`` and ``find``: what the store remembers across every snapshot.

``history SELECTOR`` lists every version of the matching secrets seen in any snapshot (one
row per distinct version, never a value); ``find PATTERN`` lists the snapshots that hold a
secret whose path or name matches, oldest first, naming the oldest and the newest first.
Both read the history index in the local cache (rebuilt or extended from the store first).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

from cli.store_common import add_store_arguments, open_store, print_json, run_async
from core.errors import ExitCode

if TYPE_CHECKING:
    from core.engine.history import FindResult, HistoryResult
    from core.store import SnapshotHeader, Store

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "history",
        help="every version of the matching secrets seen in any snapshot",
        description=(
            "Every version of the secrets SELECTOR matches (under any path or name they had), "
            "with the first and last snapshot holding it and whether the source still has "
            "it (its newest snapshot lists it). Values are never shown."
        ),
    )
    add_store_arguments(p)
    _add_scope(p)
    p.add_argument(
        "selector", metavar="SELECTOR", nargs="+", help="glob on path/name, or id:<secret id>"
    )
    p.add_argument("--json", action="store_true", help="print the history as JSON")
    p.set_defaults(func=cmd_history)

    f = sub.add_parser(
        "find",
        help="which snapshots hold secrets whose path or name matches",
        description=(
            "The snapshots holding a secret whose path or name (in that snapshot) matches "
            "PATTERN, oldest first; the oldest and the newest are named first."
        ),
    )
    add_store_arguments(f)
    _add_scope(f)
    f.add_argument(
        "pattern", metavar="PATTERN", nargs="+", help="glob on path/name, or id:<secret id>"
    )
    f.add_argument("--json", action="store_true", help="print the matches as JSON")
    f.set_defaults(func=cmd_find)


def _add_scope(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", metavar="ID", default=None, help="only secrets of this project id")
    p.add_argument("--region", metavar="R", default=None, help="only secrets of this region")


def _run(args: argparse.Namespace, body: Callable[[Store], Awaitable[int]]) -> int:
    async def main() -> int:
        store = await open_store(args)
        try:
            return await body(store)
        finally:
            from core.store.history_index import close_history_index

            close_history_index(store)
            await store.close()

    return run_async(main())


def _eprint(text: str) -> None:
    print(text, file=sys.stderr)


def _local(value: datetime | None) -> str:
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, box=box.SIMPLE_HEAD, title=title, show_edge=False, pad_edge=False)
    for row in rows:
        table.add_row(*row)
    width = None if sys.stdout.isatty() else 200
    Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False).print(table)


def cmd_history(args: argparse.Namespace) -> int:
    from core.engine.history import secret_history
    from core.engine.selectors import Selection

    selection = Selection.parse(args.selector)

    async def body(store: Store) -> int:
        result = await secret_history(store, selection, project=args.project, region=args.region)
        if args.json:
            print_json(result.to_json())
        else:
            _print_history(result)
        return int(ExitCode.OK)

    return _run(args, body)


def _short(headers: dict[str, SnapshotHeader], snapshot_id: str) -> str:
    h = headers.get(snapshot_id)
    return f"{snapshot_id[:8]} {_local(h.time)}" if h is not None else snapshot_id[:8]


def _print_history(result: HistoryResult) -> None:
    if not result.secrets:
        _eprint("no secret in any snapshot matches")
        return
    for s in result.secrets:
        rows = [
            [
                str(v.revision),
                v.created_at or "",
                v.status,
                "" if v.size is None else str(v.size),
                "" if v.crc32 is None else f"{v.crc32:08x}",
                _short(result.headers, v.first_snapshot),
                _short(result.headers, v.last_snapshot),
                str(len(v.snapshots)),
                ("yes" if v.in_source else "no") + ("" if v.has_data else " (no data)"),
            ]
            for v in s.versions
        ]
        earlier = [n for n in s.names_seen if n != s.full_path]
        title = (
            f"{s.full_path}  {s.secret_id}  {s.region}/{s.project_id}"
            + (f"  (also seen as {', '.join(earlier)})" if earlier else "")
            + ("" if s.in_source else "  [gone from the source]")
        )
        _table(
            [
                "Rev",
                "Created",
                "Status",
                "Size",
                "CRC32",
                "First snapshot",
                "Last snapshot",
                "Snapshots",
                "In source",
            ],
            rows,
            title=title,
        )
    versions = sum(len(s.versions) for s in result.secrets)
    _eprint(
        f"{len(result.secrets)} secret(s), {versions} version(s) across "
        f"{len(result.headers)} snapshot(s); 'cat SNAPSHOT SECRET --revision N' reads one"
    )


def cmd_find(args: argparse.Namespace) -> int:
    from core.engine.history import find_snapshots
    from core.engine.selectors import Selection

    selection = Selection.parse(args.pattern)

    async def body(store: Store) -> int:
        result = await find_snapshots(store, selection, project=args.project, region=args.region)
        if args.json:
            print_json(result.to_json())
        else:
            _print_find(result)
        return int(ExitCode.OK)

    return _run(args, body)


def _print_find(result: FindResult) -> None:
    oldest, newest = result.oldest, result.newest
    if oldest is None or newest is None:
        _eprint("no snapshot holds a matching secret")
        return
    print(f"oldest: {oldest.short_id}  {_local(oldest.time)}")
    print(f"newest: {newest.short_id}  {_local(newest.time)}")
    rows = [
        [h.short_id, _local(h.time), _join(f.path, f.name), f.secret_id, f.region]
        for h, found in result.snapshots
        for f in found
    ]
    _table(["Snapshot", "Time", "Path", "Secret id", "Region"], rows)
    _eprint(f"{len(result.snapshots)} snapshot(s) hold a matching secret")


def _join(path: str, name: str) -> str:
    from core.scaleway.models import join_path

    return join_path(path, name)
