"""``secret-kloset run [--due | --policy NAME | --source NAME]``: run the policies' jobs.

A job is backup of the source, forget by ``keep``, check, sync, drill (when due). Exit 0 when
every job succeeded, 3 when some are partial or failed, 1 on an error before any job (2 for a
bad policy file or an unknown policy/source).
"""

from __future__ import annotations

import argparse

from cli.options import concurrency_option, control_plane_options
from cli.parser import CommandParser, SubParsers, add_command


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "run",
        run,
        _arguments,
        help="run backup jobs (all, the due ones, or one policy/source)",
        description=(
            "Run jobs: backup of the source, forget by keep, check, sync, drill when due. "
            "Exit 0 when all succeed, 3 when some are partial or failed, 1 on an error "
            "before any job."
        ),
    )


def _arguments(p: CommandParser) -> None:
    p.add_argument("--due", action="store_true", help="only the jobs that are due")
    p.add_argument("--policy", metavar="NAME", help="only this policy's jobs")
    p.add_argument("--source", metavar="NAME", help="only this source's jobs")
    concurrency_option(p, help="requests in flight", default=16)
    control_plane_options(p)


def run(args: argparse.Namespace) -> int:
    from cli import jobs_common as jc
    from cli.hints import hint_for
    from cli.output import line, print_error, print_json
    from cli.store_common import run_async
    from core.engine.jobs.clock import clock_from_env
    from core.errors import ExitCode, KlosetError

    def failed(err: KlosetError) -> dict[str, object]:
        return {"jobs": [], "warnings": [], "errors": [err.message]}

    try:
        policy_file = jc.policies(args)
        runner = jc.runner(args, policy_file, clock_from_env())
        runner.select(policy=args.policy, source=args.source)
    except KlosetError as err:  # a bad policy file, an unknown policy or source: its code
        if args.json:
            jc.print_error_document(failed(err), err)
        raise
    try:
        report = run_async(runner.run(due=args.due, policy=args.policy, source=args.source))
    except KlosetError as err:
        # An error before any job: say so once, exit 1 (the contract of 'run').
        if args.json:
            jc.print_error_document(failed(err), err, int(ExitCode.ERROR))
        print_error(err.message, hint_for(err))
        return int(ExitCode.ERROR)
    if args.json:
        print_json(report.to_json())
    else:
        if not report.jobs:
            line("nothing to run" + (" (no job is due)" if args.due else ""))
        jc.print_jobs([j.to_json() for j in report.jobs])
    jc.warn([*(report.warnings if not args.json else []), *report.late_warnings])
    jc.summarise_failures(report)
    return report.exit_code
