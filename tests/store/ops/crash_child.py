"""A writer process for the crash-safety tests: writes snapshots until it is killed.

Usage: python crash_child.py STORE CACHE_DIR RUN [SNAPSHOTS [HOLD_SECONDS]]

Prints ``ready`` once the store is open, then ``committed <snapshot id>`` after each commit.
Each snapshot's description is its seed, from which every value can be recomputed
(:func:`expected`), so the parent can verify any snapshot it finds, even one whose
``committed`` line was never printed.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.store import SecretRecord, SourceInfo, Store, VersionRecord  # noqa: E402

PASSPHRASE = "crash test passphrase"
SECRETS = 150
VERSIONS = 2
PACK_SIZE = 8 * 1024  # tiny packs: many uploads per snapshot, many places to die


def value(seed: str, n: int, rev: int) -> bytes:
    # a quarter of the values repeat across snapshots (dedup paths), the rest are new
    key = f"shared-{n}-{rev}" if n % 4 == 0 else f"{seed}-{n}-{rev}"
    out = b""
    block = key.encode()
    while len(out) < 300 + (n * 53) % 900:
        block = hashlib.sha256(block).digest()
        out += block
    return out


def expected(seed: str) -> dict[tuple[str, int], bytes]:
    return {
        (f"secret-{n:04d}", rev): value(seed, n, rev)
        for n in range(SECRETS)
        for rev in range(1, VERSIONS + 1)
    }


async def write_one(store: Store, seed: str, hold: float = 0.0) -> str:
    async with store.writer(pack_size=PACK_SIZE) as w:
        if hold:
            print("writing", flush=True)  # the shared lock is held from here to the commit
            await asyncio.sleep(hold)
        for n in range(SECRETS):
            versions = []
            for rev in range(1, VERSIONS + 1):
                data = value(seed, n, rev)
                blob = await w.put_payload(data)
                versions.append(
                    VersionRecord(
                        revision=rev,
                        status="enabled",
                        latest=rev == VERSIONS,
                        payload=blob,
                        crc32=zlib.crc32(data),
                        size=len(data),
                    )
                )
            await w.put_record(
                SecretRecord(
                    region="fr-par",
                    project_id="p",
                    secret_id=f"secret-{n:04d}",
                    name=f"name-{n}",
                    versions=tuple(versions),
                    version_count=VERSIONS,
                )
            )
        header = await w.commit(
            sources=[SourceInfo(region="fr-par", project_id="p")],
            description=seed,
            time=datetime.now(UTC),
        )
    return header.id


async def main() -> None:
    location, cache, run = sys.argv[1], sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    hold = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    store = await Store.open(location, PASSPHRASE, cache_dir=cache)
    print("ready", flush=True)
    try:
        for i in range(count):
            sid = await write_one(store, f"run{run}-{i}", hold)
            print(f"committed {sid}", flush=True)
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
