"""Issue 9: a backup heals a damaged store (restic's TestBackupSelfHealing is the bar).

After a data pack is lost or damaged, or a metadata pack (trees, records) is damaged, or the
index lost a blob, the next backup notices that what it would reuse is missing or unreadable
and reads it again from the API. Each case: the backup completes (or says exactly which
version the source no longer serves), its counters are true, ``check --read-data`` names no
snapshot that lost anything (and passes once the store's repair has removed the damaged pack
itself), and every version restores byte-identical to the emulator's value, read through a
second client. The store is a local directory (the damage is done to its files).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.emulator import EmulatorApp
from core.engine.backup import BackupOptions, BackupResult, backup_error, run_backup
from core.engine.events import EngineWarning, EventLog
from core.engine.restore import apply_plan, plan_restore
from core.errors import ExitCode
from core.scaleway.client import ScalewayClient
from core.scaleway.models import VersionStatus
from core.store import KdfParams, Store
from core.store.crypto import BLOB_RECORD
from core.store.ops.repair import repair_index, repair_packs, repair_snapshots
from tests.engine.conftest import make_client
from tests.engine.helpers import SOURCE, TARGET, comparable, find_secret, read_project

PASSPHRASE = "self-healing passphrase"
PACK_SIZE = 4 * 1024  # the smallest: the data spreads over several packs


@dataclass
class Local:
    root: Path

    @property
    def location(self) -> str:
        return str(self.root)

    async def open(self) -> Store:
        """A fresh process's view: the cache rebuilt from the store's index."""
        return await Store.open(self.location, PASSPHRASE, cache_dir=":memory:")

    def pack_file(self, pack_hex: str) -> Path:
        return self.root / "packs" / pack_hex[:2] / pack_hex


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[Local]:
    store = await Store.init(
        str(tmp_path / "store"),
        PASSPHRASE,
        kdf=KdfParams.for_tests(),
        pack_size=PACK_SIZE,
        cache_dir=":memory:",
    )
    await store.close()
    yield Local(tmp_path / "store")


@pytest.fixture
async def peer(app: EmulatorApp) -> AsyncIterator[ScalewayClient]:
    """A second client: the emulator's values, read independently of the backup's client."""
    async with make_client(app) as c:
        yield c


async def backup(local: Local, client: ScalewayClient, **options: Any) -> BackupResult:
    store = await local.open()
    try:
        return await run_backup(
            client, store, BackupOptions(**{"include_disabled": True, **options})
        )
    finally:
        await store.close()


def flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x40
    path.write_bytes(bytes(raw))


async def data_pack(local: Local, secret_name: str, result: BackupResult) -> tuple[str, set[str]]:
    """The pack that holds ``secret_name``'s data, and every data blob in that pack."""
    record = next(r for r in result.records if r.name == secret_name)
    blob = next(v.payload for v in record.versions if v.payload is not None)
    store = await local.open()
    try:
        entries = store.index_entries()
    finally:
        await store.close()
    pack = next(e.pack_hex for e in entries if e.blob_id.hex() == blob)
    return pack, {e.blob_id.hex() for e in entries if e.pack_hex == pack}


def versions_using(result: BackupResult, blobs: set[str]) -> int:
    return sum(1 for r in result.records for v in r.versions if v.payload in blobs)


async def source_value(peer: ScalewayClient, region: str, secret_id: str, revision: int) -> bytes:
    """A version's data at the source (a disabled one is enabled, read, disabled again)."""
    version = await peer.get_version(region, secret_id, revision)
    if version.status == VersionStatus.DISABLED:
        await peer.enable_version(region, secret_id, revision)
        try:
            return (await peer.access_version(region, secret_id, revision)).data
        finally:
            await peer.disable_version(region, secret_id, revision)
    return (await peer.access_version(region, secret_id, revision)).data


async def assert_every_snapshot_reads_back(local: Local, peer: ScalewayClient) -> int:
    """Every version data of every snapshot reads back as the source holds it; returns the
    number of versions compared."""
    store = await local.open()
    compared = 0
    try:
        for header in await store.list_snapshots():
            for record in await store.read_tree(header):
                for v in record.versions:
                    if v.payload is None:
                        continue
                    got = await store.read_payload(v.payload)
                    want = await source_value(peer, record.region, record.secret_id, v.revision)
                    assert got == want, (header.short_id, record.name, v.revision)
                    compared += 1
    finally:
        await store.close()
    return compared


async def check(local: Local) -> Any:
    store = await local.open()
    try:
        return await store.check(read_data=True)
    finally:
        await store.close()


async def assert_nothing_lost_then_repair(local: Local, repair: str) -> None:
    """``check --read-data`` names the damaged object but no snapshot that loses data
    through it (the backup wrote fresh copies); the store's repair removes the damaged
    object and the check passes."""
    report = await check(local)
    assert report.affected_snapshots == [], report.lines()
    store = await local.open()
    try:
        if repair == "index":
            await repair_index(store)
        else:
            done = await repair_packs(store)
            assert done.blobs_lost == [], done.to_json()
    finally:
        await store.close()
    report = await check(local)
    assert report.ok, report.lines()


