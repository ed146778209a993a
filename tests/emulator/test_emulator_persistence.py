"""``state_path``: every change saved atomically, reads never rewrite, shutdown flushes; and
the ``secret-kloset emulator`` command end to end (state across runs, Ctrl-C, port in use)."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from core.emulator import EmulatorApp, EmulatorState, ThreadedServer, demo_state
from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID, DEMO_SECRET_KEY
from tests.emulator.conftest import SM, asgi_client, ok

ROOT = Path(__file__).resolve().parents[2]


async def test_mutations_are_saved_reads_are_not(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    app = EmulatorApp(demo_state(), state_path=path)
    async with asgi_client(app) as client:
        created = ok(
            await client.post(
                f"{SM}/secrets",
                json={"project_id": DEMO_PRODUCTION_PROJECT_ID, "name": "persisted"},
            )
        )
        assert path.exists()
        saved = EmulatorState.load(path)
        assert saved.secrets["fr-par"][created["id"]].name == "persisted"
        stamp = path.stat().st_mtime_ns
        content = path.read_bytes()
        ok(await client.get(f"{SM}/secrets/{created['id']}"))
        ok(await client.get(f"{SM}/secrets", params={"project_id": DEMO_PRODUCTION_PROJECT_ID}))
        assert path.stat().st_mtime_ns == stamp and path.read_bytes() == content
        # A refused mutation changes nothing either way, and the file stays complete.
        r = await client.post(
            f"{SM}/secrets", json={"project_id": DEMO_PRODUCTION_PROJECT_ID, "name": "bad name"}
        )
        assert r.status_code == 400
        ok(await client.post(f"{SM}/secrets/{created['id']}/versions", json={"data": "eHl6"}))
    again = EmulatorState.load(path)
    assert len(again.secrets["fr-par"][created["id"]].versions) == 1
    assert sorted(os.listdir(tmp_path)) == ["state.json"]


def test_shutdown_flushes(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    app = EmulatorApp(demo_state(), state_path=path)
    with ThreadedServer(app), app.state.lock:
        next(app.state.iter_secrets()).description = "changed behind the API"
        app.state.touch()
    assert any(
        s.description == "changed behind the API" for s in EmulatorState.load(path).iter_secrets()
    )


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc, url, _ = _start_with_banner(args)
    return proc, url


def _start_with_banner(args: list[str]) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "emulator", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 20
    banner: list[str] = []
    url = ""
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        banner.append(line)
        if "listening on " in line:
            url = line.split("listening on ", 1)[1].strip()
        if "Press Ctrl-C" in line and url:
            return proc, url, "".join(banner)
    proc.kill()
    raise AssertionError(f"the emulator did not start: {proc.stderr.read() if proc.stderr else ''}")


def _interrupt(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cli_state_survives_restarts_and_ctrl_c_exits_0(tmp_path: Path) -> None:
    state = tmp_path / "emulator-state.json"
    proc, url = _start(["--state", str(state)])
    try:
        headers = {"X-Auth-Token": DEMO_SECRET_KEY}
        r = httpx.post(
            f"{url}{SM}/secrets",
            headers=headers,
            json={"project_id": DEMO_PRODUCTION_PROJECT_ID, "name": "survivor"},
        )
        assert r.status_code == 200, r.text
        secret_id = r.json()["id"]
    finally:
        code = _interrupt(proc)
    assert code == 0
    assert state.exists()

    proc, url = _start(["--state", str(state)])
    try:
        r = httpx.get(f"{url}{SM}/secrets/{secret_id}", headers={"X-Auth-Token": DEMO_SECRET_KEY})
        assert r.status_code == 200 and r.json()["name"] == "survivor"
        # A second emulator on the same state file is refused, not allowed to clobber it.
        second = subprocess.run(
            [sys.executable, "-m", "cli.main", "emulator", "--port", "0", "--state", str(state)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1
        assert "in use by another emulator" in second.stderr
    finally:
        assert _interrupt(proc) == 0


def test_cli_banner_with_a_config(tmp_path: Path) -> None:
    config = tmp_path / "emulator.toml"
    config.write_text(
        """organization_id = "11111111-1111-4111-8111-111111111111"
