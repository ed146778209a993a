"""The human summaries of ``backup``, ``restore`` and ``copy`` (``--json`` prints the result's
own document instead), and how a finished restore's status becomes an exit code."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from typing import TYPE_CHECKING, TypeVar

from cli.hints import hint_for, message_for
from cli.output import human_bytes, line, print_error, print_json

if TYPE_CHECKING:
    from core.engine.backup import BackupResult
    from core.engine.restore import RestoreResult

T = TypeVar("T")


def print_backup(result: BackupResult) -> None:
    sid = result.snapshot_id[:8] if result.snapshot_id else "-"
    projects = sorted({s.project_id for s in result.sources})
    regions = sorted({s.region for s in result.sources})
    line(f"snapshot {sid} saved ({result.status})")
    line(
        f"  sources:  {len(projects)} project(s) x {len(regions)} region(s) ({', '.join(regions)})"
    )
    line(
        f"  secrets:  {result.secrets} ({result.secrets_unchanged} unchanged), "
        f"versions: {result.versions} (read {result.versions_read}, reused {result.versions_reused})"
    )
    line(
        f"  data:     {human_bytes(result.bytes_read)} read, {human_bytes(result.bytes_added)} "
        f"added to the store in {result.duration_seconds:.1f} s"
    )
    if result.parent:
        line(f"  parent:   {result.parent[:8]}")
    for err in result.errors:
        line(f"  error:    {err.message}")


def print_restore(result: RestoreResult, *, title: str = "restore") -> None:
    from core.engine.restore import Action

    actions = result.plan.actions
    if result.dry_run:
        line(f"{title} plan of snapshot {result.plan.snapshot_id[:8]} (dry run: nothing changed)")
    else:
        line(f"{title} of snapshot {result.plan.snapshot_id[:8]}: {result.status}")
    if not actions:
        line("  nothing selected")
        return
    width = max(len(str(a.action)) for a in actions)
    for a in actions:
        revs = ",".join(str(v.revision) for v in a.versions) or "-"
        where = f"{a.project_id[:8]}/{a.region}"
        text = f"  {a.action!s:<{width}}  {a.outcome!s:<9} {a.record.full_path}  -> {where}  rev {revs}"
        if a.error:
            text += f"  ({a.error})"
        elif a.detail and a.action in (Action.SKIP, Action.CONFLICT):
            text += f"  ({a.detail})"
        line(text)
    s = result.summary()
    line(
        f"  {s['secrets']} secret(s): {s['planned_create']} create, {s['planned_recover']} recover, "
        f"{s['planned_add_version']} add version, {s['planned_skip_identical']} identical, "
        f"{s['planned_skip']} skipped, {s['planned_conflict']} conflict(s); "
        f"{s['versions_added']} version(s) added"
        + (f", {s['verified']} verified" if result.verify and not result.dry_run else "")
    )


def emit_restore(result: RestoreResult, args: argparse.Namespace, title: str) -> None:
    """The result as ``--json`` or as the human summary."""
    if args.json:
        print_json(result.to_json())
    else:
        print_restore(result, title=title)


def finish_restore(result: RestoreResult, *, fit_flag: str | None = None) -> int:
    """Say on stderr why a restore did not fully succeed; its exit code. ``fit_flag``: the
    command's option that restores only the newest versions that fit the version cap."""
    from core.engine.restore import restore_error

    over_cap = [a for a in result.plan.conflicts if a.over_cap]
    if result.status == "conflict" and len(result.plan.conflicts) > len(over_cap):
        conflicts = len(result.plan.conflicts) - len(over_cap)
        print_error(f"{conflicts} conflict(s) with --on-conflict fail", None)
    err = restore_error(result)
    if err is not None:
        print_error(message_for(err), hint_for(err))
    if over_cap:
        how = (
            f"pass {fit_flag} to restore only the newest versions that fit, or " if fit_flag else ""
        )
        print_error(
            f"{len(over_cap)} secret(s) would pass the destination's 20-version cap: refused, "
            "nothing restored to them",
            f"{how}delete old versions at the destination to make room",
        )
    return int(result.exit_code)


def run_restoring(coro: Coroutine[object, object, T], args: argparse.Namespace, title: str) -> T:
    """Run a restore (or copy) to its end; when it stops half-way (interrupted, or conflicts
    with ``--on-conflict fail``), print what it did first, then let the error through."""
    from cli.store_common import run_async
    from core.engine.restore import RestoreConflict, RestoreInterrupted

    try:
        return run_async(coro)
    except (RestoreInterrupted, RestoreConflict) as stopped:
        if stopped.result is not None:
            emit_restore(stopped.result, args, title)
        raise
