"""``secret-kloset jobs [--limit N]``: the job history, newest first.

Job records live in the stores, encrypted like snapshots, so any machine that opens a store
sees its history. Without a policy file (and without ``--store``), the history of the store
this machine uses.
"""

from __future__ import annotations

import argparse

from cli.options import control_plane_options, positive_int
from cli.parser import CommandParser, SubParsers, add_command


def register(sub: SubParsers) -> None:
    add_command(sub, "jobs", run, _arguments, help="job history, newest first")


def _arguments(p: CommandParser) -> None:
    p.add_argument("--limit", type=positive_int, default=20, metavar="N", help="at most N jobs")
    p.add_argument(
        "--store",
        metavar="S",
        help="read this store's history (default without a policy file: the usual store)",
    )
    control_plane_options(p)


def run(args: argparse.Namespace) -> int:
    from cli import jobs_common as jc
    from cli.output import line, print_json
    from cli.store_common import open_store, resolve_store_location, run_async
    from core.engine.jobs.clock import clock_from_env
    from core.engine.jobs.policies import default_policy_path
    from core.errors import ExitCode
    from core.store.jobrecords import JobRecords

    async def store_history() -> list[jc.Doc]:
        store = await open_store(args)
        try:
            return await JobRecords(store).all()
        finally:
            await store.close()

    warnings: list[str] = []
    with jc.json_errors(args, {"jobs": []}):
        if not args.store and not args.policies and not default_policy_path().exists():
            # No policy file here: the history of the store this machine uses (any machine
            # that opens the store sees it).
            args.store = resolve_store_location(args)
        if args.store:
            records = run_async(store_history())
        else:
            histories, warnings = jc.histories(args, jc.policies(args), clock_from_env())
            records = [r for h in histories.values() for r in h.records]
            records.sort(key=lambda r: (str(r.get("started_at") or ""), r["id"]), reverse=True)
    records = records[: args.limit]
    if args.json:
        print_json({"jobs": records, "warnings": warnings})
    else:
        if not records:
            line("no job has run yet")
        jc.print_jobs(records)
        jc.warn(warnings)
    return int(ExitCode.OK)
