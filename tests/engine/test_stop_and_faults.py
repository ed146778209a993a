"""Issues 13 and 9, engine side: stop means stop (no write starts after a cancel, half-done
secrets reported and completed by a re-run), restores that survive throttling and 503s,
no duplicates from concurrent restores, the 64 KiB limit, counters true under faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest

from core.emulator import EmulatorApp, ThreadedServer, parse_config
from core.engine.backup import BackupOptions, BackupResult, run_backup
from core.engine.copy import run_copy
from core.engine.events import EngineWarning, EventLog
from core.engine.restore import (
    Action,
    RestoreInterrupted,
    RestoreResult,
    apply_plan,
    plan_restore,
)
from core.engine.restore.journal import open_journal
from core.errors import ExitCode
from core.scaleway.client import ScalewayClient
from core.scaleway.models import AccessedVersion
from core.store import Store
from tests.engine.conftest import make_client
from tests.engine.helpers import (
    FULL_SECRET,
    ORG,
    SOURCE,
    TARGET,
    emulator_config,
    many_secrets,
    read_project,
)

WRITES = {"POST", "PATCH", "PUT", "DELETE"}


class Recorder:
    """An ASGI wrapper noting when each write request reached the server."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.writes: list[tuple[float, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in WRITES:
            self.writes.append((time.monotonic(), scope["path"]))
        await self.app(scope, receive, send)


@contextmanager
def served(app: Any) -> Iterator[str]:
    server = ThreadedServer(app)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def http_client(url: str, **kwargs: Any) -> ScalewayClient:
    return ScalewayClient(
        FULL_SECRET,
        api_url=url,
        organization_id=ORG,
        default_project_id=SOURCE,
        default_region="fr-par",
        backoff_base=0.001,
        backoff_max=0.01,
        **kwargs,
    )


async def backup(client: ScalewayClient, store: Store, **options: Any) -> BackupResult:
    return await run_backup(client, store, BackupOptions(**options))


def bulk(count: int) -> list[dict[str, Any]]:
    return emulator_config(many_secrets(count, 3))["secrets"][-count:]


async def bulk_versions(client: ScalewayClient, project: str) -> dict[str, list[bytes | None]]:
    found = await read_project(client, "fr-par", project)
    return {
        name: [d for _, d in s["versions"]]
        for (path, name), s in found.items()
        if path.startswith("/bulk")
    }


# --------------------------------------------------------------------------- stop means stop


async def _cancel_after_writes(
    recorder: Recorder, start: Callable[[], Awaitable[Any]], *, writes: int
) -> tuple[BaseException, float]:
    """Run ``start()``, cancel it once ``writes`` writes arrived; the error and cancel time."""
    task = asyncio.ensure_future(start())
    for _ in range(3000):
        await asyncio.sleep(0.01)
        if len(recorder.writes) >= writes or task.done():
            break
    assert not task.done(), "the run ended before it could be cancelled"
    cancelled_at = time.monotonic()
    task.cancel()
    try:
        await task
    except BaseException as err:  # what the cancel raised is the point
        return err, cancelled_at
    raise AssertionError("the cancelled run returned normally")


def _late_writes(recorder: Recorder, cancelled_at: float) -> list[tuple[float, str]]:
    # A request already on the wire may reach the server a moment after the cancel.
    return [w for w in recorder.writes if w[0] > cancelled_at + 0.15]


async def test_cancelled_restore_starts_no_write_after_the_cancel(store: Store) -> None:
    config = emulator_config(many_secrets(80, 3))
    fast = EmulatorApp(parse_config(config))
    async with make_client(fast) as c:
        snap = await backup(c, store)
        expected = await bulk_versions(c, SOURCE)
    recorder = Recorder(EmulatorApp(fast.state, latency_ms=300))
    with served(recorder) as url:
        async with http_client(url, max_concurrency=32) as c:
            plan = await plan_restore(c, store, snap.snapshot_id or "", to_project=TARGET)
            err, cancelled_at = await _cancel_after_writes(
                recorder, lambda: apply_plan(c, store, plan, concurrency=32), writes=40
            )
            await asyncio.sleep(0.8)  # let the server finish what was on the wire
    assert isinstance(err, RestoreInterrupted)
    assert err.exit_code == ExitCode.INTERRUPTED
    late = _late_writes(recorder, cancelled_at)
    assert late == [], f"{len(late)} write(s) started after the cancel"
    actions = err.result.actions
    half = [a for a in actions if a.interrupted]
    assert half, "secrets in flight are reported as half-restored"
    for a in half:
        assert str(a.outcome) == "failed" and "interrupted half-way" in (a.error or "")
    assert err.details["partial"] == str(len(half))
    assert any(str(a.outcome) == "skipped" for a in actions)  # never started
    # A re-run completes every half-restored secret, with no duplicate version.
    async with make_client(fast) as c:
        plan = await plan_restore(c, store, snap.snapshot_id or "", to_project=TARGET)
        again = await apply_plan(c, store, plan)
        assert again.status == "ok"
        assert await bulk_versions(c, TARGET) == expected


