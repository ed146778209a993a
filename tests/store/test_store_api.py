"""The Store API end to end, on the memory, local and S3 (moto) backends."""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.errors import ExitCode, KlosetError
from core.store import (
    AmbiguousSnapshotError,
    CorruptStoreError,
    KdfParams,
    LastKeyError,
    PayloadRef,
    SecretRecord,
    SnapshotError,
    SnapshotNotFoundError,
    SourceInfo,
    Store,
    StoreExistsError,
    StoreLockedError,
    StoreNotFoundError,
    VersionRecord,
    WrongPassphraseError,
)
from core.store.model import STATUS_PARTIAL, SnapshotSummary
from tests.store.conftest import PASSPHRASE, StoreFactory


def record(
    i: int, project: str = "p1", region: str = "fr-par", payloads: tuple[str, ...] = ()
) -> SecretRecord:
    versions = tuple(
        VersionRecord(
            revision=n + 1,
            status="enabled",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            latest=n == len(payloads) - 1,
            payload=p,
            size=10,
            crc32=n,
        )
        for n, p in enumerate(payloads)
    )
    return SecretRecord(
        region=region,
        project_id=project,
        secret_id=f"00000000-0000-0000-0000-{i:012d}",
        name=f"secret-{i}",
        path=f"/app/{i % 3}",
        tags=("t1",),
        version_count=len(versions),
        versions=versions,
    )


async def backup(
    store: Any,
    n: int,
    *,
    project: str = "p1",
    region: str = "fr-par",
    seed: bytes = b"v",
    **commit: Any,
) -> Any:
    async with store.writer() as w:
        for i in range(n):
            blob = await w.put_payload(seed + str(i).encode() * 20)
            await w.put_record(record(i, project, region, (blob,)))
        return await w.commit(
            sources=[SourceInfo(region=region, project_id=project, project_name="Project One")],
            **commit,
        )


