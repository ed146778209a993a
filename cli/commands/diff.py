"""``secret-kloset diff``: what changed between two snapshots."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING

from cli.options import json_option, snapshot_filter_options, store_options
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.store import Store


def register(sub: SubParsers) -> None:
    add_command(sub, "diff", run, _arguments, help="show what changed between two snapshots")


def _arguments(p: CommandParser) -> None:
    store_options(p)
    snapshot_filter_options(p)
    p.add_argument("snapshot_a", metavar="SNAPSHOT_A")
    p.add_argument("snapshot_b", metavar="SNAPSHOT_B")
    json_option(p, "print the diff as JSON")


def short(value: object) -> str:
    """A field value in a diff line: times formatted, strings quoted, long ones cut."""
    from core.scaleway.models import format_time

    if isinstance(value, datetime):
        return format_time(value) or ""
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def run(args: argparse.Namespace) -> int:
    import asyncio

    from cli.output import line, print_json
    from cli.store_common import resolve_snapshot, with_store
    from core.errors import ExitCode
    from core.store.ops.diff import ADDED, REMOVED, diff_snapshots

    async def body(store: Store) -> int:
        a = await resolve_snapshot(store, args.snapshot_a, args)
        b = await resolve_snapshot(store, args.snapshot_b, args)
        tree_a, tree_b = await asyncio.gather(store.read_tree(a.id), store.read_tree(b.id))
        result = diff_snapshots(tree_a, tree_b)
        if args.json:
            print_json({"snapshot_a": a.id, "snapshot_b": b.id, **result.to_json()})
            return int(ExitCode.OK)
        line(f"comparing snapshot {a.short_id} to {b.short_id}:\n")
        for change in result.changes:
            r = change.record
            mark = "+" if change.kind == ADDED else "-" if change.kind == REMOVED else "M"
            line(f"{mark}    {r.region}/{r.project_id} {r.full_path}  ({r.secret_id})")
            for f in change.fields:
                line(f"       {f.field}: {short(f.old)} -> {short(f.new)}")
            for v in change.versions:
                vmark = "+" if v.kind == ADDED else "-" if v.kind == REMOVED else "M"
                detail = ""
                if v.fields:
                    detail = "  " + ", ".join(
                        "data"
                        if f.field == "payload"
                        else f"{f.field} {short(f.old)} -> {short(f.new)}"
                        for f in v.fields
                        if f.field not in ("crc32", "size")
                    )
                line(f"     {vmark} revision {v.revision}{detail}")
        counts = result.counts()
        line(
            "\n"
            f"secrets: {counts['secrets_added']} added, {counts['secrets_removed']} removed, "
            f"{counts['secrets_changed']} changed, {counts['secrets_unchanged']} unchanged\n"
            f"versions: {counts['versions_added']} added, {counts['versions_removed']} removed, "
            f"{counts['versions_changed']} changed"
        )
        return int(ExitCode.OK)

    return with_store(args, body)