async def restore_into_target(
    local: Local, client: ScalewayClient, peer: ScalewayClient, snapshot: str
) -> None:
    """A real restore of ``snapshot`` into another project equals the source, byte by byte."""
    store = await local.open()
    try:
        plan = await plan_restore(client, store, snapshot, to_project=TARGET)
        result = await apply_plan(client, store, plan, verify=True)
        assert result.exit_code == ExitCode.OK, [a.error for a in result.actions if a.error]
    finally:
        await store.close()
    source = comparable(await read_project(peer, "fr-par", SOURCE))
    target = comparable(await read_project(peer, "fr-par", TARGET))
    one_shot = ("/prod/tmp", "one-shot")  # expires once accessed: its data is never read
    assert target.pop(one_shot)["versions"] == []
    source.pop(one_shot)
    assert target == source


# ---------------------------------------------------------------------------- the six cases


async def test_a_deleted_data_pack_is_read_again(
    local: Local, client: ScalewayClient, peer: ScalewayClient
) -> None:
    """(a) Without a rescan: a pack's existence is checked once per pack, cheaply."""
    first = await backup(local, client)
    pack, lost = await data_pack(local, "blob", first)
    local.pack_file(pack).unlink()
    second = await backup(local, client)
    assert second.status == "complete", second.errors
    assert backup_error(second) is None
    assert second.versions_read == versions_using(first, lost) > 0
    assert second.versions_reused == first.versions_read - second.versions_read
    assert any("missing or damaged" in w for w in second.warnings), second.warnings
    await assert_nothing_lost_then_repair(local, "index")
    assert await assert_every_snapshot_reads_back(local, peer) == 2 * first.versions_read
    await restore_into_target(local, client, peer, first.snapshot_id or "")


async def test_a_flipped_byte_in_a_data_pack_is_read_again_on_rescan(
    local: Local, client: ScalewayClient, peer: ScalewayClient
) -> None:
    """(b) Only a read finds it: ``rescan`` decrypts what it would reuse."""
    first = await backup(local, client)
    record = next(r for r in first.records if r.name == "stripe-key")
    victim = record.versions[1].payload
    store = await local.open()
    try:
        entry = next(e for e in store.index_entries() if e.blob_id.hex() == victim)
    finally:
        await store.close()
    flip(local.pack_file(entry.pack_hex), entry.offset + 20)
    log = EventLog()
    store = await local.open()
    try:
        second = await run_backup(
            client, store, BackupOptions(include_disabled=True, rescan=True), on_event=log
        )
    finally:
        await store.close()
    assert second.status == "complete", second.errors
    assert second.versions_read == 1  # only the damaged version
    assert second.bytes_read == len(b"sk_live_v2")
    assert any("missing or damaged" in w.message for w in log.of(EngineWarning))
    await assert_nothing_lost_then_repair(local, "packs")
    assert await assert_every_snapshot_reads_back(local, peer) == 2 * first.versions_read


async def test_a_truncated_data_pack_is_read_again_on_rescan(
    local: Local, client: ScalewayClient, peer: ScalewayClient
) -> None:
    """(c) The blobs past the cut are gone; those before it still read."""
    first = await backup(local, client)
    pack, in_pack = await data_pack(local, "big", first)
    path = local.pack_file(pack)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    second = await backup(local, client, rescan=True)
    assert second.status == "complete", second.errors
    assert 1 <= second.versions_read <= versions_using(first, in_pack)
    await assert_nothing_lost_then_repair(local, "packs")
    assert await assert_every_snapshot_reads_back(local, peer) == 2 * first.versions_read


async def test_a_flipped_byte_in_a_metadata_pack_skips_that_parent(
    local: Local, client: ScalewayClient, peer: ScalewayClient
) -> None:
    """(d) A record of the parent no longer decrypts: never exit 1; that secret is read again
    from the API, the rest is still reused, and a warning names the parent snapshot."""
    first = await backup(local, client)
    store = await local.open()
    try:
        records = {
            r.name: rid
            for r, rid in zip(
                await store.read_tree(first.snapshot_id or ""),
                await store.read_tree_ids(first.snapshot_id or ""),
                strict=True,
            )
        }
        victim = records["primary"]
        entry = next(e for e in store.index_entries() if e.blob_id.hex() == victim)
        assert entry.blob_type == BLOB_RECORD
    finally:
        await store.close()
    flip(local.pack_file(entry.pack_hex), entry.offset + 20)
    second = await backup(local, client)
    assert second.status == "complete", second.errors
    short = (first.snapshot_id or "")[:8]
    assert any(short in w and "cannot be read" in w for w in second.warnings), second.warnings
    primary = next(r for r in first.records if r.name == "primary")
    assert second.versions_read == len(primary.versions)  # only that secret is read again
    assert second.versions_reused == first.versions_read - len(primary.versions)
    await assert_nothing_lost_then_repair(local, "packs")
    assert await assert_every_snapshot_reads_back(local, peer) == 2 * first.versions_read


