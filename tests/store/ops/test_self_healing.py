"""Issue 9, self-healing primitives and "the cache is a cache".

- ``Store.unusable_blobs`` names blobs a backup would reuse that are missing or unreadable;
- a damaged tree or record of a parent snapshot raises a typed, catchable error naming the blob;
- a local index cache that disagrees with the store's index is detected by ``check``, reported
  and rebuilt, and a read through a wrong cache entry falls back to the store's index once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.store import Store
from core.store.crypto import BLOB_DATA, BLOB_TREE
from core.store.errors import BlobDamagedError, CorruptStoreError
from tests.store.ops.helpers import flip_byte, new_store, open_store, read_all, write_snapshot


def _payload_ids(written: dict[tuple[str, int], bytes], store_entries: list) -> set[str]:
    return {e.blob_id.hex() for e in store_entries if e.blob_type == BLOB_DATA}


async def _pack_of(store: Store, blob_id: str) -> str:
    for e in store.index_entries():
        if e.blob_id.hex() == blob_id:
            return e.pack_hex
    raise AssertionError("blob not indexed")


async def test_unusable_blobs_names_missing_packs_and_unreadable_blobs(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = await new_store(str(root), pack_size=4096)
    try:
        await write_snapshot(store, secrets=30)
        data_ids = sorted(
            e.blob_id.hex() for e in store.index_entries() if e.blob_type == BLOB_DATA
        )
        assert await store.unusable_blobs(data_ids) == set()
        assert await store.unusable_blobs(data_ids, read=True) == set()
        assert await store.unusable_blobs(["00" * 32]) == {"00" * 32}  # not in the index
        gone_pack = await _pack_of(store, data_ids[0])
        in_gone = {e.blob_id.hex() for e in store.index_entries() if e.pack_hex == gone_pack}
        (root / "packs" / gone_pack[:2] / gone_pack).unlink()
        assert await store.unusable_blobs(data_ids) == in_gone
        # a flipped byte inside one blob of another pack: only found when reading
        other = next(b for b in data_ids if b not in in_gone)
        entry = next(e for e in store.index_entries() if e.blob_id.hex() == other)
        flip_byte(root / "packs" / entry.pack_hex[:2] / entry.pack_hex, entry.offset + 30)
        assert await store.unusable_blobs(data_ids) == in_gone
        assert await store.unusable_blobs(data_ids, read=True) == in_gone | {other}
    finally:
        await store.close()


async def test_damaged_parent_tree_raises_a_typed_error_naming_the_blob(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = await new_store(str(root))
    try:
        written = await write_snapshot(store)
        header = written.header
        entry = next(e for e in store.index_entries() if e.blob_id.hex() == header.tree)
        assert entry.blob_type == BLOB_TREE
        flip_byte(root / "packs" / entry.pack_hex[:2] / entry.pack_hex, entry.offset + 30)
        with pytest.raises(BlobDamagedError) as info:
            await store.read_tree_ids(header)
        assert isinstance(info.value, CorruptStoreError)
        assert info.value.blob_id == header.tree
        # a damaged record: the same error, naming the record
        ids = None
        # (rewrite the tree's bytes back, damage a record instead)
        flip_byte(root / "packs" / entry.pack_hex[:2] / entry.pack_hex, entry.offset + 30)
        ids = await store.read_tree_ids(header)
        rec = next(e for e in store.index_entries() if e.blob_id.hex() == ids[0])
        flip_byte(root / "packs" / rec.pack_hex[:2] / rec.pack_hex, rec.offset + 30)
        with pytest.raises(BlobDamagedError) as info:
            await store.read_records(ids)
        assert info.value.blob_id == ids[0]
    finally:
        await store.close()


def _swap_offsets(cache_file: Path) -> None:
    db = sqlite3.connect(cache_file)
    rows = db.execute(
        "SELECT id, pack, offset FROM blobs WHERE type = ? ORDER BY pack, offset", (BLOB_DATA,)
    ).fetchall()
    (a, pack, off_a), (b, _pack, off_b) = rows[0], next(r for r in rows[1:] if r[1] == rows[0][1])
    db.execute("UPDATE blobs SET offset = ? WHERE id = ? AND pack = ?", (off_b, a, pack))
    db.execute("UPDATE blobs SET offset = ? WHERE id = ? AND pack = ?", (off_a, b, pack))
    db.commit()
    db.close()


async def test_a_cache_that_disagrees_is_detected_by_check_and_rebuilt(tmp_path: Path) -> None:
    loc, cache = str(tmp_path / "store"), tmp_path / "cache"
    store = await new_store(loc, cache=cache)
    written = await write_snapshot(store)
    cache_file = store.cache.path
    await store.close()
    assert cache_file is not None
    _swap_offsets(cache_file)
    store = await open_store(loc, cache=cache)
    try:
        report = await store.check(read_data=True)
        cache_problems = [p for p in report.problems if p.kind == "cache"]
        assert cache_problems, report.lines()
        assert "rebuilt" in cache_problems[0].message
        assert report.ok  # the store itself is intact
        assert await read_all(store, written.header) == written.payloads
    finally:
        await store.close()


async def test_a_read_through_a_wrong_cache_entry_falls_back_to_the_store_index(
    tmp_path: Path,
) -> None:
    loc, cache = str(tmp_path / "store"), tmp_path / "cache"
    store = await new_store(loc, cache=cache)
    written = await write_snapshot(store)
    cache_file = store.cache.path
    await store.close()
    assert cache_file is not None
    _swap_offsets(cache_file)
    store = await open_store(loc, cache=cache)
    try:
        assert await read_all(store, written.header) == written.payloads
    finally:
        await store.close()


async def test_a_writer_rewrites_blobs_marked_unusable_and_the_new_copy_reads(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    store = await new_store(str(root))
    try:
        written = await write_snapshot(store)
        by_id = {store.keys.blob_id(BLOB_DATA, d).hex(): d for d in written.payloads.values()}
        victim = sorted(by_id)[0]
        entry = next(e for e in store.index_entries() if e.blob_id.hex() == victim)
        flip_byte(root / "packs" / entry.pack_hex[:2] / entry.pack_hex, entry.offset + 30)
        async with store.writer() as w:
            bad = await store.unusable_blobs(by_id, read=True)
            assert bad == {victim}
            w.mark_unusable(bad)
            assert not w.has_payload(victim)
            assert all(w.has_payload(b) for b in by_id if b != victim)
            assert await w.put_payload(by_id[victim]) == victim
            assert w.stats.data_added == 1
            assert await w.put_payload(by_id[victim]) == victim
            assert w.stats.data_added == 1  # once is enough
            await w.commit(sources=[])
        assert await store.read_payload(victim) == by_id[victim]
        assert await store.unusable_blobs([victim], read=True) == set()
        # the damaged pack itself: repair packs drops it, nothing is lost any more
        from core.store.ops.repair import repair_packs

        repaired = await repair_packs(store)
        assert repaired.packs_damaged == [entry.pack_hex] and repaired.blobs_lost == []
        assert (await store.check(read_data=True)).ok
        assert await read_all(store, written.header) == written.payloads
    finally:
        await store.close()


async def test_a_blob_that_failed_to_read_is_written_afresh_by_the_next_put(
    tmp_path: Path,
) -> None:
    """A backup whose parent record is damaged falls back to a full read and puts the same
    record again: the writer must write a new copy, not reuse the damaged one."""
    root = tmp_path / "store"
    store = await new_store(str(root))
    try:
        written = await write_snapshot(store)
        ids = await store.read_tree_ids(written.header)
        records = await store.read_records(ids)
        rec = next(e for e in store.index_entries() if e.blob_id.hex() == ids[0])
        flip_byte(root / "packs" / rec.pack_hex[:2] / rec.pack_hex, rec.offset + 30)
        with pytest.raises(BlobDamagedError):
            await store.read_records(ids)
        async with store.writer() as w:
            for r in records:
                await w.put_record(r)
            assert w.stats.records_added == 1 and w.stats.records_reused == len(records) - 1
            header = await w.commit(sources=[])
        assert len(await store.read_tree(header)) == len(records)
    finally:
        await store.close()
