"""The real CLI end to end over HTTP: backup, restore, copy; checked with the official SDK."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    PASSPHRASE,
    ROOT,
    Cli,
    Emulator,
    cli_env,
    running_emulator,
    sdk_client,
)
from tests.engine.helpers import (
    BACKUP_SECRET,
    BIG,
    BINARY,
    OTHER,
    READONLY_ACCESS,
    READONLY_SECRET,
    SOURCE,
    TARGET,
    emulator_config,
    many_secrets,
)

BACKUP_KEYS = {"snapshot_id", "status", "secrets", "versions", "versions_read", "bytes_added"}


def sdk_project(url: str, region: str, project: str) -> dict[tuple[str, str], dict[str, Any]]:
    """A project as the official SDK sees it: metadata and every version's bytes."""
    from scaleway.secret.v1beta1 import SecretV1Beta1API

    api = SecretV1Beta1API(sdk_client(url))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for s in api.list_secrets_all(scheduled_for_deletion=False, project_id=project, region=region):
        versions = sorted(
            api.list_secret_versions_all(secret_id=s.id, region=region), key=lambda v: v.revision
        )
        once = bool(s.ephemeral_policy and s.ephemeral_policy.expires_once_accessed)
        data: list[tuple[str, bytes | None]] = []
        for v in versions:
            payload = None
            status = str(v.status)
            if not once and status in ("enabled", "disabled"):
                if status == "disabled":
                    api.enable_secret_version(
                        secret_id=s.id, revision=str(v.revision), region=region
                    )
                accessed = api.access_secret_version(
                    secret_id=s.id, revision=str(v.revision), region=region
                )
                if status == "disabled":
                    api.disable_secret_version(
                        secret_id=s.id, revision=str(v.revision), region=region
                    )
                payload = base64.b64decode(accessed.data)
            data.append((status, payload))
        policy = s.ephemeral_policy
        out[(s.path, s.name)] = {
            "type": str(s.type_),
            "tags": list(s.tags),
            "description": s.description,
            "protected": s.protected,
            "ephemeral": None
            if policy is None
            else (policy.time_to_live, policy.expires_once_accessed, str(policy.action)),
            "versions": data,
            "version_descriptions": [v.description for v in versions],
        }
    return out


def test_backup_restore_round_trip_checked_with_the_sdk(cli: Cli, emulator: Emulator) -> None:
    assert cli("init").code == 0
    backup = cli("backup", "--include-disabled", "--environment", "production", "--json")
    assert backup.code == 0, backup.err
    doc = backup.json()
    assert set(doc) >= BACKUP_KEYS
    assert doc["status"] == "complete" and doc["secrets"] == 13
    assert doc["versions_read"] == doc["versions"] - 2  # "old" is scheduled, "one-shot" expires
    assert doc["bytes_added"] > len(BIG)
    assert backup.err.strip() == "" or "expires once accessed" in backup.err

    restore = cli(
        "restore", "latest", "--to-project", TARGET, "--to-region", "nl-ams", "--verify", "--json"
    )
    assert restore.code == 0, restore.err
    rdoc = restore.json()
    assert rdoc["status"] == "ok"
    assert {a["action"] for a in rdoc["actions"]} == {"create", "skip"}
    assert all({"action", "outcome", "secret_id"} <= set(a) for a in rdoc["actions"])

    source = sdk_project(emulator.url, "fr-par", SOURCE)
    target = sdk_project(emulator.url, "nl-ams", TARGET)
    source.pop(("/prod/legacy", "old"), None)  # scheduled for deletion: not restored
    one_shot = ("/prod/tmp", "one-shot")
    assert target.pop(one_shot)["versions"] == []  # never read: expires once accessed
    source.pop(one_shot)
    assert target == source  # field by field, byte by byte, every status
    assert target[("/prod/bin", "blob")]["versions"] == [("enabled", BINARY)]
    assert target[("/prod/bin", "big")]["versions"] == [("enabled", BIG)]
    assert target[("/prod/api", "stripe-key")]["versions"][0] == ("disabled", b"sk_live_v1")

    generation = emulator.app.state.generation
    again = cli("restore", "latest", "--to-project", TARGET, "--to-region", "nl-ams", "--json")
    assert again.code == 0
    assert {a["action"] for a in again.json()["actions"]} <= {"skip_identical", "skip"}
    assert emulator.app.state.generation == generation  # the second run changed nothing

    human = cli("restore", "latest", "--to-project", TARGET, "--to-region", "nl-ams", "--dry-run")
    assert human.code == 0 and "dry run" in human.out and "skip_identical" in human.out

    unchanged = cli("backup", "--json")
    assert unchanged.code == 0 and unchanged.json()["versions_read"] == 0


