"""``restore`` run twice, end to end (the real CLI, the emulator over real HTTP, a local store
and its cache directory): the second run reads no value back and sends at most a tenth of the
first's requests, through the restore journal the first one left in the cache; the journal's
file holds no name or value; without it (deleted) the same restore reads back, as before, and
decides the same; ``--verify`` reads everything back."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.engine.restore.journal import FILE_NAME
from tests.conftest import IsolatedEnv
from tests.e2e.conftest import Cli, Emulator, cli_env, running_emulator
from tests.engine.helpers import TARGET, emulator_config, many_secrets

COUNT = 20


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Cli, Emulator]]:
    """The helpers' varied secrets and COUNT more of three versions each."""
    with running_emulator(emulator_config(many_secrets(COUNT, 3))) as emulator:
        store = str(tmp_path / "store")
        yield Cli(cli_env(emulator.url, store), store, monkeypatch), emulator


def _restore(cli: Cli, emulator: Emulator, *extra: str) -> tuple[dict[str, Any], dict[str, int]]:
    emulator.app.stats.reset()
    result = cli("restore", "latest", "--to-project", TARGET, "--json", *extra)
    assert result.code == 0, result.err
    counts = dict(emulator.app.stats.by_operation)
    counts["requests"] = emulator.app.stats.requests
    return result.json(), counts


def _decided(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((a["secret_id"], a["action"]) for a in report["actions"])


def _journal(isolated_env: IsolatedEnv) -> Path:
    (found,) = list(isolated_env.cache.rglob(FILE_NAME))
    return found


def test_a_second_restore_reads_nothing_back(
    world: tuple[Cli, Emulator], isolated_env: IsolatedEnv
) -> None:
    cli, emulator = world
    assert cli("init").code == 0
    assert cli("backup", "--include-disabled").code == 0

    first, one = _restore(cli, emulator)
    assert first["status"] == "ok" and first["summary"]["versions_added"] > 0
    second, two = _restore(cli, emulator)
    assert second["status"] == "ok" and second["summary"]["versions_added"] == 0
    assert second["summary"]["planned_create"] == 0
    # No value read back beyond the preflight's own probe: the journal vouched for the rest.
    probes = one.get("access_secret_version", 0)
    assert two.get("access_secret_version", 0) <= probes
    assert two["requests"] <= 0.1 * one["requests"], (one, two)  # issue 10's target

    raw = _journal(isolated_env).read_bytes()
    for needle in (b"stripe-key", b"sk_live_v3", b"/prod/api", base64.b64encode(b"sk_live_v2")):
        assert needle not in raw

    # Lost: the same restore reads back what it compares, and decides the same.
    _journal(isolated_env).unlink()
    lost, three = _restore(cli, emulator)
    assert lost["status"] == "ok" and _decided(lost) == _decided(second)
    assert three["access_secret_version"] > probes + 5
    # Verification trusts no journal: it reads everything back again.
    verified, four = _restore(cli, emulator, "--verify")
    assert verified["status"] == "ok" and _decided(verified) == _decided(second)
    assert four["access_secret_version"] >= three["access_secret_version"]
