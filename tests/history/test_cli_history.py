"""``history``, ``find`` and the resolvers end to end: the emulator over real HTTP (with its
20-version quota and a clock the test moves), the real CLI, a real local store; every answer
is compared with the snapshots' own contents (``ls --json``)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.engine.history import find_revision
from core.engine.selectors import Selection
from core.errors import UsageError
from core.store import Store
from tests.e2e.conftest import PASSPHRASE, Cli, Emulator, cli_env, running_emulator, sdk_client
from tests.engine.helpers import FULL_ACCESS, FULL_SECRET, ORG, SOURCE

ROTATING = "/prod/db/rotating"


def _config() -> dict[str, Any]:
    return {
        "organization_id": ORG,
        "projects": [{"id": ORG, "name": "default"}, {"id": SOURCE, "name": "production"}],
        "api_keys": [
            {
                "access_key": FULL_ACCESS,
                "secret_key": FULL_SECRET,
                "permission_sets": ["SecretManagerFullAccess", "ProjectReadOnly"],
            }
        ],
        "secrets": [
            {
                "project_id": SOURCE,
                "name": "rotating",
                "path": "/prod/db",
                "versions": [{"data": "value-1"}],
            },
            {
                "project_id": SOURCE,
                "name": "session",
                "path": "/prod/tmp",
                "versions": [{"data": "short-lived"}],
                "ephemeral_policy": {"time_to_live": "3600s", "action": "delete"},
            },
            {"project_id": SOURCE, "name": "steady", "path": "/prod", "versions": [{"data": "s"}]},
        ],
    }


@dataclass
class World:
    emulator: Emulator
    cli: Cli
    clock: list[datetime]

    def api(self) -> Any:
        from scaleway.secret.v1beta1 import SecretV1Beta1API

        return SecretV1Beta1API(sdk_client(self.emulator.url))

    def secret_id(self, name: str) -> str:
        secrets = self.api().list_secrets_all(
            scheduled_for_deletion=False, project_id=SOURCE, region="fr-par"
        )
        return next(s.id for s in secrets if s.name == name)

    def add_version(self, secret_id: str, data: str) -> None:
        self.api().create_secret_version(
            secret_id=secret_id, data=base64.b64encode(data.encode()).decode(), region="fr-par"
        )

    def backup(self) -> str:
        result = self.cli("backup", "--json")
        assert result.code == 0, result.err
        return str(result.json()["snapshot_id"])

    def ls(self, snapshot: str) -> list[dict[str, Any]]:
        result = self.cli("ls", snapshot, "--json")
        assert result.code == 0, result.err
        return list(result.json()["secrets"])


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = [datetime.now(UTC)]
    with running_emulator(_config(), clock=lambda: clock[0]) as emu:
        store = str(tmp_path / "store")
        cli = Cli(cli_env(emu.url, store), store, monkeypatch)
        assert cli("init", "--kdf", "fast").code == 0
        yield World(emu, cli, clock)


def _truth(world: World, snapshots: list[str], secret_id: str) -> dict[int, list[str]]:
    """revision -> the snapshots holding it, read from each snapshot's listing."""
    out: dict[int, list[str]] = {}
    for snap in snapshots:
        for s in world.ls(snap):
            if s["secret_id"] == secret_id:
                for v in s["versions"]:
                    out.setdefault(v["revision"], []).append(snap)
    return out


