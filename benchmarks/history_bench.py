"""History benchmark: ``history`` and ``find`` over many snapshots of many secrets.

    .venv/bin/python benchmarks/history_bench.py [--snapshots 200] [--secrets 20000]
                                                 [--changes 200] [--runs 3] [--keep DIR]

Builds a local store through the Python API (no emulator: the store is what is measured):
a first snapshot of N secrets (1 to 3 versions each, small values), then S-1 snapshots of
the same project, each adding a version to ``--changes`` secrets (retiring the oldest past
20, as Scaleway's cap does) and renaming a few. Then, ``--runs`` times:

- cold: the first ``history`` on a fresh cache (the index is built from the store);
- warm, through the API on a newly opened store (cache on disk, nothing in memory): history
  of one secret by path, of a folder (1 % of the secrets), of one secret by id, ``find`` of
  one name;
- warm, the real CLI as a subprocess (``secret-kloset history PATH --json``: Python start-up,
  store open with the store's own KDF parameters, the query, the JSON), beside the fixed
  cost of any command on that store (``secret-kloset snapshots --json``);
- the peer: what answering needs without the index, reading every snapshot's tree (timed on
  the newest snapshot, times S).

Prints the machine's load before each run (figures move with it on a shared machine).
Target (issue 12): a warm ``history`` under 1 s at 200 snapshots of 20,000 secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.engine.history import find_snapshots, secret_history  # noqa: E402
from core.engine.selectors import Selection  # noqa: E402
from core.store import KdfParams, SecretRecord, SourceInfo, Store, VersionRecord  # noqa: E402
from core.store.history_index import history_path  # noqa: E402

PASSPHRASE = "benchmark passphrase, not a real one"
SEED = 20261201
REGION = "fr-par"
PROJECT = "5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


async def build(location: str, cache: Path, snapshots: int, secrets: int, changes: int) -> float:
    rng = random.Random(SEED)
    started = time.perf_counter()
    store = await Store.init(location, PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=cache)
    try:
        async with store.writer() as w:
            records: list[SecretRecord] = []
            ids: list[str] = []

            async def version(rec_i: int, revision: int, when: datetime) -> VersionRecord:
                data = f"value-{rec_i}-{revision}-{rng.getrandbits(64):x}".encode()
                blob = await w.put_payload(data)
                return VersionRecord(
                    revision=revision,
                    status="enabled",
                    created_at=when,
                    latest=True,
                    payload=blob,
                    crc32=zlib.crc32(data),
                    size=len(data),
                )

            for i in range(secrets):
                count = 1 + i % 3
                versions = [await version(i, r, T0) for r in range(1, count + 1)]
                rec = SecretRecord(
                    region=REGION,
                    project_id=PROJECT,
                    secret_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    name=f"s{i:05d}",
                    path=f"/bulk/g{i % 100:02d}",
                    versions=tuple(versions),
                    version_count=count,
                )
                records.append(rec)
                ids.append(await w.put_record(rec))
            source = [SourceInfo(region=REGION, project_id=PROJECT)]
            await w.commit(sources=source, record_ids=list(ids), time=T0)
            for n in range(1, snapshots):
                when = T0 + timedelta(hours=n)
                for i in rng.sample(range(secrets), changes):
                    rec = records[i]
                    top = max(v.revision for v in rec.versions)
                    kept = [replace(v, latest=False) for v in rec.versions][-19:]
                    new = await version(i, top + 1, when)
                    rename = rng.random() < 0.02
                    rec = replace(
                        rec,
                        versions=(*kept, new),
                        version_count=len(kept) + 1,
                        name=f"{rec.name}-r{n}" if rename else rec.name,
                    )
                    records[i] = rec
                    ids[i] = await w.put_record(rec)
                await w.commit(sources=source, record_ids=list(ids), time=when)
    finally:
        await store.close()
    return time.perf_counter() - started


async def measure(location: str, cache: Path, secrets: int) -> dict[str, float]:
    out: dict[str, float] = {}
    store = await Store.open(location, PASSPHRASE, cache_dir=cache)
    try:
        path = history_path(store)
        if path is not None:
            path.unlink(missing_ok=True)
        t = time.perf_counter()
        await secret_history(store, Selection.parse(["/bulk/g07/s00007"]))
        out["cold (index built)"] = time.perf_counter() - t
        headers = await store.list_snapshots()
        newest = headers[-1]
        t = time.perf_counter()
        tree = await store.read_tree(newest)
        out["peer: read one tree (x snapshots)"] = (time.perf_counter() - t) * len(headers)
        target = tree[secrets // 2].secret_id
    finally:
        await store.close()
    queries = {
        "warm: history one path": Selection.parse(["/bulk/g42/s01242"]),
        "warm: history one folder (1 %)": Selection.parse(["/bulk/g13/*"]),
        "warm: history by id": Selection.parse(["id:" + target]),
    }
    for label, selection in queries.items():
        store = await Store.open(location, PASSPHRASE, cache_dir=cache)
        try:
            t = time.perf_counter()
            result = await secret_history(store, selection)
            out[label] = time.perf_counter() - t
            assert result.secrets, label
        finally:
            await store.close()
    store = await Store.open(location, PASSPHRASE, cache_dir=cache)
    try:
        t = time.perf_counter()
        found = await find_snapshots(store, Selection.parse(["s00042"]))
        out["warm: find one name"] = time.perf_counter() - t
        assert found.snapshots
    finally:
        await store.close()
    return out


def cli_time(location: str, cache: Path) -> tuple[float, float]:
    env = dict(os.environ)
    # An installed program runs from bytecode: let the warm-up run write it (the timed runs
    # would otherwise compile every module, a cost no user pays twice).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "SECRET_KLOSET_STORE": location,
            "SECRET_KLOSET_PASSPHRASE": PASSPHRASE,
            "XDG_CACHE_HOME": str(cache.parent / "xdg-cache"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "PYTHONPATH": str(ROOT),
        }
    )
    # the CLI keeps its cache under XDG_CACHE_HOME/secret-kloset: warm it once
    cmd = [sys.executable, "-m", "cli.main", "history", "/bulk/g42/s01242", "--json"]
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
    history = time.perf_counter() - t
    # the fixed cost of any command on this store: start-up, open, list the snapshots
    base = [sys.executable, "-m", "cli.main", "snapshots", "--json"]
    t = time.perf_counter()
    subprocess.run(base, env=env, cwd=ROOT, check=True, capture_output=True)
    return history, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshots", type=int, default=200)
    parser.add_argument("--secrets", type=int, default=20000)
    parser.add_argument("--changes", type=int, default=200, help="secrets changed a snapshot")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="build (or reuse) the store here")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="history-bench-"))
    location, cache = str(base / "store"), base / "cache"
    try:
        print(f"{_load()}; {args.snapshots} snapshots of {args.secrets} secrets")
        if not (base / "store" / "config").exists():
            built = asyncio.run(build(location, cache, args.snapshots, args.secrets, args.changes))
            print(f"built the store in {built:.1f} s")
        results: dict[str, list[float]] = {}
        for run in range(args.runs):
            print(f"run {run + 1}: {_load()}")
            figures = asyncio.run(measure(location, cache, args.secrets))
            cli_history, cli_snapshots = cli_time(location, cache)
            figures["warm: CLI subprocess, end to end"] = cli_history
            figures["baseline: CLI 'snapshots --json'"] = cli_snapshots
            for label, seconds in figures.items():
                results.setdefault(label, []).append(seconds)
                print(f"  {label:38s} {seconds:8.3f} s")
        print("median of the runs:")
        for label, values in results.items():
            print(f"  {label:38s} {statistics.median(values):8.3f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
