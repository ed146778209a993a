"""Coverage statuses (ok, late, uncovered, excluded), the schedule (systemd timer, crontab
line; never the real user's) and residency."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.engine.jobs import schedule
from core.engine.jobs.coverage import assess
from core.engine.jobs.history import History
from core.engine.jobs.policies import parse_policies
from core.engine.jobs.residency import (
    ResidencyError,
    check_residency,
    region_country,
    residency_violation,
)
from tests.e2e.conftest import Cli
from tests.engine.helpers import OTHER
from tests.jobs.conftest import SCRATCH, SOURCE, TARGET, policy_text, write_policies

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)


def _record(policy: str, source: str, started: datetime, status: str = "ok") -> dict[str, object]:
    return {
        "id": f"{hash((policy, source, started)) & 0xFFFF:064x}",
        "policy": policy,
        "source": source,
        "status": status,
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "steps": [{"name": "backup", "status": status}],
    }


def test_assess_statuses(tmp_path: Path) -> None:
    text = (
        policy_text("/x", projects=f'["{SOURCE}", "{TARGET}"]')
        + f"""
[[sources]]
name = "late-one"
projects = ["{OTHER}"]
regions = ["fr-par"]
environment = "production"
data_class = "critical"

[[sources]]
name = "unlabelled"
projects = "all"
regions = ["nl-ams"]
exclude = ["{SCRATCH}"]
"""
    )
    pf = parse_policies(text, tmp_path / "p.toml")
    history = History(
        [
            _record("critical", "prod-paris", NOW - timedelta(minutes=20)),
            _record("critical", "late-one", NOW - timedelta(hours=3)),
        ]
    )
    projects = {SOURCE: "production", TARGET: "recovery", OTHER: "other", SCRATCH: "scratch"}
    items = {(i.project_id, i.region): i for i in assess(pf, projects, {"primary": history}, NOW)}
    assert items[(SOURCE, "fr-par")].status == "ok"
    assert items[(SOURCE, "fr-par")].policies == ["critical"]
    assert items[(SOURCE, "fr-par")].last_success == NOW - timedelta(minutes=20)
    assert items[(TARGET, "fr-par")].status == "ok"
    assert items[(OTHER, "fr-par")].status == "late"
    assert items[(SOURCE, "pl-waw")].status == "uncovered"
    assert items[(SOURCE, "nl-ams")].status == "uncovered"  # named, but no policy matches
    assert items[(SCRATCH, "nl-ams")].status == "excluded"
    never = assess(pf, projects, {}, NOW)
    assert {i.status for i in never if i.project_id == SOURCE and i.region == "fr-par"} == {"late"}


def test_coverage_command(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    extra = f'exclude = ["{OTHER}"]'
    pol = write_policies(tmp_path, policy_text(cli.store, projects='"all"', extra_source=extra))
    before = cli("coverage", "--policies", pol, "--json").json()
    statuses = {(c["project_id"], c["region"]): c["status"] for c in before["coverage"]}
    assert statuses[(SOURCE, "fr-par")] == "late"
    assert statuses[(OTHER, "fr-par")] == "excluded"
    assert statuses[(SOURCE, "nl-ams")] == "uncovered"
    assert cli("run", "--policies", pol).code == 0
    after = cli("coverage", "--policies", pol, "--json").json()
    item = next(
        c for c in after["coverage"] if (c["project_id"], c["region"]) == (SOURCE, "fr-par")
    )
    assert item["status"] == "ok" and item["policies"] == ["critical"] and item["last_success"]
    assert after["counts"]["ok"] >= 1
    assert cli("coverage", "--policies", pol).code == 0


# --------------------------------------------------------------------------- schedule


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A systemd dir, a systemctl that records its arguments, a crontab kept in a file."""
    unit_dir = tmp_path / "units"
    calls = tmp_path / "systemctl.calls"
    systemctl = tmp_path / "systemctl"
    systemctl.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n')
    crontab_file = tmp_path / "crontab.txt"
    crontab = tmp_path / "crontab"
    crontab.write_text(
        f'#!/bin/sh\nif [ "$1" = "-l" ]; then cat "{crontab_file}" 2>/dev/null || exit 1; '
        f'else cat > "{crontab_file}"; fi\n'
    )
    for script in (systemctl, crontab):
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(schedule.SYSTEMD_DIR_ENV, str(unit_dir))
    monkeypatch.setenv(schedule.SYSTEMCTL_ENV, str(systemctl))
    monkeypatch.setenv(schedule.CRONTAB_ENV, str(crontab))
    return {"units": unit_dir, "calls": calls, "crontab": crontab_file}


