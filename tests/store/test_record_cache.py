"""The sealed record cache (core/store/record_cache.py, docs/FORMAT.md §22): ``read_tree``
serves the newest trees' records decoded from one file each, which a writing session fills
for its newest tree when the store closes and a cold read fills after it; a damaged file is
deleted and the tree read from the store; what must see the store's own bytes (check, the
backup's parent records) never uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
import zstandard

from core.store import KdfParams, SecretRecord, Store
from core.store import record_cache as record_cache_module
from core.store.errors import BlobDamagedError
from tests.store.ops.helpers import flip_byte

PW = "record cache test passphrase"


def _record(i: int, rev: int = 1) -> SecretRecord:
    return SecretRecord("fr-par", "p1", f"s-{i:05d}", f"n-{i:05d}", "/", version_count=rev)


async def _history(
    store: Store,
    count: int,
    start: list[SecretRecord] | None = None,
    parent: str | None = None,
    first: int = 0,
) -> tuple[list[str], list[list[SecretRecord]]]:
    records = list(start) if start is not None else [_record(i) for i in range(300)]
    snaps: list[str] = [parent] if parent is not None else []
    lists = []
    for n in range(count):
        s = first + n
        if s:
            records[s * 17 % 300] = _record(s * 17 % 300, s + 1)
        async with store.writer() as w:
            ids = [await w.put_record(r) for r in records] if not snaps else None
            if ids is None:
                parent_ids = await store.read_tree_ids(snaps[-1])
                i = (s * 17) % 300
                parent_ids[i] = await w.put_record(records[i])
                ids = parent_ids
            snaps.append((await w.commit(record_ids=ids, parent=snaps[-1] if snaps else None)).id)
        lists.append(list(records))
    return (snaps[1:] if parent is not None else snaps), lists


def _count_store_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the calls of ``Store.read_records`` (the store's blobs read) from now on."""
    reads = [0]
    original = Store.read_records

    async def counting(self: Store, ids: object) -> list[SecretRecord]:
        reads[0] += 1
        return await original(self, ids)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "read_records", counting)
    return reads


async def _new_store(
    tmp_path: Path, snapshots: int
) -> tuple[str, Path, list[str], list[list[SecretRecord]]]:
    """A new store with ``snapshots`` commits in one session, closed: its location, its
    cache directory, the snapshot ids and each one's records."""
    loc, cache = str(tmp_path / "store"), tmp_path / "cache"
    store = await Store.init(loc, PW, kdf=KdfParams.for_tests(), cache_dir=cache)
    try:
        snaps, lists = await _history(store, snapshots)
    finally:
        await store.close()
    return loc, cache, snaps, lists


def _files(cache: Path) -> list[Path]:
    return sorted(cache.rglob("trees/*.bin"))


async def test_commits_fill_the_cache_and_reads_serve_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loc, cache, snaps, lists = await _new_store(tmp_path, 1)
    for _ in range(3):  # one backup a process: each leaves its tree's records sealed
        store = await Store.open(loc, PW, cache_dir=cache)
        try:
            more, more_lists = await _history(store, 1, lists[-1], snaps[-1], len(snaps))
            snaps += more
            lists += more_lists
        finally:
            await store.close()
    assert len(_files(cache)) == 4  # one a tree (each writer had every record at hand)
    store = await Store.open(loc, PW, cache_dir=cache)
    try:
        reads = _count_store_reads(monkeypatch)
        for sid, records in zip(snaps, lists, strict=True):
            assert await store.read_tree(sid) == records
        assert reads == [0]  # every tree from the cache
        monkeypatch.undo()
    finally:
        await store.close()
    # another machine (a fresh cache): read cold, then cached
    cold = tmp_path / "cold"
    store = await Store.open(loc, PW, cache_dir=cold)
    try:
        assert await store.read_tree(snaps[-1]) == lists[-1]
    finally:
        await store.close()
    assert len(_files(cold)) == 1


