"""Restore and copy engines: plans, idempotence, selective restores, conflicts, recovery."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from core.emulator import EmulatorApp, parse_config
from core.engine.backup import BackupOptions, BackupResult, run_backup
from core.engine.copy import COPY_TAG, run_copy
from core.engine.events import ActionDone, ActionPlanned, EventLog
from core.engine.preflight import PreflightError
from core.engine.restore import (
    Action,
    RestoreConflict,
    RestoreInterrupted,
    apply_plan,
    plan_restore,
    restore_error,
)
from core.engine.selectors import Selection
from core.errors import ExitCode, Remedy, UsageError
from core.scaleway.client import ScalewayClient
from core.store import Store
from tests.engine.conftest import make_client
from tests.engine.helpers import (
    BACKUP_SECRET,
    OTHER,
    SOURCE,
    TARGET,
    comparable,
    emulator_config,
    find_secret,
    many_secrets,
    read_project,
)

# What a restore cannot reproduce, by design: a secret scheduled for deletion at backup time
# ("old", not restored unless selected), and versions that expire once accessed ("one-shot",
# never read, so restored without data).
NOT_RESTORED = {("/prod/legacy", "old")}


def mutations(app: EmulatorApp) -> int:
    """The emulator's change counter: bumped by every successful non-GET request."""
    return app.state.generation


async def backup(client: ScalewayClient, store: Store, **options: Any) -> BackupResult:
    result = await run_backup(client, store, BackupOptions(include_disabled=True, **options))
    assert result.status == "complete", result.errors
    return result


async def restore(client: ScalewayClient, store: Store, snapshot: str, **kwargs: Any) -> Any:
    verify = kwargs.pop("verify", True)
    dry_run = kwargs.pop("dry_run", False)
    plan = await plan_restore(client, store, snapshot, **kwargs)
    return await apply_plan(client, store, plan, verify=verify, dry_run=dry_run)


