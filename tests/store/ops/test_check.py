"""check: a clean store passes; a flipped byte in each kind of object is named, and the
snapshots it does not touch still read back intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.store import CorruptStoreError, Store, UnsupportedFormatError
from core.store.ops.check import check_store, in_subset
from tests.store.ops.helpers import (
    PASSPHRASE,
    flip_byte,
    new_store,
    object_files,
    open_store,
    read_all,
    write_snapshot,
)


def names(root: Path, kind: str) -> set[str]:
    return {p.name for p in object_files(root, kind)}


class TwoSnapshots:
    """Snapshot A, then snapshot B with every value changed (no shared data or records)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def build(self) -> None:
        store = await new_store(str(self.root))
        try:
            await store.add_key(
                "second passphrase",
                kdf=__import__("core.store", fromlist=["KdfParams"]).KdfParams.for_tests(),
            )
            self.a = await write_snapshot(store, secrets=6, versions=2, generation=0)
            before = {k: names(self.root, k) for k in ("packs", "index", "snapshots", "keys")}
            self.b = await write_snapshot(store, secrets=6, versions=2, generation=1)
            after = {k: names(self.root, k) for k in ("packs", "index", "snapshots", "keys")}
            self.new = {k: sorted(after[k] - before[k]) for k in after}
            self.slots = sorted(after["keys"])
            self.current_slot = store.slot_id
            self.b_packs = {p: await store.read_pack_index(p) for p in self.new["packs"]}
        finally:
            await store.close()

    def path(self, kind: str, name: str) -> Path:
        return next(p for p in object_files(self.root, kind) if p.name == name)

    def b_pack(self, *, metadata: bool) -> str:
        for pack_id, entries in self.b_packs.items():
            types = {e.blob_type for e in entries}
            if metadata == (types != {1}):
                return pack_id
        raise AssertionError("no such pack")


@pytest.fixture
async def two(tmp_path: Path) -> TwoSnapshots:
    t = TwoSnapshots(tmp_path / "store")
    await t.build()
    return t


async def assert_a_intact(t: TwoSnapshots) -> None:
    store = await open_store(str(t.root))
    try:
        ids = {h.id for h in await store.list_snapshots()}
        assert t.a.header.id in ids
        assert await read_all(store, t.a.header) == t.a.payloads
    finally:
        await store.close()


async def run_check(t: TwoSnapshots, **kw: object) -> object:
    store = await open_store(str(t.root))
    try:
        return await check_store(store, **kw)  # type: ignore[arg-type]
    finally:
        await store.close()


async def test_clean_store_passes(two: TwoSnapshots) -> None:
    report = await run_check(two, read_data=True)
    assert report.ok, report.lines()
    assert report.snapshots == 2
    assert report.packs_read == report.packs > 0
    assert report.blobs_read >= 2 * 6 * 2
    assert report.unused_blobs == 0


async def test_subsets_cover_every_pack_once(two: TwoSnapshots) -> None:
    total = 0
    for n in range(1, 4):
        report = await run_check(two, subset=(n, 3))
        assert report.ok
        total += report.packs_read
    assert total == (await run_check(two)).packs
    packs = sorted(names(two.root, "packs"))
    for p in packs:
        assert sum(in_subset(p, (n, 3)) for n in range(1, 4)) == 1


async def test_damaged_snapshot_object(two: TwoSnapshots) -> None:
    (sid,) = two.new["snapshots"]
    flip_byte(two.path("snapshots", sid), 60)
    report = await run_check(two)
    assert not report.ok
    assert ("snapshots", sid) in report.damaged
    assert report.affected_snapshots == [sid]
    await assert_a_intact(two)


async def test_damaged_index_delta(two: TwoSnapshots) -> None:
    (delta,) = two.new["index"]
    flip_byte(two.path("index", delta), 50)
    report = await run_check(two)
    assert ("index", delta) in report.damaged
    assert report.affected_snapshots == [two.b.header.id]
    # B's packs are now unindexed: reported, for prune to re-index
    assert {p.id for p in report.warnings} >= set(two.new["packs"])
    await assert_a_intact(two)


async def test_damaged_data_pack(two: TwoSnapshots) -> None:
    pack = two.b_pack(metadata=False)
    flip_byte(two.path("packs", pack), 200)  # inside the first blob
    plain = await run_check(two)
    assert plain.ok  # data is only read with --read-data (as restic does)
    report = await run_check(two, read_data=True)
    assert ("packs", pack) in report.damaged
    assert report.affected_snapshots == [two.b.header.id]
    await assert_a_intact(two)
    store = await open_store(str(two.root))
    try:
        with pytest.raises(CorruptStoreError):
            await read_all(store, two.b.header)
    finally:
        await store.close()


async def test_damaged_metadata_pack(two: TwoSnapshots) -> None:
    pack = two.b_pack(metadata=True)
    flip_byte(two.path("packs", pack), 100)
    report = await run_check(two)
    assert not report.ok
    assert report.affected_snapshots == [two.b.header.id]
    assert any(pack[:16] in p.message for p in report.errors)
    assert report.unused_blobs is None  # unknown: a record could not be read
    await assert_a_intact(two)
    full = await run_check(two, read_data=True)
    assert ("packs", pack) in full.damaged


async def test_damaged_pack_index(two: TwoSnapshots) -> None:
    pack = two.b_pack(metadata=False)
    path = two.path("packs", pack)
    flip_byte(path, path.stat().st_size - 32 - 4 - 30)  # inside the sealed pack index
    report = await run_check(two)
    assert ("packs", pack) in report.damaged
    await assert_a_intact(two)


async def test_damaged_key_slot(two: TwoSnapshots) -> None:
    other = next(s for s in two.slots if s != two.current_slot)
    flip_byte(two.path("keys", other), 40)
    report = await run_check(two)
    assert ("keys", other) in report.damaged
    assert report.affected_snapshots == []
    await assert_a_intact(two)


async def test_damaged_config_is_named_at_open(two: TwoSnapshots) -> None:
    flip_byte(two.root / "config", -40)  # the last byte of the body
    with pytest.raises((CorruptStoreError, UnsupportedFormatError)) as info:
        await Store.open(str(two.root), PASSPHRASE, cache_dir=":memory:")
    assert "config" in info.value.message


async def test_missing_pack(two: TwoSnapshots) -> None:
    pack = two.b_pack(metadata=False)
    two.path("packs", pack).unlink()
    report = await run_check(two)
    assert ("packs", pack) in report.damaged
    assert report.affected_snapshots == [two.b.header.id]
    await assert_a_intact(two)


async def test_report_json_names_objects(two: TwoSnapshots) -> None:
    (sid,) = two.new["snapshots"]
    flip_byte(two.path("snapshots", sid), 60)
    doc = (await run_check(two)).to_json()
    assert doc["ok"] is False
    assert doc["errors"][0]["kind"] == "snapshots" and doc["errors"][0]["id"] == sid
    assert doc["affected_snapshots"] == [sid]


async def test_leftover_pack_is_a_warning(tmp_path: Path) -> None:
    store = await new_store(str(tmp_path / "s"))
    try:
        await write_snapshot(store)
        with pytest.raises(RuntimeError):
            async with store.writer() as w:
                await w.put_payload(b"x" * 5000)
                await w.sink.flush_packs()  # type: ignore[union-attr]
                raise RuntimeError("killed before the index delta")
        report = await check_store(store)
        assert report.ok
        assert len(report.warnings) == 1 and report.warnings[0].kind == "packs"
    finally:
        await store.close()
