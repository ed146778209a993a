"""What a CLI run that sends few requests does not pay for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ROOT, Cli

# The program as its entry point runs it, telling at exit (an atexit handler) whether
# aiohttp was imported: that it prints at all shows the atexit handlers ran.
_ENTRYPOINT = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('atexit ran, aiohttp', 'aiohttp' in sys.modules,"
    " file=sys.stderr))\n"
    "sys.argv = ['secret-kloset', *sys.argv[1:]]\n"
    "runpy.run_module('cli.main', run_name='__main__', alter_sys=True)\n"
)


def _entrypoint(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _ENTRYPOINT, *args],
        cwd=ROOT,
        env=cli.process_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _imports_aiohttp(cli: Cli, *args: str) -> bool:
    proc = _entrypoint(cli, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr.strip().splitlines()[-1] == "atexit ran, aiohttp True"


def test_an_unchanged_backup_never_imports_aiohttp(cli: Cli) -> None:
    """aiohttp (0.1-0.15 s to import) is for runs that send many requests: the unchanged
    backup of a small project (a few list pages and the permission check) goes through
    httpx's own pool."""
    assert cli("init").code == 0
    assert cli("backup", "--json").code == 0
    again = cli("backup", "--json")
    assert again.code == 0 and again.json()["versions_read"] == 0  # unchanged
    assert not _imports_aiohttp(cli, "backup", "--json")


def test_the_program_exits_fast_with_its_output_whole_and_atexit_run(cli: Cli) -> None:
    """The entry point ends with os._exit (no interpreter teardown): what it printed is all
    there, its exit status is kept, and the atexit handlers still run."""
    assert cli("init").code == 0
    assert cli("backup", "--json").code == 0
    done = _entrypoint(cli, "ls", "latest", "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)  # the whole document, flushed
    assert listing and "atexit ran" in done.stderr
    failed = _entrypoint(cli, "restore", "no-such-snapshot", "--json")
    assert failed.returncode != 0 and json.loads(failed.stdout)["error"]
    assert "atexit ran" in failed.stderr


def test_under_a_profiler_the_program_exits_the_usual_way(tmp_path: Path) -> None:
    """``python -m cProfile -m cli.main`` writes its report after the program returns: the
    entry point's os._exit must not cut it off."""
    report = tmp_path / "run.prof"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(report),
            "-m",
            "cli.main",
            "completion",
            "bash",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert report.stat().st_size > 0
