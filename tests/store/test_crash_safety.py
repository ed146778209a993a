"""Crash safety: a writer process killed with SIGKILL at random points never damages the store.

Each round starts a child process that writes snapshots in a loop (small packs, so packs,
index deltas and snapshot objects are all in flight at various moments) and kills it after a
random delay. Then: the store passes ``check --read-data``, every snapshot committed so far
reads back intact, and the next write succeeds. At the end ``prune`` removes the leftovers of
the killed writes and the store still checks clean.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from pathlib import Path

from core.store import KdfParams, SourceInfo, Store
from core.store.check import check_store
from core.store.prune import prune

ROOT = Path(__file__).resolve().parents[2]
PASS = "crash test passphrase"

CHILD = r"""
import asyncio, os, sys
from core.store import Store, SecretRecord, VersionRecord, SourceInfo

async def main(location, cache, seed):
    store = await Store.open(location, sys.argv[4], cache_dir=cache)
    print("open", flush=True)
    n = 0
    while True:
        async with store.writer(pack_size=4096) as w:
            recs = []
            for i in range(40):
                data = os.urandom(200 + (i * 37) % 900)
                blob = await w.put_payload(data)
                await w.put_record(SecretRecord(
                    "fr-par", "p", f"{seed}-{n}-{i}", f"name-{i}",
                    versions=(VersionRecord(1, "enabled", payload=blob, size=len(data)),),
                ))
            await w.commit(sources=[SourceInfo(region="fr-par", project_id="p")])
        n += 1

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
"""


async def _verify(location: str, cache: Path, committed: dict[str, int]) -> dict[str, int]:
    store = await Store.open(location, PASS, cache_dir=cache)
    try:
        report = await check_store(store, read_data=True)
        assert report.ok, [p for p in report.errors]
        snapshots = {h.id: h for h in await store.list_snapshots()}
        # everything committed before stays, intact
        assert set(committed) <= set(snapshots)
        for sid in snapshots:
            tree = await store.read_tree(sid)
            for rec in tree:
                for v in rec.versions:
                    assert v.payload is not None
                    assert len(await store.read_payload(v.payload)) == v.size
            committed[sid] = len(tree)
        # the next write succeeds (the dead writer's lock does not block it)
        async with store.writer() as w:
            blob = await w.put_payload(os.urandom(64))
            header = await w.commit(sources=[SourceInfo(region="fr-par", project_id="p")])
        assert await store.read_payload(blob)
        committed[header.id] = 0
    finally:
        await store.close()
    return committed


async def test_sigkill_during_writes_never_damages_the_store(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    cache = tmp_path / "cache"
    store = await Store.init(location, PASS, kdf=KdfParams.for_tests(), cache_dir=cache)
    async with store.writer() as w:
        await w.put_payload(b"first")
        first = await w.commit(sources=[SourceInfo(region="fr-par", project_id="p")])
    await store.close()
    committed: dict[str, int] = {first.id: 0}
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rounds = 6
    for r in range(rounds):
        child_cache = tmp_path / f"child-cache-{r % 2}"  # sometimes a warm cache, sometimes not
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            location,
            str(child_cache),
            str(r),
            PASS,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if line.strip() != b"open":
                err = await proc.stderr.read() if proc.stderr else b""
                raise AssertionError(err.decode(errors="replace")[-2000:])
            await asyncio.sleep(rng.uniform(0.0, 0.6))
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            await asyncio.wait_for(proc.wait(), 30)
        assert proc.returncode == -signal.SIGKILL
        committed = await _verify(location, cache, committed)

    store = await Store.open(location, PASS, cache_dir=cache)
    try:
        before = len(await store.list_packs())
        started = time.monotonic()
        report = await prune(store)
        assert time.monotonic() - started < 120
        assert len(await store.list_packs()) <= before
        assert report.packs_after <= report.packs_before
        final = await check_store(store, read_data=True)
        assert final.ok, final.errors
        assert final.unused_blobs == 0
        for sid, count in committed.items():
            assert len(await store.read_tree(sid)) == count
    finally:
        await store.close()
