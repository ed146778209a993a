"""Issue 9: the source is left as found. SIGKILL a real ``backup --include-disabled`` while it
toggles disabled versions, again and again; the next backup disables what the killed runs
left enabled (and only that), and says so."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.engine.backup.toggles import ToggleJournal
from core.scaleway.client import ScalewayClient
from core.scaleway.models import VersionStatus
from tests.e2e.conftest import ROOT, Cli, cli_env, running_emulator
from tests.engine.helpers import FULL_SECRET, ORG, SOURCE, emulator_config


def disabled_bulk(count: int) -> list[dict[str, Any]]:
    """Secrets whose first version is disabled (read only by --include-disabled)."""
    return [
        {
            "project_id": SOURCE,
            "region": "fr-par",
            "name": f"d{i:04d}",
            "path": "/toggled",
            "versions": [{"data": f"off-{i}", "status": "disabled"}, {"data": f"on-{i}"}],
        }
        for i in range(count)
    ]


async def _enabled_first_versions(url: str) -> int:
    """How many /toggled secrets have their (originally disabled) first version enabled."""
    count = 0
    async with ScalewayClient(FULL_SECRET, api_url=url, organization_id=ORG) as client:
        async for secret in client.list_secrets("fr-par", project_id=SOURCE, path="/toggled"):
            version = await client.get_version("fr-par", secret.id, 1)
            if version.status == VersionStatus.ENABLED:
                count += 1
    return count


def enabled_first_versions(url: str) -> int:
    return asyncio.run(_enabled_first_versions(url))


def test_sigkilled_include_disabled_backups_leave_nothing_enabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = emulator_config(disabled_bulk(100))
    with running_emulator(config, latency_ms=40) as emu:
        store = str(tmp_path / "store")
        cli = Cli(cli_env(emu.url, store), store, monkeypatch)
        assert cli("init").code == 0
        left = 0
        for kill in range(4):
            emu.app.stats.reset()
            proc = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "backup", "--include-disabled"],
                cwd=ROOT,
                env=cli.process_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                deadline = time.monotonic() + 60
                wanted = 10 + 15 * kill  # kill at a different point each time
                while emu.app.stats["enable_secret_version"] < wanted:
                    assert proc.poll() is None, "the backup ended before it could be killed"
                    assert time.monotonic() < deadline
                    time.sleep(0.005)
                os.kill(proc.pid, signal.SIGKILL)
            finally:
                proc.wait(timeout=10)
            assert proc.returncode == -signal.SIGKILL
            time.sleep(0.2)  # requests already on the wire land
            left = enabled_first_versions(emu.url)
            journal = ToggleJournal.for_organization(ORG)
            # Every version left enabled is in the journal (written before enabling).
            assert len(journal.entries()) >= left
        assert left > 0, "the kills left nothing enabled: the test proves nothing"
        after = cli("backup", "--include-disabled", "--json")
        assert after.code == 0, after.err
        document = after.json()
        assert document["status"] == "complete"
        assert any("left" in w and "enabled" in w for w in document["warnings"])
        assert enabled_first_versions(emu.url) == 0
        assert ToggleJournal.for_organization(ORG).entries() == []
        # The next run has nothing to heal and says nothing about it.
        again = cli("backup", "--json")
        assert again.code == 0
        assert not any("interrupted backup" in w for w in again.json()["warnings"])
