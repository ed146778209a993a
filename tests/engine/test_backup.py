"""Backup engine against the in-process emulator and an in-memory store."""

from __future__ import annotations

import asyncio
import zlib

import httpx
import pytest

from core.emulator import EmulatorApp, parse_config
from core.engine.backup import BackupOptions, backup_error, run_backup
from core.engine.events import (
    EngineWarning,
    EventLog,
    Phase,
    Progress,
    SecretDone,
    SecretsListed,
    VersionRead,
)
from core.engine.preflight import PreflightError
from core.engine.selectors import Selection
from core.errors import ConfigError, ExitCode, UsageError
from core.scaleway.client import ScalewayClient
from core.scaleway.errors import TransportError
from core.store import Store
from core.store.model import SecretRecord
from tests.engine.conftest import make_client
from tests.engine.helpers import (
    BACKUP_SECRET,
    BIG,
    BINARY,
    OTHER,
    READONLY_SECRET,
    SOURCE,
    TARGET,
    emulator_config,
    find_secret,
    many_secrets,
)

NO_LIST_SECRET = "6d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a"  # a key with ProjectReadOnly only


def by_name(records: list[SecretRecord]) -> dict[str, SecretRecord]:
    return {r.name: r for r in records}


async def test_backup_records_every_kind_of_secret(client: ScalewayClient, store: Store) -> None:
    log = EventLog()
    result = await run_backup(
        client,
        store,
        BackupOptions(environment="production", data_class="confidential"),
        on_event=log,
    )
    assert result.status == "complete", result.errors
    assert backup_error(result) is None
    header = await store.resolve_snapshot(result.snapshot_id or "")
    assert header.environment == "production" and header.data_class == "confidential"
    assert [(s.project_id, s.region, s.project_name) for s in header.sources] == [
        (SOURCE, "fr-par", "production")
    ]
    records = by_name(await store.read_tree(header.id))
    # Only the default source (project SOURCE, fr-par): not nl-ams, not the other project.
    assert "amsterdam" not in records and "elsewhere" not in records
    assert len(records) == 13 == result.secrets

    stripe = records["stripe-key"]
    assert stripe.path == "/prod/api"
    assert stripe.tags == ("prod", "payments", "équipe")
    assert stripe.description == "clé de paiement — prod ✓"
    assert [(v.revision, v.status) for v in stripe.versions] == [
        (1, "disabled"),
        (2, "enabled"),
        (3, "enabled"),
    ]
    # Disabled: metadata only without include_disabled.
    assert stripe.versions[0].payload is None
    assert (
        await store.read_payload(stripe.versions[2].payload or "")
        == "sk_live_v3 ünïcödé ✓".encode()
    )
    assert stripe.versions[2].crc32 == zlib.crc32("sk_live_v3 ünïcödé ✓".encode())

    assert await store.read_payload(records["blob"].versions[0].payload or "") == BINARY
    big = records["big"].versions[0]
    assert big.size == 64 * 1024 and await store.read_payload(big.payload or "") == BIG
    assert records["tls"].type == "certificate"
    assert records["primary"].path == "/prod/db/eu/west/primary"
    assert records["root-token"].protected is True
    assert records["session"].ephemeral_policy is not None
    assert records["session"].ephemeral_policy["time_to_live"] == "86400s"
    # Expires once accessed: never read (reading would expire it).
    assert records["one-shot"].versions[0].payload is None
    assert any("expires once accessed" in w for w in result.warnings)
    # Scheduled for deletion: recorded with that status, data cannot be read.
    assert records["old"].deletion_requested_at is not None

    assert result.versions == sum(len(r.versions) for r in records.values())
    assert result.versions_read == sum(
        1 for r in records.values() for v in r.versions if v.payload is not None
    )
    assert result.bytes_added > len(BIG)
    # Events: phases, a listing, one SecretDone per secret, a final progress at 100%.
    assert {e.name for e in log.of(Phase)} >= {"preflight", "listing", "reading", "committing"}  # type: ignore[attr-defined]
    listed = log.of(SecretsListed)
    assert listed and listed[0].count == 13  # type: ignore[attr-defined]
    assert len(log.of(SecretDone)) == 13
    last = log.of(Progress)[-1]
    assert (last.done, last.total) == (13, 13)  # type: ignore[attr-defined]
    for event in log.events:  # nothing secret in what a log would show
        assert "sk_live" not in repr(event) and "stripe" not in repr(event)


