"""Issue 9: temporary files of killed writes are cleaned up, a full disk is a clear error (and
prune frees what it can first), and store directories are 0700."""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

import pytest

from core.store.backends import local as local_backend
from core.store.errors import StoreSpaceError
from core.store.ops.prune import prune
from tests.store.ops.helpers import new_store, object_files, write_snapshot


def _tmp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".tmp-*") if p.is_file()]


async def test_next_writer_removes_temporary_files_of_dead_or_old_writes(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = await new_store(str(root))
    try:
        await write_snapshot(store)
        (root / "packs" / "00").mkdir(parents=True, exist_ok=True)
        old = root / "packs" / "00" / ".tmp-deadbeef"  # an old name, an old file
        old.write_bytes(b"half a pack")
        os.utime(old, (time.time() - 3600, time.time() - 3600))
        dead = root / "packs" / "00" / f".tmp-{local_backend.HOST_TAG}-999999999-abcd"
        dead.write_bytes(b"half a pack of a process that is gone")
        live = root / "packs" / "00" / f".tmp-{local_backend.HOST_TAG}-{os.getpid()}-abcd"
        live.write_bytes(b"being written right now")
        await write_snapshot(store, generation=1)
        assert _tmp_files(root) == [live]
        live.unlink()
    finally:
        await store.close()


async def test_prune_removes_temporary_files(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = await new_store(str(root))
    try:
        await write_snapshot(store)
        leftover = root / "index" / ".tmp-0123"
        leftover.write_bytes(b"x")
        os.utime(leftover, (time.time() - 120, time.time() - 120))
        await prune(store)
        assert _tmp_files(root) == []
    finally:
        await store.close()


async def test_a_full_disk_is_a_clear_error_and_prune_commits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "store"
    store = await new_store(str(root))
    try:
        first = await write_snapshot(store)
        await write_snapshot(store, generation=1)
        await store.delete_snapshot(first.header.id)
        packs = object_files(root, "packs")
        real_put = local_backend.LocalBackend._put_sync

        def put(self: local_backend.LocalBackend, rel: str, data: bytes, create: bool) -> None:
            if rel.startswith("locks/"):
                return real_put(self, rel, data, create)
            real_write = os.write

            def full(fd: int, data: object) -> int:
                raise OSError(errno.ENOSPC, "No space left on device")

            os.write = full  # type: ignore[assignment]
            try:
                real_put(self, rel, data, create)
            finally:
                os.write = real_write

        monkeypatch.setattr(local_backend.LocalBackend, "_put_sync", put)
        with pytest.raises(StoreSpaceError) as info:
            await prune(store)
        assert "no space left" in info.value.message
        monkeypatch.setattr(local_backend.LocalBackend, "_put_sync", real_put)
        assert object_files(root, "packs") == packs
        assert _tmp_files(root) == []
        assert (await store.check(read_data=True)).ok
    finally:
        await store.close()


async def test_prune_short_of_space_frees_unused_packs_first_then_says_what_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "store"
    store = await new_store(str(root), pack_size=4096)
    try:
        first = await write_snapshot(store, secrets=20)
        second = await write_snapshot(store, secrets=20, generation=1)
        third = await write_snapshot(store, secrets=20, changed=set(range(0, 20, 2)))
        await store.delete_snapshots([first.header.id, third.header.id])
        del second
        before = sum(p.stat().st_size for p in object_files(root, "packs"))
        monkeypatch.setattr(type(store.backend), "free_space", _free(0))
        with pytest.raises(StoreSpaceError) as info:
            await prune(store, repack_below=1.0)  # repack everything: needs room
        needed = int(info.value.details["needed_bytes"])
        assert needed > 0 and f"{needed} bytes" in info.value.message
        after = sum(p.stat().st_size for p in object_files(root, "packs"))
        assert after < before  # the packs no snapshot uses were removed first
        assert (await store.check(read_data=True)).ok
    finally:
        await store.close()


def _free(n: int):  # type: ignore[no-untyped-def]
    async def free_space(self: object) -> int:
        return n

    return free_space


async def test_store_directories_are_0700(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = await new_store(str(root))
    try:
        await write_snapshot(store)
        dirs = [root, *[p for p in root.rglob("*") if p.is_dir()]]
        assert len(dirs) > 4
        for d in dirs:
            assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    finally:
        await store.close()