async def test_init_open_write_read(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    header = await backup(store, 5, tags=("nightly",), environment="production")
    assert header.summary.secrets == 5
    assert header.summary.blobs_added == 5 + 5 + 1  # payloads, records, tree
    assert header.summary.bytes_added > 0
    assert header.status == "complete"

    again = await store_factory.open(store.location)
    snaps = await again.list_snapshots()
    assert [s.id for s in snaps] == [header.id]
    assert snaps[0] == header
    tree = await again.read_tree(header.id)
    assert [r.secret_id for r in tree] == [
        record(i).secret_id
        for i in sorted(range(5), key=lambda i: (f"/app/{i % 3}", f"secret-{i}"))
    ]
    for rec in tree:
        i = int(rec.secret_id[-12:])
        payload = rec.versions[0].payload
        assert payload is not None
        assert await again.read_payload(payload) == b"v" + str(i).encode() * 20
        assert await again.has_blob(payload)
    assert not await again.has_blob("00" * 32)


async def test_dedup_unchanged_rerun_adds_almost_nothing(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    first = await backup(store, 30)
    second = await backup(store, 30, parent=first.id)
    assert second.summary.blobs_added == 0
    assert second.summary.blobs_reused == 61
    assert second.summary.records_reused == 30
    assert second.tree == first.tree
    assert second.summary.bytes_added < first.summary.bytes_added / 5
    assert second.parent == first.id


async def test_wrong_passphrase_is_one_clear_error(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    with pytest.raises(WrongPassphraseError) as info:
        await store_factory.open(store.location, "not the passphrase")
    assert info.value.exit_code == ExitCode.WRONG_PASSPHRASE
    assert "not the passphrase" not in str(info.value)
    assert info.value.hint


async def test_missing_store_and_existing_store(store_factory: StoreFactory) -> None:
    location = store_factory.backends.location()
    with pytest.raises(StoreNotFoundError) as info:
        await store_factory.open(location)
    assert info.value.exit_code == ExitCode.NO_STORE
    store = await store_factory.init(location)
    with pytest.raises(StoreExistsError):
        await store_factory.init(store.location)


async def test_resolve_and_filter_snapshots(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    a = await backup(store, 2, project="p1", time=datetime(2026, 1, 1, tzinfo=UTC), tags=("x",))
    b = await backup(store, 2, project="p2", region="nl-ams", time=datetime(2026, 1, 2, tzinfo=UTC))
    c = await backup(store, 2, project="p1", time=datetime(2026, 1, 3, tzinfo=UTC), tags=("x", "y"))
    assert [s.id for s in await store.list_snapshots()] == [a.id, b.id, c.id]
    assert [s.id for s in await store.list_snapshots(project="p1")] == [a.id, c.id]
    assert [s.id for s in await store.list_snapshots(region="nl-ams")] == [b.id]
    assert [s.id for s in await store.list_snapshots(tags=["x"])] == [a.id, c.id]
    assert [s.id for s in await store.list_snapshots(tags=["x", "y"])] == [c.id]
    assert (await store.resolve_snapshot("latest")).id == c.id
    assert (await store.resolve_snapshot("latest", project="p2")).id == b.id
    assert (await store.resolve_snapshot(a.id)).id == a.id
    assert (await store.resolve_snapshot(a.id[:10])).id == a.id
    with pytest.raises(SnapshotNotFoundError):
        await store.resolve_snapshot("latest", project="nope")
    with pytest.raises(SnapshotNotFoundError):
        await store.resolve_snapshot("zz")


async def test_ambiguous_prefix(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    base = await backup(store, 1)
    for suffix in ("01", "02"):
        await store.put_snapshot(replace(base, id="abcd" + "0" * 58 + suffix))
    with pytest.raises(AmbiguousSnapshotError) as info:
        await store.resolve_snapshot("abcd")
    assert info.value.exit_code == ExitCode.USAGE
    assert (await store.resolve_snapshot("abcd" + "0" * 58 + "02")).id.endswith("02")


async def test_partial_snapshot_keeps_errors(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    err = SnapshotError("sid", "fr-par", "p1", "access denied (403)")
    async with store.writer() as w:
        await w.put_record(record(1))
        header = await w.commit(errors=[err], summary=SnapshotSummary(secrets=1, errors=1))
    assert header.status == STATUS_PARTIAL
    again = await store.get_snapshot(header.id)
    assert again.errors == (err,)
    assert again.summary.errors == 1


async def test_pin_tag_and_delete(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    a = await backup(store, 1)
    pinned = await store.update_snapshot(a.id, pinned=True, add_tags=["keep"])
    assert pinned.pinned and "keep" in pinned.tags
    listed = (await store.list_snapshots())[0]
    assert listed.pinned and listed.tags == pinned.tags and listed.tree == a.tree
    await store.delete_snapshots([a.id])
    assert await store.list_snapshots() == []
    with pytest.raises(SnapshotNotFoundError):
        await store.get_snapshot(a.id)


async def test_exception_inside_writer_commits_nothing(store_factory: StoreFactory) -> None:
    store = await store_factory.init(pack_size=4096)
    with pytest.raises(RuntimeError):
        async with store.writer() as w:
            for i in range(50):
                await w.put_payload(os.urandom(500) + bytes([i]))
            raise RuntimeError("boom")
    assert await store.list_snapshots() == []
    assert await store.list_locks() == []
    # the next backup works and the store reads back
    header = await backup(store, 3)
    assert len(await store.read_tree(header.id)) == 3


async def test_cancellation_inside_writer_commits_nothing(store_factory: StoreFactory) -> None:
    store = await store_factory.init(pack_size=4096)
    started = asyncio.Event()

    async def job() -> None:
        async with store.writer() as w:
            for i in range(10_000):
                await w.put_payload(os.urandom(300) + i.to_bytes(4, "little"))
                started.set()
            await w.commit()

    task = asyncio.create_task(job())
    await started.wait()
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.list_snapshots() == []
    assert await store.list_locks() == []


async def test_two_writers_at_once_both_commit(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    other = await store_factory.open(store.location)
    h1, h2 = await asyncio.gather(backup(store, 20, seed=b"a"), backup(other, 20, seed=b"b"))
    reader = await store_factory.open(store.location)
    assert {s.id for s in await reader.list_snapshots()} == {h1.id, h2.id}
    for h in (h1, h2):
        for rec in await reader.read_tree(h.id):
            assert rec.versions[0].payload is not None
            await reader.read_payload(rec.versions[0].payload)


async def test_exclusive_lock_conflicts(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    async with store.writer():
        with pytest.raises(StoreLockedError) as info:
            await store.lock(exclusive=True)
        assert info.value.exit_code == ExitCode.LOCKED
        shared = await store.lock(exclusive=False)  # shared locks coexist
        await shared.release()
    excl = await store.lock(exclusive=True)
    try:
        with pytest.raises(StoreLockedError):
            async with store.writer():
                pass
    finally:
        await excl.release()
    assert await store.list_locks() == []


async def test_stale_locks_listed_and_removed(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    handle = await store.lock(exclusive=True, lifetime=60)
    handle._task.cancel()  # type: ignore[union-attr]  # simulate a dead holder: no refresh, no release
    locks = await store.list_locks()
    assert len(locks) == 1 and not locks[0].stale()
    # rewrite the lock as if its holder died long ago
    from core.store.locks import seal_lock

    old = handle.info
    expired = type(old)(
        id=old.id,
        exclusive=True,
        time=old.time - timedelta(hours=2),
        refreshed=old.time - timedelta(hours=2),
        expires=old.time - timedelta(hours=1),
        host=old.host,
        pid=old.pid,
    )
    await store.backend.put("locks", old.id, seal_lock(store.keys, expired))
    assert (await store.list_locks())[0].stale()
    async with store.writer():  # a stale exclusive lock does not block
        pass
    assert await store.remove_stale_locks() == [old.id]
    assert await store.list_locks() == []
    handle.released = True


async def test_lost_lock_stops_the_commit(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    async with store.writer() as w:
        await w.put_payload(b"data")
        assert w.lock is not None
        w.lock.lost_reason = "refresh failed (test)"
        with pytest.raises(StoreLockedError):
            await w.commit()
    assert await store.list_snapshots() == []


async def test_lock_refresh_writes_new_object(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    handle = await store.lock(exclusive=False)
    first = handle.id
    await handle.refresh()
    assert handle.id != first
    assert [lk.id for lk in await store.list_locks()] == [handle.id]
    await handle.release()


async def test_key_management(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    header = await backup(store, 2)
    keys = await store.list_keys()
    assert len(keys) == 1 and keys[0].current
    added = await store.add_key("second passphrase", kdf=KdfParams.for_tests())
    assert len(await store.list_keys()) == 2
    other = await store_factory.open(store.location, "second passphrase")
    assert [s.id for s in await other.list_snapshots()] == [header.id]
    await store.remove_key(added.id[:12])
    with pytest.raises(WrongPassphraseError):
        await store_factory.open(store.location, "second passphrase")
    with pytest.raises(LastKeyError):
        await store.remove_key(keys[0].id)
    await store.add_key("third", kdf=KdfParams.for_tests())
    with pytest.raises(KlosetError, match="opened the store with it"):
        await store.remove_key(keys[0].id)
    third = await store_factory.open(store.location, "third")
    assert await third.remove_key(keys[0].id[:10]) == keys[0].id
    with pytest.raises(WrongPassphraseError):
        await store_factory.open(store.location, PASSPHRASE)
    changed = await third.change_passphrase("new one", kdf=KdfParams.for_tests())
    assert changed.current
    with pytest.raises(WrongPassphraseError):
        await store_factory.open(store.location, "third")
    reopened = await store_factory.open(store.location, "new one")
    assert len(await reopened.read_tree(header.id)) == 2
    assert [k.current for k in await reopened.list_keys()] == [True]


async def test_read_blobs_and_pack_primitives(store_factory: StoreFactory) -> None:
    store = await store_factory.init(pack_size=8192)
    datas = [os.urandom(700) + bytes([i]) for i in range(40)]
    async with store.writer() as w:
        ids = [await w.put_payload(d) for d in datas]
        await w.commit()
    got = await store.read_blobs(ids)
    assert [got[i] for i in ids] == datas
    packs = await store.list_packs()
    assert len(packs) > 2  # sealed at the target size
    total = 0
    for p in packs:
        entries = await store.read_pack_index(p.id, p.size)
        data, full = await store.read_pack(p.id)
        assert entries == full and len(data) == p.size
        await store.verify_object("packs", p.id)
        total += len(entries)
    assert total == 40 + 1  # payloads + tree
    entries = store.index_entries()
    assert {e.blob_id.hex() for e in entries} >= set(ids)
    assert store.index_stats().blobs == 41
    for d in await store.list_index_deltas():
        await store.verify_object("index", d.name)
        delta = await store.read_index_delta(d.name)
        assert delta.entry_count() == 41


async def test_a_big_read_gives_the_event_loop_a_turn_every_few_hundred_blobs(
    store_factory: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening and decoding a snapshot's records yields every YIELD_EVERY of each, so the
    console's pages and a backup's API listing are not stalled behind the whole read."""
    import core.store.repository as repository
    from core.store.crypto import Keys
    from core.store.reads import YIELD_EVERY

    store = await store_factory.init()
    header = await backup(store, 1200)
    ids = await store.read_tree_ids(header.id)
    opened = decoded = 0
    open_blobs, fast = Keys.open_blobs, repository._FAST_RECORD

    def counting_open(self: Keys, data: bytes, start: int, run: Any, **kw: Any) -> Any:
        nonlocal opened
        opened += len(run)
        return open_blobs(self, data, start, run, **kw)

    def counting_decode(blob: bytes) -> Any:
        nonlocal decoded
        decoded += 1
        return fast(blob)

    monkeypatch.setattr(Keys, "open_blobs", counting_open)
    monkeypatch.setattr(repository, "_FAST_RECORD", counting_decode)
    turns: list[tuple[int, int]] = []
    done = False

    async def ticker() -> None:
        while not done:
            turns.append((opened, decoded))
            await asyncio.sleep(0)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        records = await store.read_records(ids)
    finally:
        done = True
        await tick
    turns.append((opened, decoded))
    assert len(records) == 1200 and opened == 1200 and decoded == 1200
    assert max(b[0] - a[0] for a, b in itertools.pairwise(turns)) <= YIELD_EVERY
    assert max(b[1] - a[1] for a, b in itertools.pairwise(turns)) <= YIELD_EVERY


async def test_compacted_index_supersedes_old_deltas(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    await backup(store, 3, seed=b"a")
    await backup(store, 3, seed=b"b")
    old = [d.name for d in await store.list_index_deltas()]
    assert len(old) == 2
    entries = store.index_entries()
    await store.write_index(entries, supersedes=old)
    other = await store_factory.open(store.location, cache_dir=store_factory.cache_dir / "other")
    assert other.index_stats().deltas == 1  # the two old ones are superseded even though present
    await store.delete_index_deltas(old)
    assert await other.refresh_index() == 0
    for h in await other.list_snapshots():
        assert len(await other.read_tree(h.id)) == 3


async def test_cache_rebuilt_when_deleted_or_corrupted(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    header = await backup(store, 4)
    await store.close()
    cache_files = list(store_factory.cache_dir.rglob("index.sqlite"))
    assert len(cache_files) == 1
    # deleted
    for p in store_factory.cache_dir.rglob("index.sqlite*"):
        p.unlink()
    s2 = await store_factory.open(store.location)
    assert len(await s2.read_tree(header.id)) == 4
    await s2.close()
    # corrupted (garbage over the file)
    cache_files[0].write_bytes(b"this is not a database" * 100)
    for p in store_factory.cache_dir.rglob("index.sqlite-*"):
        p.unlink()
    s3 = await store_factory.open(store.location)
    assert s3.cache.rebuilt
    assert len(await s3.read_tree(header.id)) == 4


async def test_stale_cache_sees_other_writers(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    other = await store_factory.open(store.location, cache_dir=store_factory.cache_dir / "b")
    header = await backup(other, 3)
    # store's cache has not seen other's delta: reading resyncs on a miss
    tree = await store.read_tree(header.id)
    assert len(tree) == 3


async def test_damaged_pack_is_corruption_not_transport(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    good = await backup(store, 2, seed=b"good")
    async with store.writer() as w:
        bad_blob = await w.put_payload(b"precious" * 50)
        await w.put_record(record(9, payloads=(bad_blob,)))
        bad = await w.commit()
    entry = store.cache.lookup(bytes.fromhex(bad_blob))[0]
    raw = bytearray(await store.backend.get("packs", entry.pack_hex))
    raw[entry.offset + 30] ^= 0x01
    await store.backend.put("packs", entry.pack_hex, bytes(raw))
    with pytest.raises(CorruptStoreError) as info:
        await store.read_payload(bad_blob)
    assert entry.pack_hex[:16] in str(info.value)
    with pytest.raises(CorruptStoreError):
        await store.verify_object("packs", entry.pack_hex)
    # the undamaged snapshot still reads
    for rec in await store.read_tree(good.id):
        assert rec.versions[0].payload is not None
        await store.read_payload(rec.versions[0].payload)
    assert bad.id in {s.id for s in await store.list_snapshots()}


async def test_damaged_snapshot_skipped_others_listed(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    a = await backup(store, 1)
    b = await backup(store, 1, seed=b"other")
    raw = bytearray(await store.backend.get("snapshots", b.id))
    raw[20] ^= 0xFF
    await store.backend.put("snapshots", b.id, bytes(raw))
    assert [s.id for s in await store.list_snapshots()] == [a.id]
    assert b.id in store.damaged_snapshots
    with pytest.raises(CorruptStoreError):
        await store.get_snapshot(b.id)


async def test_errors_are_kloset_errors_with_hints() -> None:
    for err in (
        StoreNotFoundError("x"),
        WrongPassphraseError(),
        StoreLockedError("locked"),
        CorruptStoreError("bad"),
        LastKeyError(),
    ):
        assert isinstance(err, KlosetError)
        assert err.hint


async def test_record_from_api_roundtrip() -> None:
    from core.scaleway.models import EphemeralPolicy, Secret, SecretVersion

    secret = Secret(
        id="s1",
        project_id="p",
        name="db-password",
        path="/prod",
        tags=("a",),
        ephemeral_policy=EphemeralPolicy("3600s", True, "delete"),
        region="fr-par",
        version_count=2,
    )
    versions = [SecretVersion(2, "s1", latest=True), SecretVersion(1, "s1", status="disabled")]
    rec = SecretRecord.from_api(secret, versions, {2: PayloadRef("ab" * 32, 7, 3)})
    assert [v.revision for v in rec.versions] == [1, 2]
    assert rec.versions[1].payload == "ab" * 32 and rec.versions[0].payload is None
    assert rec.ephemeral_policy == {
        "time_to_live": "3600s",
        "expires_once_accessed": True,
        "action": "delete",
    }
    assert SecretRecord.from_bytes(rec.to_bytes()) == rec
    for text in ("db-password", "/prod", "'a'"):
        assert text not in repr(rec)


def test_a_records_listed_metadata_is_what_the_listing_tells() -> None:
    """A backup compares a listed secret with its parent record field by field, without
    building a record: every field but versions and error, in the record's order."""
    from dataclasses import fields
    from datetime import UTC, datetime

    from core.scaleway.models import EphemeralPolicy, Secret
    from core.store.model import listed_metadata

    secret = Secret(
        id="s1",
        project_id="p",
        name="n",
        path="/a",
        tags=("t",),
        description="d",
        protected=True,
        ephemeral_policy=EphemeralPolicy("3600s", True, "delete"),
        region="fr-par",
        version_count=2,
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    record = SecretRecord.from_api(secret, ())
    assert record.listed_metadata() == listed_metadata(secret)
    names = [f.name for f in fields(SecretRecord) if f.name not in ("versions", "error")]
    assert len(listed_metadata(secret)) == len(names)
    assert dict(zip(names, listed_metadata(secret), strict=True))["description"] == "d"


async def test_memory_store_is_shared_by_name() -> None:
    loc = "memory://shared-by-name"
    s1 = await Store.init(loc, "pw", kdf=KdfParams.for_tests(), cache_dir=":memory:")
    s2 = await Store.open(loc, "pw", cache_dir=":memory:")
    assert s1.id == s2.id
    await s1.backend.destroy()
    await s1.close()
    await s2.close()


async def test_store_operation_methods_delegate(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    await backup(store, 2)
    report = await store.check(read_data=True)
    assert report.ok
    pruned = await store.prune()
    assert pruned.snapshots == 1


async def test_failed_refreshes_lose_the_lock_and_stop_the_commit(tmp_path: Any) -> None:
    from core.store.backends.memory import MemoryBackend, forget_memory_store

    location = "memory://lock-refresh-failure"
    store = await Store.init(location, PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=":memory:")
    try:
        async with store.writer(lock_lifetime=1.0) as w:
            await w.put_payload(b"some data")
            backend = store.backend
            assert isinstance(backend, MemoryBackend)
            backend.fail_next["put"] = 1000  # every refresh (and every other write) fails
            for _ in range(40):  # bounded wait for the refresher to give up
                if w.lock is not None and w.lock.lost:
                    break
                await asyncio.sleep(0.1)
            assert w.lock is not None and w.lock.lost
            with pytest.raises(StoreLockedError):
                await w.commit()
            backend.fail_next["put"] = 0
        assert await store.list_snapshots() == []
    finally:
        await store.close()
        forget_memory_store(location)


async def test_writer_resyncs_before_deduplicating(store_factory: StoreFactory) -> None:
    """A long-open store must not dedup against blobs a prune elsewhere removed."""
    store = await store_factory.init()
    data = b"a value that will be forgotten and pruned"
    async with store.writer() as w:
        await w.put_payload(data)
        first = await w.commit()
    other = await store_factory.open(store.location, cache_dir=store_factory.cache_dir / "o")
    await other.delete_snapshots([first.id])
    await other.prune()
    assert not await other.has_blob(store.keys.blob_id(1, data).hex())
    async with store.writer() as w:  # the old store object still believes it has the blob
        blob = await w.put_payload(data)
        await w.commit()
    assert await store.read_payload(blob) == data
    assert (await store.check(read_data=True)).ok


async def test_writer_id_set_sees_a_prune_through_the_same_cache(tmp_path: Path) -> None:
    """The writer's in-memory id set is kept between writers; a prune by another process
    sharing the local cache (another SQLite connection) must still be seen."""
    cache = tmp_path / "cache"
    store = await Store.init(
        str(tmp_path / "s"), PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=cache
    )
    other: Store | None = None
    try:
        data = b"a value that will be forgotten and pruned, same cache"
        async with store.writer() as w:
            await w.put_payload(data)
            first = await w.commit()
        async with store.writer() as w:  # the id set is built, then kept
            await w.commit(record_ids=[])
        other = await Store.open(str(tmp_path / "s"), PASSPHRASE, cache_dir=cache)
        await other.delete_snapshots([first.id])
        await other.prune()
        async with store.writer() as w:
            blob = await w.put_payload(data)
            assert w.stats.data_added == 1  # written again, not deduplicated
            await w.commit()
        assert await store.read_payload(blob) == data
        assert (await store.check(read_data=True)).ok
    finally:
        if other is not None:
            await other.close()
        await store.close()


async def test_newer_snapshot_and_record_versions_are_refused(store_factory: StoreFactory) -> None:
    import json

    from core.store import UnsupportedFormatError
    from core.store.crypto import BLOB_RECORD

    store = await store_factory.init()
    base = await backup(store, 1)
    # a snapshot written by a newer program
    future = json.loads(base.to_bytes())
    future["v"] = 99
    future["id"] = "ee" * 32
    body = store.keys.seal_object(5, bytes.fromhex(future["id"]), json.dumps(future).encode())
    from core.store import envelope

    await store.backend.put("snapshots", future["id"], envelope.seal(store.keys, 5, body))
    with pytest.raises(UnsupportedFormatError):
        await store.get_snapshot(future["id"])
    # a record written by a newer program
    rec = json.loads(record(1).to_bytes())
    rec["v"] = 7
    async with store.writer() as w:
        bid, _ = await w._ready().put_blob(BLOB_RECORD, json.dumps(rec).encode())
        tree_id = await store.write_tree(w._ready(), [bid])  # the store's tree layout
        header = await w.commit(record_ids=[bid])
    with pytest.raises(UnsupportedFormatError):
        await store.read_tree(header.id)
    assert tree_id == header.tree


async def test_stats(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    datas = [b"x" * 100, b"y" * 300, b"x" * 100]
    async with store.writer() as w:
        for d in datas:
            await w.put_payload(d)
        await w.put_record(record(1))
        await w.commit()
    st = await store.stats()
    assert st.snapshots == 1 and st.keys == 1 and st.locks == 0
    assert st.data_blobs == 2 and st.data_bytes == 400
    assert st.metadata_blobs == 2  # one record, one tree
    assert st.stored_data_bytes < 400  # compressed
    assert st.packs == 2 and st.pack_bytes > 0 and st.index_deltas == 1
    assert st.total_bytes == st.pack_bytes + st.index_bytes + st.snapshot_bytes
    assert st.to_dict()["total_bytes"] == st.total_bytes


async def test_leaving_the_writer_without_commit_writes_no_snapshot(
    store_factory: StoreFactory,
) -> None:
    store = await store_factory.init(pack_size=4096)
    async with store.writer() as w:
        for i in range(30):
            await w.put_payload(os.urandom(600) + bytes([i]))
    assert w.sink is not None and not w.sink._uploads
    assert await store.list_snapshots() == []
    assert await store.list_locks() == []
    with pytest.raises(KlosetError):
        await w.put_payload(b"after the block")


async def test_snapshot_listing_sees_amendments_from_elsewhere(store_factory: StoreFactory) -> None:
    store = await store_factory.init()
    header = await backup(store, 1, tags=("aaaa",))
    assert (await store.list_snapshots())[0].tags == ("aaaa",)
    other = await store_factory.open(store.location, cache_dir=store_factory.cache_dir / "o")
    await other.update_snapshot(header.id, tags=["bbbb"])  # same size, new content
    assert (await store.list_snapshots())[0].tags == ("bbbb",)
    gets = 0
    original = store.backend.get

    async def counting_get(kind: str, name: str, *args: Any, **kwargs: Any) -> bytes:
        nonlocal gets
        gets += kind == "snapshots"
        return await original(kind, name, *args, **kwargs)

    store.backend.get = counting_get  # type: ignore[method-assign]
    assert (await store.list_snapshots())[0].tags == ("bbbb",)
    assert gets == 0  # unchanged objects are not fetched again
    await other.delete_snapshots([header.id])
    assert await store.list_snapshots() == []


async def test_open_tolerates_a_delta_deleted_during_sync(store_factory: StoreFactory) -> None:
    from core.store.errors import ObjectNotFoundError

    store = await store_factory.init()
    await backup(store, 1, seed=b"one")
    second = await backup(store, 1, seed=b"two")
    victim = (await store.list_index_deltas())[0].name
    original = store.backend.get

    async def racing_get(kind: str, name: str, *args: Any, **kwargs: Any) -> bytes:
        if kind == "index" and name == victim:
            raise ObjectNotFoundError(kind, name)  # as if a prune deleted it after the listing
        return await original(kind, name, *args, **kwargs)

    store.backend.get = racing_get  # type: ignore[method-assign]
    store.cache.reset()
    assert await store.refresh_index() == 1
    store.backend.get = original  # type: ignore[method-assign]
    for rec in await store.read_tree(second.id):  # a miss resyncs
        assert rec.versions[0].payload is not None
        await store.read_payload(rec.versions[0].payload)