async def test_cancelled_copy_starts_no_write_after_the_cancel(store: Store) -> None:
    config = emulator_config(many_secrets(60, 3))
    fast = EmulatorApp(parse_config(config))
    async with make_client(fast) as c:
        expected = await bulk_versions(c, SOURCE)
    recorder = Recorder(EmulatorApp(fast.state, latency_ms=200))
    with served(recorder) as url:
        async with http_client(url, max_concurrency=32) as c:
            err, cancelled_at = await _cancel_after_writes(
                recorder,
                lambda: run_copy(c, store, project_id=SOURCE, region="fr-par", to_project=TARGET),
                writes=30,
            )
            await asyncio.sleep(0.6)
    assert isinstance(err, RestoreInterrupted)
    assert _late_writes(recorder, cancelled_at) == []
    async with make_client(fast) as c:
        result = await run_copy(c, store, project_id=SOURCE, region="fr-par", to_project=TARGET)
        assert result.status == "ok"
        assert await bulk_versions(c, TARGET) == expected


# --------------------------------------------------------------------------- throttling


async def _restored_once(store: Store, count: int) -> tuple[EmulatorApp, str, dict[str, Any]]:
    """A source, its snapshot, and a destination that already holds part of it."""
    fast = EmulatorApp(parse_config(emulator_config(many_secrets(count, 3))))
    async with make_client(fast) as c:
        snap = await backup(c, store)
        plan = await plan_restore(c, store, snap.snapshot_id or "", to_project=TARGET)
        half = replace(plan, actions=plan.actions[: len(plan.actions) // 2])
        await apply_plan(c, store, half)
        expected = await bulk_versions(c, SOURCE)
    return fast, snap.snapshot_id or "", expected


async def _rerun_under(
    app: EmulatorApp, store: Store, snapshot: str, **client: Any
) -> RestoreResult:
    async with make_client(app, **client) as c:
        plan = await plan_restore(c, store, snapshot, to_project=TARGET)
        return await apply_plan(c, store, plan)


@pytest.mark.parametrize(
    ("faults", "client"),
    [
        ({"rate_limit": 10}, {"max_retries": 2}),
        ({"error_rate": 0.3, "seed": 7}, {"max_retries": 1}),
    ],
    ids=["rate-limit-10", "503s"],
)
async def test_restore_rerun_survives_throttling(
    store: Store, faults: dict[str, Any], client: dict[str, Any]
) -> None:
    fast, snapshot, expected = await _restored_once(store, 40)
    hostile = EmulatorApp(fast.state, **faults)
    # Planning never ends the run: a secret it cannot plan is a failed action.
    result = await _rerun_under(hostile, store, snapshot, **client)
    assert result.status in ("ok", "partial")
    for a in result.failed:
        assert a.error and a.secret_id in a.error
    if result.status == "partial":
        assert result.exit_code == ExitCode.PARTIAL
    # A re-run completes it, adding nothing twice.
    final = await _rerun_under(fast, store, snapshot)
    assert final.status == "ok"
    async with make_client(fast) as c:
        assert await bulk_versions(c, TARGET) == expected


async def test_a_plan_failure_is_a_failed_action(store: Store) -> None:
    fast, snapshot, _ = await _restored_once(store, 6)
    async with make_client(fast) as c:
        # One destination secret's versions fail (not the preflight's probe of a random id).
        # It was patched since the restore (its updated_at moved), so its versions are listed
        # (the others' are answered by the restore journal).
        destination = [s.id async for s in c.list_secrets("fr-par", project_id=TARGET)]
        failing = {destination[0]}
        await c.update_secret("fr-par", destination[0], description="patched by hand")
        real = c.list_versions

        def list_versions(region: str, secret_id: str) -> Any:
            if secret_id in failing:
                raise_server_error()
            return real(region, secret_id)

        c.list_versions = list_versions  # type: ignore[method-assign,assignment]
        plan = await plan_restore(c, store, snapshot, to_project=TARGET)
        failed = [a for a in plan.actions if str(a.outcome) == "failed"]
        assert len(failed) == 1 and failed[0].transient
        assert failed[0].error and "could not" not in failed[0].error
        c.list_versions = real  # type: ignore[method-assign]
        result = await apply_plan(c, store, plan)  # the second pass plans it again
        assert result.status == "ok"


async def test_a_destination_listing_that_fails_is_not_the_end(store: Store) -> None:
    fast, snapshot, expected = await _restored_once(store, 6)
    async with make_client(fast) as c:
        control = await plan_restore(c, store, snapshot, to_project=TARGET)
        refused = 0
        real = c.list_secrets

        def list_secrets(region: str, **kwargs: Any) -> Any:
            nonlocal refused
            if kwargs.get("project_id") == TARGET and kwargs.get("name") is None:
                refused += 1  # the destination's listing (and the preflight's read probe)
                raise_server_error()
            return real(region, **kwargs)

        c.list_secrets = list_secrets  # type: ignore[method-assign,assignment]
        # Each secret looks its own destination up: nothing fails, nothing is added twice.
        plan = await plan_restore(c, store, snapshot, to_project=TARGET)
        assert refused >= 2
        assert not [a for a in plan.actions if str(a.outcome) == "failed"]
        decided = [(a.secret_id, a.action, a.destination_secret_id) for a in plan.actions]
        assert decided == [
            (a.secret_id, a.action, a.destination_secret_id) for a in control.actions
        ]
        assert any(a.action == Action.SKIP_IDENTICAL for a in plan.actions)
        result = await apply_plan(c, store, plan)
        assert result.status == "ok"
        c.list_secrets = real  # type: ignore[method-assign]
        assert await bulk_versions(c, TARGET) == expected


async def test_a_secret_planned_again_keeps_the_version_cap(store: Store) -> None:
    """A secret whose plan failed transiently is planned again by apply's second pass, and
    its destination's 20-version cap still refuses it there (never half-applied)."""
    world = emulator_config(many_secrets(3, 3) + many_secrets(1, 20, project=TARGET))
    async with make_client(EmulatorApp(parse_config(world))) as c:
        snap = await backup(c, store)
        (full,) = [s async for s in c.list_secrets("fr-par", project_id=TARGET)]
        before = [(v.revision, str(v.status)) async for v in c.list_versions("fr-par", full.id)]
        failed_once: set[str] = set()
        real = c.list_versions

        def list_versions(region: str, secret_id: str) -> Any:
            if secret_id == full.id and not failed_once:
                failed_once.add(secret_id)
                raise_server_error()
            return real(region, secret_id)

        c.list_versions = list_versions  # type: ignore[method-assign,assignment]
        plan = await plan_restore(c, store, snap.snapshot_id or "", to_project=TARGET)
        (capped,) = [a for a in plan.actions if a.record.name == full.name]
        assert str(capped.outcome) == "failed" and capped.transient
        result = await apply_plan(c, store, plan)  # the second pass plans it again
        assert str(capped.outcome) == "conflict" and capped.over_cap == (3,)
        assert "20 of its 20 versions" in capped.detail
        assert result.status == "partial"
        after = [(v.revision, str(v.status)) async for v in c.list_versions("fr-par", full.id)]
        assert after == before


def raise_server_error() -> None:
    from core.scaleway.errors import ServerError

    raise ServerError("service unavailable", status_code=503)


# --------------------------------------------------------------------------- duplicates


async def test_two_restores_at_once_add_no_duplicates(store: Store) -> None:
    fast = EmulatorApp(parse_config(emulator_config(many_secrets(30, 3))))
    async with make_client(fast) as c:
        snap = await backup(c, store)
        expected = await bulk_versions(c, SOURCE)
    slow = EmulatorApp(fast.state, latency_ms=10)
    async with make_client(slow) as one, make_client(slow) as two:
        plans = await asyncio.gather(
            plan_restore(one, store, snap.snapshot_id or "", to_project=TARGET),
            plan_restore(two, store, snap.snapshot_id or "", to_project=TARGET),
        )
        await asyncio.gather(
            apply_plan(one, store, plans[0], concurrency=8),
            apply_plan(two, store, plans[1], concurrency=8),
        )
    async with make_client(fast) as c:
        assert await bulk_versions(c, TARGET) == expected
        # And a third run finds nothing to do.
        plan = await plan_restore(c, store, snap.snapshot_id or "", to_project=TARGET)
        assert all(a.action in (Action.SKIP_IDENTICAL, Action.SKIP) for a in plan.actions)


async def test_a_rerun_reports_the_duplicates_it_sees(client: ScalewayClient, store: Store) -> None:
    snap = await backup(client, store)
    plan = await plan_restore(client, store, snap.snapshot_id or "", to_project=TARGET)
    await apply_plan(client, store, plan)
    secret = None
    async for s in client.list_secrets("fr-par", project_id=TARGET, name="primary"):
        secret = s
    assert secret is not None
    latest = await client.access_version("fr-par", secret.id, "latest")
    await client.create_version("fr-par", secret.id, latest.data)  # a racing restore's copy
    plan = await plan_restore(client, store, snap.snapshot_id or "", to_project=TARGET)
    (action,) = [a for a in plan.actions if a.record.name == "primary"]
    assert action.duplicates == 1
    assert "1 duplicate version" in action.detail
    assert action.action == Action.SKIP_IDENTICAL


# --------------------------------------------------------------------------- 64 KiB


async def test_over_64_kib_is_warned_at_backup_and_refused_at_restore(
    client: ScalewayClient, store: Store
) -> None:
    real = client.access_version
    big: dict[str, int] = {}

    async def access_version(region: str, secret_id: str, revision: Any) -> AccessedVersion:
        accessed = await real(region, secret_id, revision)
        if len(accessed.data) == 64 * 1024:  # the "big" secret: the API answered more
            big[secret_id] = accessed.revision
            return replace(accessed, data=accessed.data + b"x", data_crc32=None)
        return accessed

    client.access_version = access_version  # type: ignore[method-assign]
    log = EventLog()
    snap = await run_backup(client, store, BackupOptions(), on_event=log)
    client.access_version = real  # type: ignore[method-assign]
    assert big
    assert any("64 KiB" in w for w in snap.warnings)
    assert any("64 KiB" in e.message for e in log.of(EngineWarning) if isinstance(e, EngineWarning))
    plan = await plan_restore(client, store, snap.snapshot_id or "", to_project=TARGET)
    (refused,) = [a for a in plan.actions if a.record.secret_id in big]
    assert str(refused.outcome) == "failed" and "64 KiB" in (refused.error or "")
    result = await apply_plan(client, store, plan)
    assert result.status == "partial" and result.exit_code == ExitCode.PARTIAL
    names = [s.name async for s in client.list_secrets("fr-par", project_id=TARGET)]
    assert "big" not in names  # never created empty


# --------------------------------------------------------------------------- counters


async def test_backup_counters_are_true_under_faults(store: Store) -> None:
    """A secret deferred to the second pass is counted once, and concurrent secrets'
    reads are never lost (the old code restored the run's totals after a deferral)."""
    app = EmulatorApp(parse_config(emulator_config(many_secrets(40, 3))), latency_ms=2)
    async with make_client(app) as c:
        real = c.access_version
        failed: set[str] = set()

        async def access_version(region: str, secret_id: str, revision: Any) -> AccessedVersion:
            # A 503 that outlasted the retries, once, on revision 2 of ten secrets.
            if revision == 2 and secret_id not in failed and len(failed) < 10:
                failed.add(secret_id)
                raise_server_error()
            return await real(region, secret_id, revision)

        c.access_version = access_version  # type: ignore[method-assign]
        result = await backup(c, store)  # a fresh store: every version with data was read
    assert len(failed) == 10 and result.status == "complete"
    held = [v for r in result.records for v in r.versions if v.payload is not None]
    assert result.versions_read == len(held)
    assert result.bytes_read == sum(v.size or 0 for v in held)
    assert result.to_json()["versions_read"] == len(held)


async def test_a_rerun_disables_what_a_stopped_restore_left_enabled(
    client: ScalewayClient, store: Store
) -> None:
    snap = await backup(client, store, include_disabled=True)
    plan = await plan_restore(client, store, snap.snapshot_id or "", to_project=TARGET)
    await apply_plan(client, store, plan)
    secret = None
    async for s in client.list_secrets("fr-par", project_id=TARGET, name="only-disabled"):
        secret = s
    assert secret is not None
    # As a restore stopped between adding the version and disabling it again leaves it: the
    # version enabled, and no secret-level journal record (an interrupted action leaves none).
    await client.enable_version("fr-par", secret.id, 1)
    journal = open_journal(store)
    assert journal is not None
    journal.secrets.pop(("fr-par", TARGET, secret.id))
    plan = await plan_restore(client, store, snap.snapshot_id or "", to_project=TARGET)
    (action,) = [a for a in plan.actions if a.record.name == "only-disabled"]
    assert action.action == Action.ADD_VERSION and action.disable_revisions == (1,)
    assert action.versions == ()
    others = [a for a in plan.actions if a is not action]
    assert all(a.action in (Action.SKIP_IDENTICAL, Action.SKIP) for a in others)
    result = await apply_plan(client, store, plan)
    assert result.status == "ok"
    assert (await client.get_version("fr-par", secret.id, 1)).status == "disabled"
