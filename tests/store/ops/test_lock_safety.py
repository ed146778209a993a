"""Issue 9, lock safety: a writer, forget or prune whose lock was removed (``unlock
--remove-all``) or superseded commits nothing, and the store still checks clean."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core.errors import ExitCode
from core.store import Store
from core.store.errors import StoreLockedError
from core.store.ops.forget import GroupBy, RetentionPolicy, forget
from core.store.ops.prune import prune
from tests.store.ops.helpers import new_store, open_store, write_snapshot


async def _two(tmp_path: Path) -> tuple[Store, Store]:
    loc = str(tmp_path / "store")
    a = await new_store(loc)
    b = await open_store(loc)
    return a, b


async def test_paused_writer_after_unlock_all_and_prune_commits_nothing(tmp_path: Path) -> None:
    a, b = await _two(tmp_path)
    try:
        await write_snapshot(a)
        with pytest.raises(StoreLockedError) as info:
            async with a.writer() as w:
                for n in range(20):
                    await w.put_payload(b"fresh data %d" % n)
                await w.flush()  # packs and index durable, no snapshot yet
                # another process: unlock --remove-all, then prune (deletes the fresh packs)
                assert await b.remove_all_locks()
                report = await prune(b)
                assert report.blobs_removed >= 20
                await w.commit(sources=[])
        assert info.value.exit_code == ExitCode.LOCKED
        assert "removed by another process" in info.value.message
        assert "nothing was committed" in info.value.message
        assert len(await b.list_snapshots()) == 1
        report = await b.check(read_data=True)
        assert report.ok, report.lines()
    finally:
        await a.close()
        await b.close()


async def test_writer_refreshing_after_its_lock_was_removed_still_commits_nothing(
    tmp_path: Path,
) -> None:
    a, b = await _two(tmp_path)
    try:
        with pytest.raises(StoreLockedError) as info:
            async with a.writer(lock_lifetime=1.0) as w:  # refreshed every 0.2 s
                await w.put_payload(b"data")
                await w.flush()
                await b.remove_all_locks()
                await prune(b)
                await asyncio.sleep(0.6)  # the refresher runs meanwhile
                await w.commit(sources=[])
        assert "removed by another process" in info.value.message
        assert await b.list_snapshots() == []
        assert (await b.check(read_data=True)).ok
    finally:
        await a.close()
        await b.close()


async def test_writer_superseded_by_an_exclusive_lock_commits_nothing(tmp_path: Path) -> None:
    a, b = await _two(tmp_path)
    try:
        with pytest.raises(StoreLockedError) as info:
            async with a.writer() as w:
                await w.put_payload(b"data")
                await b.remove_all_locks()
                held = await b.lock(exclusive=True, purpose="prune")
                try:
                    # our lock is put back by hand, as a racing refresh would: still refused
                    await w.lock._write()  # type: ignore[union-attr]
                    await w.commit(sources=[])
                finally:
                    await held.release()
        assert info.value.exit_code == ExitCode.LOCKED
        assert await b.list_snapshots() == []
    finally:
        await a.close()
        await b.close()


async def test_prune_whose_lock_is_removed_deletes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = await _two(tmp_path)
    try:
        await write_snapshot(a)
        await write_snapshot(a, generation=1)
        first = (await a.list_snapshots())[0]
        await a.delete_snapshot(first.id)
        packs_before = {p.id for p in await a.list_packs()}
        real = a.write_index

        async def write_index(*args: Any, **kw: Any) -> str:
            name = await real(*args, **kw)
            await b.remove_all_locks()  # unlock --remove-all while prune runs
            return name

        monkeypatch.setattr(a, "write_index", write_index)
        with pytest.raises(StoreLockedError) as info:
            await prune(a)
        assert "removed by another process" in info.value.message
        assert {p.id for p in await a.list_packs()} >= packs_before
        assert (await b.check(read_data=True)).ok
    finally:
        await a.close()
        await b.close()


async def test_forget_takes_and_rechecks_an_exclusive_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = await _two(tmp_path)
    try:
        await write_snapshot(a)
        await write_snapshot(a, generation=1)
        policy = RetentionPolicy(keep_last=1, group_by=GroupBy.NONE)
        real = a.list_snapshots

        async def list_snapshots(*args: Any, **kw: Any) -> Any:
            out = await real(*args, **kw)
            await b.remove_all_locks()
            return out

        monkeypatch.setattr(a, "list_snapshots", list_snapshots)
        with pytest.raises(StoreLockedError) as info:
            await forget(a, policy, dry_run=False)
        assert "removed by another process" in info.value.message
        assert len(await b.list_snapshots()) == 2
    finally:
        await a.close()
        await b.close()


async def test_two_processes_unlock_all_and_prune_beside_a_paused_writer(tmp_path: Path) -> None:
    """The issue's case with a real second process: the writer (a child) holds its lock and
    its view of the index, another process removes every lock and prunes the blobs the
    writer will reuse; the writer must exit without committing, and check passes."""
    from core.store import KdfParams
    from tests.store.ops import crash_child
    from tests.store.ops.test_reliability import start_child, verify_all, wait_ready

    location = tmp_path / "store"
    store = await Store.init(
        str(location), crash_child.PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=":memory:"
    )
    try:
        first = start_child(location, tmp_path / "cache", 1, count=1)
        _out, err = await asyncio.to_thread(first.communicate, None, 60)
        assert first.returncode == 0, err
        (old,) = await store.list_snapshots()
        await store.delete_snapshot(old.id)  # its shared blobs are now unused

        proc = start_child(location, tmp_path / "cache", 2, count=1, hold=4.0)
        await asyncio.to_thread(wait_ready, proc)
        assert proc.stdout is not None
        assert (await asyncio.to_thread(proc.stdout.readline)).strip() == "writing"
        assert await store.remove_all_locks()  # unlock --remove-all
        report = await prune(store)  # deletes the blobs the paused writer would reuse
        assert report.blobs_removed > 0
        out, err = await asyncio.to_thread(proc.communicate, None, 60)
        assert proc.returncode != 0 and "committed" not in out
        assert "removed by another process" in err
        assert await store.list_snapshots() == []
        count, _warnings = await verify_all(location)
        assert count == 0
    finally:
        await store.close()
