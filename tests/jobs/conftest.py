"""Fixtures for the control plane: the emulator over real HTTP, the CLI in-process, local
stores, a policy file writer, loopback receivers for the webhook and healthchecks pings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, Emulator, cli_env, running_emulator
from tests.engine.helpers import SOURCE, TARGET

SCRATCH = "4f0d7a5c-9e6b-4c2d-8a1f-5b6c7d8e9f0a"


@pytest.fixture(autouse=True)
def short_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.engine.backup.pipeline
    import core.engine.jobs.notify
    import core.engine.restore.apply

    monkeypatch.setattr(core.engine.backup.pipeline, "RETRY_PAUSE", 0.05)
    monkeypatch.setattr(core.engine.restore.apply, "RETRY_PAUSE", 0.05)
    monkeypatch.setattr(core.engine.jobs.notify, "WEBHOOK_BACKOFF", 0.01)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    from tests.engine.helpers import emulator_config

    config = emulator_config()
    config["projects"].append({"id": SCRATCH, "name": "scratch"})
    with running_emulator(config) as emu:
        yield emu


@pytest.fixture
def cli(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    store = str(tmp_path / "store")
    env = cli_env(emulator.url, store)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return Cli(env, store, monkeypatch)


def policy_text(
    store: str,
    *,
    every: str = "1h",
    offsite: str | None = None,
    extra_policy: str = "",
    extra_source: str = "",
    notify: str = "",
    projects: str = f'["{SOURCE}"]',
    regions: str = '["fr-par"]',
) -> str:
    text = f'[stores.primary]\nlocation = "{store}"\n'
    if offsite:
        text += f'[stores.offsite]\nlocation = "{offsite}"\n'
    text += f"""
[[sources]]
name = "prod-paris"
projects = {projects}
regions = {regions}
environment = "production"
data_class = "critical"
residency = "FR"
{extra_source}

[[policies]]
name = "critical"
match = {{ environment = "production", data_class = "critical" }}
store = "primary"
every = "{every}"
keep = {{ last = 3, daily = 7 }}
check = "structure"
{'sync_to = "offsite"' if offsite else ""}
{extra_policy}
"""
    if notify:
        text += f"\n[notify]\n{notify}\n"
    return text


def write_policies(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policies.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A loopback HTTP server recording every request; answers ``status``."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    statuses: list[int] = field(default_factory=list)  # answered first, in order

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            rec = holder["r"]
            rec.requests.append(
                Received(self.command, self.path, {k: v for k, v in self.headers.items()}, body)
            )
            self.send_response(rec.statuses.pop(0) if rec.statuses else rec.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = _record
        do_POST = _record

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["r"] = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["r"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


__all__ = ["SCRATCH", "SOURCE", "TARGET", "policy_text", "write_policies"]