def test_single_secret_single_version_and_conflicts(cli: Cli, emulator: Emulator) -> None:
    assert cli("init").code == 0
    assert cli("backup", "--include-disabled").code == 0
    one = cli(
        "restore",
        "latest",
        "--secret",
        "/prod/api/stripe-key",
        "--revision",
        "2",
        "--to-project",
        TARGET,
        "--json",
    )
    assert one.code == 0, one.err
    actions = one.json()["actions"]
    assert [(a["name"], a["action"], a["revisions"]) for a in actions] == [
        ("stripe-key", "create", [2])
    ]
    target = sdk_project(emulator.url, "fr-par", TARGET)
    assert target[("/prod/api", "stripe-key")]["versions"] == [("enabled", b"sk_live_v2")]

    # Someone changes the destination; the policies then differ.
    from scaleway.secret.v1beta1 import SecretV1Beta1API

    api = SecretV1Beta1API(sdk_client(emulator.url))
    dest = api.list_secrets_all(scheduled_for_deletion=False, project_id=TARGET, name="stripe-key")[
        0
    ]
    api.create_secret_version(secret_id=dest.id, data=base64.b64encode(b"changed").decode())

    args = ("restore", "latest", "--secret", "stripe-key", "--to-project", TARGET)
    generation = emulator.app.state.generation
    fail = cli(*args, "--on-conflict", "fail", "--json")
    assert fail.code == 1 and "nothing was changed" in fail.err
    assert fail.json()["status"] == "conflict"
    assert [a["outcome"] for a in fail.json()["actions"]] == ["conflict"]
    assert emulator.app.state.generation == generation
    skip = cli(*args, "--on-conflict", "skip", "--json")
    assert skip.code == 0 and skip.json()["actions"][0]["action"] == "skip"
    new = cli(*args, "--json")
    assert new.code == 0 and new.json()["actions"][0]["action"] == "add_version"
    latest = api.access_secret_version(secret_id=dest.id, revision="latest")
    assert base64.b64decode(latest.data) == "sk_live_v3 ünïcödé ✓".encode()

    bad = cli("restore", "latest", "--secret", "id:not-a-uuid")
    assert bad.code == 2 and "selector" in bad.err
    missing = cli("restore", "nosuchsnapshot")
    assert missing.code != 0 and "Traceback" not in missing.err


def test_copy_to_another_project_and_region(cli: Cli, emulator: Emulator) -> None:
    assert cli("init").code == 0
    dry = cli(
        "copy",
        "--project",
        SOURCE,
        "--region",
        "fr-par",
        "--to-project",
        TARGET,
        "--dry-run",
        "--json",
    )
    assert dry.code == 0, dry.err
    assert dry.json()["status"] == "dry_run" and dry.json()["snapshot_id"] is None
    assert sdk_project(emulator.url, "fr-par", TARGET) == {}

    copied = cli(
        "copy",
        "--project",
        SOURCE,
        "--region",
        "fr-par",
        "--to-project",
        TARGET,
        "--to-region",
        "pl-waw",
        "--secret",
        "/prod/db/*",
        "--secret",
        "/prod/app/*",
        "--verify",
        "--json",
    )
    assert copied.code == 0, copied.err
    doc = copied.json()
    assert doc["status"] == "ok" and doc["snapshot_id"]
    assert sorted(a["name"] for a in doc["actions"]) == ["admin", "primary", "settings"]
    target = sdk_project(emulator.url, "pl-waw", TARGET)
    source = sdk_project(emulator.url, "fr-par", SOURCE)
    for key, value in target.items():
        assert value == source[key]
    snapshots = cli("snapshots", "--tag", "copy", "--json")
    assert snapshots.code == 0 and doc["snapshot_id"] in snapshots.out

    again = cli(
        "copy",
        "--project",
        SOURCE,
        "--to-project",
        TARGET,
        "--to-region",
        "pl-waw",
        "--secret",
        "/prod/db/*",
        "--json",
    )
    assert again.code == 0 and {a["action"] for a in again.json()["actions"]} == {"skip_identical"}


def test_missing_permissions_give_the_preflight_message(cli: Cli) -> None:
    assert cli("init").code == 0
    readonly = {"SCW_SECRET_KEY": READONLY_SECRET, "SCW_ACCESS_KEY": READONLY_ACCESS}
    denied = cli("backup", "--json", env=readonly)
    assert denied.code == 1
    # No result on stdout: only the one error document (issue 9's --json contract).
    doc = denied.json()
    assert doc["exit_code"] == 1 and "SecretManagerSecretAccess" in doc["error"]
    assert "snapshot_id" not in doc
    assert "SecretManagerSecretAccess" in denied.err and "IAM" in denied.err
    assert READONLY_SECRET not in denied.err

    assert cli("backup").code == 0
    backup_only = {"SCW_SECRET_KEY": BACKUP_SECRET}
    refused = cli("restore", "latest", "--to-project", TARGET, env=backup_only)
    assert refused.code == 1
    for name in (
        "SecretManagerSecretCreate",
        "SecretManagerSecretWrite",
        "SecretManagerSecretRestore",
    ):
        assert name in refused.err