async def test_unchanged_backup_reads_nothing_and_new_version_reads_one(
    client: ScalewayClient, store: Store
) -> None:
    first = await run_backup(client, store, BackupOptions())
    client.stats.reset()
    second = await run_backup(client, store, BackupOptions())
    assert second.status == "complete"
    assert second.versions_read == 0 and second.bytes_read == 0
    assert second.parent == first.snapshot_id
    assert second.versions == first.versions
    # One access: the preflight's probe on a random secret id (a 404, no data).
    assert client.stats.per_operation.get("access_secret_version", 0) == 1
    # Secrets whose metadata did not change are not even re-listed.
    assert second.secrets_unchanged >= 10
    assert client.stats.per_operation.get("list_secret_versions", 0) <= 3

    secret = await find_secret(client, "stripe-key")
    await client.create_version("fr-par", secret.id, b"sk_live_v4")
    third = await run_backup(client, store, BackupOptions())
    assert third.versions_read == 1
    records = by_name(await store.read_tree(third.snapshot_id or ""))
    v4 = records["stripe-key"].version(4)
    assert v4 is not None and await store.read_payload(v4.payload or "") == b"sk_live_v4"
    # The older versions point at the same blobs as in the first snapshot.
    first_records = by_name(await store.read_tree(first.snapshot_id or ""))
    new_v3, old_v3 = records["stripe-key"].version(3), first_records["stripe-key"].version(3)
    assert new_v3 is not None and old_v3 is not None
    assert (new_v3.payload, new_v3.crc32) == (old_v3.payload, old_v3.crc32)
    assert (new_v3.latest, old_v3.latest) == (False, True)


async def test_an_unchanged_backup_builds_only_the_events_its_consumer_reads(
    client: ScalewayClient, store: Store
) -> None:
    """A consumer that names what it reads (``listens_to``) gets only those kinds: the
    unchanged secrets build no per-secret events for it, and the result is the same."""
    first = await run_backup(client, store, BackupOptions())

    class WarningsOnly:
        listens_to = frozenset({EngineWarning, Phase})

        def __init__(self) -> None:
            self.seen: list[object] = []

        def __call__(self, event: object) -> None:
            self.seen.append(event)

    picky, log = WarningsOnly(), EventLog()
    second = await run_backup(client, store, BackupOptions(), on_event=picky)
    third = await run_backup(client, store, BackupOptions(), on_event=log)
    assert second.secrets_unchanged == third.secrets_unchanged >= 10
    assert (second.versions, second.versions_reused) == (third.versions, third.versions_reused)
    assert {type(e) for e in picky.seen} <= {EngineWarning, Phase} and picky.seen
    assert len(log.of(SecretDone)) == first.secrets  # a consumer that does not say reads all
    assert log.of(Progress)[-1].done == first.secrets  # type: ignore[attr-defined]


async def test_rescan_catches_version_status_changes(client: ScalewayClient, store: Store) -> None:
    await run_backup(client, store, BackupOptions())
    secret = await find_secret(client, "primary")
    await client.disable_version("fr-par", secret.id, 1)
    result = await run_backup(client, store, BackupOptions(rescan=True))
    assert result.versions_read == 0  # data is never re-read, only metadata
    record = by_name(await store.read_tree(result.snapshot_id or ""))["primary"]
    assert record.versions[0].status == "disabled"
    assert record.versions[0].payload is not None  # its data is kept from the parent


