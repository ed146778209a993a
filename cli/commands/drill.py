"""``secret-kloset drill [--policy NAME]``: restore a sample of the latest snapshot into the
policy's scratch project, verify it by CRC32, delete what was created.

It refuses a drill project that is a source, that holds secrets it did not create, or whose
region is outside the source's residency. Exit 0 when every drill succeeded, 3 otherwise.
"""

from __future__ import annotations

import argparse

from cli.options import control_plane_options
from cli.parser import CommandParser, SubParsers, add_command


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "drill",
        run,
        _arguments,
        help="restore a sample into the scratch project, verify it, delete it",
        description=(
            "Restore 'sample' secrets (latest versions) of the latest snapshot into the "
            "policy's drill project, verify them by CRC32, then delete what was created."
        ),
    )


def _arguments(p: CommandParser) -> None:
    p.add_argument("--policy", metavar="NAME", help="only this policy's drill")
    control_plane_options(p)


def run(args: argparse.Namespace) -> int:
    from cli import jobs_common as jc
    from cli.output import line, print_json
    from cli.store_common import run_async
    from core.engine.jobs.clock import clock_from_env

    with jc.json_errors(args, {"drills": []}):
        policy_file = jc.policies(args)
        report = run_async(jc.runner(args, policy_file, clock_from_env()).drill(policy=args.policy))
    docs = [j.to_json() for j in report.jobs]
    if args.json:
        print_json({"drills": docs, "warnings": report.warnings})
    else:
        for job in docs:
            step = job["steps"][0] if job["steps"] else {"details": {}, "errors": []}
            d = step["details"]
            line(
                f"drill {job['policy']}/{job['source']}: {job['status']} "
                f"({d.get('verified', 0)} of {d.get('chosen', 0)} verified, "
                f"{d.get('deleted', 0)} cleaned up)"
            )
            for err in step["errors"]:
                line(f"  {err}")
    jc.summarise_failures(report, "drill")
    return report.exit_code
