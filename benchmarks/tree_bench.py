"""Tree benchmark: store growth over many snapshots, and the time to read one snapshot.

    .venv/bin/python benchmarks/tree_bench.py [--secrets 20000] [--snapshots 200] [--changed 50]

Through the Python API, with the fast test KDF, on a local directory store: one first
snapshot of M secrets (each a record with one version and its data), then N snapshots that
each change K secrets chosen at random (a new version: a new data blob and a new record) and
keep the others' records (``commit(record_ids=...)``, as a backup reusing its parent does).
It prints the store's size after the first snapshot, after the N others, the growth per
snapshot, the time to write them, and the time to read back every record of the newest
snapshot from a freshly opened store (``read_tree``, the path the console and restore use),
twice: **warm**, with the writer's local cache (the sealed record cache holds the newest
trees' records decoded, core/store/record_cache.py), and **cold**, with a fresh cache
directory (the index cache rebuilt at open, outside the timing; then the tree, every
record blob read, authenticated, inflated and decoded: docs/FORMAT.md §5).

Each side runs 3 times in one run; the load average is printed with each, and each read's
CPU time (``time.process_time``) next to its wall time: on a shared machine the wall time
mostly measures the other processes. Run it on a
checkout of another branch (``git worktree add /tmp/v1 main``) with that checkout's path
first on ``sys.path`` to compare formats: this file puts its own checkout first.

Targets (issue 10): 200 snapshots of 20,000 secrets with 50 changed each add at most 15 MiB;
reading one 20,000-record snapshot takes at most 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.store import KdfParams, SecretRecord, Store, VersionRecord  # noqa: E402

PASSPHRASE = "benchmark passphrase, not a real one"
SEED = 20261201
PROJECT = "5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIB = 1024 * 1024
ADDED_TARGET = 15.0  # MiB added by 200 snapshots of 20,000 x 50 changed (issue 10)
READ_TARGET = 0.5  # seconds to read one 20,000-record snapshot (issue 10)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def record(i: int, revision: int, payload_id: str, data: bytes) -> SecretRecord:
    t = T0 + timedelta(seconds=i)
    versions = tuple(
        VersionRecord(
            revision=r,
            status="enabled",
            created_at=t + timedelta(hours=r),
            updated_at=t + timedelta(hours=r),
            latest=r == revision,
            payload=payload_id if r == revision else None,
            crc32=zlib.crc32(data) if r == revision else None,
            size=len(data) if r == revision else None,
        )
        for r in range(1, revision + 1)
    )
    return SecretRecord(
        region="fr-par",
        project_id=PROJECT,
        secret_id=f"{i:08x}-0000-4000-8000-{i:012x}",
        name=f"secret-{i:06d}",
        path=f"/team-{i // 500:03d}",
        type="opaque",
        status="ready",
        tags=("bench",),
        created_at=t,
        updated_at=t + timedelta(hours=revision),
        version_count=revision,
        versions=versions,
    )


async def one_run(secrets: int, snapshots: int, changed: int, base: Path) -> dict[str, float]:
    rng = random.Random(SEED)
    loc = base / "store"
    cache = base / "cache"
    store = await Store.init(str(loc), PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=cache)
    revisions = [1] * secrets
    ids: list[str] = [""] * secrets
    async with store.writer() as w:
        for i in range(secrets):
            data = rng.randbytes(32 + i % 64)
            pid = await w.put_payload(data)
            ids[i] = await w.put_record(record(i, 1, pid, data))
        header = await w.commit()
    first_size = dir_size(loc)
    version = store.config.version
    t = time.perf_counter()
    for _ in range(snapshots):
        async with store.writer() as w:
            for i in rng.sample(range(secrets), changed):
                revisions[i] += 1
                data = rng.randbytes(32 + i % 64)
                pid = await w.put_payload(data)
                ids[i] = await w.put_record(record(i, revisions[i], pid, data))
            # records are in key order already (index order = name order); the others are
            # the parent's, reused without a put
            header = await w.commit(record_ids=ids, parent=header.id)
    write_s = time.perf_counter() - t
    await store.close()
    final_size = dir_size(loc)
    store = await Store.open(str(loc), PASSPHRASE, cache_dir=cache)
    t, c = time.perf_counter(), time.process_time()
    recs = await store.read_tree(header.id)
    read_s, read_cpu = time.perf_counter() - t, time.process_time() - c
    assert len(recs) == secrets
    await store.close()
    store = await Store.open(str(loc), PASSPHRASE, cache_dir=base / "cold-cache")
    t, c = time.perf_counter(), time.process_time()
    cold = await store.read_tree(header.id)
    cold_s, cold_cpu = time.perf_counter() - t, time.process_time() - c
    assert cold == recs
    await store.close()
    return {
        "first": first_size / MIB,
        "final": final_size / MIB,
        "added": (final_size - first_size) / MIB,
        "write_s": write_s,
        "read_s": read_s,
        "cold_s": cold_s,
        "read_cpu": read_cpu,
        "cold_cpu": cold_cpu,
        "format": version,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--secrets", type=int, default=20_000)
    ap.add_argument("--snapshots", type=int, default=200)
    ap.add_argument("--changed", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(
        f"tree bench: {args.secrets} secrets, {args.snapshots} snapshots, "
        f"{args.changed} changed each; code {ROOT}"
    )
    results = []
    for run in range(args.runs):
        base = Path(tempfile.mkdtemp(prefix="tree-bench-"))
        try:
            load = os.getloadavg()[0]
            r = asyncio.run(one_run(args.secrets, args.snapshots, args.changed, base))
        finally:
            shutil.rmtree(base, ignore_errors=True)
        results.append(r)
        print(
            f"run {run + 1} (load {load:.2f}, store format {r['format']}): first {r['first']:.2f} MiB, "
            f"after {args.snapshots} more {r['final']:.2f} MiB, added {r['added']:.2f} MiB "
            f"({r['added'] * 1024 / max(args.snapshots, 1):.1f} KiB a snapshot), "
            f"write {r['write_s']:.1f} s ({r['write_s'] * 1000 / max(args.snapshots, 1):.0f} ms "
            f"a snapshot), read one snapshot warm {r['read_s']:.3f} s "
            f"({r['read_s'] * 1e6 / args.secrets:.1f} us a record; CPU {r['read_cpu']:.3f} s), "
            f"cold {r['cold_s']:.3f} s ({r['cold_s'] * 1e6 / args.secrets:.1f} us a record; "
            f"CPU {r['cold_cpu']:.3f} s)"
        )
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(
        f"median: added {med['added']:.2f} MiB, read warm {med['read_s']:.3f} s "
        f"(CPU {med['read_cpu']:.3f} s), cold {med['cold_s']:.3f} s (CPU {med['cold_cpu']:.3f} s), "
        f"write {med['write_s']:.1f} s; load now {os.getloadavg()[0]:.2f}"
    )
    if (args.secrets, args.snapshots, args.changed) == (20_000, 200, 50):
        for label, value, target, unit in (
            ("added", med["added"], ADDED_TARGET, "MiB"),
            ("read warm", med["read_s"], READ_TARGET, "s"),
            ("read cold", med["cold_s"], READ_TARGET, "s"),
        ):
            verdict = "met" if value <= target else "missed"
            print(
                f"target {label}: {value:.3f} {unit} = {value / target:.2f}x the target "
                f"{target} {unit} ({verdict})"
            )


if __name__ == "__main__":
    main()