async def test_include_disabled_reads_and_disables_again(
    client: ScalewayClient, store: Store
) -> None:
    result = await run_backup(client, store, BackupOptions(include_disabled=True))
    records = by_name(await store.read_tree(result.snapshot_id or ""))
    v1 = records["stripe-key"].versions[0]
    assert v1.status == "disabled"
    assert await store.read_payload(v1.payload or "") == b"sk_live_v1"
    assert await store.read_payload(records["only-disabled"].versions[0].payload or "") == b"off"
    secret = await find_secret(client, "stripe-key")
    version = await client.get_version("fr-par", secret.id, 1)
    assert version.status == "disabled"  # left as it was found
    # A later plain backup keeps the data it already has.
    again = await run_backup(client, store, BackupOptions())
    assert (
        by_name(await store.read_tree(again.snapshot_id or ""))["stripe-key"].versions[0].payload
        == v1.payload
    )


async def test_sources_selectors_and_tags(client: ScalewayClient, store: Store) -> None:
    all_of_it = await run_backup(client, store, BackupOptions(all_projects=True, all_regions=True))
    names = {r.name for r in all_of_it.records}
    assert {"amsterdam", "elsewhere", "stripe-key"} <= names
    assert len(all_of_it.sources) == 4 * 3

    some = await run_backup(
        client,
        store,
        BackupOptions(
            selection=Selection.parse(["/prod/db/*", "/prod/app/admin", "blob"]),
        ),
    )
    assert {r.name for r in some.records} == {"primary", "admin", "blob"}

    tagged = await run_backup(client, store, BackupOptions(secret_tags=("prod",)))
    assert {r.name for r in tagged.records} == {"stripe-key", "primary"}
    header = await store.resolve_snapshot(tagged.snapshot_id or "")
    assert "prod" in header.tags
    assert [h.id for h in await store.list_snapshots(tags=["prod"])] == [tagged.snapshot_id]

    two = await run_backup(
        client, store, BackupOptions(projects=(SOURCE, OTHER), regions=("fr-par", "nl-ams"))
    )
    assert {(s.project_id, s.region) for s in two.sources} == {
        (SOURCE, "fr-par"),
        (SOURCE, "nl-ams"),
        (OTHER, "fr-par"),
        (OTHER, "nl-ams"),
    }
    assert {"amsterdam", "elsewhere"} <= {r.name for r in two.records}


async def test_bad_options_are_usage_errors(client: ScalewayClient, store: Store) -> None:
    with pytest.raises(UsageError):
        await run_backup(client, store, BackupOptions(regions=("xx-yyy",)))
    with pytest.raises(UsageError):
        await run_backup(client, store, BackupOptions(regions=("fr-par",), all_regions=True))
    assert await store.list_snapshots() == []


async def test_missing_permissions_stop_before_reading(app: EmulatorApp, store: Store) -> None:
    async with make_client(app, READONLY_SECRET) as readonly:
        with pytest.raises(PreflightError) as info:
            await run_backup(readonly, store, BackupOptions())
    message = str(info.value)
    assert "SecretManagerSecretAccess" in message
    assert "SecretManagerReadOnly" not in info.value.message
    assert "IAM" in (info.value.hint or "")
    assert await store.list_snapshots() == []

    async with make_client(app, BACKUP_SECRET) as backup_key:
        # ReadOnly + Access suffice; without ProjectReadOnly the project name is left empty.
        result = await run_backup(backup_key, store, BackupOptions())
        assert result.status == "complete"
        assert result.sources[0].project_name == ""
        assert any("ProjectReadOnly" in w for w in result.warnings)
        with pytest.raises(ConfigError, match="ProjectReadOnly"):
            await run_backup(backup_key, store, BackupOptions(all_projects=True))
        with pytest.raises(PreflightError, match="SecretManagerSecretWrite"):
            await run_backup(backup_key, store, BackupOptions(include_disabled=True))


async def test_a_key_that_cannot_list_is_refused_by_the_check_not_the_listing(
    store: Store,
) -> None:
    # The listing starts while the permission check runs: its 403 must not win the race.
    config = emulator_config()
    config["api_keys"].append(
        {
            "access_key": "SCWNOLIST00000000001",
            "secret_key": NO_LIST_SECRET,
            "permission_sets": ["ProjectReadOnly"],
        }
    )
    app = EmulatorApp(parse_config(config))
    async with make_client(app, NO_LIST_SECRET) as key:
        with pytest.raises(PreflightError) as info:
            await run_backup(key, store, BackupOptions())
    assert "SecretManagerReadOnly" in str(info.value)
    assert await store.list_snapshots() == []


