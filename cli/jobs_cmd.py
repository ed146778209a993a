"""The control plane's commands: ``policy``, ``run``, ``jobs``, ``coverage``, ``schedule``,
``drill`` (docs/OPERATIONS.md).

Every command reads the policy file (``--policies FILE``, default
``$XDG_CONFIG_HOME/secret-kloset/policies.toml``); a bad file exits 2 naming file, line and
key, before anything runs. With ``--json`` exactly one JSON document is printed, also on
failure (then with an ``error`` key). ``run`` exits 0 when every job succeeded, 3 when some
are partial or failed, 1 on an error before any job.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.options import json_option as add_json_argument
from cli.output import print_json
from cli.store_common import open_store, run_async
from core.engine.jobs import schedule as sched
from core.engine.jobs.clock import Clock, clock_from_env, iso
from core.engine.jobs.history import History
from core.engine.jobs.policies import (
    PolicyFile,
    PolicyFileError,
    StoreSpec,
    default_policy_path,
    format_duration,
    load_policies,
)
from core.engine.jobs.runner import CredentialsLike, Runner, RunReport
from core.errors import ExitCode, KlosetError

# --------------------------------------------------------------------------- environment


class CliEnvironment:
    """Credentials and stores resolved exactly as the other commands resolve them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    async def credentials(self, profile: str | None) -> CredentialsLike:
        from core.credentials.resolve import resolve_credentials

        name = profile or getattr(self.args, "profile", None) or None
        creds: CredentialsLike = await asyncio.to_thread(resolve_credentials, name)
        return creds

    async def open_store(self, spec: StoreSpec) -> Any:
        ns = argparse.Namespace(
            store=spec.location,
            profile=getattr(self.args, "profile", None),
            passphrase_command=getattr(self.args, "passphrase_command", None),
        )
        return await open_store(ns)


def _policies(args: argparse.Namespace) -> PolicyFile:
    return load_policies(getattr(args, "policies", None))


def _runner(args: argparse.Namespace, policies: PolicyFile, clock: Clock) -> Runner:
    def progress(line: str) -> None:
        if sys.stderr.isatty():
            print(line, file=sys.stderr)

    return Runner(
        policies,
        CliEnvironment(args),
        clock,
        concurrency=getattr(args, "concurrency", 16),
        on_progress=progress,
        contain_bugs=not os.environ.get("SECRET_KLOSET_DEBUG"),
    )


def _error_doc(err: KlosetError) -> dict[str, Any]:
    doc: dict[str, Any] = {"message": err.message, "hint": err.hint}
    if isinstance(err, PolicyFileError):
        doc.update({"file": str(err.path), "line": err.line, "key": err.key})
    return doc


