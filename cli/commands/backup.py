"""``secret-kloset backup``: back up Secret Manager secrets into a new snapshot.

Progress goes to stderr (only on a terminal); ``--json`` prints the result's one document.
Exit codes: 0 ok, 3 partial (the snapshot is then marked partial), and core's error codes.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.options import (
    concurrency_option,
    json_option,
    profile_option,
    region_arg,
    secret_selector_option,
    store_options,
    uuid_arg,
)
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.engine.backup import BackupResult


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "backup",
        run,
        _arguments,
        help="back up Secret Manager secrets into a new snapshot",
        description=(
            "Back up the secrets of one or more projects and regions into one snapshot. Only "
            "versions the previous snapshot of the same source lacks are read."
        ),
    )


def _arguments(p: CommandParser) -> None:
    p.add_argument(
        "--region",
        dest="regions",
        action="extend",
        nargs="+",
        type=region_arg,
        metavar="R",
        default=[],
        help="region(s) to back up (default: the credentials' region)",
    )
    p.add_argument("--all-regions", action="store_true", help="back up every region")
    p.add_argument(
        "--project",
        dest="projects",
        action="extend",
        nargs="+",
        type=uuid_arg,
        metavar="ID",
        default=[],
        help="project id(s) to back up (default: the credentials' default project)",
    )
    p.add_argument(
        "--all-projects",
        action="store_true",
        help="back up every project of the organization (needs ProjectReadOnly)",
    )
    secret_selector_option(
        p,
        several_per_flag=True,
        help="only secrets matching a selector: a glob on path/name ('/prod/db/*'), a name "
        "glob ('password') or 'id:<secret id>' (repeatable)",
    )
    p.add_argument(
        "--tag",
        dest="tags",
        action="extend",
        nargs="+",
        metavar="T",
        default=[],
        help="only secrets carrying this tag (every given tag); also recorded as snapshot tags",
    )
    p.add_argument(
        "--snapshot-tag",
        dest="snapshot_tags",
        action="append",
        metavar="T",
        default=[],
        help="a tag for the snapshot itself, without filtering secrets (repeatable)",
    )
    p.add_argument(
        "--environment",
        metavar="E",
        help="SLA environment recorded in the snapshot (e.g. production)",
    )
    p.add_argument(
        "--data-class",
        metavar="C",
        help="data classification recorded in the snapshot (e.g. confidential)",
    )
    p.add_argument(
        "--include-disabled",
        action="store_true",
        help="also read disabled versions' data: each is enabled, read, and disabled again "
        "(this changes the source briefly and needs SecretManagerSecretWrite)",
    )
    p.add_argument(
        "--rescan",
        action="store_true",
        help="list the versions of every secret, even unchanged ones (catches version status "
        "changes that the API does not show on the secret), and read what the parent "
        "snapshots lend from the store itself, not the local cache (finds damage in the store)",
    )
    concurrency_option(
        p,
        help="requests in flight to start with (default 32); the adaptive limit grows from there to the client's ceiling (256) while answers are clean, and backs off on throttling; with --include-disabled, also the most secrets read at once (their disabled versions enabled meanwhile)",
    )
    p.add_argument("--description", default="", help="a note stored with the snapshot")
    profile_option(p)
    store_options(p)
    json_option(p)


def run(args: argparse.Namespace) -> int:
    from cli.credentials import credentials_async
    from cli.store_common import open_store_for_api, run_async
    from core.engine.selectors import Selection
    from core.errors import ExitCode, UsageError

    selection = Selection.parse(args.secrets)
    if args.all_regions and args.regions:
        raise UsageError("--region and --all-regions cannot be combined", hint="use one of them")
    if args.all_projects and args.projects:
        raise UsageError("--project and --all-projects cannot be combined", hint="use one of them")

    async def main() -> BackupResult:
        creds = await credentials_async(args)
        # the engine is imported while the store's key is derived
        store = await open_store_for_api(args, "core.engine.backup", "cli.progress")
        from cli.progress import ProgressRenderer
        from core.engine.backup import BackupOptions, run_backup

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
        try:
            async with creds.client(max_concurrency=args.concurrency) as client:
                with ProgressRenderer() as renderer:
                    return await run_backup(
                        client,
                        store,
                        options,
                        organization_id=creds.organization_id,
                        default_project_id=creds.default_project_id,
                        default_region=creds.default_region,
                        on_event=renderer,
                    )
        finally:
            # seals the committed tree's records for the next backup (docs/FORMAT.md §22)
            await store.close()

    result = run_async(main())
    from cli.output import print_error, print_json
    from core.engine.backup import backup_error

    if args.json:
        print_json(result.to_json())
    else:
        from cli.reports import print_backup

        print_backup(result)
    err = backup_error(result)
    if err is not None:
        from cli.hints import hint_for, message_for

        print_error(message_for(err), hint_for(err))
        return int(ExitCode.PARTIAL)
    return int(ExitCode.OK)
