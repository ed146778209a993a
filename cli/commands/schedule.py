"""``secret-kloset schedule install [--systemd | --cron] [--dry-run] | show | remove``: the
timer that runs ``secret-kloset run --due`` often enough for the shortest ``every`` (a user
systemd timer with ``Persistent=true``, or a crontab line; no daemon of our own)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.options import control_plane_options
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.engine.jobs.policies import PolicyFile


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "schedule",
        None,
        _actions,
        help="install, show or remove the timer that runs 'run --due'",
    )


def _actions(p: CommandParser) -> None:
    ssub = p.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    add_command(
        ssub,
        "install",
        run_install,
        _install_arguments,
        help="write a systemd user timer or a crontab line",
    )
    add_command(ssub, "show", run_show, _no_store_options, help="what is installed")
    add_command(
        ssub, "remove", run_remove, _no_store_options, help="remove the timer or crontab line"
    )


def _no_store_options(p: CommandParser) -> None:
    control_plane_options(p, store_access=False)


def _install_arguments(p: CommandParser) -> None:
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--systemd", action="store_const", dest="kind", const="systemd")
    kind.add_argument("--cron", action="store_const", dest="kind", const="cron")
    p.add_argument("--dry-run", action="store_true", help="print it, install nothing")
    _no_store_options(p)


def scheduled_command(policy_file: PolicyFile) -> list[str]:
    """The command line the timer runs: ``secret-kloset run --due --policies <absolute>``."""
    import shutil
    import sys
    from pathlib import Path

    exe = shutil.which("secret-kloset")
    base = [exe] if exe else [sys.executable, "-m", "cli.main"]
    return [*base, "run", "--due", "--policies", str(Path(policy_file.path).absolute())]


def run_install(args: argparse.Namespace) -> int:
    from cli import jobs_common as jc
    from cli.output import line, print_json
    from core.engine.jobs import schedule as sched
    from core.errors import ExitCode

    with jc.json_errors(args, {}):
        policy_file = jc.policies(args)
        kind = args.kind or sched.default_kind()
        plan = sched.plan(kind, scheduled_command(policy_file), policy_file.shortest_every())
        if not args.dry_run:
            sched.install(plan)
    if args.json:
        print_json({**plan.to_json(), "dry_run": bool(args.dry_run), "installed": not args.dry_run})
        return int(ExitCode.OK)
    verb = "would write" if args.dry_run else "wrote"
    if plan.kind == "systemd":
        for path, content in plan.files.items():
            line(f"# {verb} {path}")
            line(content)
        for argv in plan.commands:
            line(("# would run: " if args.dry_run else "# ran: ") + " ".join(argv))
    else:
        line(f"# {verb} this crontab line:")
        line(plan.cron_line or "")
    return int(ExitCode.OK)


def run_show(args: argparse.Namespace) -> int:
    from cli import jobs_common as jc
    from cli.output import line, print_json
    from core.engine.jobs import schedule as sched
    from core.errors import ExitCode

    with jc.json_errors(args, {}):
        doc = sched.show()
    if args.json:
        print_json(doc)
        return int(ExitCode.OK)
    if not doc["systemd"]["installed"] and not doc["cron"]["installed"]:
        line("no schedule installed (see 'secret-kloset schedule install')")
    for path, content in doc["systemd"]["files"].items():
        line(f"# {path}")
        line(content)
    for cron_line in doc["cron"]["lines"]:
        line(cron_line)
    return int(ExitCode.OK)


def run_remove(args: argparse.Namespace) -> int:
    from cli import jobs_common as jc
    from cli.output import line, print_json
    from core.engine.jobs import schedule as sched
    from core.errors import ExitCode

    with jc.json_errors(args, {}):
        doc = sched.remove()
    if args.json:
        print_json(doc)
        return int(ExitCode.OK)
    if not doc["files"] and not doc["cron_lines"]:
        line("no schedule was installed")
    for path in doc["files"]:
        line(f"removed {path}")
    if doc["cron_lines"]:
        line(f"removed {doc['cron_lines']} crontab line(s)")
    return int(ExitCode.OK)
