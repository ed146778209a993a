"""Client CPU per API request: secret-kloset's client beside bare httpx and bare aiohttp.

Issue 10's target is at most 0.4 ms of client CPU per API request. This measures it on the
request backups make most (``access`` of one version), against the emulator in its own
process over real HTTP on loopback, at a fixed concurrency (default 32), so that only the
client's own work is counted: ``time.process_time()`` of this process over N requests.

Sides, each run 3 times in one run, alternating, with the load printed:

- ``scaleway-client``: ``ScalewayClient.access_version`` (retries, limiter, typed models),
  as shipped, in its steady state: aiohttp sends the bytes under httpx
  (``core.scaleway.transport.AiohttpSender``; the shipped ``Sender`` sends a run's first 64
  requests through httpcore, so the bulk sender is brought in before the clock starts);
- ``scaleway-client+httpcore``: the same client over httpx's own transport (httpcore, one
  pool), what it shipped with before;
- ``scaleway-client+aiohttp``: the same client over the stock ``httpx_aiohttp.AiohttpTransport``;
- ``httpx``: a bare ``httpx.AsyncClient`` GET with the auth header, body parsed as JSON;
- ``httpx+aiohttp``: the same bare GET through ``httpx_aiohttp.AiohttpTransport``;
- ``aiohttp``: a bare ``aiohttp.ClientSession`` GET, body parsed as JSON.

    .venv/bin/python benchmarks/client_cpu_bench.py [--requests 3000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ORG = "0b6f3c1e-5a2d-4e8f-9c7b-1d2e3f4a5b6c"
PROJECT = "1c7a4d2f-6b3e-4f9a-8d8c-2e3f4a5b6c7d"
ACCESS_KEY = "SCWBENCHMARK00000001"
SECRET_KEY = "9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
REPEATS = 3


def _emulator_main(conn: Connection) -> None:
    from core.emulator import EmulatorApp, ThreadedServer, parse_config

    config = {
        "organization_id": ORG,
        "projects": [{"id": ORG, "name": "default"}, {"id": PROJECT, "name": "bench"}],
        "api_keys": [
            {
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "permission_sets": ["SecretManagerFullAccess", "ProjectReadOnly"],
            }
        ],
        "secrets": [
            {
                "project_id": PROJECT,
                "region": "fr-par",
                "name": "bench",
                "path": "/",
                "versions": [{"data": "x" * 200}],
            }
        ],
    }
    app = EmulatorApp(parse_config(config))
    with ThreadedServer(app) as server:
        conn.send(server.url)
        conn.recv()


Request = Callable[[], Awaitable[Any]]


async def _drive(request: Request, total: int, concurrency: int) -> tuple[float, float]:
    """Run ``total`` requests, ``concurrency`` at a time: (CPU seconds, wall seconds)."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await request()

    for _ in range(min(50, total)):  # warm up: connections, TLS-free pools, caches
        await request()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.process_time() - cpu0, time.perf_counter() - wall0


async def _secret_id(url: str) -> str:
    import httpx

    async with httpx.AsyncClient(base_url=url, headers={"X-Auth-Token": SECRET_KEY}) as http:
        answer = await http.get(
            "/secret-manager/v1beta1/regions/fr-par/secrets", params={"project_id": PROJECT}
        )
        return str(answer.json()["secrets"][0]["id"])


async def _side(name: str, url: str, secret_id: str, total: int, concurrency: int) -> float:
    """CPU ms per request of one side."""
    import httpx

    path = f"/secret-manager/v1beta1/regions/fr-par/secrets/{secret_id}/versions/1/access"
    headers = {"X-Auth-Token": SECRET_KEY}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    if name.startswith("scaleway-client"):
        from core.scaleway.client import ScalewayClient
        from core.scaleway.transport import Sender

        transport: httpx.AsyncBaseTransport | None = None
        if name.endswith("+aiohttp"):
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport()
        elif name.endswith("+httpcore"):
            transport = httpx.AsyncHTTPTransport(limits=limits)
        client = ScalewayClient(
            secret_key=SECRET_KEY,
            api_url=url,
            organization_id=ORG,
            default_project_id=PROJECT,
            default_region="fr-par",
            max_concurrency=concurrency,
            transport=transport,
        )
        async with client:
            sender = client._http._transport
            if isinstance(sender, Sender):
                await sender.upgraded()  # the steady state: aiohttp imported, as past 64 requests
            cpu, _ = await _drive(
                lambda: client.access_version("fr-par", secret_id, 1), total, concurrency
            )
    elif name == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(url, headers=headers, connector=connector) as session:

            async def get() -> Any:
                async with session.get(path) as answer:
                    return await answer.json()

            cpu, _ = await _drive(get, total, concurrency)
    else:
        transport = None
        if name == "httpx+aiohttp":
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport()
        async with httpx.AsyncClient(
            base_url=url, headers=headers, limits=limits, transport=transport
        ) as http:

            async def get_httpx() -> Any:
                return (await http.get(path)).json()

            cpu, _ = await _drive(get_httpx, total, concurrency)
    return cpu * 1000 / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    sides = ["scaleway-client", "scaleway-client+httpcore", "httpx", "aiohttp"]
    try:
        import httpx_aiohttp  # noqa: F401

        sides[2:2] = ["scaleway-client+aiohttp"]
        sides.append("httpx+aiohttp")
    except ImportError:
        print("(httpx_aiohttp not installed: its sides are left out)")

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_emulator_main, args=(child,), daemon=True)
    server.start()
    url = parent.recv()
    try:
        secret_id = asyncio.run(_secret_id(url))
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{args.requests} access requests per run, concurrency {args.concurrency}")
        results: dict[str, list[float]] = {side: [] for side in sides}
        for repeat in range(REPEATS):
            for side in sides:
                ms = asyncio.run(_side(side, url, secret_id, args.requests, args.concurrency))
                results[side].append(ms)
                print(f"  run {repeat + 1} {side:<26} {ms:.3f} ms CPU/request")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print()
        print(f"{'side':<26} {'median ms':>10} {'min':>8} {'max':>8} {'vs aiohttp':>11}")
        base = statistics.median(results["aiohttp"])
        for side in sides:
            values = results[side]
            med = statistics.median(values)
            print(
                f"{side:<26} {med:>10.3f} {min(values):>8.3f} {max(values):>8.3f} "
                f"{med / base:>10.2f}x"
            )
        ours = statistics.median(results["scaleway-client"])
        print(f"\nscaleway-client: {ours:.3f} ms CPU per request (target <= 0.4 ms)")
    finally:
        parent.send("stop")
        server.join(timeout=10)


if __name__ == "__main__":
    main()