async def test_restore_into_another_project_and_region_is_faithful_and_idempotent(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await backup(client, store)
    source = await read_project(client, "fr-par", SOURCE)

    log = EventLog()
    plan = await plan_restore(
        client, store, snap.snapshot_id or "", to_project=TARGET, to_region="nl-ams", on_event=log
    )
    counts = plan.counts()
    assert counts["create"] == 12 and counts["skip"] == 1  # "old" was scheduled for deletion
    assert len(log.of(ActionPlanned)) == 13
    result = await apply_plan(client, store, plan, verify=True, on_event=log)
    assert result.status == "ok", [a.error for a in result.actions if a.error]
    assert result.exit_code == ExitCode.OK and restore_error(result) is None
    assert len(log.of(ActionDone)) == 12
    summary = result.summary()
    # Every restored version read back; "one-shot" has none (its data was never read).
    assert summary["verified"] == 11 and summary["verify_failed"] == 0

    restored = await read_project(client, "nl-ams", TARGET)
    expected = comparable({k: v for k, v in source.items() if k not in NOT_RESTORED})
    got = comparable(restored)
    one_shot = ("/prod/tmp", "one-shot")
    assert got[one_shot]["versions"] == []  # its data was never read
    expected.pop(one_shot), got.pop(one_shot)
    assert got == expected  # metadata field by field, every version's status and bytes
    # Ids are new, names/paths identical; protected and ephemeral policy carried over.
    assert restored[("/prod", "root-token")]["protected"] is True
    assert restored[("/prod/tmp", "session")]["ephemeral_policy"]["time_to_live"] == "86400s"

    before = mutations(app)
    again = await restore(
        client, store, snap.snapshot_id or "", to_project=TARGET, to_region="nl-ams"
    )
    assert again.status == "ok"
    assert {str(a.action) for a in again.actions} <= {"skip_identical", "skip"}
    assert again.summary()["versions_added"] == 0
    assert mutations(app) == before  # the second run changed nothing
    assert comparable(await read_project(client, "nl-ams", TARGET)) == comparable(restored)


async def test_restore_in_place_changes_nothing(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await backup(client, store)
    before = mutations(app)
    result = await restore(client, store, snap.snapshot_id or "")
    assert result.status == "ok"
    actions = {a.record.name: a.action for a in result.actions}
    assert actions["stripe-key"] == Action.SKIP_IDENTICAL
    assert mutations(app) == before


async def test_single_secret_and_single_version(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await backup(client, store)
    sid = snap.snapshot_id or ""
    # One secret, every version, into an empty project.
    one = await restore(
        client, store, sid, selection=Selection.parse(["/prod/api/stripe-key"]), to_project=TARGET
    )
    assert [a.record.name for a in one.actions] == ["stripe-key"]
    target = await read_project(client, "fr-par", TARGET)
    assert list(target) == [("/prod/api", "stripe-key")]
    assert [d for _, d in target[("/prod/api", "stripe-key")]["versions"]] == [
        b"sk_live_v1",
        b"sk_live_v2",
        "sk_live_v3 ünïcödé ✓".encode(),
    ]

    # One old value back into the source: a new version holding revision 2's data.
    stripe = await find_secret(client, "stripe-key")
    old = await restore(
        client, store, sid, selection=Selection.parse([f"id:{stripe.id}"]), revision=2
    )
    assert [(str(a.action), [v.revision for v in a.versions]) for a in old.actions] == [
        ("add_version", [2])
    ]
    latest = await client.access_version("fr-par", stripe.id, "latest")
    assert latest.revision == 4 and latest.data == b"sk_live_v2"
    # Idempotent: the destination's latest now holds that value.
    before = mutations(app)
    again = await restore(
        client, store, sid, selection=Selection.parse([f"id:{stripe.id}"]), revision=2
    )
    assert again.actions[0].action == Action.SKIP_IDENTICAL
    assert mutations(app) == before

    # Latest only, for a whole folder, into another region.
    latest_only = await restore(
        client,
        store,
        sid,
        selection=Selection.parse(["/prod/db"]),
        versions="latest",
        to_region="pl-waw",
    )
    assert [a.record.name for a in latest_only.actions] == ["primary"]
    primary = await read_project(client, "pl-waw", SOURCE)
    assert len(primary[("/prod/db/eu/west/primary", "primary")]["versions"]) == 1

    with pytest.raises(UsageError):
        await plan_restore(client, store, sid, selection=Selection.parse(["/nothing/here"]))
    with pytest.raises(UsageError):
        await plan_restore(client, store, sid, revision=99)


async def test_conflict_policies(app: EmulatorApp, client: ScalewayClient, store: Store) -> None:
    snap = await backup(client, store)
    sid = snap.snapshot_id or ""
    stripe = await find_secret(client, "stripe-key")
    await client.create_version("fr-par", stripe.id, b"someone else's value")
    selection = Selection.parse(["/prod/api/*"])

    skipped = await restore(client, store, sid, selection=selection, on_conflict="skip")
    assert skipped.actions[0].action == Action.SKIP and skipped.status == "ok"

    before = mutations(app)
    plan = await plan_restore(client, store, sid, on_conflict="fail")
    assert [a.record.name for a in plan.conflicts] == ["stripe-key"]
    with pytest.raises(RestoreConflict):
        await apply_plan(client, store, plan)
    assert mutations(app) == before  # nothing changed, not even the other secrets
    dry = await apply_plan(client, store, plan, dry_run=True)
    assert dry.status == "conflict" and dry.exit_code == ExitCode.ERROR

    fixed = await restore(client, store, sid, selection=selection)
    assert fixed.actions[0].action == Action.ADD_VERSION
    latest = await client.access_version("fr-par", stripe.id, "latest")
    assert latest.data == "sk_live_v3 ünïcödé ✓".encode()


async def test_scheduled_destination_is_recovered_not_duplicated(
    client: ScalewayClient, store: Store
) -> None:
    snap = await backup(client, store)
    stripe = await find_secret(client, "stripe-key")
    await client.delete_secret("fr-par", stripe.id)
    plan = await plan_restore(
        client, store, snap.snapshot_id or "", selection=Selection.parse(["stripe-key"])
    )
    assert plan.actions[0].action == Action.RECOVER
    result = await apply_plan(client, store, plan)
    assert result.status == "ok"
    live = [s async for s in client.list_secrets("fr-par", project_id=SOURCE, name="stripe-key")]
    assert [s.id for s in live] == [stripe.id]  # the same secret, back; no duplicate
    assert result.actions[0].restored_revisions == []  # its data was already the same


async def test_interrupted_history_is_completed(client: ScalewayClient, store: Store) -> None:
    snap = await backup(client, store)
    # A destination holding only the first version, as an interrupted restore leaves it.
    partial = await client.create_secret(
        "fr-par",
        name="primary",
        path="/prod/db/eu/west/primary",
        project_id=TARGET,
        type="database_credentials",
    )
    source = await find_secret(client, "primary")
    first = await client.access_version("fr-par", source.id, 1)
    await client.create_version("fr-par", partial.id, first.data)
    result = await restore(
        client,
        store,
        snap.snapshot_id or "",
        selection=Selection.parse(["primary"]),
        to_project=TARGET,
    )
    action = result.actions[0]
    assert action.action == Action.ADD_VERSION and [v.revision for v in action.versions] == [2]
    target = await read_project(client, "fr-par", TARGET)
    src = await read_project(client, "fr-par", SOURCE)
    key = ("/prod/db/eu/west/primary", "primary")
    assert target[key]["versions"] == src[key]["versions"]


async def test_dry_run_changes_nothing(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await backup(client, store)
    before = mutations(app)
    result = await restore(client, store, snap.snapshot_id or "", to_project=TARGET, dry_run=True)
    assert result.status == "dry_run" and result.exit_code == ExitCode.OK
    assert {str(a.outcome) for a in result.actions} <= {"planned", "skipped"}
    assert mutations(app) == before
    assert await read_project(client, "fr-par", TARGET) == {}


async def test_restore_needs_write_permissions(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await backup(client, store)
    async with make_client(app, BACKUP_SECRET) as backup_only:
        with pytest.raises(PreflightError) as info:
            await plan_restore(backup_only, store, snap.snapshot_id or "", to_project=TARGET)
    for name in (
        "SecretManagerSecretCreate",
        "SecretManagerSecretWrite",
        "SecretManagerSecretRestore",
    ):
        assert name in info.value.message
    assert "SecretManagerSecretAccess" not in info.value.message


async def test_two_sources_into_one_project_report_conflicts(
    client: ScalewayClient, store: Store
) -> None:
    # Same path/name in two source projects, restored into one: the second is a conflict.
    await client.create_secret("fr-par", name="stripe-key", path="/prod/api", project_id=OTHER)
    snap = await run_backup(client, store, BackupOptions(projects=(SOURCE, OTHER)))
    result = await restore(
        client,
        store,
        snap.snapshot_id or "",
        to_project=TARGET,
        selection=Selection.parse(["stripe-key"]),
    )
    assert sorted(str(a.action) for a in result.actions) == ["conflict", "create"]
    assert result.status == "partial" and result.exit_code == ExitCode.PARTIAL
    assert restore_error(result) is not None


async def test_cancelled_restore_stops_between_actions_and_resumes(store: Store) -> None:
    config = emulator_config(many_secrets(24, 2))
    fast = EmulatorApp(parse_config(config))
    async with make_client(fast) as c:
        snap = await backup(c, store)
    slow = EmulatorApp(fast.state, latency_ms=15)
    async with make_client(slow) as c:
        plan = await plan_restore(c, store, snap.snapshot_id or "", to_project=TARGET)
        log = EventLog()
        task = asyncio.create_task(apply_plan(c, store, plan, concurrency=4, on_event=log))
        for _ in range(1000):
            await asyncio.sleep(0.01)
            if len(log.of(ActionDone)) >= 3:
                break
        task.cancel()
        with pytest.raises(RestoreInterrupted) as info:
            await task
        done = [a for a in info.value.result.actions if str(a.outcome) == "ok"]
        assert 3 <= len(done) < len(plan.actions)
        assert info.value.exit_code == ExitCode.INTERRUPTED
        # Every action finished, did not start, or is reported as interrupted half-way
        # (stop means stop: the engine stops between API calls, not between secrets).
        half = [a for a in info.value.result.actions if a.interrupted]
        for action in info.value.result.actions:
            if str(action.outcome) == "ok":
                assert len(action.restored_revisions) == len(action.versions)
            if action.interrupted:
                assert str(action.outcome) == "failed" and "interrupted" in (action.error or "")
        resumed = await restore(c, store, snap.snapshot_id or "", to_project=TARGET)
        assert resumed.status == "ok"
        creates = sum(1 for a in resumed.actions if a.action == Action.CREATE)
        assert (
            len(plan.actions) - len(done) - 1 - len(half)
            <= creates
            <= len(plan.actions) - len(done) - 1
        )
    async with make_client(fast) as c:
        src = comparable(await read_project(c, "fr-par", SOURCE))
        dst = comparable(await read_project(c, "fr-par", TARGET))
        src.pop(("/prod/tmp", "one-shot")), dst.pop(("/prod/tmp", "one-shot"))
        assert dst == src


async def test_copy_and_its_dry_run(app: EmulatorApp, client: ScalewayClient, store: Store) -> None:
    before = mutations(app)
    dry = await run_copy(
        client, store, project_id=SOURCE, region="fr-par", to_project=TARGET, dry_run=True
    )
    assert dry.dry_run and dry.status == "dry_run" and dry.backup is None
    assert sum(1 for a in dry.restore.actions if a.action == Action.CREATE) == 12
    assert mutations(app) == before
    assert await store.list_snapshots() == []  # nothing committed

    copied = await run_copy(
        client,
        store,
        project_id=SOURCE,
        region="fr-par",
        to_project=TARGET,
        to_region="pl-waw",
        include_disabled=True,
        verify=True,
        selection=Selection.parse(["/prod/api/*", "/prod/bin/*"]),
    )
    assert copied.status == "ok"
    assert copied.backup is not None and copied.backup.snapshot_id
    headers = await store.list_snapshots(tags=[COPY_TAG])
    assert [h.id for h in headers] == [copied.backup.snapshot_id]
    document = copied.to_json()
    assert document["snapshot_id"] == copied.backup.snapshot_id
    assert {a["action"] for a in document["actions"]} == {"create"}
    target = await read_project(client, "pl-waw", TARGET)
    source = await read_project(client, "fr-par", SOURCE)
    for key in [("/prod/api", "stripe-key"), ("/prod/bin", "big"), ("/prod/bin", "blob")]:
        assert target[key]["versions"] == source[key]["versions"]

    before = mutations(app)
    again = await run_copy(
        client,
        store,
        project_id=SOURCE,
        region="fr-par",
        to_project=TARGET,
        to_region="pl-waw",
        include_disabled=True,
        selection=Selection.parse(["/prod/api/*", "/prod/bin/*"]),
    )
    assert again.status == "ok" and mutations(app) == before
    assert again.backup is not None and again.backup.versions_read == 0

    with pytest.raises(UsageError):
        await run_copy(client, store, project_id=SOURCE, region="fr-par", to_project=SOURCE)


class FlakyVersions(httpx.AsyncBaseTransport):
    """Answers 503 to the first ``count`` version creations, then lets everything through."""

    def __init__(self, inner: httpx.AsyncBaseTransport, count: int) -> None:
        self.inner = inner
        self.left = count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/versions") and self.left > 0:
            self.left -= 1
            return httpx.Response(503, json={"message": "unavailable", "type": "unavailable"})
        return await self.inner.handle_async_request(request)


async def test_transient_failures_get_a_second_pass(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await backup(client, store)
    transport = FlakyVersions(httpx.ASGITransport(app=app), count=4)
    async with make_client(app, transport=transport, max_retries=2) as flaky:
        plan = await plan_restore(
            flaky,
            store,
            snap.snapshot_id or "",
            selection=Selection.parse(["stripe-key"]),
            to_project=TARGET,
        )
        result = await apply_plan(flaky, store, plan, verify=True, concurrency=1)
    assert transport.left == 0
    action = result.actions[0]
    assert result.status == "ok" and action.outcome == "ok", action.error
    # The first pass created the secret and failed on its first version; the second pass
    # found the empty secret and added every version, in order, once.
    assert action.action == Action.ADD_VERSION, (action.detail, action.restored_revisions)
    assert action.restored_revisions == [1, 2, 3] and action.verified is True
    target = await read_project(client, "fr-par", TARGET)
    assert [d for _, d in target[("/prod/api", "stripe-key")]["versions"]] == [
        b"sk_live_v1",
        b"sk_live_v2",
        "sk_live_v3 ünïcödé ✓".encode(),
    ]


async def test_versions_being_deleted_are_not_brought_back(
    client: ScalewayClient, store: Store
) -> None:
    await backup(client, store)
    primary = await find_secret(client, "primary")
    await client.delete_version("fr-par", primary.id, 1)
    snap = await backup(client, store, rescan=True)
    record = next(r for r in snap.records if r.name == "primary")
    assert record.versions[0].status == "scheduled_for_deletion"
    assert record.versions[0].payload is not None  # the data is still in the store
    everything = await restore(
        client,
        store,
        snap.snapshot_id or "",
        selection=Selection.parse(["primary"]),
        to_project=TARGET,
    )
    assert [v.revision for v in everything.actions[0].versions] == [2]
    one = await restore(
        client,
        store,
        snap.snapshot_id or "",
        selection=Selection.parse(["primary"]),
        revision=1,
        to_project=OTHER,
    )
    assert [v.revision for v in one.actions[0].versions] == [1]  # asked for by revision


async def test_a_revision_without_data_is_refused(client: ScalewayClient, store: Store) -> None:
    snap = await run_backup(client, store, BackupOptions())  # disabled versions: metadata only
    with pytest.raises(UsageError, match="no data for revision 1") as info:
        await plan_restore(
            client,
            store,
            snap.snapshot_id or "",
            selection=Selection.parse(["stripe-key"]),
            revision=1,
        )
    # core names the fix as a remedy; the CLI words it as --include-disabled (cli/hints.py)
    assert info.value.remedy is Remedy.INCLUDE_DISABLED
    assert "--" not in (info.value.hint or "")


async def test_unicode_names_and_paths_round_trip_to_another_project_and_region(
    store: Store,
) -> None:
    """Names and folders in any script survive backup and restore, byte for byte."""
    from tests.engine.helpers import _secret

    unicode_secrets = [
        _secret("mot-de-passe-é", "/équipe/base", [{"data": "v1"}, {"data": "ünïcødé ✓"}]),
        _secret("数据库密码", "/数据/生产", [{"data": "密码".encode().hex()}]),
    ]
    app = EmulatorApp(parse_config(emulator_config(unicode_secrets)), seed=3)
    async with make_client(app) as client:
        snap = await backup(client, store)
        source = await read_project(client, "fr-par", SOURCE)
        result = await restore(
            client, store, snap.snapshot_id or "", to_project=TARGET, to_region="pl-waw"
        )
        assert result.status == "ok", [a.error for a in result.actions if a.error]
        restored = await read_project(client, "pl-waw", TARGET)
        for key in (("/équipe/base", "mot-de-passe-é"), ("/数据/生产", "数据库密码")):
            assert comparable(restored)[key] == comparable(source)[key]
        again = await restore(
            client, store, snap.snapshot_id or "", to_project=TARGET, to_region="pl-waw"
        )
        assert {str(a.action) for a in again.actions} <= {"skip_identical", "skip"}
