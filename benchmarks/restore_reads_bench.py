"""A restore's payload reads: one by one (as before round 4) beside a window ahead, in bulk.

A restore writes each version's data, read from the store. Read one by one, each is an index
lookup, a read of a pack range (a GET on S3) and a decryption; ``PayloadsAhead``
(``core/engine/restore/payloads.py``) reads them a window at a time through the store's bulk
read. This measures both sides on the same 3,000 payloads (a 1000x3 restore's), 256 asked at
once as a restore asks them, on a local store and on S3 (moto's server on loopback), each side
3 times, alternating, with the load printed, ending in the ratios.

    .venv/bin/python benchmarks/restore_reads_bench.py [--payloads 3000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.engine.restore.payloads import PayloadsAhead  # noqa: E402
from core.store import KdfParams, Store  # noqa: E402

AT_ONCE = 256  # a restore's secrets at once (core.engine.concurrency)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"


async def _fill(location: str, count: int, options: dict[str, object]) -> list[str]:
    store = await Store.init(
        location, "bench", kdf=KdfParams.for_tests(), cache_dir=":memory:", **options
    )
    ids: list[str] = []
    async with store.writer() as writer:
        for i in range(count):
            ids.append(await writer.put_payload(f"secret value {i:06d} ".encode() * 8))
        await writer.flush()
    await store.close()
    return ids


async def _time(
    location: str, ids: list[str], options: dict[str, object], ahead: bool
) -> tuple[float, int]:
    """Seconds to hand out every payload, AT_ONCE asked at a time; bulk reads made."""
    store = await Store.open(location, "bench", cache_dir=":memory:", **options)
    reader: Callable[[str], Awaitable[bytes]] = store.read_payload
    windows = PayloadsAhead(store, ids) if ahead else None
    if windows is not None:
        reader = windows
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(blob_id: str) -> bytes:
        async with gate:
            return await reader(blob_id)

    started = time.perf_counter()
    got = await asyncio.gather(*(one(b) for b in ids))
    took = time.perf_counter() - started
    assert len(got) == len(ids) and all(got)
    if windows is not None:
        await windows.aclose()
    await store.close()
    return took, windows.bulk_reads if windows is not None else 0


def _s3() -> tuple[object, dict[str, object], str]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="bench")
    options: dict[str, object] = {
        "endpoint": endpoint,
        "region": "us-east-1",
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "allow_http": True,
    }
    return server, options, f"s3://bench/{secrets.token_hex(4)}"


async def _backend(
    name: str, location: str, options: dict[str, object], args: argparse.Namespace
) -> None:
    ids = await _fill(location, args.payloads, options)
    sides: dict[str, list[float]] = {"one by one": [], "a window ahead": []}
    reads = 0
    for repeat in range(args.repeats):
        order = [False, True] if repeat % 2 == 0 else [True, False]
        for ahead in order:
            took, bulk = await _time(location, ids, options, ahead)
            sides["a window ahead" if ahead else "one by one"].append(took)
            reads = max(reads, bulk)
        print(f"  {name} repeat {repeat + 1}: {_load()}", flush=True)
    single = statistics.median(sides["one by one"])
    bulk = statistics.median(sides["a window ahead"])
    for side, runs in sides.items():
        spread = ", ".join(f"{r:.2f}" for r in runs)
        print(f"  {name:5s} {side:15s} median {statistics.median(runs):6.2f} s  ({spread})")
    print(
        f"  {name:5s} {reads} bulk reads for {len(ids)} payloads; one by one / ahead: {single / bulk:.1f}x"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"start: {_load()}; {args.payloads} payloads, {AT_ONCE} asked at once")
    with tempfile.TemporaryDirectory(prefix="restore-reads-") as tmp:
        await _backend("local", str(Path(tmp) / "store"), {}, args)
    server, options, location = _s3()
    try:
        await _backend("s3", location, options, args)
    finally:
        server.stop()  # type: ignore[attr-defined]
    print(f"end: {_load()}")


if __name__ == "__main__":
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    asyncio.run(main())
