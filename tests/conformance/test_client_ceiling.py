"""The adaptive limit over real HTTP: it rises past 32 with latency, backs off on 429.

The emulator's ``latency_ms`` makes each answer slow (so more in flight means more done),
``rate_limit`` answers the gateway's bare 429 past a number of requests per second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from core.emulator import EmulatorApp, ThreadedServer, demo, demo_state
from core.scaleway.client import ScalewayClient

REGION = "fr-par"
PROJECT = demo.DEMO_PRODUCTION_PROJECT_ID


def _serve(**options: Any) -> Iterator[ThreadedServer]:
    server = ThreadedServer(EmulatorApp(demo_state(), seed=7, **options))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slow_server() -> Iterator[ThreadedServer]:
    yield from _serve(latency_ms=40)


@pytest.fixture
def throttling_slow_server() -> Iterator[ThreadedServer]:
    yield from _serve(latency_ms=40, rate_limit=150)


def _client(server: ThreadedServer, **kwargs: Any) -> ScalewayClient:
    return ScalewayClient(
        secret_key=demo.DEMO_SECRET_KEY,
        api_url=server.url,
        organization_id=demo.DEMO_ORGANIZATION_ID,
        default_project_id=PROJECT,
        max_retries=15,
        backoff_base=0.01,
        backoff_max=0.2,
        **kwargs,
    )


async def _peak_in_flight(client: ScalewayClient, secret_id: str, count: int) -> int:
    peak = 0

    async def one() -> None:
        nonlocal peak
        await client.get_secret(REGION, secret_id)
        peak = max(peak, client.limiter.in_flight)

    await asyncio.gather(*(one() for _ in range(count)))
    return peak


async def test_limit_rises_past_32_while_answers_are_clean(slow_server: ThreadedServer) -> None:
    async with _client(slow_server, max_concurrency=32, concurrency_ceiling=96) as client:
        secret = await client.create_secret(REGION, name="ceiling")
        peak = await _peak_in_flight(client, secret.id, 600)
        assert client.concurrency_limit == 96  # slow start, bounded by the ceiling
        assert peak > 32
        assert client.limiter.decreases == 0 and client.stats.retries == 0


async def test_limit_backs_off_on_429_and_everything_completes(
    throttling_slow_server: ThreadedServer,
) -> None:
    async with _client(throttling_slow_server, max_concurrency=32) as client:
        secret = await client.create_secret(REGION, name="ceiling-429")
        await _peak_in_flight(client, secret.id, 600)
        assert client.stats.rate_limited > 0
        assert client.limiter.decreases > 0
        assert client.limiter.increases > 0
        assert client.concurrency_limit < 256
