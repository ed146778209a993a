"""``secret-kloset snapshots``: list snapshots."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.options import json_option, snapshot_filter_options, store_options
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.store import Store


def register(sub: SubParsers) -> None:
    add_command(sub, "snapshots", run, _arguments, help="list snapshots")


def _arguments(p: CommandParser) -> None:
    store_options(p)
    snapshot_filter_options(p)
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="T",
        help="only snapshots with this tag (repeatable: all must match)",
    )
    json_option(p, "print a JSON array")


def run(args: argparse.Namespace) -> int:
    from cli.output import human_bytes, local_time, print_json, say, table
    from cli.store_common import with_store
    from cli.views import header_json, source_text
    from core.errors import ExitCode

    async def body(store: Store) -> int:
        headers = await store.list_snapshots(
            project=args.project, region=args.region, tags=args.tag or None
        )
        headers = sorted(headers, key=lambda h: (h.time, h.id))
        damaged = sorted(getattr(store, "damaged_snapshots", None) or {})
        if damaged:
            say(
                f"warning: {len(damaged)} snapshot object(s) cannot be read ("
                + ", ".join(d[:8] for d in damaged)
                + "); run 'secret-kloset check'"
            )
        if args.json:
            print_json([header_json(h) for h in headers])
            return int(ExitCode.OK)
        rows = [
            [
                h.short_id + ("*" if h.pinned else ""),
                local_time(h.time),
                source_text(h),
                h.environment or "",
                h.data_class or "",
                ",".join(h.tags),
                str(h.summary.secrets),
                str(h.summary.versions),
                h.status,
                human_bytes(h.summary.bytes_added),
            ]
            for h in headers
        ]
        table(
            [
                "ID",
                "Time",
                "Source (region/project)",
                "Env",
                "Class",
                "Tags",
                "Secrets",
                "Versions",
                "Status",
                "Added",
            ],
            rows,
        )
        say(
            f"{len(headers)} snapshot(s)"
            + (" (* pinned)" if any(h.pinned for h in headers) else "")
        )
        return int(ExitCode.OK)

    return with_store(args, body)
