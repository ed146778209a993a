"""``secret-kloset restore``: restore secrets from a snapshot (all, some, or one version).

A plan is made first (``--dry-run`` shows it); running the same restore twice changes nothing.
The snapshot is named (``SNAPSHOT``), or chosen by time (``--at``: the newest one taken at or
before it), or, for ``--secret S --revision N``, the newest snapshot holding that revision's
data (said on stderr). A secret whose versions would pass the destination's 20-version cap is
refused unless ``--newest-that-fit``.
A destination region outside a source's residency (the policy file) is refused before planning,
unless ``--allow-residency-override`` (``cli.residency``).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from core.credentials.resolve import Credentials
    from core.engine.restore import RestoreResult
    from core.engine.selectors import Selection
    from core.store import SecretRecord, SnapshotHeader, Store


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
    snapshot_argument(
        p,
        optional=True,
        help="snapshot id, unique id prefix, or 'latest'; leave it out with --at TIME, or with "
        "--secret S --revision N (the newest snapshot holding that revision)",
    )
    p.add_argument(
        "--at",
        metavar="TIME",
        help="restore from the newest snapshot taken at or before TIME (RFC 3339, e.g. "
        "2026-03-01T12:00:00Z, or an age such as 2d, 3h, 1w), of --project/--region",
    )
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
    p.add_argument(
        "--newest-that-fit",
        action="store_true",
        help="when a destination secret would pass its 20-version cap, restore only the newest "
        "versions that fit (default: refuse that secret, restore the others)",
    )
    concurrency_option(
        p,
        help="secrets restored at once, and the requests in flight to start with (default 32); the adaptive limit grows from there to the client's ceiling (256) while answers are clean, and backs off on throttling",
    )
    profile_option(p)
    store_options(p)
    json_option(p)
    p.check(_check_source)


def _check_source(args: argparse.Namespace) -> str | None:
    """Exactly one way to choose the snapshot."""
    if args.snapshot is not None and args.at is not None:
        return "SNAPSHOT and --at cannot be combined (--at chooses the snapshot)"
    if args.snapshot is None and args.at is None and not (args.secrets and args.revision):
        return (
            "no snapshot given: name one (SNAPSHOT: an id, a prefix or 'latest'), choose it "
            "by time with --at TIME, or give --secret S --revision N to take that revision "
            "from the newest snapshot holding it"
        )
    return None


def run(args: argparse.Namespace) -> int:
    from cli.credentials import credentials_async
    from cli.output import local_time, say
    from cli.progress import ProgressRenderer
    from cli.reports import emit_restore, finish_restore, run_restoring
    from cli.residency import check_destination
    from cli.store_common import open_store_for_api
    from core.engine.concurrency import secrets_at_once
    from core.engine.history import find_revision, parse_when, resolve_at
    from core.engine.restore import (
        VersionsMode,
        apply_plan,
        plan_restore,
    )
    from core.engine.selectors import Selection
    from core.errors import UsageError
    from core.store.history_index import close_history_index

    selection = Selection.parse(args.secrets)
    if args.revision is not None and args.versions == VersionsMode.LATEST:
        raise UsageError(
            "--revision and --versions latest cannot be combined", hint="use one of them"
        )

    when = parse_when(args.at) if args.at is not None else None

    async def source(store: Store) -> tuple[SnapshotHeader, list[SecretRecord], Selection]:
        """The snapshot, its records to consider, and the selection to plan with."""
        if args.snapshot is None and when is None:
            header, record = await find_revision(
                store, selection, args.revision, project=args.project, region=args.region
            )
            say(
                f"revision {args.revision} of secret {record.secret_id}: from snapshot "
                f"{header.short_id} ({local_time(header.time)})"
            )
            # by id: the secret may have had another path or name in that snapshot
            return header, [record], Selection.parse([f"id:{record.secret_id}"])
        if when is not None:
            header = await resolve_at(store, when, args.project, args.region)
        else:
            header = await store.resolve_snapshot(
                args.snapshot, project=args.project, region=args.region
            )
        records = await store.read_tree(header.id)
        if args.project:
            records = [r for r in records if r.project_id == args.project]
        if args.region:
            records = [r for r in records if r.region == args.region]
        return header, records, selection

    async def main() -> RestoreResult:
        creds = await credentials_async(args)
        store = await open_store_for_api(args)
        try:
            return await restore(creds, store)
        finally:
            close_history_index(store)
            await store.close()

    async def restore(creds: Credentials, store: Store) -> RestoreResult:
        header, records, chosen = await source(store)
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
        async with creds.client(max_concurrency=args.concurrency) as client:
            with ProgressRenderer() as renderer:
                plan = await plan_restore(
                    client,
                    store,
                    header,
                    records=records,
                    selection=chosen,
                    versions=args.versions,
                    revision=args.revision,
                    to_project=args.to_project,
                    to_region=args.to_region,
                    on_conflict=args.on_conflict,
                    organization_id=creds.organization_id,
                    on_event=renderer,
                    newest_that_fit=args.newest_that_fit,
                    key_id=args.key_id,
                )
                return await apply_plan(
                    client,
                    store,
                    plan,
                    verify=args.verify,
                    dry_run=args.dry_run,
                    concurrency=secrets_at_once(client, args.concurrency),
                    on_event=renderer,
                )

    result = run_restoring(main(), args, "restore")
    emit_restore(result, args, "restore")
    code = finish_restore(result, fit_flag="--newest-that-fit")
    report_keys_and_quotas(result)
    return code


def report_keys_and_quotas(result: RestoreResult) -> None:
    """Say on stderr which created secrets lost their Key Manager key (it cannot follow to
    another project or region) and, once, which quota stopped secrets from being written."""
    from cli.output import print_error, say
    from core.engine.restore import Action
    from core.engine.restore.model import QuotaText, quota_name

    quotas: dict[str, list[QuotaText]] = {}
    for a in result.actions:
        if isinstance(a.error, QuotaText):
            quotas.setdefault(a.error.resource, []).append(a.error)
    for resource, errors in quotas.items():
        first = errors[0]
        of = f" ({first.current} of {first.quota})" if first.quota is not None else ""
        print_error(
            f"{len(errors)} secret(s) could not be written: {quota_name(resource)} is reached{of}",
            f"delete {'versions' if resource == 'secret_versions' else 'secrets'} you no longer "
            "need, or ask Scaleway support to raise the quota; then run the same command again: "
            "what is already there is skipped",
        )
    dropped = [
        a
        for a in result.actions
        if a.action == Action.CREATE and a.key_id_dropped and str(a.outcome) in ("ok", "planned")
    ]
    if dropped:
        verb = "would be" if result.dry_run else "were"
        say(
            f"warning: {len(dropped)} secret(s) {verb} created without their Key Manager key "
            "(a key cannot follow to another project or region); pass --key-id ID to create "
            "them with a key of the destination"
        )
