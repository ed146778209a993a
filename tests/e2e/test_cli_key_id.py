"""Key Manager keys and the organization's secret quota through ``restore`` and ``copy``, end
to end (issue 14): the real CLI, the emulator over real HTTP, a real local store; what was
created checked with the official SDK.

- a secret's ``key_id`` follows a restore into its own project and region; elsewhere the plan
  says it cannot follow (``key_id_dropped``, a ``detail`` note, a warning naming ``--key-id``)
  and ``--key-id ID`` chooses the key of the created secrets (UUID-checked: exit 2);
- ``copy`` takes the same ``--key-id`` (a key never follows a copy);
- the organization's secret quota (403 ``quotas_exceeded`` on create) is one clear message
  naming the quota: the restore is partial and nothing is written for the refused secret.
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
from tests.engine.helpers import FULL_ACCESS, FULL_SECRET, ORG, OTHER, SOURCE, TARGET

KEY = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"  # the key the source secret was created with
CHOSEN = "7a2e3d4c-5b6f-4071-9b8c-0d1e2f3a4b5c"  # a key of the destination


def _config(**settings: Any) -> dict[str, Any]:
    return {
        "organization_id": ORG,
        "settings": settings,
        "projects": [
            {"id": ORG, "name": "default"},
            {"id": SOURCE, "name": "production"},
            {"id": TARGET, "name": "recovery"},
            {"id": OTHER, "name": "other"},
        ],
        "api_keys": [
            {
                "access_key": FULL_ACCESS,
                "secret_key": FULL_SECRET,
                "permission_sets": ["SecretManagerFullAccess", "ProjectReadOnly"],
            }
        ],
        "secrets": [],
    }


@dataclass
class World:
    emulator: Emulator
    cli: Cli
    clock: list[datetime]

    def api(self) -> Any:
        from scaleway.secret.v1beta1 import SecretV1Beta1API

        return SecretV1Beta1API(sdk_client(self.emulator.url))

    def create(self, name: str, key_id: str | None = None) -> str:
        """A secret of the source with one version, through the SDK (``key_id``: its key)."""
        api = self.api()
        secret = api.create_secret(
            name=name, protected=False, path="/app", key_id=key_id, region="fr-par"
        )
        api.create_secret_version(
            secret_id=secret.id, data=base64.b64encode(name.encode()).decode(), region="fr-par"
        )
        return str(secret.id)

    def keys(self, project: str, region: str = "fr-par") -> dict[str, str | None]:
        """The live secrets of a project by name, and their key, as the SDK reads them."""
        api = self.api()
        listed = api.list_secrets_all(
            scheduled_for_deletion=False, project_id=project, region=region
        )
        return {s.name: api.get_secret(secret_id=s.id, region=region).key_id for s in listed}

    def backup(self) -> str:
        result = self.cli("backup", "--json")
        assert result.code == 0, result.err
        return str(result.json()["snapshot_id"])


def _world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Iterator[World]:
    clock = [datetime.now(UTC)]
    with running_emulator(_config(**settings), clock=lambda: clock[0]) as emu:
        store = str(tmp_path / "store")
        cli = Cli(cli_env(emu.url, store), store, monkeypatch)
        assert cli("init", "--kdf", "fast").code == 0
        yield World(emu, cli, clock)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from _world(tmp_path, monkeypatch)


@pytest.fixture
def quota_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from _world(tmp_path, monkeypatch, max_secrets=3)


def _action(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in doc["actions"] if a["name"] == name)


def test_the_key_follows_only_into_its_own_project_and_region(world: World) -> None:
    world.create("keyed", KEY)
    world.create("plain")
    assert world.keys(SOURCE) == {"keyed": KEY, "plain": None}
    snap = world.backup()

    # another project: the plan says the key cannot follow, and how to choose one
    plan = world.cli("restore", snap, "--to-project", TARGET, "--dry-run", "--json")
    assert plan.code == 0, plan.err
    keyed, plain = _action(plan.json(), "keyed"), _action(plan.json(), "plain")
    assert keyed["action"] == "create" and keyed["key_id_dropped"] is True
    assert keyed["key_id"] is None and "cannot follow" in keyed["detail"]
    assert plain["key_id_dropped"] is False and "cannot follow" not in plain["detail"]
    assert plan.json()["key_id"] is None
    assert "--key-id" in plan.err and "would be created without" in plan.err

    # applied as planned: created with the platform's key, said on stderr
    done = world.cli("restore", snap, "--to-project", TARGET, "--json")
    assert done.code == 0, done.err
    assert _action(done.json(), "keyed")["key_id_dropped"] is True
    assert "were created without their Key Manager key" in done.err
    assert world.keys(TARGET) == {"keyed": None, "plain": None}

    # another region, --key-id: every created secret gets the chosen key
    chosen = world.cli(
        "restore", snap, "--to-region", "nl-ams", "--key-id", CHOSEN.upper(), "--json"
    )
    assert chosen.code == 0, chosen.err
    doc = chosen.json()
    assert doc["key_id"] == CHOSEN
    assert _action(doc, "keyed")["key_id"] == CHOSEN
    assert _action(doc, "keyed")["key_id_dropped"] is False
    assert "without their Key Manager key" not in chosen.err
    assert world.keys(SOURCE, "nl-ams") == {"keyed": CHOSEN, "plain": CHOSEN}

    # its own project and region (the secrets gone meanwhile): the recorded key follows; a
    # chosen key only goes to the secret that had none
    api = world.api()
    for secret in api.list_secrets_all(
        scheduled_for_deletion=False, project_id=SOURCE, region="fr-par"
    ):
        api.delete_secret(secret_id=secret.id, region="fr-par")
    world.clock[0] += timedelta(days=8)  # past the grace period: purged
    assert world.keys(SOURCE) == {}
    home = world.cli("restore", snap, "--key-id", CHOSEN, "--json")
    assert home.code == 0, home.err
    assert _action(home.json(), "keyed")["key_id"] == KEY
    assert _action(home.json(), "keyed")["key_id_dropped"] is False
    assert world.keys(SOURCE) == {"keyed": KEY, "plain": CHOSEN}

    # a second identical restore changes nothing, keys included
    again = world.cli("restore", snap, "--json")
    assert again.code == 0 and again.json()["summary"]["planned_create"] == 0
    assert world.keys(SOURCE) == {"keyed": KEY, "plain": CHOSEN}


def test_copy_takes_a_key_and_a_malformed_one_is_a_usage_error(world: World) -> None:
    world.create("keyed", KEY)

    # a malformed key id: exit 2 before anything is read or written
    for verb in (["restore", "latest"], ["copy", "--to-project", OTHER]):
        bad = world.cli(*verb, "--key-id", "not-a-key")
        assert bad.code == 2, bad.err
        assert "not an id" in bad.err
    assert world.cli("snapshots", "--json").json() in ([], {"snapshots": []})

    copied = world.cli("copy", "--to-project", OTHER, "--json")
    assert copied.code == 0, copied.err
    assert _action(copied.json(), "keyed")["key_id_dropped"] is True
    assert "--key-id" in copied.err
    assert world.keys(OTHER) == {"keyed": None}

    copied = world.cli("copy", "--to-project", TARGET, "--key-id", CHOSEN, "--json")
    assert copied.code == 0, copied.err
    assert _action(copied.json(), "keyed")["key_id"] == CHOSEN
    assert world.keys(TARGET) == {"keyed": CHOSEN}


def test_the_organization_secret_quota_is_one_clear_message(quota_world: World) -> None:
    world = quota_world
    world.create("first")
    world.create("second")
    snap = world.backup()

    # room for one more secret in the organization (3): one created, one refused
    result = world.cli("restore", snap, "--to-project", TARGET, "--json")
    assert result.code == 3, result.err  # partial
    doc = result.json()
    assert doc["status"] == "partial"
    refused = [a for a in doc["actions"] if a["quota_exceeded"]]
    created = [a for a in doc["actions"] if a["outcome"] == "ok"]
    assert len(refused) == 1 and len(created) == 1
    error = refused[0]["error"]
    assert "the organization's quota of secrets is reached (3 of 3)" in error
    assert "nothing was written" in error
    assert "HTTP" not in error and "create_secret" not in error
    # one message for the quota, however many secrets it stopped
    assert result.err.count("quota of secrets") == 1
    assert "ask Scaleway support" in result.err
    # nothing half-applied: the refused secret does not exist at the destination
    assert set(world.keys(TARGET)) == {created[0]["name"]}

    text = world.cli("restore", snap, "--to-project", TARGET)
    assert text.code == 3
    assert "quota of secrets is reached" in text.out and "quota of secrets" in text.err