def test_25_versions_across_snapshots_renames_and_ephemeral(world: World) -> None:
    from scaleway_core.api import ScalewayException

    rotating = world.secret_id("rotating")
    for n in range(2, 21):
        world.add_version(rotating, f"value-{n}")
    with pytest.raises(ScalewayException) as refused:  # the emulator enforces the cap
        world.add_version(rotating, "value-21")
    assert refused.value.status_code == 403
    snap1 = world.backup()

    # versions 1-5 deleted at the source after the backup, purged after the grace period;
    # the ephemeral secret's version expires meanwhile
    for revision in range(1, 6):
        world.api().delete_secret_version(
            secret_id=rotating, revision=str(revision), region="fr-par"
        )
    world.clock[0] += timedelta(days=8)
    for n in range(21, 26):
        world.add_version(rotating, f"value-{n}")
    with pytest.raises(ScalewayException):
        world.add_version(rotating, "value-26")
    snap2 = world.backup()

    # renamed and moved between snapshots
    world.api().update_secret(
        secret_id=rotating, name="renamed", path="/prod/moved", region="fr-par"
    )
    snap3 = world.backup()
    snaps = [snap1, snap2, snap3]

    result = world.cli("history", ROTATING, "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["snapshots"] == 3
    [secret] = doc["secrets"]
    assert secret["id"] == rotating
    assert (secret["path"], secret["name"]) == ("/prod/moved", "renamed")
    assert secret["names_seen"] == [ROTATING, "/prod/moved/renamed"]
    assert secret["in_source"] is True
    versions = {v["revision"]: v for v in secret["versions"]}
    assert sorted(versions) == list(range(1, 26))
    truth = _truth(world, snaps, rotating)
    for revision, v in versions.items():
        assert v["snapshots"] == truth[revision]
        assert v["first_snapshot"] == truth[revision][0]
        assert v["last_snapshot"] == truth[revision][-1]
        assert set(v) >= {"created_at", "status", "size", "crc32", "in_source", "has_data"}
    for revision in range(1, 6):
        assert versions[revision]["in_source"] is False
        assert versions[revision]["has_data"] is True  # the store still has it
        assert versions[revision]["size"] == len(f"value-{revision}")
    for revision in range(6, 26):
        assert versions[revision]["in_source"] is True
    assert versions[25]["first_snapshot"] == snap2
    assert "value-" not in result.out  # values never shown

    # the new name finds the same secret
    again = world.cli("history", "renamed", "--json").json()
    assert [s["id"] for s in again["secrets"]] == [rotating]

    # find: under the name each snapshot had
    found = world.cli("find", ROTATING, "--json").json()
    assert [s["id"] for s in found["snapshots"]] == [snap1, snap2]
    assert found["oldest"]["id"] == snap1 and found["newest"]["id"] == snap2
    moved = world.cli("find", "/prod/moved/*", "--json").json()
    assert [s["id"] for s in moved["snapshots"]] == [snap3]
    everything = world.cli("find", "/prod", "--json").json()
    assert [s["id"] for s in everything["snapshots"]] == snaps
    for entry in everything["snapshots"]:
        listed = {(s["secret_id"], s["path"], s["name"]) for s in world.ls(entry["id"])}
        got = {(s["id"], s["path"], s["name"]) for s in entry["secrets"]}
        assert got == listed

    # the ephemeral secret: its only version is gone from the source, still in the store
    session = world.cli("history", "session", "--json").json()["secrets"][0]
    [v1] = session["versions"]
    assert v1["in_source"] is False and v1["has_data"] is True
    assert v1["first_snapshot"] == snap1

    # the text output names versions, never values
    text = world.cli("history", ROTATING)
    assert text.code == 0 and "renamed" in text.out and "value-" not in text.out
    text = world.cli("find", ROTATING)
    assert text.code == 0 and snap1[:8] in text.out

    # restore --secret S --revision N without a snapshot: the newest snapshot holding its data
    async def resolve(revision: int) -> str:
        store = await Store.open(world.cli.store, PASSPHRASE)
        try:
            header, record = await find_revision(store, Selection.parse([ROTATING]), revision)
        finally:
            await store.close()
        assert record.secret_id == rotating
        assert record.version(revision) is not None
        return header.id

    # deleted at the source, yet later backups keep its data reference: the newest holds it
    assert asyncio.run(resolve(3)) == snap3
    assert asyncio.run(resolve(25)) == snap3
    with pytest.raises(UsageError):
        asyncio.run(resolve(99))
    cat = world.cli.run("cat", snap1, "id:" + rotating, "--revision", "3")
    assert cat.code == 0 and cat.out == "value-3"


def test_secret_deleted_at_the_source_and_contract_errors(world: World) -> None:
    steady = world.secret_id("steady")
    snap1 = world.backup()
    world.api().delete_secret(secret_id=steady, region="fr-par")
    world.clock[0] += timedelta(days=8)  # purged
    snap2 = world.backup()
    # as a real subprocess: one JSON document, exit 0
    result = world.cli.run("history", "id:" + steady, "--json")
    assert result.code == 0, result.err
    [secret] = __import__("json").loads(result.out)["secrets"]
    assert secret["in_source"] is False
    assert secret["last_snapshot"] == snap1
    assert [v["in_source"] for v in secret["versions"]] == [False]
    assert snap2 not in secret["versions"][0]["snapshots"]
    # --project / --region narrow the secrets
    scoped = world.cli("history", "steady", "--project", SOURCE, "--region", "fr-par", "--json")
    assert [s["id"] for s in scoped.json()["secrets"]] == [steady]
    elsewhere = world.cli("find", "steady", "--region", "nl-ams", "--json")
    assert elsewhere.code == 0 and elsewhere.json()["snapshots"] == []
    # nothing matches: an empty answer, exit 0; a bad selector: exit 2
    none = world.cli("history", "/nothing/*", "--json")
    assert none.code == 0 and none.json()["secrets"] == []
    empty = world.cli("find", "/nothing/*", "--json")
    assert empty.code == 0 and empty.json()["snapshots"] == [] and empty.json()["oldest"] is None
    bad = world.cli("find", "[oops")
    assert bad.code == 2 and "oops" not in bad.err
    not_an_id = world.cli("history", "steady", "--project", "nope", "--json")
    assert not_an_id.code == 2 and not_an_id.json()["exit_code"] == 2
