"""A restore's requests: about one per version it writes. The check for another writer is a
``GET …/versions/latest`` only where the plan's knowledge may be old (the first version added
to a secret that already existed); elsewhere the create's own answer is the check, and a
racing writer is still caught from it (its duplicate taken back, the secret planned again)."""

from __future__ import annotations

from typing import Any

import pytest

from core.emulator import EmulatorApp, parse_config
from core.engine.backup import BackupOptions, run_backup
from core.engine.restore import Action, OnConflict, apply_plan, plan_restore
from core.engine.selectors import Selection
from core.scaleway.client import ScalewayClient
from core.scaleway.models import SecretVersion, VersionStatus
from core.store import Store
from tests.engine.helpers import SOURCE, TARGET, emulator_config, many_secrets

COUNT = 12  # secrets of 3 versions each, and nothing else


@pytest.fixture
def app() -> EmulatorApp:
    config = emulator_config(many_secrets(COUNT, 3))
    config["secrets"] = config["secrets"][-COUNT:]
    return EmulatorApp(parse_config(config), seed=1)


async def snapshot(client: ScalewayClient, store: Store) -> str:
    result = await run_backup(client, store, BackupOptions())
    assert result.status == "complete", result.errors
    return result.snapshot_id or ""


async def live_data(client: ScalewayClient, project: str) -> dict[str, list[bytes]]:
    """Each secret's enabled versions' data, oldest first (deleted ones left out: a
    version taken back is scheduled for deletion)."""
    out: dict[str, list[bytes]] = {}
    async for secret in client.list_secrets("fr-par", project_id=project):
        versions = sorted(
            [v async for v in client.list_versions("fr-par", secret.id)],
            key=lambda v: v.revision,
        )
        out[secret.name] = [
            (await client.access_version("fr-par", secret.id, v.revision)).data
            for v in versions
            if v.status == VersionStatus.ENABLED
        ]
    return out


class RacingClient:
    """The client, with another writer's versions landing right before chosen creates of
    ours (after any check this restore makes first, before its create reaches the API)."""

    def __init__(self, real: ScalewayClient, before: dict[int, list[bytes]]) -> None:
        self._real = real
        self._before = before  # our n-th create_version (from 1) -> the other writer's data
        self.creates = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def create_version(
        self, region: str, secret_id: str, data: bytes, **kwargs: Any
    ) -> SecretVersion:
        self.creates += 1
        for other in self._before.get(self.creates, []):
            await self._real.create_version(region, secret_id, other)
        return await self._real.create_version(region, secret_id, data, **kwargs)


async def test_a_first_restore_sends_one_request_per_version_it_writes(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await snapshot(client, store)
    app.stats.reset()
    plan = await plan_restore(client, store, snap, to_project=TARGET, preflight=False)
    result = await apply_plan(client, store, plan)
    assert result.status == "ok"
    counts = dict(app.stats.by_operation)
    # A secret it has just created has no version but ours: no "latest?" before any write.
    assert counts.get("get_secret_version", 0) == 0, counts
    assert counts["create_secret"] == COUNT
    assert counts["create_secret_version"] == 3 * COUNT
    assert app.stats.requests == counts["list_secrets"] + 4 * COUNT, counts
    assert await live_data(client, TARGET) == await live_data(client, SOURCE)


async def half_restored(client: ScalewayClient, versions: int = 1) -> dict[str, str]:
    """Each bulk secret at TARGET with only its first ``versions`` versions (as an
    interrupted restore leaves it); the destination ids by name."""
    ids: dict[str, str] = {}
    async for source in client.list_secrets("fr-par", project_id=SOURCE):
        dest = await client.create_secret(
            "fr-par", name=source.name, path=source.path, project_id=TARGET
        )
        for revision in range(1, versions + 1):
            data = (await client.access_version("fr-par", source.id, revision)).data
            await client.create_version("fr-par", dest.id, data)
        ids[source.name] = dest.id
    return ids


async def test_completing_existing_secrets_checks_once_per_secret_not_per_version(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await snapshot(client, store)
    await half_restored(client)
    plan = await plan_restore(client, store, snap, to_project=TARGET, preflight=False)
    assert all(a.action == Action.ADD_VERSION and len(a.versions) == 2 for a in plan.actions)
    app.stats.reset()
    result = await apply_plan(client, store, plan)
    assert result.status == "ok"
    counts = dict(app.stats.by_operation)
    # The plan read each one's latest revision a while ago: checked again before the first
    # version it adds, and the next one's check is the first one's answer.
    assert counts["get_secret_version"] == COUNT, counts
    assert counts["create_secret_version"] == 2 * COUNT
    assert app.stats.requests == 3 * COUNT, counts
    assert await live_data(client, TARGET) == await live_data(client, SOURCE)


async def test_a_write_between_plan_and_apply_is_seen_before_the_first_version(
    client: ScalewayClient, store: Store
) -> None:
    snap = await snapshot(client, store)
    ids = await half_restored(client)
    name = sorted(ids)[0]
    plan = await plan_restore(
        client,
        store,
        snap,
        to_project=TARGET,
        preflight=False,
        selection=Selection.parse([name]),
        on_conflict=OnConflict.SKIP,
    )
    (action,) = plan.actions
    assert action.action == Action.ADD_VERSION
    # Someone writes to it after the plan was made: nothing of ours lands on top of it.
    await client.create_version("fr-par", ids[name], b"someone else's value")
    result = await apply_plan(client, store, plan)
    assert action.action == Action.SKIP and not action.restored_revisions
    assert result.summary()["versions_added"] == 0
    source = (await live_data(client, SOURCE))[name]
    assert (await live_data(client, TARGET))[name] == [source[0], b"someone else's value"]


async def test_a_racing_copy_between_two_of_our_versions_is_taken_back(
    client: ScalewayClient, store: Store
) -> None:
    snap = await snapshot(client, store)
    source = await live_data(client, SOURCE)
    name = sorted(source)[0]
    plan = await plan_restore(
        client, store, snap, to_project=TARGET, preflight=False, selection=Selection.parse([name])
    )
    (action,) = plan.actions
    assert action.action == Action.CREATE
    # A racing restore's copy of our second version lands just before ours.
    racing = RacingClient(client, {2: [source[name][1]]})
    result = await apply_plan(racing, store, plan)  # type: ignore[arg-type]
    assert result.status == "ok"
    assert (await live_data(client, TARGET))[name] == source[name]  # no duplicate
    again = await plan_restore(
        client, store, snap, to_project=TARGET, preflight=False, selection=Selection.parse([name])
    )
    assert [a.action for a in again.actions] == [Action.SKIP_IDENTICAL]


async def test_a_racing_restore_further_ahead_is_caught_too(
    client: ScalewayClient, store: Store
) -> None:
    """The other restore wrote our second and third versions before our second landed: ours
    is a duplicate of the one two revisions before, taken back all the same."""
    snap = await snapshot(client, store)
    source = await live_data(client, SOURCE)
    name = sorted(source)[0]
    plan = await plan_restore(
        client, store, snap, to_project=TARGET, preflight=False, selection=Selection.parse([name])
    )
    racing = RacingClient(client, {2: source[name][1:]})
    result = await apply_plan(racing, store, plan)  # type: ignore[arg-type]
    assert result.status == "ok"
    assert (await live_data(client, TARGET))[name] == source[name]
