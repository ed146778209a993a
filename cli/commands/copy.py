"""``secret-kloset copy``: copy secrets from one project/region to another, through a
snapshot tagged 'copy', with restore's plan, selection and conflict policy. A destination
region outside the source's residency (the policy file) is refused before anything is read,
unless ``--allow-residency-override`` (``cli.residency``)."""

from __future__ import annotations

import argparse

from cli.options import (
    concurrency_option,
    destination_options,
    json_option,
    profile_option,
    region_arg,
    secret_selector_option,
    store_options,
    uuid_arg,
)
from cli.parser import CommandParser, SubParsers, add_command


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "copy",
        run,
        _arguments,
        help="copy secrets from one project/region to another (through a snapshot)",
        description=(
            "Back up the source (a snapshot tagged 'copy') and restore it into the "
            "destination, with restore's plan, selection and conflict policy."
        ),
    )


def _arguments(p: CommandParser) -> None:
    p.add_argument(
        "--project",
        metavar="ID",
        type=uuid_arg,
        help="source project (default: the credentials' project)",
    )
    p.add_argument(
        "--region",
        type=region_arg,
        metavar="R",
        help="source region (default: the credentials' region)",
    )
    secret_selector_option(p, help="only secrets matching this selector; repeatable")
    destination_options(
        p,
        verb="copy",
        done="copied",
        on_conflict_help="when an existing secret differs: skip, new-version (default) or fail",
        dry_run_help="show the plan; read the source, write nothing",
    )
    p.add_argument(
        "--include-disabled",
        action="store_true",
        help="also copy disabled versions' data (enable, read, disable again)",
    )
    concurrency_option(
        p,
        help="requests in flight to start with (default 32); the adaptive limit grows from there to the client's ceiling (256) while answers are clean, and backs off on throttling",
    )
    profile_option(p)
    store_options(p)
    json_option(p)


def run(args: argparse.Namespace) -> int:
    from cli.commands.restore import report_keys_and_quotas
    from cli.credentials import credentials_async
    from cli.output import print_error, print_json
    from cli.progress import ProgressRenderer
    from cli.reports import finish_restore, print_backup, print_restore, run_restoring
    from cli.residency import check_destination
    from cli.store_common import open_store_for_api
    from core.engine.copy import CopyResult, run_copy
    from core.engine.selectors import Selection
    from core.errors import ExitCode, UsageError
    from core.store.model import SourceInfo

    selection = Selection.parse(args.secrets)

    async def main() -> CopyResult:
        creds = await credentials_async(args)
        project = args.project or creds.default_project_id
        if not project:
            raise UsageError("copy needs a source project", hint="pass --project ID")
        region = args.region or creds.default_region
        if not args.to_project and not args.to_region:
            raise UsageError(
                "copy needs a destination", hint="pass --to-project ID and/or --to-region R"
            )
        check_destination(args, [SourceInfo(project_id=project, region=region)], args.to_region)
        store = await open_store_for_api(args)
        async with creds.client(max_concurrency=args.concurrency) as client:
            with ProgressRenderer() as renderer:
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
                    key_id=args.key_id,
                )

    result = run_restoring(main(), args, "copy")
    if args.json:
        print_json(result.to_json())
    else:
        if result.backup is not None:
            print_backup(result.backup)
        print_restore(result.restore, title="copy")
    code = finish_restore(result.restore)
    report_keys_and_quotas(result.restore)
    if code == 0 and result.source_partial:
        print_error("some source secrets could not be read", None)
        return int(ExitCode.PARTIAL)
    return code
