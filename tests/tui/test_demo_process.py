"""The demo's emulator in a process of its own: started, reachable on loopback, gone when the
console quits, and gone when the console dies without quitting (no orphan)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID
from tests.tui.conftest import make_app, ready, wait_for
from tui.demo import EmulatorProcess, build_demo_context
from tui.screens.dialogs import ConfirmDialog
from tui.widgets.vtable import VirtualTable

ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int) -> bool:
    """No such process, or a zombie nobody reaped yet (PID 1 of a container may not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def _wait_gone(pid: int, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return _gone(pid)


def _refused(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=2):
            return False
    except OSError:
        return True


async def test_the_emulator_process_serves_on_loopback_and_stops() -> None:
    emulator = EmulatorProcess()
    try:
        url = await emulator.wait_ready()
        assert urlsplit(url).hostname == "127.0.0.1"
        assert emulator.running and emulator.pid != os.getpid()
        async with emulator.client() as client:
            names = [p.name async for p in client.list_projects()]
            assert "production" in names
            secrets = [s async for s in client.list_secrets("fr-par")]
            assert secrets
        emulator.latency_ms = 5  # the control pipe answers
        assert emulator.latency_ms == 5
    finally:
        emulator.shutdown()
    assert not emulator.running
    assert _gone(emulator.pid)  # reaped by shutdown: not even a zombie
    assert _refused(url)
    emulator.shutdown()  # idempotent


async def test_the_demo_runs_its_emulator_in_a_child_gone_after_quit(tmp_path: Path) -> None:
    ctx = build_demo_context(tmp_path / "demo")
    emulator = ctx.emulator
    assert isinstance(emulator, EmulatorProcess)
    app = make_app(ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        assert ctx.demo_api_url == emulator.url
        assert app.session.store is not None
        assert len(await app.session.store.list_snapshots()) == 2  # the two backups, via HTTP
        projects = app.screen.query_one("#projects", VirtualTable)
        assert DEMO_PRODUCTION_PROJECT_ID in projects.visible_keys()
        assert emulator.running
        await pilot.press("q")  # "Quit the demo?" then yes
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running)
    assert not emulator.running
    assert _gone(emulator.pid)
    assert _refused(emulator.url)


PARENT = """
import sys, time
from tui.demo import EmulatorProcess
emulator = EmulatorProcess()
print(emulator.pid, emulator.url, flush=True)
time.sleep(120)
"""


def test_the_emulator_is_gone_when_its_parent_is_killed() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        assert parent.stdout is not None
        pid_text, url = parent.stdout.readline().split()
        child = int(pid_text)
        assert not _gone(child) and not _refused(url)
        parent.send_signal(signal.SIGKILL)  # no quit, no finalizer, no atexit
        parent.wait(10)
        assert _wait_gone(child), "the emulator outlived the console"
        assert _refused(url)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