async def test_a_commit_decodes_its_parents_cached_records_only_when_they_are_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CLI backup commits and exits: the parent's sealed records are decoded only when the
    new tree is read or sealed (a close), never at the commit itself (PendingTree)."""
    loc, cache, snaps, lists = await _new_store(tmp_path, 1)
    decoded = 0
    original = record_cache_module.CachedTree.chunk

    def counting(self: record_cache_module.CachedTree, i: int) -> list[SecretRecord] | None:
        nonlocal decoded
        decoded += 1
        return original(self, i)

    monkeypatch.setattr(record_cache_module.CachedTree, "chunk", counting)
    store = await Store.open(loc, PW, cache_dir=cache)
    try:
        more, more_lists = await _history(store, 3, lists[-1], snaps[-1], len(snaps))
        assert decoded == 0  # three commits, each on the last: none decoded the parent
        assert await store.read_tree(more[-1]) == more_lists[-1]  # decoded now, once
        assert decoded == 1
        again, again_lists = await _history(store, 1, more_lists[-1], more[-1], 5)
        assert decoded == 1  # the next commit starts from the decoded records
    finally:
        await store.close()
    store = await Store.open(loc, PW, cache_dir=cache)
    try:
        more2, lists2 = await _history(store, 2, again_lists[-1], again[-1], 6)
    finally:
        await store.close()  # seals the pending tree: its parent's file decoded now
    assert decoded == 2
    monkeypatch.undo()
    store = await Store.open(loc, PW, cache_dir=cache)
    try:
        reads = _count_store_reads(monkeypatch)
        assert await store.read_tree(more2[-1]) == lists2[-1]
        assert reads == [0]  # sealed by the close, from the records put and the parent's
    finally:
        await store.close()


async def test_a_commit_on_a_damaged_or_undecodable_parent_file_reads_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent's sealed file is authenticated when the commit opens it, and decoded only
    later (PendingTree): a file damaged on disk is dropped at the commit, one that fails to
    decode later costs a cold read of the new tree; never a wrong record, nothing sealed."""
    loc, cache, snaps, lists = await _new_store(tmp_path, 1)
    (parent_file,) = _files(cache)
    flip_byte(parent_file, 40)
    store = await Store.open(loc, PW, cache_dir=cache)
    try:
        more, more_lists = await _history(store, 1, lists[-1], snaps[-1], 1)
        assert store._latest_pending is None and not parent_file.exists()
        assert await store.read_tree(more[-1]) == more_lists[-1]  # cold, then cached
    finally:
        await store.close()
    store = await Store.open(loc, PW, cache_dir=cache)
    try:
        again, again_lists = await _history(store, 1, more_lists[-1], more[-1], 2)
        assert store._latest_pending is not None
        monkeypatch.setattr(record_cache_module.CachedTree, "chunk", lambda self, i: None)
        assert await store.read_tree(again[-1]) == again_lists[-1]  # read cold instead
        assert store._latest_pending is None and store._latest_records is None
        monkeypatch.undo()
    finally:
        await store.close()
    store = await Store.open(loc, PW, cache_dir=cache)
    try:
        for sid, records in zip([*more, *again], [*more_lists, *again_lists], strict=True):
            assert await store.read_tree(sid) == records
    finally:
        await store.close()


async def test_a_damaged_cache_file_is_dropped_and_the_store_read(tmp_path: Path) -> None:
    loc, cache, snaps, lists = await _new_store(tmp_path, 2)
    for f in _files(cache):
        flip_byte(f, 40)
    store = await Store.open(loc, PW, cache_dir=cache)
    try:
        assert await store.read_tree(snaps[1]) == lists[1]
        assert await store.read_tree(snaps[0]) == lists[0]
    finally:
        await store.close()
    assert len(_files(cache)) == 2  # dropped, then rewritten by the cold reads


async def test_check_and_parent_records_read_the_store_not_the_cache(tmp_path: Path) -> None:
    root, cache = tmp_path / "store", tmp_path / "cache"
    store = await Store.init(str(root), PW, kdf=KdfParams.for_tests(), cache_dir=cache)
    try:
        snaps, lists = await _history(store, 1)
        ids = await store.read_tree_ids(snaps[0])
        entry = next(e for e in store.index_entries() if e.blob_id.hex() == ids[3])
        flip_byte(root / "packs" / entry.pack_hex[:2] / entry.pack_hex, entry.offset + 30)
    finally:
        await store.close()
    store = await Store.open(str(root), PW, cache_dir=cache)
    try:
        assert await store.read_tree(snaps[0]) == lists[0]  # the models: from the cache
        with pytest.raises(BlobDamagedError):
            await store.read_records(ids)  # what a backup's parent reading uses
        report = await store.check()
        assert any(p.id == ids[3] for p in report.errors)
    finally:
        await store.close()


async def test_the_cache_keeps_the_newest_trees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record_cache_module, "KEEP", 3)
    loc, cache = str(tmp_path / "store"), tmp_path / "cache"
    store = await Store.init(loc, PW, kdf=KdfParams.for_tests(), cache_dir=cache)
    try:
        snaps, lists = await _history(store, 5)
        assert _files(cache) == []  # one session's newest tree: written at close
    finally:
        await store.close()
    assert len(_files(cache)) == 1
    store = await Store.open(loc, PW, cache_dir=cache)
    try:
        for sid, records in zip(snaps, lists, strict=True):
            assert await store.read_tree(sid) == records  # cold, then cached
        await store.record_cache.drain()
        assert len(_files(cache)) == 3
    finally:
        await store.close()


async def test_cached_tree_decodes_chunk_by_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Store.cached_tree (the console's open): the cached records in tree order, one chunk
    decoded at a time; a chunk that does not decode is None and the file is dropped."""
    monkeypatch.setattr(record_cache_module, "CHUNK", 64)  # 300 records: five chunks
    loc, cache, snaps, lists = await _new_store(tmp_path, 1)
    store = await Store.open(loc, PW, cache_dir=cache)
    try:
        tree = await store.cached_tree(snaps[0])
        assert tree is not None and len(tree) == 300
        assert tree.ids == await store.read_tree_ids(snaps[0])
        chunks = list(tree.chunks())
        assert [len(ids) for ids, _r in chunks] == [64, 64, 64, 64, 44]
        assert [r for _ids, records in chunks for r in records or []] == lists[0]
        assert [i for ids, _r in chunks for i in ids] == tree.ids
        tree._chunks[2] = b"\xc1"  # what a chunk that does not inflate would be
        assert tree.chunk(1) is not None and tree.chunk(2) is None
        tree._chunks[3] = zstandard.ZstdCompressor(write_content_size=True).compress(b"\x90")
        assert tree.chunk(3) is None  # inflates and decodes, to the wrong number of records
        assert _files(cache) == []  # dropped: the next open reads the store
        assert await store.cached_tree(snaps[0]) is None
        assert await store.read_tree(snaps[0]) == lists[0]
    finally:
        await store.close()
    assert len(_files(cache)) == 1  # the cold read sealed it again
