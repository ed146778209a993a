"""Issue 9, ``repair index|packs|snapshots``: damage -> repair -> ``check --read-data`` passes,
and every loss is named (in the report and in the repaired snapshot)."""

from __future__ import annotations

from pathlib import Path

from core.store import Store
from core.store.crypto import BLOB_DATA, BLOB_TREE
from core.store.ops.repair import REPAIRED_TAG, repair_index, repair_packs, repair_snapshots
from tests.store.ops.helpers import (
    flip_byte,
    new_store,
    object_files,
    open_store,
    read_all,
    write_snapshot,
)


def _pack_file(root: Path, pack: str) -> Path:
    return root / "packs" / pack[:2] / pack


async def _filled(root: Path) -> tuple[Store, list]:
    store = await new_store(str(root), pack_size=4096)
    written = [
        await write_snapshot(store, secrets=12),
        await write_snapshot(store, secrets=14, changed={1, 2}),
    ]
    return store, written


async def test_repair_packs_then_snapshots_after_a_flipped_byte_in_a_data_pack(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    store, written = await _filled(root)
    try:
        victim = next(e for e in store.index_entries() if e.blob_type == BLOB_DATA)
        flip_byte(_pack_file(root, victim.pack_hex), victim.offset + 30)
        assert not (await store.check(read_data=True)).ok

        dry = await repair_packs(store, dry_run=True)
        assert dry.packs_damaged == [victim.pack_hex] and not dry.packs_written
        assert _pack_file(root, victim.pack_hex).exists()

        packs = await repair_packs(store)
        assert packs.packs_damaged == [victim.pack_hex]
        assert packs.blobs_lost == [victim.blob_id.hex()]
        assert packs.blobs_salvaged >= 1 and packs.packs_written
        assert not _pack_file(root, victim.pack_hex).exists()

        snaps = await repair_snapshots(store, forget=True)
        assert snaps.repaired and all(r.new_id for r in snaps.repaired)
        assert all(r.versions_lost >= 1 for r in snaps.repaired)
        assert sorted(snaps.forgotten) == sorted(r.snapshot_id for r in snaps.repaired)
        headers = await store.list_snapshots()
        assert len(headers) == 2
        new_ids = {r.new_id for r in snaps.repaired}
        for h in headers:
            if h.id not in new_ids:
                assert h.id in {w.header.id for w in written}
                continue
            assert h.status == "partial" and REPAIRED_TAG in h.tags
            assert any("lost in a repair" in e.message for e in h.errors)
            assert "repaired from snapshot" in h.description
            data = await read_all(store, h)  # every remaining reference reads back
            assert data
        report = await store.check(read_data=True)
        assert report.ok, report.lines()
        # a second repair finds nothing more to do
        again = await repair_snapshots(store)
        assert not again.repaired and not again.unrepairable
    finally:
        await store.close()


async def test_repair_snapshots_when_a_metadata_pack_is_deleted(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store, written = await _filled(root)
    try:
        tree = next(e for e in store.index_entries() if e.blob_id.hex() == written[0].header.tree)
        assert tree.blob_type == BLOB_TREE
        _pack_file(root, tree.pack_hex).unlink()
        dry = await repair_snapshots(store, dry_run=True, forget=True)
        assert written[0].header.id in dry.unrepairable or dry.repaired
        assert len(await store.list_snapshots()) == 2  # a dry run changes nothing
        result = await repair_snapshots(store, forget=True)
        assert result.forgotten
        await repair_index(store)  # drop the missing pack from the index
        report = await store.check(read_data=True)
        assert report.ok, report.lines()
    finally:
        await store.close()


async def test_repair_index_rebuilds_a_lost_and_a_damaged_index(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store, written = await _filled(root)
    await store.close()
    deltas = object_files(root, "index")
    assert len(deltas) >= 2
    deltas[0].unlink()
    flip_byte(deltas[1], 40)
    store = await open_store(str(root))
    try:
        assert not (await store.check()).ok
        dry = await repair_index(store, dry_run=True)
        assert dry.index_rewritten and dry.deltas_damaged == 1
        assert len(object_files(root, "index")) == len(deltas) - 1
        report = await repair_index(store)
        assert report.index_rewritten and not report.packs_unreadable
        assert len(object_files(root, "index")) == 1
        check = await store.check(read_data=True)
        assert check.ok, check.lines()
        for w in written:
            assert await read_all(store, w.header) == w.payloads
        assert not (await repair_index(store)).index_rewritten
    finally:
        await store.close()
