"""End-to-end fixtures: the emulator over real HTTP on 127.0.0.1 (a free port), the CLI's
environment (``SCW_*`` credentials, ``SECRET_KLOSET_STORE``, ``SECRET_KLOSET_PASSPHRASE``,
fast KDF), the CLI itself (in-process through ``cli.main.main`` or as a subprocess), and the
official ``scaleway`` SDK as an independent client."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.emulator import EmulatorApp, ThreadedServer, parse_config
from tests.engine.helpers import FULL_ACCESS, FULL_SECRET, ORG, SOURCE, emulator_config

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "e2e passphrase"


@dataclass
class Emulator:
    app: EmulatorApp
    server: ThreadedServer

    @property
    def url(self) -> str:
        return self.server.url


@contextlib.contextmanager
def running_emulator(config: dict[str, Any] | None = None, **options: Any) -> Iterator[Emulator]:
    app = EmulatorApp(parse_config(config or emulator_config()), **options)
    server = ThreadedServer(app)
    server.start()
    try:
        yield Emulator(app, server)
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def short_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process CLI runs: a short pause before the engines' second pass."""
    import core.engine.backup.pipeline
    import core.engine.restore.apply

    monkeypatch.setattr(core.engine.backup.pipeline, "RETRY_PAUSE", 0.05)
    monkeypatch.setattr(core.engine.restore.apply, "RETRY_PAUSE", 0.05)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with running_emulator() as emu:
        yield emu


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    """Runs ``secret-kloset`` with an isolated environment against one emulator."""

    env: dict[str, str]
    store: str
    monkeypatch: pytest.MonkeyPatch
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """In-process: ``cli.main.main(args)`` with stdout/stderr captured (a usage error's
        ``SystemExit`` becomes its exit code, as for a subprocess)."""
        from cli.main import main

        self.calls.append(list(args))
        out, err = io.StringIO(), io.StringIO()
        with self.monkeypatch.context() as mp:
            for key, value in {**self.env, **(env or {})}.items():
                mp.setenv(key, value)
            mp.setattr(sys, "stdout", out)
            mp.setattr(sys, "stderr", err)
            mp.setattr(sys, "stdin", io.StringIO(""))
            try:
                code = main(list(args))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
        return Result(code, out.getvalue(), err.getvalue())

    def process_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()}
        env.update(self.env)
        env.update(extra)
        return env

    def run(self, *args: str, timeout: float = 60, **extra_env: str) -> Result:
        """As a real subprocess (``python -m cli.main``)."""
        proc = subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env=self.process_env(**extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)


def cli_env(
    url: str, store: str, secret_key: str = FULL_SECRET, access_key: str = FULL_ACCESS
) -> dict[str, str]:
    return {
        "SCW_API_URL": url,
        "SCW_ACCESS_KEY": access_key,
        "SCW_SECRET_KEY": secret_key,
        "SCW_DEFAULT_ORGANIZATION_ID": ORG,
        "SCW_DEFAULT_PROJECT_ID": SOURCE,
        "SCW_DEFAULT_REGION": "fr-par",
        "SECRET_KLOSET_STORE": store,
        "SECRET_KLOSET_PASSPHRASE": PASSPHRASE,
        "SECRET_KLOSET_KDF": "fast",
    }


@pytest.fixture
def cli(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    store = str(tmp_path / "store")
    return Cli(cli_env(emulator.url, store), store, monkeypatch)


def sdk_client(url: str, secret_key: str = FULL_SECRET) -> Any:
    """The official SDK, pointed at the emulator."""
    from scaleway import Client

    return Client(
        access_key=FULL_ACCESS,
        secret_key=secret_key,
        api_url=url,
        default_organization_id=ORG,
        default_project_id=SOURCE,
        default_region="fr-par",
    )
