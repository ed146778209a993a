"""``restore`` with the store's memory, end to end: the real CLI, the emulator over real HTTP
(its 20-version quota enforced, a clock the test moves), a real local store; destinations
checked with the official SDK.

- ``--at TIME``: the newest snapshot taken at or before it (RFC 3339 or an age);
- ``--secret S --revision N`` without a snapshot: the newest snapshot holding that revision's
  data, followed by id across a rename, said on stderr, named in the JSON;
- one way to choose the snapshot, else a usage error (exit 2, one JSON document);
- the destination's cap: a secret that would pass 20 versions is refused in the plan (never
  half-restored) while the rest proceeds, or with ``--newest-that-fit`` gets the newest
  versions that fit.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli, Emulator, cli_env, running_emulator, sdk_client
from tests.engine.helpers import FULL_ACCESS, FULL_SECRET, ORG, SOURCE, TARGET

ROTATING = [f"v-{n}" for n in range(1, 21)]


def _config() -> dict[str, Any]:
    return {
        "organization_id": ORG,
        "projects": [
            {"id": ORG, "name": "default"},
            {"id": SOURCE, "name": "production"},
            {"id": TARGET, "name": "recovery"},
        ],
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
                "path": "/app",
                "versions": [{"data": d} for d in ROTATING],
            },
            {"project_id": SOURCE, "name": "steady", "path": "/app", "versions": [{"data": "s-1"}]},
            {"project_id": SOURCE, "name": "other", "path": "/app", "versions": [{"data": "o-1"}]},
            # the destination of the cap test: the first 15 versions already restored (an
            # earlier restore stopped half-way), then 2 versions scheduled for deletion, which
            # still count toward the cap: 17 of 20
            {
                "project_id": TARGET,
                "name": "rotating",
                "path": "/app",
                "versions": [{"data": d} for d in ROTATING[:15]]
                + [{"data": "x", "status": "scheduled_for_deletion"} for _ in range(2)],
            },
            # full: 20 versions of other data
            {
                "project_id": TARGET,
                "name": "full",
                "path": "/app",
                "versions": [{"data": f"f-{n}"} for n in range(1, 21)],
            },
            {"project_id": SOURCE, "name": "full", "path": "/app", "versions": [{"data": "new"}]},
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

    def secret(self, name: str, project: str = SOURCE, path: str = "/app") -> Any:
        secrets = self.api().list_secrets_all(
            scheduled_for_deletion=False, project_id=project, region="fr-par"
        )
        return next(s for s in secrets if s.name == name and s.path == path)

    def versions(self, secret_id: str) -> list[tuple[int, str, bytes | None]]:
        """(revision, status, data) of every version, oldest first."""
        api = self.api()
        out = []
        for v in sorted(
            api.list_secret_versions_all(secret_id=secret_id, region="fr-par"),
            key=lambda v: v.revision,
        ):
            data = None
            if str(v.status) == "enabled":
                accessed = api.access_secret_version(
                    secret_id=secret_id, revision=str(v.revision), region="fr-par"
                )
                data = base64.b64decode(accessed.data)
            out.append((v.revision, str(v.status), data))
        return out

    def backup(self) -> str:
        result = self.cli("backup", "--json")
        assert result.code == 0, result.err
        return str(result.json()["snapshot_id"])

    def snapshot_time(self, snapshot: str) -> str:
        docs = self.cli("snapshots", "--json").json()
        listed = docs["snapshots"] if isinstance(docs, dict) else docs
        return str(next(s["time"] for s in listed if s["id"] == snapshot))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = [datetime.now(UTC)]
    with running_emulator(_config(), clock=lambda: clock[0]) as emu:
        store = str(tmp_path / "store")
        cli = Cli(cli_env(emu.url, store), store, monkeypatch)
        assert cli("init", "--kdf", "fast").code == 0
        yield World(emu, cli, clock)


def _action(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in doc["actions"] if a["name"] == name)


def test_restore_at_a_time_and_a_revision_from_whichever_snapshot_holds_it(world: World) -> None:
    steady = world.secret("steady").id
    other = world.secret("other").id
    snap1 = world.backup()
    world.api().create_secret_version(
        secret_id=steady, data=base64.b64encode(b"s-2").decode(), region="fr-par"
    )
    snap2 = world.backup()

    # --at the first snapshot's time (inclusive): that snapshot, its one version of steady
    at = world.snapshot_time(snap1)
    result = world.cli(
        "restore", "--at", at, "--secret", "/app/steady", "--to-project", TARGET, "--json"
    )
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["snapshot_id"] == snap1
    assert _action(doc, "steady")["revisions"] == [1]
    restored = world.secret("steady", TARGET).id
    assert [d for _, _, d in world.versions(restored)] == [b"s-1"]

    # a later time, and an age that every snapshot is younger than
    later = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = world.cli("restore", "--at", later, "--secret", "/app/steady", "--dry-run", "--json")
    assert plan.code == 0 and plan.json()["snapshot_id"] == snap2
    too_early = world.cli("restore", "--at", "1d", "--json")
    assert too_early.code == 2 and too_early.json()["exit_code"] == 2
    assert "no snapshot" in too_early.json()["error"]
    unreadable = world.cli("restore", "--at", "last tuesday")
    assert unreadable.code == 2 and "RFC 3339" in unreadable.err

    # renamed and moved at the source: the old name still finds it, by id
    world.api().update_secret(secret_id=steady, name="renamed", path="/app/moved", region="fr-par")
    snap3 = world.backup()
    # deleted at the source and purged: only the earlier snapshots hold it
    world.api().delete_secret(secret_id=other, region="fr-par")
    world.clock[0] += timedelta(days=8)
    snap4 = world.backup()
    assert len({snap1, snap2, snap3, snap4}) == 4

    result = world.cli(
        "restore", "--secret", "/app/steady", "--revision", "1", "--to-project", TARGET, "--json"
    )
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["snapshot_id"] == snap4  # the newest snapshot holding revision 1's data
    assert f"revision 1 of secret {steady}: from snapshot {snap4[:8]} (" in result.err
    [action] = doc["actions"]
    assert (action["secret_id"], action["path"], action["name"]) == (
        steady,
        "/app/moved",
        "renamed",
    )
    assert action["action"] == "create" and action["revisions"] == [1]
    assert [d for _, _, d in world.versions(world.secret("renamed", TARGET, "/app/moved").id)] == [
        b"s-1"
    ]

    gone = world.cli("restore", "--secret", "id:" + other, "--revision", "1", "--dry-run", "--json")
    assert gone.code == 0, gone.err
    assert gone.json()["snapshot_id"] == snap3
    assert f"from snapshot {snap3[:8]}" in gone.err

    missing = world.cli("restore", "--secret", "/app/steady", "--revision", "9", "--json")
    assert missing.code == 2 and missing.json()["exit_code"] == 2


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (("restore", "latest", "--at", "2d"), ("SNAPSHOT", "--at")),
        (("restore",), ("SNAPSHOT", "--at", "--secret S --revision N")),
        (("restore", "--revision", "1"), ("--at", "--secret S --revision N")),
        (("restore", "--secret", "/app/steady"), ("--at", "--secret S --revision N")),
    ],
)
def test_one_way_to_choose_the_snapshot(
    world: World, argv: tuple[str, ...], named: tuple[str, ...]
) -> None:
    text = world.cli(*argv)
    assert text.code == 2 and text.out == ""
    assert "usage:" in text.err
    for flag in named:
        assert flag in text.err
    as_json = world.cli(*argv, "--json")
    assert as_json.code == 2
    doc = as_json.json()
    assert doc["exit_code"] == 2 and doc["error"] and doc["hint"]


def test_the_destination_version_cap(world: World) -> None:
    snap = world.backup()
    capped = world.secret("rotating", TARGET).id
    full = world.secret("full", TARGET).id
    before = world.versions(capped)
    assert len(before) == 17

    # the plan refuses what would pass the cap, naming what would not fit
    plan = world.cli("restore", snap, "--to-project", TARGET, "--dry-run", "--json")
    assert plan.code == 1 and plan.json()["status"] == "conflict"  # as for any conflict
    rotating = _action(plan.json(), "rotating")
    assert rotating["action"] == "conflict" and rotating["outcome"] == "conflict"
    assert rotating["revisions"] == [16, 17, 18, 19, 20]
    assert rotating["over_cap"] == [16, 17]
    assert "17 of its 20 versions" in rotating["detail"]
    assert _action(plan.json(), "full")["over_cap"] == [1]
    assert _action(plan.json(), "steady")["over_cap"] == []

    # applied: the rest proceeds, the refused secrets are untouched; exit 3 (partial)
    result = world.cli("restore", snap, "--to-project", TARGET, "--json")
    assert result.code == 3, result.err
    doc = result.json()
    assert doc["status"] == "partial"
    assert _action(doc, "rotating")["outcome"] == "conflict"
    assert _action(doc, "full")["outcome"] == "conflict"
    assert _action(doc, "steady")["outcome"] == "ok"
    assert world.versions(capped) == before and len(world.versions(full)) == 20
    assert "--newest-that-fit" in result.err
    text = world.cli("restore", snap, "--to-project", TARGET, "--secret", "/app/rotating")
    assert text.code == 1 and "would not fit" in text.out

    # --newest-that-fit: the newest versions that fit, the older ones named; exit 0
    result = world.cli("restore", snap, "--to-project", TARGET, "--newest-that-fit", "--json")
    assert result.code == 0, result.err
    doc = result.json()
    rotating = _action(doc, "rotating")
    assert rotating["action"] == "add_version" and rotating["outcome"] == "ok"
    assert rotating["revisions"] == [18, 19, 20] and rotating["over_cap"] == [16, 17]
    assert len(rotating["restored_revisions"]) == 3
    after = world.versions(capped)
    assert after[:17] == before
    assert [d for _, _, d in after[17:]] == [b"v-18", b"v-19", b"v-20"]
    skipped = _action(doc, "full")
    assert skipped["action"] == "skip" and skipped["over_cap"] == [1]
    assert "no version fits" in skipped["detail"]
    assert len(world.versions(full)) == 20

    # the emulator agrees: both are at the cap
    from scaleway_core.api import ScalewayException

    for sid in (capped, full):
        with pytest.raises(ScalewayException) as refused:
            world.api().create_secret_version(
                secret_id=sid, data=base64.b64encode(b"one more").decode(), region="fr-par"
            )
        assert refused.value.status_code == 403

    # and a second run changes nothing
    again = world.cli("restore", snap, "--to-project", TARGET, "--newest-that-fit", "--json")
    assert again.code == 0, again.err
    assert _action(again.json(), "rotating")["action"] == "skip_identical"
    assert world.versions(capped) == after
