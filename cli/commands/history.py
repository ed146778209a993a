"""``secret-kloset history``: every version of the matching secrets seen in any snapshot.

One row per distinct version (never a value), with the first and last snapshot holding it
and whether the source still has it. It reads the history index in the local cache
(rebuilt or extended from the store first), so it costs no API request. The helpers
:func:`scope_options` and :func:`with_history_store` are shared with ``find``.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from cli.options import json_option, region_arg, store_options, uuid_arg
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.engine.history import HistoryResult
    from core.store import SnapshotHeader, Store


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "history",
        run,
        _arguments,
        help="every version of the matching secrets seen in any snapshot",
        description=(
            "Every version of the secrets SELECTOR matches (under any path or name they had), "
            "with the first and last snapshot holding it and whether the source still has "
            "it (its newest snapshot lists it). Values are never shown."
        ),
    )


def scope_options(p: argparse.ArgumentParser) -> None:
    """``--project ID`` / ``--region R`` of ``history`` and ``find``: which secrets count."""
    p.add_argument(
        "--project",
        metavar="ID",
        type=uuid_arg,
        default=None,
        help="only secrets of this project id",
    )
    p.add_argument(
        "--region", metavar="R", type=region_arg, default=None, help="only secrets of this region"
    )


def _arguments(p: CommandParser) -> None:
    store_options(p)
    scope_options(p)
    p.add_argument(
        "selector", metavar="SELECTOR", nargs="+", help="glob on path/name, or id:<secret id>"
    )
    json_option(p, "print the history as JSON")


def with_history_store(args: argparse.Namespace, body: Callable[[Store], Awaitable[int]]) -> int:
    """Open the store, run ``body(store)``, then close its history index and the store."""
    from cli.store_common import open_store, run_async

    async def main() -> int:
        store = await open_store(args)
        try:
            return await body(store)
        finally:
            from core.store.history_index import close_history_index

            close_history_index(store)
            await store.close()

    return run_async(main())


def run(args: argparse.Namespace) -> int:
    from cli.output import print_json
    from core.engine.history import secret_history
    from core.engine.selectors import Selection
    from core.errors import ExitCode

    selection = Selection.parse(args.selector)

    async def body(store: Store) -> int:
        result = await secret_history(store, selection, project=args.project, region=args.region)
        if args.json:
            print_json(result.to_json())
        else:
            _print_history(result)
        return int(ExitCode.OK)

    return with_history_store(args, body)


def _short(headers: dict[str, SnapshotHeader], snapshot_id: str) -> str:
    from cli.output import local_time

    h = headers.get(snapshot_id)
    return f"{snapshot_id[:8]} {local_time(h.time)}" if h is not None else snapshot_id[:8]


def _print_history(result: HistoryResult) -> None:
    from cli.output import say, table

    if not result.secrets:
        say("no secret in any snapshot matches")
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
        table(
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
    say(
        f"{len(result.secrets)} secret(s), {versions} version(s) across "
        f"{len(result.headers)} snapshot(s); 'cat SNAPSHOT SECRET --revision N' reads one"
    )
