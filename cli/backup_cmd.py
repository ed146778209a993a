"""``secret-kloset backup``, ``restore`` and ``copy``: the engines, for scripts and cron jobs.

Each command resolves the credentials (``--profile`` > ``SCW_*`` > default profile > scw
config) and the store (``--store`` > ``SECRET_KLOSET_STORE`` > profile > default), runs the
engine, and prints either a concise human summary or, with ``--json``, exactly one JSON
document on stdout. Progress bars (rich) go to stderr, and only when stderr is a terminal.
Exit codes: 0 ok, 1 error, 2 usage, 3 partial, 10 no store, 11 locked, 12 wrong passphrase,
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cli.common import add_json_argument, add_profile_argument, credentials_from_args, print_json
from cli.store_common import add_store_arguments, human_bytes, open_store, run_async
from core.engine import events as ev
from core.engine.backup import BackupOptions, BackupResult, backup_error, run_backup
from core.engine.copy import run_copy
from core.engine.restore import (
    Action,
    OnConflict,
    RestoreConflict,
    RestoreInterrupted,
    RestoreResult,
    VersionsMode,
    apply_plan,
    plan_restore,
    restore_error,
)
from core.engine.selectors import Selection
from core.errors import ExitCode, UsageError
from core.scaleway.models import REGIONS

# --------------------------------------------------------------------------- progress


class ProgressRenderer:
    """Turns engine events into a rich progress bar on stderr (only on a terminal); warnings
    are always printed on stderr, one line each."""

    def __init__(self, *, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressRenderer:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[extra]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("starting", total=None, extra="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.EngineWarning):
            self._print(f"warning: {event.message}")
            return
        if self._progress is None:
            return
        if isinstance(event, ev.Phase):
            self._progress.update(self._task, description=event.detail or event.name)
        elif isinstance(event, ev.Progress):
            extra = []
            if event.bytes:
                extra.append(human_bytes(event.bytes))
            if event.errors:
                extra.append(f"{event.errors} error(s)")
            self._progress.update(
                self._task,
                total=max(event.total, event.done) or None,
                completed=event.done,
                extra=", ".join(extra),
            )

    def _print(self, line: str) -> None:
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr)


# --------------------------------------------------------------------------- registration


def _region(value: str) -> str:
    if value not in REGIONS:
        raise argparse.ArgumentTypeError(f"unknown region {value!r} (use {', '.join(REGIONS)})")
    return value


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _add_common(parser: argparse.ArgumentParser) -> None:
    add_profile_argument(parser)
    add_store_arguments(parser)
    add_json_argument(parser)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = sub.add_parser(
        "backup",
        help="back up Secret Manager secrets into a new snapshot",
        description=(
            "Back up the secrets of one or more projects and regions into one snapshot. Only "
            "versions the previous snapshot of the same source lacks are read."
        ),
    )
    backup.add_argument(
        "--region",
        dest="regions",
        action="extend",
        nargs="+",
        type=_region,
        metavar="R",
        default=[],
        help="region(s) to back up (default: the credentials' region)",
    )
    backup.add_argument("--all-regions", action="store_true", help="back up every region")
    backup.add_argument(
        "--project",
        dest="projects",
        action="extend",
        nargs="+",
        metavar="ID",
        default=[],
        help="project id(s) to back up (default: the credentials' default project)",
    )
    backup.add_argument(
        "--all-projects",
        action="store_true",
        help="back up every project of the organization (needs ProjectReadOnly)",
    )
    backup.add_argument(
        "--secret",
        dest="secrets",
        action="extend",
        nargs="+",
        metavar="SELECTOR",
        default=[],
        help="only secrets matching a selector: a glob on path/name ('/prod/db/*'), a name "
        "glob ('password') or 'id:<secret id>' (repeatable)",
    )
    backup.add_argument(
        "--tag",
        dest="tags",
        action="extend",
        nargs="+",
        metavar="T",
        default=[],
        help="only secrets carrying this tag (every given tag); also recorded as snapshot tags",
    )
    backup.add_argument(
        "--snapshot-tag",
        dest="snapshot_tags",
        action="append",
        metavar="T",
        default=[],
        help="a tag for the snapshot itself, without filtering secrets (repeatable)",
    )
    backup.add_argument(
        "--environment",
        metavar="E",
        help="SLA environment recorded in the snapshot (e.g. production)",
    )
    backup.add_argument(
        "--data-class",
        metavar="C",
        help="data classification recorded in the snapshot (e.g. confidential)",
    )
    backup.add_argument(
        "--include-disabled",
        action="store_true",
        help="also read disabled versions' data: each is enabled, read, and disabled again "
        "(this changes the source briefly and needs SecretManagerSecretWrite)",
    )
    backup.add_argument(
        "--rescan",
        action="store_true",
        help="list the versions of every secret, even unchanged ones (catches version status "
        "changes that the API does not show on the secret)",
    )
    backup.add_argument(
        "--concurrency",
        type=_positive,
        default=32,
        metavar="N",
        help="maximum requests in flight (adaptive below it; default 32)",
    )
    backup.add_argument("--description", default="", help="a note stored with the snapshot")
    _add_common(backup)
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser(
        "restore",
        help="restore secrets from a snapshot (all, some, or one version)",
        description=(
            "Restore a snapshot's secrets into the same or another project/region. A plan is "
            "made first (see --dry-run); running the same restore twice changes nothing."
        ),
    )
    restore.add_argument(
        "snapshot", metavar="SNAPSHOT", help="snapshot id, unique id prefix, or 'latest'"
    )
    restore.add_argument(
        "--secret",
        dest="secrets",
        action="append",
        metavar="SELECTOR",
        default=[],
        help="only secrets matching this selector (glob on path/name, name glob, id:<id>); repeatable",
    )
    restore.add_argument(
        "--versions",
        choices=[VersionsMode.ALL, VersionsMode.LATEST],
        default=VersionsMode.ALL,
        help="restore every version (default) or only the latest",
    )
    restore.add_argument(
        "--revision", type=_positive, metavar="N", help="restore only revision N (one old value)"
    )
    restore.add_argument(
        "--to-project", metavar="ID", help="destination project (default: the source's)"
    )
    restore.add_argument(
        "--to-region", type=_region, metavar="R", help="destination region (default: the source's)"
    )
    restore.add_argument(
        "--on-conflict",
        choices=[str(o) for o in OnConflict],
        default=str(OnConflict.NEW_VERSION),
        help="when an existing secret's latest data differs: skip it, add a new version "
        "(default), or fail without changing anything",
    )
    restore.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    restore.add_argument(
        "--verify",
        action="store_true",
        help="read every restored version back and compare its CRC32",
    )
    restore.add_argument(
        "--project",
        metavar="ID",
        help="with 'latest': the newest snapshot of this project; also restricts the secrets to it",
    )
    restore.add_argument(
        "--region",
        type=_region,
        metavar="R",
        help="with 'latest': the newest snapshot of this region; also restricts the secrets to it",
    )
    restore.add_argument(
        "--concurrency",
        type=_positive,
        default=32,
        metavar="N",
        help="secrets restored at once (default 32)",
    )
    _add_common(restore)
    restore.set_defaults(func=cmd_restore)

    copy = sub.add_parser(
        "copy",
        help="copy secrets from one project/region to another (through a snapshot)",
        description=(
            "Back up the source (a snapshot tagged 'copy') and restore it into the "
            "destination, with restore's plan, selection and conflict policy."
        ),
    )
    copy.add_argument(
        "--project", metavar="ID", help="source project (default: the credentials' project)"
    )
    copy.add_argument(
        "--region",
        type=_region,
        metavar="R",
        help="source region (default: the credentials' region)",
    )
    copy.add_argument(
        "--to-project", metavar="ID", help="destination project (default: the source's)"
    )
    copy.add_argument(
        "--to-region", type=_region, metavar="R", help="destination region (default: the source's)"
    )
    copy.add_argument(
        "--secret",
        dest="secrets",
        action="append",
        metavar="SELECTOR",
        default=[],
        help="only secrets matching this selector; repeatable",
    )
    copy.add_argument(
        "--versions",
        choices=[VersionsMode.ALL, VersionsMode.LATEST],
        default=VersionsMode.ALL,
        help="copy every version (default) or only the latest",
    )
    copy.add_argument(
        "--on-conflict",
        choices=[str(o) for o in OnConflict],
        default=str(OnConflict.NEW_VERSION),
        help="when an existing secret differs: skip, new-version (default) or fail",
    )
    copy.add_argument(
        "--dry-run", action="store_true", help="show the plan; read the source, write nothing"
    )
    copy.add_argument(
        "--verify", action="store_true", help="read every copied version back and compare its CRC32"
    )
    copy.add_argument(
        "--include-disabled",
        action="store_true",
        help="also copy disabled versions' data (enable, read, disable again)",
    )
    copy.add_argument(
        "--concurrency",
        type=_positive,
        default=32,
        metavar="N",
        help="maximum requests in flight (default 32)",
    )
    _add_common(copy)
    copy.set_defaults(func=cmd_copy)


# --------------------------------------------------------------------------- helpers


@contextmanager
def _renderer(args: argparse.Namespace) -> Iterator[ProgressRenderer]:
    with ProgressRenderer() as renderer:
        yield renderer


def _client(creds: Any, args: argparse.Namespace) -> Any:
    """The API client for these credentials, bounded by ``--concurrency``."""
    return creds.client(max_concurrency=args.concurrency)


async def _credentials(args: argparse.Namespace) -> Any:
    return await asyncio.to_thread(credentials_from_args, args)


def _print_backup(result: BackupResult) -> None:
    sid = result.snapshot_id[:8] if result.snapshot_id else "-"
    projects = sorted({s.project_id for s in result.sources})
    regions = sorted({s.region for s in result.sources})
    print(f"snapshot {sid} saved ({result.status})")
    print(
        f"  sources:  {len(projects)} project(s) x {len(regions)} region(s) ({', '.join(regions)})"
    )
    print(
        f"  secrets:  {result.secrets} ({result.secrets_unchanged} unchanged), "
        f"versions: {result.versions} (read {result.versions_read}, reused {result.versions_reused})"
    )
    print(
        f"  data:     {human_bytes(result.bytes_read)} read, {human_bytes(result.bytes_added)} "
        f"added to the store in {result.duration_seconds:.1f} s"
    )
    if result.parent:
        print(f"  parent:   {result.parent[:8]}")
    for err in result.errors:
        print(f"  error:    {err.message}")


def _print_restore(result: RestoreResult, *, title: str = "restore") -> None:
    actions = result.plan.actions
    if result.dry_run:
        print(f"{title} plan of snapshot {result.plan.snapshot_id[:8]} (dry run: nothing changed)")
    else:
        print(f"{title} of snapshot {result.plan.snapshot_id[:8]}: {result.status}")
    if not actions:
        print("  nothing selected")
        return
    width = max(len(str(a.action)) for a in actions)
    for a in actions:
        revs = ",".join(str(v.revision) for v in a.versions) or "-"
        where = f"{a.project_id[:8]}/{a.region}"
        line = f"  {a.action!s:<{width}}  {a.outcome!s:<9} {a.record.full_path}  -> {where}  rev {revs}"
        if a.error:
            line += f"  ({a.error})"
        elif a.detail and a.action in (Action.SKIP, Action.CONFLICT):
            line += f"  ({a.detail})"
        print(line)
    s = result.summary()
    print(
        f"  {s['secrets']} secret(s): {s['planned_create']} create, {s['planned_recover']} recover, "
        f"{s['planned_add_version']} add version, {s['planned_skip_identical']} identical, "
        f"{s['planned_skip']} skipped, {s['planned_conflict']} conflict(s); "
        f"{s['versions_added']} version(s) added"
        + (f", {s['verified']} verified" if result.verify and not result.dry_run else "")
    )


def _finish_restore(result: RestoreResult, args: argparse.Namespace, title: str) -> int:
    code = result.exit_code
    if result.status == "conflict":
        print(
            f"secret-kloset: error: {len(result.plan.conflicts)} conflict(s) with "
            "--on-conflict fail",
            file=sys.stderr,
        )
    err = restore_error(result)
    if err is not None:
        print(f"secret-kloset: error: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
    return int(code)


# --------------------------------------------------------------------------- commands


def cmd_backup(args: argparse.Namespace) -> int:
    selection = Selection.parse(args.secrets)
    if args.all_regions and args.regions:
        raise UsageError("--region and --all-regions cannot be combined", hint="use one of them")
    if args.all_projects and args.projects:
        raise UsageError("--project and --all-projects cannot be combined", hint="use one of them")
    options = BackupOptions(
        regions=tuple(args.regions),
        all_regions=args.all_regions,
        projects=tuple(args.projects),
        all_projects=args.all_projects,
        selection=selection,
        secret_tags=tuple(args.tags),
        snapshot_tags=tuple(args.snapshot_tags),
        environment=args.environment,
        data_class=args.data_class,
        include_disabled=args.include_disabled,
        rescan=args.rescan,
        concurrency=args.concurrency,
        description=args.description,
    )

    async def main() -> BackupResult:
        creds = await _credentials(args)
        store = await open_store(args)
        async with _client(creds, args) as client:
            with _renderer(args) as renderer:
                return await run_backup(
                    client,
                    store,
                    options,
                    organization_id=creds.organization_id,
                    default_project_id=creds.default_project_id,
                    default_region=creds.default_region,
                    on_event=renderer,
                )

    result = run_async(main())
    if args.json:
        print_json(result.to_json())
    else:
        _print_backup(result)
    err = backup_error(result)
    if err is not None:
        print(f"secret-kloset: error: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
        return int(ExitCode.PARTIAL)
    return int(ExitCode.OK)


def cmd_restore(args: argparse.Namespace) -> int:
    selection = Selection.parse(args.secrets)
    if args.revision is not None and args.versions == VersionsMode.LATEST:
        raise UsageError(
            "--revision and --versions latest cannot be combined", hint="use one of them"
        )

    async def main() -> RestoreResult:
        creds = await _credentials(args)
        store = await open_store(args)
        header = await store.resolve_snapshot(
            args.snapshot, project=args.project, region=args.region
        )
        records = await store.read_tree(header.id)
        if args.project:
            records = [r for r in records if r.project_id == args.project]
        if args.region:
            records = [r for r in records if r.region == args.region]
        async with _client(creds, args) as client:
            with _renderer(args) as renderer:
                plan = await plan_restore(
                    client,
                    store,
                    header,
                    records=records,
                    selection=selection,
                    versions=args.versions,
                    revision=args.revision,
                    to_project=args.to_project,
                    to_region=args.to_region,
                    on_conflict=args.on_conflict,
                    organization_id=creds.organization_id,
                    on_event=renderer,
                )
                return await apply_plan(
                    client,
                    store,
                    plan,
                    verify=args.verify,
                    dry_run=args.dry_run,
                    concurrency=args.concurrency,
                    on_event=renderer,
                )

    try:
        result = run_async(main())
    except (RestoreInterrupted, RestoreConflict) as stopped:
        if stopped.result is not None:
            _emit_restore(stopped.result, args, "restore")
        raise
    _emit_restore(result, args, "restore")
    return _finish_restore(result, args, "restore")


def _emit_restore(result: RestoreResult, args: argparse.Namespace, title: str) -> None:
    if args.json:
        print_json(result.to_json())
    else:
        _print_restore(result, title=title)


def cmd_copy(args: argparse.Namespace) -> int:
    selection = Selection.parse(args.secrets)

    async def main() -> Any:
        creds = await _credentials(args)
        project = args.project or creds.default_project_id
        if not project:
            raise UsageError("copy needs a source project", hint="pass --project ID")
        region = args.region or creds.default_region
        if not args.to_project and not args.to_region:
            raise UsageError(
                "copy needs a destination", hint="pass --to-project ID and/or --to-region R"
            )
        store = await open_store(args)
        async with _client(creds, args) as client:
            with _renderer(args) as renderer:
                return await run_copy(
                    client,
                    store,
                    project_id=project,
                    region=region,
                    to_project=args.to_project,
                    to_region=args.to_region,
                    selection=selection,
                    versions=args.versions,
                    on_conflict=args.on_conflict,
                    dry_run=args.dry_run,
                    verify=args.verify,
                    include_disabled=args.include_disabled,
                    concurrency=args.concurrency,
                    organization_id=creds.organization_id,
                    on_event=renderer,
                )

    try:
        result = run_async(main())
    except (RestoreInterrupted, RestoreConflict) as stopped:
        if stopped.result is not None:
            _emit_restore(stopped.result, args, "copy")
        raise
    if args.json:
        print_json(result.to_json())
    else:
        if result.backup is not None:
            _print_backup(result.backup)
        _print_restore(result.restore, title="copy")
    code = _finish_restore(result.restore, args, "copy")
    if code == 0 and result.source_partial:
        print("secret-kloset: error: some source secrets could not be read", file=sys.stderr)
        return int(ExitCode.PARTIAL)
    return code