async def test_a_damaged_tree_falls_back_to_a_full_read(
    local: Local, client: ScalewayClient, peer: ScalewayClient
) -> None:
    """(d') The parent's tree itself is unreadable: the backup reads everything again. That
    snapshot stays unreadable (a tree is rewritten only by an identical one), and it is the
    only one ``check`` names; ``repair snapshots --forget`` drops it, and the check passes."""
    first = await backup(local, client)
    store = await local.open()
    try:
        header = await store.resolve_snapshot(first.snapshot_id or "")
        entry = next(e for e in store.index_entries() if e.blob_id.hex() == header.tree)
    finally:
        await store.close()
    flip(local.pack_file(entry.pack_hex), entry.offset + 20)
    second = await backup(local, client)
    assert second.status == "complete", second.errors
    assert second.parent is None  # the only parent could not be read
    assert second.versions_read == first.versions_read
    assert any(header.short_id in w and "cannot be read" in w for w in second.warnings)
    assert (await check(local)).affected_snapshots == [header.id]
    store = await local.open()
    try:
        assert (await repair_packs(store)).blobs_lost == [header.tree]
        snaps = await repair_snapshots(store, forget=True)
        assert snaps.forgotten == [header.id]
    finally:
        await store.close()
    report = await check(local)
    assert report.ok, report.lines()
    assert await assert_every_snapshot_reads_back(local, peer) == first.versions_read
    await restore_into_target(local, client, peer, second.snapshot_id or "")


async def test_blobs_dropped_from_the_index_are_read_again(
    local: Local, client: ScalewayClient, peer: ScalewayClient
) -> None:
    """(e) restic's own case: a pack lost, the index repaired (its blobs are no longer
    indexed), then a backup: what it lacks is read again; check passes at once."""
    first = await backup(local, client)
    pack, lost = await data_pack(local, "tls", first)
    local.pack_file(pack).unlink()
    store = await local.open()
    try:
        await repair_index(store)
        assert not any(e.pack_hex == pack for e in store.index_entries())
    finally:
        await store.close()
    assert not (await check(local)).ok  # the first snapshot lost data
    second = await backup(local, client)
    assert second.status == "complete", second.errors
    assert second.versions_read == versions_using(first, lost) > 0
    report = await check(local)
    assert report.ok, report.lines()
    assert await assert_every_snapshot_reads_back(local, peer) == 2 * first.versions_read


async def test_damage_then_repair_snapshots_then_backup(
    local: Local, client: ScalewayClient, peer: ScalewayClient
) -> None:
    """(f) damage → ``repair packs`` → ``repair snapshots --forget`` → backup: the repaired
    snapshot lost data; the backup reads it again and every snapshot left reads back."""
    first = await backup(local, client)
    pack, _in_pack = await data_pack(local, "settings", first)
    store = await local.open()
    try:
        entry = next(e for e in store.index_entries() if e.pack_hex == pack)
    finally:
        await store.close()
    flip(local.pack_file(pack), entry.offset + 20)
    store = await local.open()
    try:
        packs = await repair_packs(store)
        assert packs.blobs_lost
        snaps = await repair_snapshots(store, forget=True)
        assert len(snaps.repaired) == 1
    finally:
        await store.close()
    second = await backup(local, client)
    assert second.status == "complete", second.errors
    assert second.versions_read == versions_using(first, set(packs.blobs_lost)) >= 1
    report = await check(local)
    assert report.ok, report.lines()
    assert await assert_every_snapshot_reads_back(local, peer) > first.versions_read


# ---------------------------------------------------------------------------- the source lost it


async def test_data_lost_in_the_store_and_no_longer_served_is_named(
    local: Local, client: ScalewayClient, peer: ScalewayClient
) -> None:
    """A version whose stored copy is lost and that the API no longer serves (disabled, and
    no include-disabled) is kept as metadata; the snapshot is partial and names it."""
    first = await backup(local, client)
    secret = await find_secret(peer, "stripe-key")
    pack, lost = await data_pack(local, "stripe-key", first)
    record = next(r for r in first.records if r.name == "stripe-key")
    assert record.versions[0].payload in lost  # revision 1, disabled at the source
    local.pack_file(pack).unlink()
    second = await backup(local, client, include_disabled=False)
    assert second.status == "partial"
    error = backup_error(second)
    assert error is not None and error.exit_code == ExitCode.PARTIAL
    named = [e for e in second.errors if e.secret_id == secret.id]
    assert named and "revision 1" in named[0].message, second.errors
    kept = next(r for r in second.records if r.name == "stripe-key")
    assert kept.versions[0].payload is None and kept.versions[0].status == "disabled"
    # a later backup that may read disabled versions completes it
    third = await backup(local, client)
    assert third.status == "complete", third.errors


async def test_no_damage_reads_nothing_and_warns_nothing(
    local: Local, client: ScalewayClient
) -> None:
    first = await backup(local, client)
    for rescan in (False, True):
        again = await backup(local, client, rescan=rescan)
        assert again.status == "complete"
        assert again.versions_read == 0 and again.warnings == first.warnings
        assert again.versions_reused == first.versions_read
