"""Issue 13: Ctrl-C stops a restore within about one request's time. A real
``python -m cli.main restore`` through a 400 ms API gets SIGINT while many secrets are in
flight: it exits 130, no write reaches the API after it (beyond those already on the wire),
its JSON names what was half-done, and the same restore run again completes the job."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.emulator import EmulatorApp, ThreadedServer, parse_config
from core.scaleway.client import ScalewayClient
from tests.e2e.conftest import ROOT, Cli, cli_env
from tests.engine.helpers import (
    FULL_SECRET,
    ORG,
    SOURCE,
    TARGET,
    emulator_config,
    many_secrets,
    read_project,
)

WRITES = {"POST", "PATCH", "PUT", "DELETE"}


class Recorder:
    """An ASGI wrapper noting when each write request reached the server."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.writes: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in WRITES:
            self.writes.append(time.monotonic())
        await self.app(scope, receive, send)


async def _bulk(url: str, project: str) -> dict[str, Any]:
    async with ScalewayClient(FULL_SECRET, api_url=url, organization_id=ORG) as client:
        found = await read_project(client, "fr-par", project)
    return {k: v["versions"] for k, v in found.items() if k[0].startswith("/bulk")}


def test_ctrl_c_stops_a_restore_within_a_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = EmulatorApp(parse_config(emulator_config(many_secrets(131, 1))))
    recorder = Recorder(app)
    server = ThreadedServer(recorder)
    server.start()
    try:
        store = str(tmp_path / "store")
        cli = Cli(cli_env(server.url, store), store, monkeypatch)
        assert cli("init").code == 0
        assert cli("backup").code == 0
        app.latency_ms = 400
        recorder.writes.clear()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.main",
                "restore",
                "latest",
                "--to-project",
                TARGET,
                "--json",
            ],
            cwd=ROOT,
            env=cli.process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while len(recorder.writes) < 20:
                assert proc.poll() is None, "the restore ended before it could be stopped"
                assert time.monotonic() < deadline
                time.sleep(0.005)
            stopped_at = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        time.sleep(0.6)  # what was on the wire lands
        assert proc.returncode == 130
        late = [t for t in recorder.writes if t > stopped_at + 0.15]
        assert late == [], f"{len(late)} write(s) started after Ctrl-C"
        report = json.loads(out)
        assert report["status"] == "interrupted"
        outcomes = {a["outcome"] for a in report["actions"]}
        assert "skipped" in outcomes  # never started
        app.latency_ms = 0
        again = cli("restore", "latest", "--to-project", TARGET, "--json")
        assert again.code == 0, again.err
        assert asyncio.run(_bulk(server.url, TARGET)) == asyncio.run(_bulk(server.url, SOURCE))
    finally:
        server.stop()
