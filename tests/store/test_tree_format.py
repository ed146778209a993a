"""Snapshot trees of the three store formats (docs/FORMAT.md §8.2).

Format 2: a tree is content-defined chunks, each its own deduplicated tree blob, so a
snapshot that changes a few secrets writes a few chunks, not the whole list. Format 3 (new
stores): a snapshot with a parent stores a patch against the parent's tree, naming its chain
(a chunked keyframe and at most PATCH_DEPTH_MAX patches). Format-1 and format-2 stores keep
their layout, so the programs that made them still read them; all read back the same. A
flipped envelope version byte reads as damage.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from core.store import (
    CorruptStoreError,
    KdfParams,
    SecretRecord,
    Store,
    UnsupportedFormatError,
    envelope,
)
from core.store import repository as repository_module
from core.store.crypto import BLOB_TREE
from core.store.tree import CHUNK_MAX, TREE_V1, TREE_V2, build_tree, decode_node, walk_tree

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store-v1"
GOLDEN_PASSPHRASE = "golden passphrase v1"
PW = "tree format test passphrase"


def _id(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=32).digest()


def _ids(n: int) -> list[str]:
    return [os.urandom(32).hex() for _ in range(n)]


async def _walk(nodes: list[tuple[bytes, bytes]], root: str) -> list[str]:
    blobs = {nid.hex(): raw for nid, raw in nodes}

    async def read(ids: list[str]) -> dict[str, bytes]:
        return {i: blobs[i] for i in ids}

    return (await walk_tree(root, read)).record_ids


@pytest.mark.parametrize("n", [0, 1, CHUNK_MAX, CHUNK_MAX + 1, 1000, 5000])
async def test_chunked_tree_round_trips(n: int) -> None:
    ids = _ids(n)
    root, nodes = build_tree(ids, _id)
    assert await _walk(nodes, root) == ids
    assert (len(nodes) == 1) == (n <= CHUNK_MAX)  # a small tree is one blob
    assert all(raw[4] == TREE_V2 for _nid, raw in nodes)


async def test_one_change_or_insertion_rewrites_few_chunks() -> None:
    ids = _ids(5000)
    _root, nodes = build_tree(ids, _id)
    before = {nid for nid, _ in nodes}
    changed = list(ids)
    changed[2500] = os.urandom(32).hex()
    inserted = [*ids[:1234], os.urandom(32).hex(), *ids[1234:]]
    for new_ids in (changed, inserted):
        root, new_nodes = build_tree(new_ids, _id)
        fresh = [nid for nid, _ in new_nodes if nid not in before]
        assert len(fresh) <= 8, len(fresh)  # its chunk (and a neighbour) and the path up
        assert await _walk(new_nodes, root) == new_ids


def test_version_1_tree_is_one_flat_blob() -> None:
    ids = _ids(100)
    root, nodes = build_tree(ids, _id, version=TREE_V1)
    assert len(nodes) == 1 and nodes[0][1][4] == TREE_V1
    assert decode_node(root, nodes[0][1]) == (0, ids)


def _record(i: int, rev: int = 1) -> SecretRecord:
    return SecretRecord("fr-par", "p1", f"s-{i:05d}", f"n-{i:05d}", "/", version_count=rev)


async def _snapshot(store: Store, records: list[SecretRecord]) -> str:
    async with store.writer() as w:
        for r in records:
            await w.put_record(r)
        return (await w.commit()).id


async def _tree_versions(store: Store, snapshot: str) -> set[int]:
    walk = await store.read_tree_walk(snapshot)
    blobs = await store.read_blobs(walk.node_ids, BLOB_TREE)
    return {raw[4] for raw in blobs.values()}


async def test_format_2_store_dedups_tree_chunks_and_prunes_safely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loc = str(tmp_path / "store")
    monkeypatch.setattr(repository_module, "STORE_VERSION", 2)
    store = await Store.init(loc, PW, kdf=KdfParams.for_tests(), cache_dir=":memory:")
    monkeypatch.undo()
    try:
        assert store.config.version == 2
        records = [_record(i) for i in range(2000)]
        first = await _snapshot(store, records)
        records[700] = _record(700, 2)
        records[1500] = _record(1500, 2)
        async with store.writer() as w:
            for r in records:
                await w.put_record(r)
            second = await w.commit()
        # Two records, and per change at most a few chunks on each level (a changed id can
        # merge or split its chunk: boundaries come from the store's random keyed ids, so the
        # exact count varies from store to store; 17 of 2 + 12 was seen). A full rewrite
        # would add every node of the tree (about 290 here): the changes add under a tenth.
        nodes = (await store.read_tree_walk(second.id)).node_ids
        assert len(nodes) > 100
        assert second.summary.blobs_added - 2 <= len(nodes) // 10
        assert await _tree_versions(store, second.id) == {TREE_V2}
        assert await store.read_tree(second.id) == records
        await store.delete_snapshot(first)
        report = await store.prune(repack_below=1.0)
        assert report.blobs_removed >= 2
        assert await store.read_tree(second.id) == records
        assert (await store.check(read_data=True)).ok
    finally:
        await store.close()


async def test_format_1_store_keeps_flat_trees_and_copies_into_format_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository_module, "STORE_VERSION", 1)
    old = await Store.init(
        str(tmp_path / "v1"), PW, kdf=KdfParams.for_tests(), cache_dir=":memory:"
    )
    monkeypatch.undo()
    new = await Store.init(
        str(tmp_path / "v2"), PW, kdf=KdfParams.for_tests(), cache_dir=":memory:"
    )
    try:
        assert old.config.version == 1 and new.config.version == 3
        records = [_record(i) for i in range(300)]
        sid = await _snapshot(old, records)
        assert await _tree_versions(old, sid) == {TREE_V1}
        await old.copy_to(new, [sid])
        assert await _tree_versions(new, sid) == {TREE_V2}
        assert await new.read_tree(sid) == await old.read_tree(sid) == records
        assert (await new.check(read_data=True)).ok
    finally:
        await old.close()
        await new.close()


async def test_golden_format_1_store_stays_format_1_when_written(tmp_path: Path) -> None:
    target = tmp_path / "store-v1"
    shutil.copytree(FIXTURE / "store", target)
    store = await Store.open(str(target), GOLDEN_PASSPHRASE, cache_dir=":memory:")
    try:
        assert store.config.version == 1
        sid = await _snapshot(store, [_record(i) for i in range(100)])
        assert await _tree_versions(store, sid) == {TREE_V1}
        assert (await store.check(read_data=True)).ok
    finally:
        await store.close()


async def test_a_flipped_version_byte_is_damage_and_an_authentic_newer_one_is_refused(
    tmp_path: Path,
) -> None:
    store = await Store.init(
        str(tmp_path / "s"), PW, kdf=KdfParams.for_tests(), cache_dir=":memory:"
    )
    try:
        sid = await _snapshot(store, [_record(1)])
        original = await store.backend.get("snapshots", sid)
        flipped = bytearray(original)
        flipped[5] = 7  # the envelope's version byte: the MAC no longer matches
        await store.backend.put("snapshots", sid, bytes(flipped))
        with pytest.raises(CorruptStoreError):
            await store.get_snapshot(sid)
        # an authentic object (valid MAC) of an unknown envelope version: a newer format
        head = envelope.HEADER.pack(envelope.MAGIC, envelope.KIND_SNAPSHOT, 7, 0)
        body = original[envelope.HEADER_SIZE : -32]
        await store.backend.put("snapshots", sid, head + body + store.keys.mac(head + body))
        with pytest.raises(UnsupportedFormatError):
            await store.get_snapshot(sid)
    finally:
        await store.close()
