"""Scheduling without a daemon of our own: a systemd user timer, or a crontab line.

Either runs ``secret-kloset run --due`` often enough for the shortest ``every`` of the policy
file (a quarter of it, between every minute and hourly); due-ness decides what actually
runs, so a missed tick costs nothing. The timer has ``Persistent=true``: a tick missed while
the machine was off runs at the next boot.

Where things go can be redirected (tests, unusual systems): ``SECRET_KLOSET_SYSTEMD_DIR``
(default ``$XDG_CONFIG_HOME/systemd/user``), ``SECRET_KLOSET_SYSTEMCTL`` (default
``systemctl``) and ``SECRET_KLOSET_CRONTAB`` (default ``crontab``), each a command line.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.errors import ConfigError

SYSTEMD_DIR_ENV = "SECRET_KLOSET_SYSTEMD_DIR"
SYSTEMCTL_ENV = "SECRET_KLOSET_SYSTEMCTL"
CRONTAB_ENV = "SECRET_KLOSET_CRONTAB"
UNIT = "secret-kloset-jobs"
CRON_MARKER = "# secret-kloset-jobs (managed by 'secret-kloset schedule')"
STEPS_MINUTES = (1, 2, 5, 10, 15, 30, 60)
TIMEOUT = 60.0


def tick_minutes(shortest: timedelta | None) -> int:
    """How often to run ``run --due``: a quarter of the shortest ``every``, rounded down to
    a divisor of the hour, from 1 to 60 minutes."""
    if shortest is None:
        return 60
    quarter = shortest.total_seconds() / 4 / 60
    chosen = 1
    for step in STEPS_MINUTES:
        if step <= quarter:
            chosen = step
    return chosen


def systemd_dir() -> Path:
    env = os.environ.get(SYSTEMD_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def _tool(env: str, default: str) -> list[str]:
    raw = os.environ.get(env, "").strip()
    return shlex.split(raw) if raw else [default]


def on_calendar(minutes: int) -> str:
    return "hourly" if minutes >= 60 else f"*:0/{minutes}"


def cron_spec(minutes: int) -> str:
    return (
        "0 * * * *" if minutes >= 60 else ("* * * * *" if minutes == 1 else f"*/{minutes} * * * *")
    )


@dataclass
class SchedulePlan:
    kind: str  # systemd | cron
    minutes: int
    command: list[str]
    files: dict[str, str] = field(default_factory=dict)  # path -> content (systemd)
    cron_line: str | None = None
    commands: list[list[str]] = field(default_factory=list)  # what install/remove runs

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "interval_seconds": self.minutes * 60,
            "command": list(self.command),
            "files": dict(self.files),
            "cron_line": self.cron_line,
            "commands": [list(c) for c in self.commands],
        }


def systemd_plan(command: Sequence[str], minutes: int) -> SchedulePlan:
    directory = systemd_dir()
    service = (
        "[Unit]\n"
        "Description=secret-kloset: run the backup jobs that are due\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={shlex.join(command)}\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=secret-kloset: run the due backup jobs every {minutes} minute(s)\n\n"
        "[Timer]\n"
        f"OnCalendar={on_calendar(minutes)}\n"
        "Persistent=true\n"
        "RandomizedDelaySec=20\n"
        f"Unit={UNIT}.service\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    systemctl = _tool(SYSTEMCTL_ENV, "systemctl")
    return SchedulePlan(
        kind="systemd",
        minutes=minutes,
        command=list(command),
        files={
            str(directory / f"{UNIT}.service"): service,
            str(directory / f"{UNIT}.timer"): timer,
        },
        commands=[
            [*systemctl, "--user", "daemon-reload"],
            [*systemctl, "--user", "enable", "--now", f"{UNIT}.timer"],
        ],
    )


def cron_plan(command: Sequence[str], minutes: int) -> SchedulePlan:
    line = f"{cron_spec(minutes)} {shlex.join(command)} {CRON_MARKER}"
    crontab = _tool(CRONTAB_ENV, "crontab")
    return SchedulePlan(
        kind="cron",
        minutes=minutes,
        command=list(command),
        cron_line=line,
        commands=[[*crontab, "-l"], [*crontab, "-"]],
    )


def default_kind() -> str:
    """systemd when a user systemd is there, else cron."""
    if os.environ.get(SYSTEMCTL_ENV) or shutil.which("systemctl"):
        return "systemd"
    return "cron"


def plan(kind: str, command: Sequence[str], shortest: timedelta | None) -> SchedulePlan:
    minutes = tick_minutes(shortest)
    return systemd_plan(command, minutes) if kind == "systemd" else cron_plan(command, minutes)


def _run(argv: Sequence[str], *, stdin: str | None = None, check: bool = True) -> str:
    try:
        proc = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ConfigError(
            f"{argv[0]} could not be run ({type(err).__name__})",
            hint="install it, or choose the other kind of schedule",
        ) from None
    if check and proc.returncode != 0:
        raise ConfigError(
            f"{shlex.join(argv[:3])} failed with exit status {proc.returncode}",
            hint="see its message above, or choose the other kind of schedule",
        )
    return proc.stdout if proc.returncode == 0 else ""


def _current_crontab(crontab: Sequence[str]) -> list[str]:
    # "crontab -l" exits 1 with "no crontab for user": an empty crontab
    return [line for line in _run([*crontab, "-l"], check=False).splitlines()]


def install(schedule: SchedulePlan) -> None:
    """Write (or replace) the schedule."""
    if schedule.kind == "systemd":
        for path, content in schedule.files.items():
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        for argv in schedule.commands:
            _run(argv)
        return
    crontab = _tool(CRONTAB_ENV, "crontab")
    lines = [line for line in _current_crontab(crontab) if CRON_MARKER not in line]
    assert schedule.cron_line is not None
    lines.append(schedule.cron_line)
    _run([*crontab, "-"], stdin="\n".join(lines) + "\n")


def show() -> dict[str, Any]:
    """What is installed now, of both kinds."""
    files = {}
    directory = systemd_dir()
    for suffix in ("service", "timer"):
        path = directory / f"{UNIT}.{suffix}"
        if path.is_file():
            files[str(path)] = path.read_text(encoding="utf-8")
    cron_lines: list[str] = []
    crontab = _tool(CRONTAB_ENV, "crontab")
    try:
        cron_lines = [line for line in _current_crontab(crontab) if CRON_MARKER in line]
    except ConfigError:
        cron_lines = []
    return {
        "systemd": {"installed": bool(files), "files": files},
        "cron": {"installed": bool(cron_lines), "lines": cron_lines},
    }


def remove() -> dict[str, Any]:
    """Remove whatever of ours is installed; returns what was removed."""
    removed: dict[str, Any] = {"files": [], "cron_lines": 0}
    directory = systemd_dir()
    timer = directory / f"{UNIT}.timer"
    systemctl = _tool(SYSTEMCTL_ENV, "systemctl")
    if timer.is_file():
        _run([*systemctl, "--user", "disable", "--now", f"{UNIT}.timer"], check=False)
    for suffix in ("timer", "service"):
        path = directory / f"{UNIT}.{suffix}"
        if path.is_file():
            path.unlink()
            removed["files"].append(str(path))
    if removed["files"]:
        _run([*systemctl, "--user", "daemon-reload"], check=False)
    crontab = _tool(CRONTAB_ENV, "crontab")
    try:
        lines = _current_crontab(crontab)
    except ConfigError:
        lines = []
    kept = [line for line in lines if CRON_MARKER not in line]
    if len(kept) != len(lines):
        _run([*crontab, "-"], stdin="\n".join(kept) + ("\n" if kept else ""))
        removed["cron_lines"] = len(lines) - len(kept)
    return removed


__all__ = [
    "CRONTAB_ENV",
    "SYSTEMCTL_ENV",
    "SYSTEMD_DIR_ENV",
    "SchedulePlan",
    "default_kind",
    "install",
    "plan",
    "remove",
    "show",
    "tick_minutes",
]