[[projects]]
id = "22222222-2222-4222-8222-222222222222"
name = "production"
[[api_keys]]
access_key = "SCWXXXXXXXXXXXXXXXXX"
secret_key = "33333333-3333-4333-8333-333333333333"
permission_sets = ["SecretManagerFullAccess"]
projects = ["22222222-2222-4222-8222-222222222222"]
""",
        encoding="utf-8",
    )
    proc, url, banner = _start_with_banner(["--config", str(config), "--error-rate", "0.25"])
    try:
        assert f"export SCW_API_URL={url} " in banner
        assert "SCW_DEFAULT_PROJECT_ID=22222222-2222-4222-8222-222222222222" in banner
        assert "SCWXXXXXXXXXXXXXXXXX: SecretManagerFullAccess; 1 project(s)" in banner
        assert "33333333-3333-4333-8333-333333333333" not in banner  # secret keys stay in the file
        assert "503 rate 0.25" in banner and "1 project," in banner
    finally:
        proc.terminate()  # SIGTERM, as a service manager stops it: clean exit too
        try:
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_cli_demo_banner_prints_the_demo_keys() -> None:
    proc, url, banner = _start_with_banner([])
    try:
        assert "built-in demo data (4 projects, " in banner
        assert DEMO_SECRET_KEY in banner
        assert (
            f"export SCW_API_URL={url} SCW_ACCESS_KEY=SCWDEMOKLOSET0000001 "
            f"SCW_SECRET_KEY={DEMO_SECRET_KEY} "
            "SCW_DEFAULT_ORGANIZATION_ID=6f3a2d1c-8b4e-4c7a-9d2f-1e5b7a9c3d40 "
            f"SCW_DEFAULT_PROJECT_ID={DEMO_PRODUCTION_PROJECT_ID} SCW_DEFAULT_REGION=fr-par"
        ) in banner
    finally:
        assert _interrupt(proc) == 0


def test_cli_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "cli.main", "emulator", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 1
    assert f"port {port}" in proc.stderr and "already in use" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_bad_config_and_bad_options(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('organization_id = "x"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "emulator", "--port", "0", "--config", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert "organization_id" in proc.stderr and "Traceback" not in proc.stderr
    from cli.main import main

    for option in (
        ["--error-rate", "2"],
        ["--rate-limit", "0"],
        ["--latency-ms", "-5"],
        ["--port", "70000"],
    ):
        try:
            code = main(["emulator", *option])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        assert code == 2, option


def test_cli_state_survives_sigkill_mid_write(tmp_path: Path) -> None:
    """Every change answered 200 before a SIGKILL is in the state file, which is never torn."""
    state = tmp_path / "state.json"
    proc, url = _start(["--state", str(state)])
    acknowledged: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=url, headers={"X-Auth-Token": DEMO_SECRET_KEY}) as client:
            for i in range(2000):  # bounded; the kill comes long before the end
                if stop.is_set():
                    return
                try:
                    r = client.post(
                        f"{SM}/secrets",
                        json={"project_id": DEMO_PRODUCTION_PROJECT_ID, "name": f"k{i}"},
                    )
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    acknowledged.append(r.json()["id"])

    worker = threading.Thread(target=hammer)
    worker.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 25 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait(timeout=10)
    stop.set()
    worker.join(timeout=10)
    assert len(acknowledged) >= 25

    saved = EmulatorState.load(state)  # parses: not torn
    ids = {s.id for s in saved.iter_secrets()}
    assert set(acknowledged) <= ids

    # The next run starts from it and sweeps any temporary file the kill left behind.
    proc, url = _start(["--state", str(state)])
    try:
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
        r = httpx.get(
            f"{url}{SM}/secrets/{acknowledged[-1]}", headers={"X-Auth-Token": DEMO_SECRET_KEY}
        )
        assert r.status_code == 200
    finally:
        assert _interrupt(proc) == 0
