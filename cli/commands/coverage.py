"""``secret-kloset coverage``: every project x region the credentials can see, and whether
the policies back it up (``ok``, ``late``, ``uncovered``, ``excluded``)."""

from __future__ import annotations

import argparse

from cli.options import control_plane_options
from cli.parser import SubParsers, add_command


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "coverage",
        run,
        control_plane_options,
        help="which projects x regions the policies back up (ok, late, uncovered)",
    )


def run(args: argparse.Namespace) -> int:
    from cli import jobs_common as jc
    from cli.output import line, print_json
    from cli.store_common import run_async
    from core.engine.jobs.clock import clock_from_env, iso
    from core.errors import ExitCode

    with jc.json_errors(args, {"coverage": []}):
        policy_file = jc.policies(args)
        report = run_async(jc.runner(args, policy_file, clock_from_env()).coverage())
    if args.json:
        print_json(report.to_json())
        return int(ExitCode.OK)
    for item in report.items:
        name = f" ({item.project_name})" if item.project_name else ""
        via = ", ".join(item.policies) or "-"
        last = iso(item.last_success) or "never"
        line(
            f"{item.status:<9} {item.project_id}{name} {item.region}  "
            f"policies: {via}; last success: {last}"
        )
    line(", ".join(f"{v} {k}" for k, v in report.counts().items()))
    jc.warn(report.warnings)
    return int(ExitCode.OK)