def test_exit_codes_for_store_problems(cli: Cli) -> None:
    no_store = cli("backup")
    assert no_store.code == 10
    assert cli("init").code == 0
    wrong = cli("backup", env={"SECRET_KLOSET_PASSPHRASE": "not the passphrase"})
    assert wrong.code == 12


def test_backup_of_everything_with_filters(cli: Cli) -> None:
    assert cli("init").code == 0
    everything = cli("backup", "--all-projects", "--all-regions", "--json")
    assert everything.code == 0, everything.err
    doc = everything.json()
    assert len(doc["sources"]) == 12 and doc["secrets"] == 15
    several = cli(
        "backup",
        "--project",
        SOURCE,
        OTHER,
        "--region",
        "fr-par",
        "nl-ams",
        "--tag",
        "prod",
        "--json",
    )
    assert several.code == 0
    assert several.json()["secrets"] == 2  # stripe-key and primary carry the tag
    human = cli("backup", "--secret", "/prod/bin/*")
    assert human.code == 0 and "snapshot" in human.out and "secrets:  2" in human.out


def test_fault_injection_completes_with_nothing_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = emulator_config(many_secrets(4, 2))
    with running_emulator(config, error_rate=0.2, rate_limit=40, seed=3) as emu:
        cli = Cli(cli_env(emu.url, str(tmp_path / "store")), str(tmp_path / "store"), monkeypatch)
        assert cli("init").code == 0
        backup = cli("backup", "--include-disabled", "--json")
        assert backup.code == 0, backup.err
        assert backup.json()["status"] == "complete"
        restore = cli("restore", "latest", "--to-project", TARGET, "--verify", "--json")
        assert restore.code == 0, restore.err
        assert emu.app.stats.injected_errors > 10  # 5xx answers
        assert emu.app.stats.rate_limited > 0  # bare 429s from the rate limit
        emu.app.error_rate = 0.0
        emu.app.set_rate_limit(None)
        source = sdk_project(emu.url, "fr-par", SOURCE)
        target = sdk_project(emu.url, "fr-par", TARGET)
    source.pop(("/prod/legacy", "old"), None)
    source.pop(("/prod/tmp", "one-shot")), target.pop(("/prod/tmp", "one-shot"))
    assert target == source


def test_sigkill_during_backup_leaves_a_store_that_check_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = emulator_config(many_secrets(200, 2))
    with running_emulator(config, latency_ms=10) as emu:
        cli = Cli(cli_env(emu.url, str(tmp_path / "store")), str(tmp_path / "store"), monkeypatch)
        assert cli("init").code == 0
        assert cli("backup", "--secret", "/prod/*").code == 0  # an earlier, intact snapshot
        emu.app.stats.reset()
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "backup", "--concurrency", "4"],
            cwd=ROOT,
            env=cli.process_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while emu.app.stats["access_secret_version"] < 120 and time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                time.sleep(0.02)
            assert proc.poll() is None, "the backup ended before it could be killed"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        check = cli("check")
        assert check.code == 0, check.out + check.err
        listing = cli("snapshots", "--json")
        assert listing.code == 0 and len(listing.json()) == 1
        after = cli("backup", "--json")
        assert after.code == 0 and after.json()["status"] == "complete"
        assert cli("check", "--read-data").code == 0


def test_s3_store_end_to_end(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_bucket(Bucket="kloset-e2e")
        env = cli_env(emulator.url, "s3://kloset-e2e/backups")
        env.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_ALLOW_HTTP": "true",
            }
        )
        cli = Cli(env, env["SECRET_KLOSET_STORE"], monkeypatch)
        assert cli("init").code == 0
        backup = cli("backup", "--json")
        assert backup.code == 0, backup.err
        assert backup.json()["status"] == "complete"
        restore = cli("restore", "latest", "--to-project", TARGET, "--verify", "--json")
        assert restore.code == 0, restore.err
        again = cli("backup", "--json")
        assert again.json()["versions_read"] == 0
        target = sdk_project(emulator.url, "fr-par", TARGET)
        assert target[("/prod/bin", "big")]["versions"] == [("enabled", BIG)]
    finally:
        server.stop()


def test_a_locked_store_exits_11(cli: Cli) -> None:
    import asyncio

    from core.store import Store

    async def hold_exclusive_lock() -> None:
        store = await Store.open(cli.store, PASSPHRASE)
        await store.lock(exclusive=True, purpose="prune")  # held: never released here
        await store.close()

    assert cli("init").code == 0
    asyncio.run(hold_exclusive_lock())
    locked = cli("backup", "--json")
    assert locked.code == 11, locked.err
    assert locked.json()["exit_code"] == 11  # the one error document, no result
