"""Store format 3: snapshot trees as patches against the parent's tree (docs/FORMAT.md §8.2).

A snapshot with a parent stores the edits that turn the parent's list into its own, naming
its chain (a chunked keyframe, then at most PATCH_DEPTH_MAX patches); a keyframe is written
again when the chain is full or its edits grow, or when the parent's tree does not read. Every
op that walks trees follows chains: reads, check (a damaged patch is reported for every
snapshot that needs it), prune (a forgotten snapshot's patch stays while a chain needs it,
its records go), copy, and the backup's writer (a damaged parent is not built on).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from pathlib import Path

import pytest

from core.store import KdfParams, SecretRecord, Store
from core.store import repository as repository_module
from core.store.crypto import BLOB_TREE
from core.store.errors import BlobDamagedError
from core.store.tree import (
    PATCH_DEPTH_MAX,
    TREE_V2,
    TREE_V3,
    TreeNodeError,
    decode_patch,
    diff_lists,
    encode_patch,
    walk_tree,
)
from tests.store.ops.helpers import flip_byte

PW = "tree patch test passphrase"
V2_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store-v2"


def _ids(n: int) -> list[str]:
    return [os.urandom(32).hex() for _ in range(n)]


def _apply(base: list[str], new: list[str]) -> list[str]:
    ops = diff_lists(base, new)
    assert ops is not None
    raw = encode_patch(["aa" * 32], len(new), ops)
    return decode_patch("bb" * 32, raw).apply("bb" * 32, base)


def test_a_patch_turns_its_base_into_the_new_list() -> None:
    rng = random.Random(7)
    base = _ids(300)
    cases = [
        [],
        list(base),
        base[1:],
        base[:-1],
        [*_ids(2), *base, *_ids(3)],
        [x if i % 37 else os.urandom(32).hex() for i, x in enumerate(base)],
        [x for i, x in enumerate(base) if i % 5],
    ]
    for _ in range(20):
        new = list(base)
        for _ in range(rng.randrange(1, 30)):
            i = rng.randrange(len(new) + 1)
            op = rng.randrange(3)
            if op == 0:
                new.insert(i, os.urandom(32).hex())
            elif op == 1 and i < len(new):
                del new[i]
            elif i < len(new):
                new[i] = os.urandom(32).hex()
        cases.append(new)
    for new in cases:
        assert _apply(base, new) == new
    assert _apply([], base) == base


def test_no_patch_for_reordered_or_repeated_ids() -> None:
    base = _ids(10)
    assert diff_lists(base, [base[1], base[0], *base[2:]]) is None
    assert diff_lists(base, [*base, base[0]]) is None
    assert diff_lists([*base, base[0]], base) is None


def test_malformed_patches_are_tree_node_errors() -> None:
    base = _ids(10)
    new = [*base[:5], *_ids(1), *base[6:]]
    ops = diff_lists(base, new)
    assert ops is not None
    raw = encode_patch(["aa" * 32], len(new), ops)
    for bad in (raw[:-1], raw + b"\0", raw[:6]):
        with pytest.raises(TreeNodeError):
            decode_patch("cc" * 32, bad)
    with pytest.raises(TreeNodeError):  # a base shorter than the patch's edits
        decode_patch("cc" * 32, raw).apply("cc" * 32, base[:4])
    with pytest.raises(TreeNodeError):  # the wrong length
        decode_patch("cc" * 32, encode_patch(["aa" * 32], 3, ops)).apply("cc" * 32, base)


async def test_walk_rejects_a_chain_that_does_not_fit() -> None:
    keyframe_ids = _ids(5)
    keyframe = b"SKTR" + bytes([TREE_V2, 0]) + b"".join(bytes.fromhex(i) for i in keyframe_ids)
    kid = hashlib.blake2b(keyframe, digest_size=32).hexdigest()
    first = encode_patch([kid], 5, [(0, 1, _ids(1))])
    fid = hashlib.blake2b(first, digest_size=32).hexdigest()
    # a second patch naming a chain whose first patch says another chain
    second = encode_patch([kid, fid], 5, [(1, 1, _ids(1))])
    sid = hashlib.blake2b(second, digest_size=32).hexdigest()
    liar = encode_patch([fid], 5, [(0, 0, [])])  # a patch as the keyframe
    lid = hashlib.blake2b(liar, digest_size=32).hexdigest()
    blobs = {kid: keyframe, fid: first, sid: second, lid: liar}

    async def read(ids: list[str]) -> dict[str, bytes]:
        return {i: blobs[i] for i in ids}

    walk = await walk_tree(sid, read)
    assert walk.record_ids[2:] == keyframe_ids[2:] and len(walk.record_ids) == 5
    assert walk.node_ids[:3] == [sid, fid, kid]
    with pytest.raises(TreeNodeError):
        await walk_tree(lid, read)
    blobs[fid] = encode_patch([sid], 5, [(0, 1, _ids(1))])  # outside the chain naming it
    with pytest.raises(TreeNodeError):
        await walk_tree(sid, read)


def _record(i: int, rev: int = 1) -> SecretRecord:
    return SecretRecord("fr-par", "p1", f"s-{i:05d}", f"n-{i:05d}", "/", version_count=rev)


async def _commit(store: Store, records: list[SecretRecord], parent: str | None) -> str:
    async with store.writer() as w:
        ids = [await w.put_record(r) for r in records]
        return (await w.commit(record_ids=ids, parent=parent)).id


async def _root_version(store: Store, snapshot: str) -> int:
    root = (await store.get_snapshot(snapshot)).tree
    return (await store.read_blobs([root], BLOB_TREE))[root][4]


async def _history(store: Store, n: int, count: int) -> tuple[list[str], list[list[SecretRecord]]]:
    """``count`` snapshots of ``n`` secrets, each changing three of them."""
    records = [_record(i) for i in range(n)]
    ids, lists = [], []
    parent = None
    for s in range(count):
        if s:
            for i in (s * 7 % n, s * 13 % n, s * 29 % n):
                records[i] = _record(i, records[i].version_count + 1)
        parent = await _commit(store, records, parent)
        ids.append(parent)
        lists.append(list(records))
    return ids, lists


async def test_format_3_writes_patches_on_keyframes_and_reads_every_snapshot(
    tmp_path: Path,
) -> None:
    loc = str(tmp_path / "store")
    store = await Store.init(loc, PW, kdf=KdfParams.for_tests(), cache_dir=tmp_path / "c")
    try:
        assert store.config.version == 3
        count = 2 * (PATCH_DEPTH_MAX + 1) + 2
        snaps, lists = await _history(store, 500, count)
        versions = [await _root_version(store, s) for s in snaps]
        # a keyframe, PATCH_DEPTH_MAX patches, a keyframe, ...
        assert versions == [
            TREE_V2 if i % (PATCH_DEPTH_MAX + 1) == 0 else TREE_V3 for i in range(count)
        ]
        header = await store.get_snapshot(snaps[3])
        assert header.summary.blobs_added == 4  # three records and one patch
    finally:
        await store.close()
    fresh = await Store.open(loc, PW, cache_dir=tmp_path / "other-cache")
    try:
        for sid, records in zip(snaps, lists, strict=True):
            assert await fresh.read_tree(sid) == records
        walk = await fresh.read_tree_walk(snaps[PATCH_DEPTH_MAX])
        assert len(walk.chain) == PATCH_DEPTH_MAX  # the keyframe and the patches before
        assert set(walk.chain) <= set(walk.node_ids)
        assert (await fresh.check(read_data=True)).ok
    finally:
        await fresh.close()


async def test_same_list_is_the_same_tree_and_a_format_2_store_keeps_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository_module, "STORE_VERSION", 2)
    old = await Store.init(
        str(tmp_path / "v2"), PW, kdf=KdfParams.for_tests(), cache_dir=":memory:"
    )
    monkeypatch.undo()
    new = await Store.init(
        str(tmp_path / "v3"), PW, kdf=KdfParams.for_tests(), cache_dir=":memory:"
    )
    try:
        records = [_record(i) for i in range(100)]
        for store in (old, new):
            first = await _commit(store, records, None)
            again = await _commit(store, records, first)
            assert (await store.get_snapshot(again)).tree == (await store.get_snapshot(first)).tree
        records[5] = _record(5, 2)
        assert await _root_version(old, await _commit(old, records, again)) == TREE_V2
    finally:
        await old.close()
        await new.close()


async def test_prune_keeps_a_forgotten_snapshots_patch_while_a_chain_needs_it(
    tmp_path: Path,
) -> None:
    loc = str(tmp_path / "store")
    store = await Store.init(loc, PW, kdf=KdfParams.for_tests(), cache_dir=":memory:")
    try:
        records = [_record(i) for i in range(200)]
        snaps, lists = [], []
        for change in (None, (5, 2), (5, 3), (6, 2)):
            if change is not None:
                records[change[0]] = _record(*change)
            snaps.append(await _commit(store, records, snaps[-1] if snaps else None))
            lists.append(list(records))
        middle = [(await store.get_snapshot(s)).tree for s in snaps[1:3]]
        assert (await store.read_tree_walk(snaps[3])).chain == (
            (await store.get_snapshot(snaps[0])).tree,
            *middle,
        )
        await store.delete_snapshots(snaps[1:3])
        report = await store.prune(repack_below=1.0)
        # the records only the forgotten snapshots held are gone; their patches stay
        assert report.blobs_removed == 1  # record 5 at revision 2: only B held it
        assert all([await store.has_blob(m) for m in middle])
        assert await store.read_tree(snaps[3]) == lists[3]
        assert await store.read_tree(snaps[0]) == lists[0]
        result = await store.check(read_data=True)
        assert result.ok and result.unused_blobs == 0
    finally:
        await store.close()
    fresh = await Store.open(loc, PW, cache_dir=":memory:")
    try:
        assert await fresh.read_tree(snaps[3]) == lists[3]
    finally:
        await fresh.close()


async def test_a_damaged_patch_is_reported_and_a_backup_does_not_build_on_it(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    store = await Store.init(str(root), PW, kdf=KdfParams.for_tests(), cache_dir=":memory:")
    try:
        snaps, lists = await _history(store, 200, 4)
        patch = (await store.get_snapshot(snaps[1])).tree
        entry = next(e for e in store.index_entries() if e.blob_id.hex() == patch)
        flip_byte(root / "packs" / entry.pack_hex[:2] / entry.pack_hex, entry.offset + 30)
    finally:
        await store.close()
    store = await Store.open(str(root), PW, cache_dir=":memory:")
    try:
        report = await store.check()
        assert not report.ok
        damaged = [p for p in report.errors if p.kind == "blob" and p.id == patch]
        assert damaged
        # every snapshot whose chain holds the patch is named
        assert set(snaps[1:]) <= {s for p in damaged for s in p.snapshots}
        with pytest.raises(BlobDamagedError):
            await store.read_tree(snaps[3])
        assert await store.read_tree(snaps[0]) == lists[0]
        # the next backup's parent cannot be read: it writes a whole tree, readable
        records = list(lists[3])
        records[0] = _record(0, 9)
        new = await _commit(store, records, snaps[3])
        assert await _root_version(store, new) == TREE_V2
    finally:
        await store.close()
    store = await Store.open(str(root), PW, cache_dir=":memory:")
    try:
        assert await store.read_tree(new) == records
    finally:
        await store.close()


async def test_copy_writes_patches_in_the_destination(tmp_path: Path) -> None:
    src = await Store.init(str(tmp_path / "a"), PW, kdf=KdfParams.for_tests(), cache_dir=":memory:")
    dst = await Store.init(str(tmp_path / "b"), PW, kdf=KdfParams.for_tests(), cache_dir=":memory:")
    try:
        snaps, lists = await _history(src, 100, 3)
        await src.copy_to(dst, snaps[:2])
        await src.copy_to(dst, snaps[2:])
        assert [await _root_version(dst, s) for s in snaps] == [TREE_V2, TREE_V3, TREE_V3]
        for sid, records in zip(snaps, lists, strict=True):
            assert await dst.read_tree(sid) == records
        assert (await dst.check(read_data=True)).ok
    finally:
        await src.close()
        await dst.close()


async def test_golden_format_2_store_keeps_chunked_trees_when_written(tmp_path: Path) -> None:
    """A format-2 store written by this program stays readable by format-2 programs: a
    snapshot with a parent gets chunks, never a patch."""
    shutil.copytree(V2_FIXTURE / "store", tmp_path / "v2")
    store = await Store.open(str(tmp_path / "v2"), "golden passphrase v2", cache_dir=":memory:")
    try:
        assert store.config.version == 2
        parent = (await store.list_snapshots())[-1]
        records = await store.read_tree(parent)
        ids = await store.read_tree_ids(parent)
        async with store.writer() as w:
            changed = await w.put_record(_record(1))
            sid = (await w.commit(record_ids=[*ids[1:], changed], parent=parent.id)).id
        assert await _root_version(store, sid) == TREE_V2
        assert (await store.read_tree(sid))[:-1] == records[1:]
        assert (await store.check(read_data=True)).ok
    finally:
        await store.close()