def _guarded(
    handler: Callable[[argparse.Namespace], int], empty: Callable[[], dict[str, Any]]
) -> Callable[[argparse.Namespace], int]:
    """With ``--json``, an error still prints one document (``empty()`` plus ``error``);
    the message then goes to stderr and the exit code is the error's."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except KlosetError as err:
            if getattr(args, "json", False):
                print_json({**empty(), "error": _error_doc(err)})
            raise

    return run


# --------------------------------------------------------------------------- registration


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _common(parser: argparse.ArgumentParser, *, store_access: bool = True) -> None:
    parser.add_argument(
        "--policies",
        metavar="FILE",
        default=None,
        help="the policy file (default: $XDG_CONFIG_HOME/secret-kloset/policies.toml)",
    )
    if store_access:
        parser.add_argument(
            "--profile",
            metavar="NAME",
            default=None,
            help="credentials profile for sources without one, and whose keyring entry holds "
            "the stores' passphrase",
        )
        parser.add_argument(
            "--passphrase-command",
            metavar="CMD",
            default=None,
            help="shell command that prints the stores' passphrase on stdout",
        )
    add_json_argument(parser)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = sub.add_parser(
        "policy",
        help="list and show backup policies (RPO, retention, next due time)",
        description="Show the policies of the policy file and what they do.",
    )
    psub = policy.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    plist = psub.add_parser("list", help="every policy, its sources, RPO and next due time")
    _common(plist)
    plist.set_defaults(func=_guarded(cmd_policy_list, lambda: {"policies": []}))
    pshow = psub.add_parser("show", help="one policy in detail")
    pshow.add_argument("name", metavar="NAME")
    _common(pshow)
    pshow.set_defaults(func=_guarded(cmd_policy_show, lambda: {"policy": None}))

    run = sub.add_parser(
        "run",
        help="run backup jobs (all, the due ones, or one policy/source)",
        description=(
            "Run jobs: backup of the source, forget by keep, check, sync, drill when due. "
            "Exit 0 when all succeed, 3 when some are partial or failed, 1 on an error "
            "before any job."
        ),
    )
    run.add_argument("--due", action="store_true", help="only the jobs that are due")
    run.add_argument("--policy", metavar="NAME", help="only this policy's jobs")
    run.add_argument("--source", metavar="NAME", help="only this source's jobs")
    run.add_argument(
        "--concurrency", type=_positive, default=16, metavar="N", help="requests in flight"
    )
    _common(run)
    run.set_defaults(func=cmd_run)

    jobs = sub.add_parser("jobs", help="job history, newest first")
    jobs.add_argument("--limit", type=_positive, default=20, metavar="N", help="at most N jobs")
    jobs.add_argument(
        "--store",
        metavar="S",
        help="read this store's history (default without a policy file: the usual store)",
    )
    _common(jobs)
    jobs.set_defaults(func=_guarded(cmd_jobs, lambda: {"jobs": []}))

    cov = sub.add_parser(
        "coverage", help="which projects x regions the policies back up (ok, late, uncovered)"
    )
    _common(cov)
    cov.set_defaults(func=_guarded(cmd_coverage, lambda: {"coverage": []}))

    schedule = sub.add_parser(
        "schedule", help="install, show or remove the timer that runs 'run --due'"
    )
    ssub = schedule.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    install = ssub.add_parser("install", help="write a systemd user timer or a crontab line")
    kind = install.add_mutually_exclusive_group()
    kind.add_argument("--systemd", action="store_const", dest="kind", const="systemd")
    kind.add_argument("--cron", action="store_const", dest="kind", const="cron")
    install.add_argument("--dry-run", action="store_true", help="print it, install nothing")
    _common(install, store_access=False)
    install.set_defaults(func=_guarded(cmd_schedule_install, dict))
    show = ssub.add_parser("show", help="what is installed")
    _common(show, store_access=False)
    show.set_defaults(func=_guarded(cmd_schedule_show, dict))
    remove = ssub.add_parser("remove", help="remove the timer or crontab line")
    _common(remove, store_access=False)
    remove.set_defaults(func=_guarded(cmd_schedule_remove, dict))

    drill = sub.add_parser(
        "drill",
        help="restore a sample into the scratch project, verify it, delete it",
        description=(
            "Restore 'sample' secrets (latest versions) of the latest snapshot into the "
            "policy's drill project, verify them by CRC32, then delete what was created."
        ),
    )
    drill.add_argument("--policy", metavar="NAME", help="only this policy's drill")
    _common(drill)
    drill.set_defaults(func=_guarded(cmd_drill, lambda: {"drills": []}))


# --------------------------------------------------------------------------- policy


def _policy_doc(
    policies: PolicyFile, name: str, histories: dict[str, History], clock: Clock
) -> dict[str, Any]:
    p = policies.policy(name)
    history = histories.get(p.store)
    now = clock.now()
    jobs: list[dict[str, Any]] = []
    for s in policies.sources_of(p):
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
        "sources": [s.name for s in policies.sources_of(p)],
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


def _print_policy(doc: dict[str, Any]) -> None:
    print(f"policy {doc['name']} -> store {doc['store']}")
    print(f"  RPO: every {doc['every']}; restore back: {doc['restore_window'] or 'latest only'}")
    print(f"  check: {doc['check']}; sync to: {doc['sync_to'] or '-'}")
    if doc["drill"]:
        d = doc["drill"]
        print(
            f"  drill: every {d['every']}, {d['sample']} secret(s) into {d['project']}/{d['region']}"
        )
    if not doc["jobs"]:
        print("  no source matches")
    for job in doc["jobs"]:
        last = job["last_result"]
        result = f"{last['status']} at {last['finished_at']}" if last else "never run"
        print(f"  source {job['source']}: next due {job['next_due']}; last: {result}")


def _histories(
    args: argparse.Namespace, policies: PolicyFile, clock: Clock
) -> tuple[dict[str, History], list[str]]:
    return run_async(_runner(args, policies, clock).histories())


def cmd_policy_list(args: argparse.Namespace) -> int:
    policies = _policies(args)
    clock = clock_from_env()
    histories, warnings = _histories(args, policies, clock)
    docs = [_policy_doc(policies, p.name, histories, clock) for p in policies.policies]
    if args.json:
        print_json({"policies": docs, "warnings": warnings})
    else:
        if not docs:
            print(f"no policy in {policies.path}")
        for doc in docs:
            _print_policy(doc)
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
    return int(ExitCode.OK)


def cmd_policy_show(args: argparse.Namespace) -> int:
    policies = _policies(args)
    policies.policy(args.name)
    clock = clock_from_env()
    histories, warnings = _histories(args, policies, clock)
    doc = _policy_doc(policies, args.name, histories, clock)
    if args.json:
        print_json({"policy": doc, "warnings": warnings})
    else:
        _print_policy(doc)
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
    return int(ExitCode.OK)


# --------------------------------------------------------------------------- run


def _print_jobs(jobs: list[dict[str, Any]]) -> None:
    for job in jobs:
        sid = (job.get("snapshot_id") or "-")[:8]
        steps = ", ".join(f"{s['name']} {s['status']}" for s in job.get("steps") or [])
        print(
            f"job {job['id'][:8]} {job['policy']}/{job['source']}: {job['status']} "
            f"(snapshot {sid}; {steps or 'no step'}) {job.get('started_at') or ''}"
        )
        for step in job.get("steps") or []:
            for err in step.get("errors") or []:
                print(f"  {step['name']}: {err}")
        for warning in job.get("warnings") or []:
            print(f"  warning: {warning}")


def cmd_run(args: argparse.Namespace) -> int:
    try:
        policies = _policies(args)
        clock = clock_from_env()
        runner = _runner(args, policies, clock)
        runner.select(policy=args.policy, source=args.source)
    except KlosetError as err:
        if args.json:
            print_json(
                {"jobs": [], "warnings": [], "errors": [err.message], "error": _error_doc(err)}
            )
        raise
    try:
        report: RunReport = run_async(
            runner.run(due=args.due, policy=args.policy, source=args.source)
        )
    except KlosetError as err:
        # An error before any job: say so once, exit 1 (the contract of 'run').
        if args.json:
            print_json(
                {"jobs": [], "warnings": [], "errors": [err.message], "error": _error_doc(err)}
            )
        print(f"secret-kloset: error: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
        return int(ExitCode.ERROR)
    if args.json:
        print_json(report.to_json())
    else:
        if not report.jobs:
            print("nothing to run" + (" (no job is due)" if args.due else ""))
        _print_jobs([j.to_json() for j in report.jobs])
    for warning in [*(report.warnings if not args.json else []), *report.late_warnings]:
        print(f"warning: {warning}", file=sys.stderr)
    _summarise_failures(report)
    return report.exit_code


def _summarise_failures(report: RunReport, what: str = "job") -> None:
    bad = [j for j in report.jobs if j.status in ("partial", "failed")]
    if not bad:
        return
    for job in bad:
        first = next((e for s in job.steps for e in s.errors), None) or next(iter(job.errors), "")
        print(
            f"secret-kloset: error: {what} {job.policy}/{job.source} {job.status}"
            + (f": {first}" if first else ""),
            file=sys.stderr,
        )


# --------------------------------------------------------------------------- jobs


async def _store_history(args: argparse.Namespace, location: str) -> list[dict[str, Any]]:
    from core.store.jobrecords import JobRecords

    ns = argparse.Namespace(
        store=location, profile=args.profile, passphrase_command=args.passphrase_command
    )
    store = await open_store(ns)
    try:
        return await JobRecords(store).all()
    finally:
        await store.close()


def cmd_jobs(args: argparse.Namespace) -> int:
    warnings: list[str] = []
    if not args.store and not args.policies and not default_policy_path().exists():
        # No policy file here: the history of the store this machine uses (any machine that
        # opens the store sees it).
        from cli.store_common import resolve_store_location

        args.store = resolve_store_location(args)
    if args.store:
        records = run_async(_store_history(args, args.store))
    else:
        policies = _policies(args)
        histories, warnings = _histories(args, policies, clock_from_env())
        records = [r for h in histories.values() for r in h.records]
        records.sort(key=lambda r: (str(r.get("started_at") or ""), r["id"]), reverse=True)
    records = records[: args.limit]
    if args.json:
        print_json({"jobs": records, "warnings": warnings})
    else:
        if not records:
            print("no job has run yet")
        _print_jobs(records)
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
    return int(ExitCode.OK)


# --------------------------------------------------------------------------- coverage


def cmd_coverage(args: argparse.Namespace) -> int:
    policies = _policies(args)
    clock = clock_from_env()
    report = run_async(_runner(args, policies, clock).coverage())
    if args.json:
        print_json(report.to_json())
    else:
        for item in report.items:
            name = f" ({item.project_name})" if item.project_name else ""
            via = ", ".join(item.policies) or "-"
            last = iso(item.last_success) or "never"
            print(
                f"{item.status:<9} {item.project_id}{name} {item.region}  policies: {via}; last success: {last}"
            )
        counts = report.counts()
        print(", ".join(f"{v} {k}" for k, v in counts.items()))
        for w in report.warnings:
            print(f"warning: {w}", file=sys.stderr)
    return int(ExitCode.OK)


# --------------------------------------------------------------------------- schedule


def _scheduled_command(policies: PolicyFile) -> list[str]:
    exe = shutil.which("secret-kloset")
    base = [exe] if exe else [sys.executable, "-m", "cli.main"]
    return [*base, "run", "--due", "--policies", str(Path(policies.path).absolute())]


def cmd_schedule_install(args: argparse.Namespace) -> int:
    policies = _policies(args)
    kind = args.kind or sched.default_kind()
    plan = sched.plan(kind, _scheduled_command(policies), policies.shortest_every())
    if not args.dry_run:
        sched.install(plan)
    if args.json:
        print_json({**plan.to_json(), "dry_run": bool(args.dry_run), "installed": not args.dry_run})
        return int(ExitCode.OK)
    verb = "would write" if args.dry_run else "wrote"
    if plan.kind == "systemd":
        for path, content in plan.files.items():
            print(f"# {verb} {path}")
            print(content)
        for argv in plan.commands:
            print(("# would run: " if args.dry_run else "# ran: ") + " ".join(argv))
    else:
        print(f"# {verb} this crontab line:")
        print(plan.cron_line)
    return int(ExitCode.OK)


def cmd_schedule_show(args: argparse.Namespace) -> int:
    doc = sched.show()
    if args.json:
        print_json(doc)
        return int(ExitCode.OK)
    if not doc["systemd"]["installed"] and not doc["cron"]["installed"]:
        print("no schedule installed (see 'secret-kloset schedule install')")
    for path, content in doc["systemd"]["files"].items():
        print(f"# {path}")
        print(content)
    for line in doc["cron"]["lines"]:
        print(line)
    return int(ExitCode.OK)


def cmd_schedule_remove(args: argparse.Namespace) -> int:
    doc = sched.remove()
    if args.json:
        print_json(doc)
    else:
        if not doc["files"] and not doc["cron_lines"]:
            print("no schedule was installed")
        for path in doc["files"]:
            print(f"removed {path}")
        if doc["cron_lines"]:
            print(f"removed {doc['cron_lines']} crontab line(s)")
    return int(ExitCode.OK)


# --------------------------------------------------------------------------- drill


def cmd_drill(args: argparse.Namespace) -> int:
    policies = _policies(args)
    clock = clock_from_env()
    report = run_async(_runner(args, policies, clock).drill(policy=args.policy))
    docs = [j.to_json() for j in report.jobs]
    if args.json:
        print_json({"drills": docs, "warnings": report.warnings})
    else:
        for job in docs:
            step = job["steps"][0] if job["steps"] else {"details": {}, "errors": []}
            d = step["details"]
            print(
                f"drill {job['policy']}/{job['source']}: {job['status']} "
                f"({d.get('verified', 0)} of {d.get('chosen', 0)} verified, "
                f"{d.get('deleted', 0)} cleaned up)"
            )
            for err in step["errors"]:
                print(f"  {err}")
    _summarise_failures(report, "drill")
    return report.exit_code


__all__ = ["CliEnvironment", "register"]
