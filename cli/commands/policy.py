"""``secret-kloset policy list|show NAME``: the policies of the policy file and what they do
(sources matched, RPO, how far back one can restore, next due time, last result)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.options import control_plane_options
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from cli.jobs_common import Doc
    from core.engine.jobs.clock import Clock
    from core.engine.jobs.history import History
    from core.engine.jobs.policies import PolicyFile


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "policy",
        None,
        _actions,
        help="list and show backup policies (RPO, retention, next due time)",
        description="Show the policies of the policy file and what they do.",
    )


def _actions(p: CommandParser) -> None:
    psub = p.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    add_command(
        psub,
        "list",
        run_list,
        control_plane_options,
        help="every policy, its sources, RPO and next due time",
    )
    add_command(psub, "show", run_show, _show_arguments, help="one policy in detail")


def _show_arguments(p: CommandParser) -> None:
    p.add_argument("name", metavar="NAME")
    control_plane_options(p)


def policy_doc(
    policy_file: PolicyFile, name: str, histories: dict[str, History], clock: Clock
) -> Doc:
    """One policy's ``policy show --json`` document (also each item of ``policy list``)."""
    from core.engine.jobs.clock import iso
    from core.engine.jobs.policies import format_duration

    p = policy_file.policy(name)
    history = histories.get(p.store)
    now = clock.now()
    jobs: list[Doc] = []
    for s in policy_file.sources_of(p):
        last = history.last_run(p.name, s.name) if history else None
        due = history.next_due(p.name, s.name, p.every) if history else None
        jobs.append(
            {
                "source": s.name,
                "next_due": iso(due if due is not None and due > now else now),
                "due": due is None or due <= now,
                "last_success": iso(history.last_success(p.name, s.name)) if history else None,
                "last_result": None
                if last is None
                else {
                    "id": last.get("id"),
                    "status": last.get("status"),
                    "snapshot_id": last.get("snapshot_id"),
                    "finished_at": last.get("finished_at"),
                },
            }
        )
    window = p.keep.window(p.every) if not p.keep.is_empty() else None
    return {
        "name": p.name,
        "store": p.store,
        "match": {
            "environment": p.match.environment,
            "data_class": p.match.data_class,
            "tags": list(p.match.tags),
        },
        "every": format_duration(p.every),
        "rpo_seconds": int(p.every.total_seconds()),
        "keep": p.keep.to_json(),
        "restore_window": format_duration(window) if window is not None else None,
        "restore_window_seconds": int(window.total_seconds()) if window is not None else None,
        "check": p.check,
        "sync_to": p.sync_to,
        "drill": None
        if p.drill is None
        else {
            "every": format_duration(p.drill.every),
            "project": p.drill.project,
            "region": p.drill.region,
            "sample": p.drill.sample,
        },
        "sources": [s.name for s in policy_file.sources_of(p)],
        "jobs": jobs,
        "next_due": min((str(j["next_due"]) for j in jobs), default=None),
        "last_result": max(
            (j["last_result"] for j in jobs if j["last_result"]),
            key=lambda r: str(r.get("finished_at") or ""),
            default=None,
        ),
        "last_success": max(
            (str(j["last_success"]) for j in jobs if j["last_success"]), default=None
        ),
    }


def _print_policy(doc: Doc) -> None:
    from cli.output import line

    line(f"policy {doc['name']} -> store {doc['store']}")
    line(f"  RPO: every {doc['every']}; restore back: {doc['restore_window'] or 'latest only'}")
    line(f"  check: {doc['check']}; sync to: {doc['sync_to'] or '-'}")
    if doc["drill"]:
        d = doc["drill"]
        line(
            f"  drill: every {d['every']}, {d['sample']} secret(s) into {d['project']}/{d['region']}"
        )
    if not doc["jobs"]:
        line("  no source matches")
    for job in doc["jobs"]:
        last = job["last_result"]
        result = f"{last['status']} at {last['finished_at']}" if last else "never run"
        line(f"  source {job['source']}: next due {job['next_due']}; last: {result}")


def run_list(args: argparse.Namespace) -> int:
    from cli import jobs_common as jc
    from cli.output import line, print_json
    from core.engine.jobs.clock import clock_from_env
    from core.errors import ExitCode

    with jc.json_errors(args, {"policies": []}):
        policy_file = jc.policies(args)
        clock = clock_from_env()
        histories, warnings = jc.histories(args, policy_file, clock)
        docs = [policy_doc(policy_file, p.name, histories, clock) for p in policy_file.policies]
    if args.json:
        print_json({"policies": docs, "warnings": warnings})
    else:
        if not docs:
            line(f"no policy in {policy_file.path}")
        for doc in docs:
            _print_policy(doc)
        jc.warn(warnings)
    return int(ExitCode.OK)


def run_show(args: argparse.Namespace) -> int:
    from cli import jobs_common as jc
    from cli.output import print_json
    from core.engine.jobs.clock import clock_from_env
    from core.errors import ExitCode

    with jc.json_errors(args, {"policy": None}):
        policy_file = jc.policies(args)
        policy_file.policy(args.name)
        clock = clock_from_env()
        histories, warnings = jc.histories(args, policy_file, clock)
        doc = policy_doc(policy_file, args.name, histories, clock)
    if args.json:
        print_json({"policy": doc, "warnings": warnings})
    else:
        _print_policy(doc)
        jc.warn(warnings)
    return int(ExitCode.OK)
