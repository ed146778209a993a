"""Crash safety and concurrency of the store, with real processes.

- A process writing snapshots is SIGKILLed at random points, 15 times: each time ``check``
  passes, every snapshot in the store reads back intact, and the next write succeeds; at the
  end ``prune`` removes the leftovers of the killed writes.
- Two writer processes at once both commit valid snapshots.
- Prune waits for, or refuses beside, a live writer (see test_prune.py); a writer whose lock
  refresh fails stops before committing.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.store import KdfParams, Store, StoreLockedError
from core.store.errors import BackendError
from core.store.ops.check import check_store
from core.store.ops.prune import prune
from tests.store.ops import crash_child
from tests.store.ops.helpers import write_snapshot

CHILD = Path(crash_child.__file__)
ROOT = CHILD.parents[3]
KILLS = 15


def start_child(
    location: Path, cache: Path, run: int, count: int = 1000, hold: float = 0.0
) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(location), str(cache), str(run), str(count), str(hold)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def wait_ready(proc: subprocess.Popen[str]) -> None:
    """Block until the child says it opened the store (pytest's timeout bounds the wait)."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")


async def verify_all(
    location: Path, verified: set[str] | None = None, rng: random.Random | None = None
) -> tuple[int, list[str]]:
    """check passes, and snapshots read back exactly; returns (snapshots, check warnings).

    With ``verified``, the snapshots not in it are read back, plus two earlier ones at random
    (``check`` covers the structure of all of them every time); without, every snapshot.
    """
    store = await Store.open(str(location), crash_child.PASSPHRASE, cache_dir=":memory:")
    try:
        report = await check_store(store, lock=False)
        assert report.ok, report.lines()
        headers = await store.list_snapshots()
        total = len(headers)
        assert not store.damaged_snapshots
        if verified is not None:
            assert verified <= {h.id for h in headers}, "an earlier snapshot disappeared"
            old = [h for h in headers if h.id in verified]
            sample = (rng or random).sample(old, min(2, len(old)))
            headers = [h for h in headers if h.id not in verified] + sample
            verified.update(h.id for h in headers)
        for header in headers:
            want = crash_child.expected(header.description)
            got: dict[tuple[str, int], bytes] = {}
            for record in await store.read_tree(header.id):
                for v in record.versions:
                    assert v.payload is not None
                    got[(record.secret_id, v.revision)] = await store.read_payload(v.payload)
            assert got == want, header.id
        return total, [p.id for p in report.warnings]
    finally:
        await store.close()


@pytest.mark.slow
async def test_sigkill_at_random_points_never_breaks_the_store(tmp_path: Path) -> None:
    location = tmp_path / "store"
    cache = tmp_path / "cache"
    store = await Store.init(
        str(location), crash_child.PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=cache
    )
    await store.close()
    rng = random.Random(20261128)
    committed: list[str] = []
    verified: set[str] = set()
    seen_leftovers = False
    for run in range(KILLS):
        proc = start_child(location, cache, run)
        try:
            await asyncio.to_thread(wait_ready, proc)
            await asyncio.sleep(rng.uniform(0.02, 0.5))
        finally:
            proc.send_signal(signal.SIGKILL)
            out, _err = await asyncio.to_thread(proc.communicate, None, 20)
        committed += [line.split()[1] for line in out.splitlines() if line.startswith("committed ")]
        count, warnings = await verify_all(location, verified, rng)
        assert count >= len(committed) and set(committed) <= verified
        seen_leftovers |= bool(warnings)
    # the next write succeeds, even with the killed writers' (stale) locks around
    proc = start_child(location, cache, 99, count=1)
    out, err = await asyncio.to_thread(proc.communicate, None, 60)
    assert proc.returncode == 0, err
    assert out.splitlines()[-1].startswith("committed ")
    before, _ = await verify_all(location)
    # prune removes whatever the killed writes left; nothing committed is lost
    store = await Store.open(str(location), crash_child.PASSPHRASE, cache_dir=cache)
    try:
        await store.remove_stale_locks()
        report = await prune(store)
        assert seen_leftovers, "no kill landed inside a write (check the child's timing)"
        assert report.leftover_packs > 0 or report.blobs_removed > 0
        final = await check_store(store, read_data=True)
        assert final.ok and not final.warnings and final.unused_blobs == 0, final.lines()
    finally:
        await store.close()
    after, warnings = await verify_all(location)
    assert after == before and not warnings


@pytest.mark.slow
async def test_two_writer_processes_both_commit(tmp_path: Path) -> None:
    location = tmp_path / "store"
    store = await Store.init(
        str(location), crash_child.PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=":memory:"
    )
    await store.close()
    procs = [start_child(location, tmp_path / f"cache{i}", 100 + i, count=3) for i in range(2)]
    outs = [await asyncio.to_thread(p.communicate, None, 90) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert sum(line.startswith("committed ") for line in out.splitlines()) == 3
    count, warnings = await verify_all(location)
    assert count == 6 and not warnings


async def test_writer_whose_lock_refresh_fails_does_not_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.store import locks

    monkeypatch.setattr(locks, "CLOCK_SKEW", 0.1)
    store = await Store.init(
        str(tmp_path / "s"), "pw", kdf=KdfParams.for_tests(), cache_dir=":memory:"
    )
    try:
        real_put = store.backend.put
        fail = {"locks": False}

        async def put(kind: str, name: str, data: bytes, *, create_only: bool = False) -> None:
            if kind == "locks" and fail["locks"]:
                raise BackendError("injected: lock refresh cannot reach the store")
            await real_put(kind, name, data, create_only=create_only)

        monkeypatch.setattr(store.backend, "put", put)
        with pytest.raises(StoreLockedError):
            async with store.writer(lock_lifetime=0.5) as w:
                fail["locks"] = True  # every refresh from now on fails
                await w.put_payload(b"never committed")
                await asyncio.sleep(0.8)  # past the lock's deadline
                await w.commit(sources=[])
        assert await store.list_snapshots() == []
        fail["locks"] = False
        written = await write_snapshot(store)  # the next writer works
        assert [h.id for h in await store.list_snapshots()] == [written.header.id]
    finally:
        await store.close()


@pytest.mark.slow
async def test_prune_beside_a_writer_process_refuses_then_waits(tmp_path: Path) -> None:
    location = tmp_path / "store"
    store = await Store.init(
        str(location), crash_child.PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=":memory:"
    )
    try:
        proc = start_child(location, tmp_path / "cache", 200, count=1, hold=1.5)
        await asyncio.to_thread(wait_ready, proc)
        assert proc.stdout is not None
        assert (await asyncio.to_thread(proc.stdout.readline)).strip() == "writing"
        with pytest.raises(StoreLockedError) as info:
            await prune(store)  # the writer holds its shared lock: refused at once
        assert info.value.exit_code == 11 and str(proc.pid) in info.value.message
        report = await prune(store, lock_wait=60)  # waits for the writer to commit
        _out, err = await asyncio.to_thread(proc.communicate, None, 60)
        assert proc.returncode == 0, err
        assert report.snapshots == 1
        count, warnings = await verify_all(location)
        assert count == 1 and not warnings
    finally:
        await store.close()
