"""``secret-kloset restore``: restore secrets from a snapshot (all, some, or one version).

A plan is made first (``--dry-run`` shows it); running the same restore twice changes nothing.
A destination region outside a source's residency (the policy file) is refused before planning,
unless ``--allow-residency-override`` (``cli.residency``).
"""

from __future__ import annotations

import argparse

from cli.options import (
    concurrency_option,
    destination_options,
    json_option,
    positive_int,
    profile_option,
    region_arg,
    secret_selector_option,
    snapshot_argument,
    store_options,
    uuid_arg,
)
from cli.parser import CommandParser, SubParsers, add_command


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "restore",
        run,
        _arguments,
        help="restore secrets from a snapshot (all, some, or one version)",
        description=(
            "Restore a snapshot's secrets into the same or another project/region. A plan is "
            "made first (see --dry-run); running the same restore twice changes nothing."
        ),
    )


def _arguments(p: CommandParser) -> None:
    snapshot_argument(p)
    secret_selector_option(
        p,
        help="only secrets matching this selector (glob on path/name, name glob, id:<id>); repeatable",
    )
    p.add_argument(
        "--revision", type=positive_int, metavar="N", help="restore only revision N (one old value)"
    )
    destination_options(
        p,
        verb="restore",
        done="restored",
        on_conflict_help="when an existing secret's latest data differs: skip it, add a new "
        "version (default), or fail without changing anything",
        dry_run_help="show the plan, change nothing",
    )
    p.add_argument(
        "--project",
        metavar="ID",
        type=uuid_arg,
        help="with 'latest': the newest snapshot of this project; also restricts the secrets to it",
    )
    p.add_argument(
        "--region",
        type=region_arg,
        metavar="R",
        help="with 'latest': the newest snapshot of this region; also restricts the secrets to it",
    )
    concurrency_option(p, help="secrets restored at once (default 32)")
    profile_option(p)
    store_options(p)
    json_option(p)


def run(args: argparse.Namespace) -> int:
    from cli.credentials import credentials_async
    from cli.progress import ProgressRenderer
    from cli.reports import emit_restore, finish_restore, run_restoring
    from cli.residency import check_destination
    from cli.store_common import open_store
    from core.engine.restore import (
        RestoreResult,
        VersionsMode,
        apply_plan,
        plan_restore,
    )
    from core.engine.selectors import Selection
    from core.errors import UsageError

    selection = Selection.parse(args.secrets)
    if args.revision is not None and args.versions == VersionsMode.LATEST:
        raise UsageError(
            "--revision and --versions latest cannot be combined", hint="use one of them"
        )

    async def main() -> RestoreResult:
        creds = await credentials_async(args)
        store = await open_store(args)
        header = await store.resolve_snapshot(
            args.snapshot, project=args.project, region=args.region
        )
        check_destination(
            args,
            [
                s
                for s in header.sources
                if (not args.project or s.project_id == args.project)
                and (not args.region or s.region == args.region)
            ],
            args.to_region,
            tags=header.tags,
        )
        records = await store.read_tree(header.id)
        if args.project:
            records = [r for r in records if r.project_id == args.project]
        if args.region:
            records = [r for r in records if r.region == args.region]
        async with creds.client(max_concurrency=args.concurrency) as client:
            with ProgressRenderer() as renderer:
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

    result = run_restoring(main(), args, "restore")
    emit_restore(result, args, "restore")
    return finish_restore(result)
