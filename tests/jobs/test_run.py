"""``run``, ``jobs``, ``policy``: due-ness with a moving clock, the job pipeline, records in the
store (encrypted), exit codes, and two concurrent ``run --due``."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Cli
from tests.jobs.conftest import policy_text, write_policies

T0 = "2026-12-01T10:00:00Z"


def _at(moment: str) -> dict[str, str]:
    return {"SECRET_KLOSET_NOW": moment}


def test_due_twice_runs_nothing_the_second_time_and_time_makes_it_due(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli("init").code == 0
    pol = write_policies(tmp_path, policy_text(cli.store))
    first = cli("run", "--due", "--policies", pol, "--json", env=_at(T0))
    assert first.code == 0, first.err
    jobs = first.json()["jobs"]
    assert len(jobs) == 1
    job = jobs[0]
    assert set(job) >= {
        "id",
        "policy",
        "source",
        "status",
        "snapshot_id",
        "started_at",
        "finished_at",
        "steps",
        "errors",
    }
    assert (job["policy"], job["source"], job["status"]) == ("critical", "prod-paris", "ok")
    assert [s["name"] for s in job["steps"]] == ["backup", "forget", "check"]
    assert job["started_at"] == T0 and job["snapshot_id"]

    again = cli("run", "--due", "--policies", pol, "--json", env=_at("2026-12-01T10:30:00Z"))
    assert again.code == 0 and again.json()["jobs"] == []

    later = cli("run", "--due", "--policies", pol, "--json", env=_at("2026-12-01T11:00:00Z"))
    assert [j["status"] for j in later.json()["jobs"]] == ["ok"]

    # history: newest first, --limit, the same keys
    history = cli("jobs", "--policies", pol, "--json", "--limit", "1").json()["jobs"]
    assert len(history) == 1 and history[0]["started_at"] == "2026-12-01T11:00:00Z"
    both = cli("jobs", "--store", cli.store, "--json").json()["jobs"]
    assert [j["id"] for j in both] == [later.json()["jobs"][0]["id"], job["id"]]
    assert both[1]["steps"] == job["steps"]
    # without a policy file: the store this machine uses ($SECRET_KLOSET_STORE here)
    assert [j["id"] for j in cli("jobs", "--json").json()["jobs"]] == [j["id"] for j in both]

    shown = cli(
        "policy", "show", "critical", "--policies", pol, "--json", env=_at("2026-12-01T11:10:00Z")
    ).json()["policy"]
    assert shown["rpo_seconds"] == 3600 and shown["sources"] == ["prod-paris"]
    assert shown["jobs"][0]["next_due"] == "2026-12-01T12:00:00Z"
    assert shown["jobs"][0]["last_result"]["status"] == "ok"
    assert shown["last_result"]["status"] == "ok" and shown["next_due"] == "2026-12-01T12:00:00Z"
    listed = cli("policy", "list", "--policies", pol, "--json").json()["policies"]
    assert [p["name"] for p in listed] == ["critical"]
    assert cli("policy", "list", "--policies", pol).code == 0


def test_records_are_encrypted_and_hold_no_names(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    pol = write_policies(tmp_path, policy_text(cli.store))
    assert cli("run", "--policies", pol, env=_at(T0)).code == 0
    objects = list((Path(cli.store) / "jobs").iterdir())
    assert len(objects) == 1
    raw = objects[0].read_bytes()
    assert raw[:4] == b"SKLT" and raw[4] == 7
    for clear in (b"prod-paris", b"critical", b"stripe-key", b"/prod", b"sk_live", b"snapshot"):
        assert clear not in raw
    # tampering is detected: the record is skipped, not trusted
    objects[0].write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    assert cli("jobs", "--store", cli.store, "--json").json()["jobs"] == []


def test_forget_keeps_the_last_n_of_the_job(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    text = policy_text(cli.store).replace("keep = { last = 3, daily = 7 }", "keep = { last = 2 }")
    pol = write_policies(tmp_path, text)
    assert cli("backup").code == 0  # a manual snapshot: not the job's, never forgotten by it
    for hour in range(10, 14):
        assert cli("run", "--policies", pol, env=_at(f"2026-12-01T{hour}:00:00Z")).code == 0
    snaps = cli("snapshots", "--json").json()
    snaps = snaps["snapshots"] if isinstance(snaps, dict) else snaps
    job_snaps = [s for s in snaps if "policy:critical" in s.get("tags", [])]
    assert len(job_snaps) == 2
    assert len(snaps) == 3
    last = cli("jobs", "--policies", pol, "--json", "--limit", "1").json()["jobs"][0]
    forget = next(s for s in last["steps"] if s["name"] == "forget")
    assert forget["details"] == {"kept": 2, "removed": 1}


def test_sync_copies_to_the_offsite_store(cli: Cli, tmp_path: Path) -> None:
    offsite = str(tmp_path / "offsite")
    assert cli("init").code == 0
    assert cli("init", "--store", offsite).code == 0
    pol = write_policies(tmp_path, policy_text(cli.store, offsite=offsite))
    doc = cli("run", "--policies", pol, "--json", env=_at(T0)).json()
    job = doc["jobs"][0]
    sync = next(s for s in job["steps"] if s["name"] == "sync")
    assert sync["status"] == "ok" and sync["details"]["copied"] == 1
    there = cli("snapshots", "--store", offsite, "--json").json()
    there = there["snapshots"] if isinstance(there, dict) else there
    assert [s["id"] for s in there] == [job["snapshot_id"]]


def test_exit_codes(cli: Cli, tmp_path: Path) -> None:
    pol = write_policies(tmp_path, policy_text(cli.store))
    # 1: an error before any job (the store does not exist), one JSON document
    before = cli("run", "--due", "--policies", pol, "--json")
    assert before.code == 1
    assert before.json()["jobs"] == [] and before.json()["error"]
    assert before.json()["exit_code"] == 1
    assert cli("run", "--due", "--policies", pol).code == 1
    # 3: a job partial (its sync target cannot be opened)
    assert cli("init").code == 0
    missing = str(tmp_path / "no-such-store")
    pol = write_policies(tmp_path, policy_text(cli.store, offsite=missing))
    partial = cli("run", "--policies", pol, "--json", env=_at(T0))
    assert partial.code == 3
    job = partial.json()["jobs"][0]
    assert job["status"] == "partial"
    assert next(s for s in job["steps"] if s["name"] == "sync")["status"] == "failed"
    assert any(e.startswith("sync: ") for e in job["errors"])
    # usage: unknown policy name
    assert cli("run", "--policy", "nope", "--policies", pol).code == 2


def test_two_concurrent_due_runs_never_run_a_job_twice(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    pol = write_policies(tmp_path, policy_text(cli.store))
    env = cli.process_env(SECRET_KLOSET_NOW=T0)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "run", "--due", "--policies", pol, "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run(), range(2)))
    import json

    statuses = []
    for proc in results:
        assert proc.returncode == 0, proc.stderr
        statuses += [j["status"] for j in json.loads(proc.stdout)["jobs"]]
    assert statuses.count("ok") == 1
    assert set(statuses) <= {"ok", "skipped"}
    assert len(cli("jobs", "--policies", pol, "--json").json()["jobs"]) == 1


def test_read_data_subset_rotates(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    text = policy_text(cli.store).replace('check = "structure"', 'check = "read-data-subset"')
    pol = write_policies(tmp_path, text)
    subsets = []
    for hour in (10, 11, 12):
        doc = cli("run", "--policies", pol, "--json", env=_at(f"2026-12-01T{hour}:00:00Z")).json()
        check = next(s for s in doc["jobs"][0]["steps"] if s["name"] == "check")
        assert check["status"] == "ok"
        subsets.append(check["details"]["subset"])
    assert subsets == ["1/10", "2/10", "3/10"]


def test_history_is_bounded_per_job(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.engine.jobs.runner

    monkeypatch.setattr(core.engine.jobs.runner, "HISTORY_KEEP", 2)
    assert cli("init").code == 0
    pol = write_policies(tmp_path, policy_text(cli.store))
    ids = []
    for hour in (10, 11, 12):
        doc = cli("run", "--policies", pol, "--json", env=_at(f"2026-12-01T{hour}:00:00Z")).json()
        ids.append(doc["jobs"][0]["id"])
    kept = [j["id"] for j in cli("jobs", "--policies", pol, "--json").json()["jobs"]]
    assert kept == [ids[2], ids[1]]
    assert len(list((Path(cli.store) / "jobs").iterdir())) == 2


def test_a_bug_in_one_job_fails_that_job_only(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.engine.jobs.runner as runner

    real = runner.run_backup
    calls = []

    async def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("a bug")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "run_backup", flaky)
    assert cli("init").code == 0
    text = (
        policy_text(cli.store)
        + """
[[policies]]
name = "second"
match = { environment = "production" }
every = "1d"
"""
    )
    pol = write_policies(tmp_path, text)
    doc = cli("run", "--policies", pol, "--json")
    assert doc.code == 3
    jobs = doc.json()["jobs"]
    assert [j["status"] for j in jobs] == ["failed", "ok"]
    assert "ZeroDivisionError" in jobs[0]["errors"][0] and "a bug" not in jobs[0]["errors"][0]
