"""prune: frees unused data, removes leftovers, repacks sparse packs, compacts the index,
refuses beside a live writer or a damaged snapshot, and repairs a damaged index delta."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.store import StoreLockedError
from core.store.ops.check import check_store
from core.store.ops.prune import PruneRefused, prune
from tests.store.ops.helpers import (
    flip_byte,
    new_store,
    object_files,
    open_store,
    read_all,
    write_snapshot,
)


def listing(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


async def test_forget_then_prune_frees_space_and_keeps_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    try:
        a = await write_snapshot(store, secrets=8, generation=0)
        b = await write_snapshot(store, secrets=8, generation=1)
        c = await write_snapshot(store, secrets=8, generation=2)
        await store.delete_snapshots([a.header.id])
        report = await prune(store)
        assert report.blobs_removed >= 8 * 2 + 8 + 1  # payloads, records, tree of A
        assert report.bytes_freed > 0
        assert report.packs_removed >= 1
        assert report.index_deltas_before == 3 and report.index_deltas_after == 1
        assert len(object_files(root, "index")) == 1
        assert await read_all(store, b.header) == b.payloads
        assert await read_all(store, c.header) == c.payloads
        check = await check_store(store, read_data=True)
        assert check.ok and not check.warnings and check.unused_blobs == 0, check.lines()
        # a second prune has nothing to do
        again = await prune(store)
        assert again.blobs_removed == 0 and again.packs_removed == 0 and again.packs_repacked == 0
        assert again.bytes_freed == 0
    finally:
        await store.close()
    # another client (fresh cache) reads the compacted store
    other = await open_store(str(root))
    try:
        assert await read_all(other, c.header) == c.payloads
    finally:
        await other.close()


async def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    try:
        a = await write_snapshot(store, generation=0)
        await write_snapshot(store, generation=1)
        await store.delete_snapshots([a.header.id])
        before = listing(root)
        report = await prune(store, dry_run=True)
        assert report.dry_run and report.blobs_removed > 0 and report.bytes_freed > 0
        assert listing(root) == before
        real = await prune(store)
        assert real.blobs_removed == report.blobs_removed
        assert real.packs_removed == report.packs_removed
    finally:
        await store.close()


async def test_leftovers_of_interrupted_writes_are_removed(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    try:
        kept = await write_snapshot(store)
        # a write interrupted after its packs were uploaded, before its index delta
        with pytest.raises(RuntimeError):
            async with store.writer() as w:
                await w.put_payload(b"orphan-one" * 100)
                await w.sink.flush_packs()  # type: ignore[union-attr]
                raise RuntimeError("killed")
        # a write interrupted after its index delta, before its snapshot
        with pytest.raises(RuntimeError):
            async with store.writer() as w:
                await w.put_payload(b"orphan-two" * 100)
                await w.flush()
                raise RuntimeError("killed")
        assert (await check_store(store)).warnings
        report = await prune(store)
        assert report.leftover_packs == 1
        assert report.blobs_removed >= 2
        check = await check_store(store, read_data=True)
        assert check.ok and not check.warnings and check.unused_blobs == 0
        assert await read_all(store, kept.header) == kept.payloads
        assert not await store.has_blob(store.keys.blob_id(1, b"orphan-two" * 100).hex())
    finally:
        await store.close()


async def test_sparse_pack_is_repacked(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    try:
        a = await write_snapshot(store, secrets=10, versions=2)
        # B keeps revision 1 of every secret and revision 2 of one: A's data pack is 55 % used
        b = await write_snapshot(store, secrets=10, versions=2, changed=set(range(9)))
        await store.delete_snapshots([a.header.id])
        report = await prune(store)
        assert report.packs_repacked >= 1 and report.packs_written >= 1
        assert report.bytes_freed > 0
        assert await read_all(store, b.header) == b.payloads
        check = await check_store(store, read_data=True)
        assert check.ok and not check.warnings and check.unused_blobs == 0, check.lines()
    finally:
        await store.close()


async def test_many_small_packs_are_merged(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    try:
        written = [
            await write_snapshot(store, secrets=1, versions=1, generation=g) for g in range(20)
        ]
        before = len(object_files(root, "packs"))
        report = await prune(store)
        assert report.packs_repacked >= 17
        assert len(object_files(root, "packs")) < before // 2
        for w in written:
            assert await read_all(store, w.header) == w.payloads
        assert (await check_store(store, read_data=True)).ok
    finally:
        await store.close()


async def test_duplicate_copies_from_racing_writers_are_dropped(tmp_path: Path) -> None:
    root = tmp_path / "s"
    one = await new_store(str(root))
    two = await open_store(str(root))
    try:
        # two concurrent writers both store the same value (neither sees the other's blob)
        both = await asyncio.gather(
            write_snapshot(one, secrets=4, generation=0, tags=("w1",)),
            write_snapshot(two, secrets=4, generation=0, tags=("w2",)),
        )
        report = await prune(one)
        assert report.duplicates_removed >= 4 * 2
        check = await check_store(one, read_data=True)
        assert check.ok and check.unused_blobs == 0
        for w in both:
            assert await read_all(one, w.header) == w.payloads
    finally:
        await one.close()
        await two.close()


async def test_prune_refuses_beside_a_live_writer_or_waits(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    other = await open_store(str(root))
    try:
        await write_snapshot(store)
        release = asyncio.Event()

        async def writer() -> None:
            async with store.writer() as w:
                await w.put_payload(b"in flight")
                await release.wait()

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.05)
        with pytest.raises(StoreLockedError) as info:
            await prune(other)
        assert info.value.exit_code == 11
        waiting = asyncio.create_task(prune(other, lock_wait=10))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        release.set()
        await task
        report = await waiting
        assert report.snapshots == 1
    finally:
        await store.close()
        await other.close()


async def test_prune_refuses_with_a_damaged_snapshot(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    try:
        a = await write_snapshot(store, generation=0)
        await write_snapshot(store, generation=1)
    finally:
        await store.close()
    flip_byte(next(p for p in object_files(root, "snapshots") if p.name == a.header.id), 50)
    before = listing(root)
    store = await open_store(str(root))
    try:
        with pytest.raises(PruneRefused) as info:
            await prune(store)
        assert info.value.kind == "snapshots" and info.value.name == a.header.id
    finally:
        await store.close()
    after = listing(root)
    assert {k: v for k, v in after.items() if not k.startswith("locks")} == before


async def test_prune_repairs_a_damaged_index_delta(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    try:
        a = await write_snapshot(store, generation=0)
        deltas = {p.name for p in object_files(root, "index")}
        b = await write_snapshot(store, generation=1)
        (delta,) = {p.name for p in object_files(root, "index")} - deltas
    finally:
        await store.close()
    flip_byte(next(p for p in object_files(root, "index") if p.name == delta), 45)
    store = await open_store(str(root))
    try:
        assert not (await check_store(store)).ok
        report = await prune(store)
        assert report.packs_reindexed >= 1
        check = await check_store(store, read_data=True)
        assert check.ok and not check.warnings, check.lines()
        assert await read_all(store, a.header) == a.payloads
        assert await read_all(store, b.header) == b.payloads
    finally:
        await store.close()


async def test_prune_of_a_store_without_snapshots_empties_it(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    try:
        a = await write_snapshot(store)
        await store.delete_snapshots([a.header.id])
        report = await prune(store)
        assert report.packs_after == 0 and report.index_deltas_after == 0
        assert not object_files(root, "packs") and not object_files(root, "index")
        b = await write_snapshot(store)
        assert await read_all(store, b.header) == b.payloads
    finally:
        await store.close()


class Crash(Exception):
    pass


@pytest.mark.parametrize("deletes_before_crash", [0, 1, 2, 3, 4])
async def test_prune_interrupted_at_any_delete_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deletes_before_crash: int
) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    try:
        a = await write_snapshot(store, secrets=6, generation=0)
        b = await write_snapshot(store, secrets=6, generation=1, changed={0, 1})
        c = await write_snapshot(store, secrets=6, generation=2)
        await store.delete_snapshots([a.header.id])
        real_delete = store.backend.delete
        calls = {"n": 0}

        async def delete(kind: str, name: str) -> None:
            if kind in ("packs", "index"):
                if calls["n"] >= deletes_before_crash:
                    raise Crash("killed")
                calls["n"] += 1
            await real_delete(kind, name)

        monkeypatch.setattr(store.backend, "delete", delete)
        with pytest.raises(Crash):
            await prune(store)
        monkeypatch.setattr(store.backend, "delete", real_delete)
        await store.remove_stale_locks()
    finally:
        await store.close()
    # a fresh client: everything kept reads back, check finds no error
    store = await open_store(str(root))
    try:
        await store.remove_all_locks()  # the crashed prune's lock (its process lives on here)
        for w in (b, c):
            assert await read_all(store, w.header) == w.payloads
        assert (await check_store(store, read_data=True)).ok
        await prune(store)
        final = await check_store(store, read_data=True)
        assert final.ok and not final.warnings and final.unused_blobs == 0, final.lines()
        for w in (b, c):
            assert await read_all(store, w.header) == w.payloads
    finally:
        await store.close()


async def test_prune_interrupted_before_its_index_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "s"
    store = await new_store(str(root))
    try:
        a = await write_snapshot(store, secrets=10, versions=2)
        b = await write_snapshot(store, secrets=10, versions=2, changed=set(range(9)))
        await store.delete_snapshots([a.header.id])

        async def no_index(*args: object, **kwargs: object) -> str:
            raise Crash("killed after the new packs, before the compacted index")

        monkeypatch.setattr(store, "write_index", no_index)
        with pytest.raises(Crash):
            await prune(store)
        monkeypatch.undo()
        await store.remove_all_locks()
        assert await read_all(store, b.header) == b.payloads
        report = await check_store(store)
        assert report.ok and report.warnings  # the new packs are unindexed leftovers
        await prune(store)
        final = await check_store(store, read_data=True)
        assert final.ok and not final.warnings, final.lines()
        assert await read_all(store, b.header) == b.payloads
    finally:
        await store.close()
