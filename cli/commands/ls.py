"""``secret-kloset ls``: list the secrets of a snapshot."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.options import json_option, snapshot_argument, snapshot_filter_options, store_options
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.store import Store


def register(sub: SubParsers) -> None:
    add_command(sub, "ls", run, _arguments, help="list the secrets of a snapshot")


def _arguments(p: CommandParser) -> None:
    store_options(p)
    snapshot_filter_options(p)
    snapshot_argument(p)
    p.add_argument(
        "selector", metavar="SELECTOR", nargs="*", help="glob on path/name, or id:<secret id>"
    )
    json_option(p, "print the listing as JSON")


def run(args: argparse.Namespace) -> int:
    from cli.output import print_json, say, table
    from cli.store_common import resolve_snapshot, with_store
    from cli.views import header_json, record_json
    from core.engine.selectors import Selection
    from core.errors import ExitCode

    selection = Selection.parse(args.selector)

    async def body(store: Store) -> int:
        header = await resolve_snapshot(store, args.snapshot, args)
        tree = await store.read_tree(header.id)
        records = [r for r in tree if selection.matches(r.path, r.name, r.secret_id)]
        if args.json:
            print_json(
                {"snapshot": header_json(header), "secrets": [record_json(r) for r in records]}
            )
            return int(ExitCode.OK)
        rows = []
        for r in records:
            with_data = sum(1 for v in r.versions if v.payload is not None)
            latest = r.latest_version
            rows.append(
                [
                    r.full_path,
                    r.type,
                    f"{with_data}/{len(r.versions)}",
                    str(latest.revision) if latest else "-",
                    r.status
                    + (" (deletion scheduled)" if r.deletion_requested_at else "")
                    + (" ERROR" if r.error else ""),
                    r.region,
                    r.secret_id,
                ]
            )
        table(
            ["Path", "Type", "Versions (data/all)", "Latest", "Status", "Region", "Secret id"], rows
        )
        say(f"{len(records)} secret(s) in snapshot {header.short_id}")
        return int(ExitCode.OK)

    return with_store(args, body)
