"""Drills (restore a sample into a scratch project, verify, clean up; refusals), drills due
with a moving clock, and the runner in-process with an API key about to expire."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from core.engine.jobs.clock import FixedClock
from core.engine.jobs.policies import StoreSpec, load_policies
from core.engine.jobs.runner import Runner
from core.scaleway.client import ScalewayClient
from core.store import KdfParams, Store
from core.store.jobrecords import JobRecords
from tests.e2e.conftest import PASSPHRASE, Cli, Emulator
from tests.engine.helpers import FULL_ACCESS, FULL_SECRET, ORG
from tests.jobs.conftest import SCRATCH, SOURCE, policy_text, write_policies

DRILL = f'drill = {{ every = "7d", project = "{SCRATCH}", region = "fr-par", sample = 3 }}'


async def _count(url: str, project: str, region: str = "fr-par") -> int:
    async with ScalewayClient(FULL_SECRET, api_url=url, organization_id=ORG) as client:
        return len([s async for s in client.list_secrets(region, project_id=project)])


def test_drill_restores_verifies_and_cleans_up(
    cli: Cli, emulator: Emulator, tmp_path: Path
) -> None:
    assert cli("init").code == 0
    pol = write_policies(tmp_path, policy_text(cli.store, extra_policy=DRILL))
    assert (
        cli("run", "--policies", pol, env={"SECRET_KLOSET_NOW": "2026-12-01T10:00:00Z"}).code == 0
    )
    result = cli("drill", "--policies", pol, "--json")
    assert result.code == 0, result.out + result.err
    (drill,) = result.json()["drills"]
    step = drill["steps"][0]
    assert (drill["status"], step["name"], step["status"]) == ("ok", "drill", "ok")
    assert step["details"]["chosen"] == 3
    assert step["details"]["verified"] == 3 and step["details"]["deleted"] == 3
    assert asyncio.run(_count(emulator.url, SCRATCH)) == 0
    history = cli("jobs", "--policies", pol, "--json").json()["jobs"]
    assert history[0]["kind"] == "drill"


def test_drill_uses_a_manual_backup_before_any_job(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    assert cli("backup", "--project", SOURCE, "--region", "fr-par").code == 0
    pol = write_policies(tmp_path, policy_text(cli.store, extra_policy=DRILL))
    result = cli("drill", "--policies", pol, "--json")
    assert result.code == 0, result.out
    assert result.json()["drills"][0]["steps"][0]["details"]["verified"] == 3


def test_drill_runs_in_run_only_when_due(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    pol = write_policies(tmp_path, policy_text(cli.store, extra_policy=DRILL))

    def steps(moment: str) -> list[str]:
        doc = cli("run", "--due", "--policies", pol, "--json", env={"SECRET_KLOSET_NOW": moment})
        assert doc.code == 0, doc.out
        jobs = doc.json()["jobs"]
        return [s["name"] for s in jobs[0]["steps"]] if jobs else []

    assert steps("2026-12-01T10:00:00Z")[-1] == "drill"
    assert "drill" not in steps("2026-12-02T10:00:00Z")
    assert steps("2026-12-08T10:00:01Z")[-1] == "drill"


def test_drill_refuses_a_source_project(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    bad = DRILL.replace(SCRATCH, SOURCE)
    pol = write_policies(tmp_path, policy_text(cli.store, extra_policy=bad))
    assert cli("run", "--policies", pol).code == 3  # backup ok, drill refused: partial
    result = cli("drill", "--policies", pol, "--json")
    assert result.code == 3
    step = result.json()["drills"][0]["steps"][0]
    assert step["details"]["refused"] is True and "backed up by source" in step["errors"][0]


def test_drill_refuses_a_project_holding_foreign_secrets(
    cli: Cli, emulator: Emulator, tmp_path: Path
) -> None:
    assert cli("init").code == 0

    async def plant() -> None:
        async with ScalewayClient(FULL_SECRET, api_url=emulator.url, organization_id=ORG) as c:
            await c.create_secret("fr-par", project_id=SCRATCH, name="someone-elses")

    asyncio.run(plant())
    pol = write_policies(tmp_path, policy_text(cli.store, extra_policy=DRILL))
    assert cli("run", "--policies", pol).code == 3
    result = cli("drill", "--policies", pol, "--json")
    step = result.json()["drills"][0]["steps"][0]
    assert result.code == 3 and step["details"]["refused"] is True
    assert "did not create" in step["errors"][0]
    assert asyncio.run(_count(emulator.url, SCRATCH)) == 1  # untouched


def test_drill_refuses_a_region_outside_the_residency(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    bad = DRILL.replace('region = "fr-par"', 'region = "nl-ams"')
    pol = write_policies(tmp_path, policy_text(cli.store, extra_policy=bad))
    assert cli("run", "--policies", pol).code == 3
    step = cli("drill", "--policies", pol, "--json").json()["drills"][0]["steps"][0]
    assert "FR" in step["errors"][0] and "NL" in step["errors"][0]


# --------------------------------------------------------------------------- runner in-process


@dataclass
class _Key:
    expires_at: datetime | None


class _IamClient(ScalewayClient):
    """The client with the IAM read the client engineer adds (get_api_key)."""

    expires_at: datetime | None = None

    async def get_api_key(self, access_key: str) -> _Key:
        assert access_key == FULL_ACCESS
        return _Key(self.expires_at)


@dataclass
class _Creds:
    url: str
    expires_at: datetime
    access_key: str | None = FULL_ACCESS
    organization_id: str | None = ORG
    default_project_id: str | None = SOURCE
    default_region: str = "fr-par"
    profile: str | None = None

    def client(self, **kwargs: Any) -> ScalewayClient:
        client = _IamClient(
            FULL_SECRET, api_url=self.url, organization_id=ORG, default_project_id=SOURCE, **kwargs
        )
        client.expires_at = self.expires_at
        return client


class _Env:
    def __init__(self, url: str, expires_at: datetime) -> None:
        self.url, self.expires_at = url, expires_at

    async def credentials(self, profile: str | None) -> _Creds:
        return _Creds(self.url, self.expires_at)

    async def open_store(self, spec: StoreSpec) -> Store:
        return await Store.open(spec.location, PASSPHRASE, cache_dir=":memory:")


async def test_runner_warns_of_an_expiring_key_in_output_records_and_metrics(
    emulator: Emulator, tmp_path: Path
) -> None:
    location = str(tmp_path / "store")
    store = await Store.init(location, PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=":memory:")
    await store.close()
    metrics = tmp_path / "m.prom"
    pol = write_policies(tmp_path, policy_text(location, notify=f'metrics_file = "{metrics}"'))
    clock = FixedClock(datetime(2026, 12, 1, 10, tzinfo=UTC))
    expires = clock.now() + timedelta(days=5)
    runner = Runner(
        load_policies(pol), _Env(emulator.url, expires), clock, lock_dir=tmp_path / "locks"
    )
    report = await runner.run(due=True)
    assert report.exit_code == 0
    assert any("expires in 5 day(s)" in w for w in report.warnings)
    assert any("expires in 5 day(s)" in w for w in report.jobs[0].warnings)
    async with await Store.open(location, PASSPHRASE, cache_dir=":memory:") as opened:
        (record,) = await JobRecords(opened).all()
    assert any("expires in" in w for w in record["warnings"])
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    sample = families["secret_kloset_api_key_expiry_timestamp_seconds"].samples[0]
    assert sample.labels == {"profile": "default"} and sample.value == expires.timestamp()
    # moving the clock: not due within the hour, due after it
    clock.advance(timedelta(minutes=59))
    assert (await runner.run(due=True)).jobs == []
    clock.advance(timedelta(minutes=1))
    assert [j.status for j in (await runner.run(due=True)).jobs] == ["ok"]