class FailingTransport(httpx.AsyncBaseTransport):
    """Answers 503 for every request about one secret (the rest goes to the emulator)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, secret_id: str, status: int = 503):
        self.inner = inner
        self.secret_id = secret_id
        self.status = status
        self.enabled = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.enabled and f"/secrets/{self.secret_id}/" in request.url.path:
            return httpx.Response(
                self.status,
                json={"message": "boom", "type": "internal_error"},
            )
        return await self.inner.handle_async_request(request)


async def test_a_failing_secret_makes_a_partial_snapshot_then_is_reread(
    app: EmulatorApp, store: Store
) -> None:
    secret_id = next(s.id for s in app.state.iter_secrets() if s.name == "primary")
    transport = FailingTransport(httpx.ASGITransport(app=app), secret_id)
    async with make_client(app, transport=transport, max_retries=2) as flaky:
        first = await run_backup(flaky, store, BackupOptions())
        assert first.status == "partial"
        assert [e.secret_id for e in first.errors] == [secret_id]
        assert "503" in first.errors[0].message
        error = backup_error(first)
        assert error is not None and error.exit_code == ExitCode.PARTIAL
        header = await store.resolve_snapshot(first.snapshot_id or "")
        assert header.status == "partial" and header.errors[0].secret_id == secret_id
        failed = by_name(await store.read_tree(header.id))["primary"]
        assert failed.error is not None

        transport.enabled = False
        flaky.stats.reset()
        second = await run_backup(flaky, store, BackupOptions())
    assert second.status == "complete"
    # Only what the partial snapshot lacked is read again.
    assert second.versions_read == 2
    assert by_name(second.records)["primary"].error is None


async def test_fault_injection_loses_nothing(store: Store) -> None:
    config = emulator_config(many_secrets(40, 2))
    app = EmulatorApp(parse_config(config), error_rate=0.3, rate_limit=400, seed=7)
    async with make_client(app, max_retries=12) as flaky:
        result = await run_backup(flaky, store, BackupOptions(concurrency=8))
        assert result.status == "complete", result.errors
        assert flaky.stats.retries > 10
    clean = EmulatorApp(app.state)
    async with make_client(clean) as c:
        bulk = [r for r in result.records if r.path.startswith("/bulk")]
        assert len(bulk) == 40
        for record in bulk[:10]:
            for v in record.versions:
                accessed = await c.access_version("fr-par", record.secret_id, v.revision)
                assert await store.read_payload(v.payload or "") == accessed.data


async def test_cancelled_backup_commits_nothing(store: Store) -> None:
    app = EmulatorApp(parse_config(emulator_config(many_secrets(30))), latency_ms=20)
    async with make_client(app) as slow:
        log = EventLog()
        task = asyncio.create_task(run_backup(slow, store, BackupOptions(), on_event=log))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if log.of(VersionRead):
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await store.list_snapshots() == []
    assert await store.list_locks() == []


async def test_project_names_and_all_projects(client: ScalewayClient, store: Store) -> None:
    result = await run_backup(client, store, BackupOptions(all_projects=True))
    names = {s.project_id: s.project_name for s in result.sources}
    assert names[SOURCE] == "production" and names[TARGET] == "recovery"


class DyingTransport(httpx.AsyncBaseTransport):
    """The API becomes unreachable once the versions are being read."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/access") and "/secrets/" in request.url.path:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def test_losing_the_api_mid_run_is_one_clear_error(app: EmulatorApp, store: Store) -> None:
    transport = DyingTransport(httpx.ASGITransport(app=app))
    async with make_client(app, transport=transport, max_retries=1) as dying:
        # The preflight's access probe fails first: one TransportError, not an exception group.
        with pytest.raises(TransportError):
            await run_backup(dying, store, BackupOptions())
        with pytest.raises(TransportError):
            await run_backup(dying, store, BackupOptions(preflight=False))
    assert await store.list_snapshots() == []
