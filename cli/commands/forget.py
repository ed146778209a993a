"""``secret-kloset forget``: remove snapshots by a retention policy (or by id)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.options import json_option, snapshot_filter_options, store_options, wait_option
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.store import Store
    from core.store.model import SnapshotHeader
    from core.store.ops.forget import ForgetResult, RetentionPolicy

_KEEP_HELP = {
    "last": "keep the N newest",
    "hourly": "keep the newest snapshot of each of the last N hours",
    "daily": "keep the newest snapshot of each of the last N days",
    "weekly": "keep the newest snapshot of each of the last N weeks",
    "monthly": "keep the newest snapshot of each of the last N months",
    "yearly": "keep the newest snapshot of each of the last N years",
}


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "forget",
        run,
        _arguments,
        help="remove snapshots by a retention policy (or by id)",
        description=(
            "Keep the snapshots the --keep-* rules select in each group and remove the others. "
            "A count of -1 means unlimited. Pinned snapshots are always kept. Data is freed by "
            "'prune' (or --prune)."
        ),
    )


def _arguments(p: CommandParser) -> None:
    store_options(p)
    snapshot_filter_options(p)
    p.add_argument(
        "snapshots",
        metavar="SNAPSHOT",
        nargs="*",
        help="remove exactly these snapshots instead of applying a policy",
    )
    for name, text in _KEEP_HELP.items():
        p.add_argument(f"--keep-{name}", type=int, default=0, metavar="N", help=text)
    p.add_argument(
        "--keep-within",
        metavar="D",
        default=None,
        help="keep snapshots within D (e.g. 7d, 2w, 6m, 1y, 36h) of the group's newest",
    )
    p.add_argument(
        "--keep-tag",
        action="append",
        default=[],
        metavar="T",
        help="keep snapshots with tag T (T1,T2: with both; repeatable)",
    )
    p.add_argument(
        "--group-by",
        choices=("project", "environment", "none"),
        default="project",
        help="judge snapshots per group (default: project, i.e. source region and project)",
    )
    p.add_argument(
        "--allow-remove-all",
        action="store_true",
        help="allow a policy that removes every snapshot of a group",
    )
    p.add_argument("--prune", action="store_true", help="run prune afterwards")
    wait_option(p, help="wait up to SECONDS for running backups (the store's lock)")
    p.add_argument(
        "--dry-run", "-n", action="store_true", help="show what would be removed, remove nothing"
    )
    json_option(p, "print the decisions as JSON")


def policy_from_args(args: argparse.Namespace) -> RetentionPolicy:
    from core.store.ops.forget import GroupBy, RetentionDuration, RetentionPolicy, parse_keep_tags

    return RetentionPolicy(
        keep_last=args.keep_last,
        keep_hourly=args.keep_hourly,
        keep_daily=args.keep_daily,
        keep_weekly=args.keep_weekly,
        keep_monthly=args.keep_monthly,
        keep_yearly=args.keep_yearly,
        keep_within=RetentionDuration.parse(args.keep_within) if args.keep_within else None,
        keep_tags=parse_keep_tags(args.keep_tag),
        group_by=GroupBy(args.group_by),
        allow_empty=args.allow_remove_all,
    )


def run(args: argparse.Namespace) -> int:
    from cli.output import line, print_json
    from cli.store_common import with_store
    from core.errors import ExitCode, UsageError
    from core.store.ops.forget import forget, forget_ids

    policy = None if args.snapshots else policy_from_args(args)
    if args.snapshots and not policy_from_args(args).is_empty():
        raise UsageError(
            "give either snapshot ids or --keep-* rules, not both",
            hint="run forget twice if you need both",
        )

    async def body(store: Store) -> int:
        if policy is None:
            result = await forget_ids(
                store, args.snapshots, dry_run=args.dry_run, lock_wait=args.wait
            )
        else:

            def wanted(h: SnapshotHeader) -> bool:
                return bool(h.covers(project=args.project, region=args.region))

            result = await forget(
                store, policy, dry_run=args.dry_run, snapshot_filter=wanted, lock_wait=args.wait
            )
        prune_report = None
        if args.prune and not args.dry_run and result.removed_done:
            from core.store.ops.prune import prune

            prune_report = await prune(store, lock_wait=args.wait)
            result.prune = prune_report
        if args.json:
            print_json(result.to_json())
            return int(ExitCode.OK)
        _print(result)
        if prune_report is not None:
            for text in prune_report.lines():
                line(text)
        return int(ExitCode.OK)

    return with_store(args, body)


def _print(result: ForgetResult) -> None:
    from cli.output import line, local_time, table

    for group in result.groups:
        label = ", ".join(f"{k} {v or '(none)'}" for k, v in group.label.items())
        if label:
            line(f"snapshots of {label}:")
        rows = []
        for d in sorted(group.decisions, key=lambda d: (d.snapshot.time, d.snapshot_id)):
            h = d.snapshot
            rows.append(
                [
                    h.short_id,
                    local_time(h.time),
                    "keep" if d.keep else ("remove" if not result.dry_run else "would remove"),
                    ", ".join(d.reasons),
                    h.status,
                    ",".join(h.tags),
                ]
            )
        table(["ID", "Time", "Decision", "Reasons", "Status", "Tags"], rows)
        removed = "to remove" if result.dry_run else "removed"
        line(f"{len(group.kept)} kept, {len(group.removed)} {removed}\n")
    if result.dry_run:
        line(f"dry run: {len(result.removed)} snapshot(s) would be removed")
    else:
        line(f"removed {len(result.removed_done)} snapshot(s)")