def test_tick_follows_the_shortest_every() -> None:
    assert schedule.tick_minutes(timedelta(hours=1)) == 15
    assert schedule.tick_minutes(timedelta(minutes=5)) == 1
    assert schedule.tick_minutes(timedelta(days=1)) == 60
    assert schedule.tick_minutes(None) == 60


def test_systemd_dry_run_prints_and_touches_nothing(
    cli: Cli, tmp_path: Path, tools: dict[str, Path]
) -> None:
    pol = write_policies(tmp_path, policy_text(cli.store))
    result = cli("schedule", "install", "--systemd", "--dry-run", "--policies", pol)
    assert result.code == 0
    assert "Persistent=true" in result.out and "OnCalendar=*:0/15" in result.out
    assert "run --due --policies" in result.out
    assert not tools["units"].exists() and not tools["calls"].exists()
    doc = cli("schedule", "install", "--systemd", "--dry-run", "--policies", pol, "--json").json()
    assert doc["dry_run"] is True and doc["interval_seconds"] == 900


def test_systemd_install_show_remove(cli: Cli, tmp_path: Path, tools: dict[str, Path]) -> None:
    pol = write_policies(tmp_path, policy_text(cli.store))
    assert cli("schedule", "install", "--systemd", "--policies", pol).code == 0
    timer = tools["units"] / "secret-kloset-jobs.timer"
    service = tools["units"] / "secret-kloset-jobs.service"
    assert "Persistent=true" in timer.read_text()
    assert "ExecStart=" in service.read_text() and pol in service.read_text()
    assert "enable --now secret-kloset-jobs.timer" in tools["calls"].read_text()
    shown = cli("schedule", "show", "--json").json()
    assert shown["systemd"]["installed"] is True
    removed = cli("schedule", "remove", "--json").json()
    assert len(removed["files"]) == 2 and not timer.exists()
    assert "disable --now" in tools["calls"].read_text()


def test_cron_install_keeps_other_lines(cli: Cli, tmp_path: Path, tools: dict[str, Path]) -> None:
    tools["crontab"].write_text("0 3 * * * /usr/bin/other-job\n")
    pol = write_policies(tmp_path, policy_text(cli.store, every="1d"))
    assert cli("schedule", "install", "--cron", "--policies", pol).code == 0
    assert cli("schedule", "install", "--cron", "--policies", pol).code == 0  # replaces
    lines = tools["crontab"].read_text().splitlines()
    assert lines[0] == "0 3 * * * /usr/bin/other-job"
    ours = [line for line in lines if "secret-kloset-jobs" in line]
    assert len(ours) == 1 and ours[0].startswith("0 * * * * ") and "run --due" in ours[0]
    assert cli("schedule", "show", "--json").json()["cron"]["lines"] == ours
    assert cli("schedule", "remove").code == 0
    assert tools["crontab"].read_text().splitlines() == ["0 3 * * * /usr/bin/other-job"]
    assert os.environ.get(schedule.CRONTAB_ENV)  # the real crontab was never run


# --------------------------------------------------------------------------- residency


def test_residency() -> None:
    assert [region_country(r) for r in ("fr-par", "nl-ams", "pl-waw")] == ["FR", "NL", "PL"]
    assert residency_violation(None, "nl-ams") is None
    assert residency_violation("FR", "fr-par") is None
    with pytest.raises(ResidencyError) as info:
        check_residency("FR", "nl-ams")
    assert "FR" in info.value.message and "nl-ams" in info.value.message
    assert info.value.exit_code == 2
    assert "NL" in (check_residency("fr", "nl-ams", override=True) or "")


def test_snapshot_residency_check(tmp_path: Path) -> None:
    from core.engine.jobs.residency import check_snapshot_residency
    from core.store.model import SourceInfo

    pf = parse_policies(policy_text("/x"), tmp_path / "p.toml")
    sources = [SourceInfo(region="fr-par", project_id=SOURCE)]
    assert check_snapshot_residency(pf, sources, "fr-par") == []
    assert check_snapshot_residency(pf, sources, None) == []
    assert check_snapshot_residency(None, sources, "pl-waw") == []
    with pytest.raises(ResidencyError):
        check_snapshot_residency(pf, sources, "pl-waw")
    with pytest.raises(ResidencyError):  # found by the job's source tag too
        check_snapshot_residency(
            pf,
            [SourceInfo(region="fr-par", project_id=OTHER)],
            "nl-ams",
            tags=("source:prod-paris",),
        )
    assert (
        check_snapshot_residency(pf, [SourceInfo(region="fr-par", project_id=OTHER)], "nl-ams")
        == []
    )
    (reason,) = check_snapshot_residency(pf, sources, "nl-ams", override=True)
    assert "NL" in reason
