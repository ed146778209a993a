"""Our client against a misbehaving emulator over real HTTP: nothing lost, nothing doubled.

Each test starts its own emulator with fault injection: ``error_rate`` (a 503 before the
request is processed), ``ambiguous_error_rate`` (the request *is* processed, then a 503 is
answered: the case that makes naive retries duplicate creates) and ``rate_limit`` (the
gateway's bare 429).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.emulator import EmulatorApp, ThreadedServer, demo, demo_state
from core.scaleway.client import ScalewayClient
from core.scaleway.models import VersionStatus

REGION = "fr-par"
PROJECT = demo.DEMO_PRODUCTION_PROJECT_ID


def _client(server: ThreadedServer, **kwargs: Any) -> ScalewayClient:
    options: dict[str, Any] = {
        "secret_key": demo.DEMO_SECRET_KEY,
        "api_url": server.url,
        "organization_id": demo.DEMO_ORGANIZATION_ID,
        "default_project_id": PROJECT,
        "max_retries": 12,
        "backoff_base": 0.005,
        "backoff_max": 0.1,
        "retry_deadline": 60.0,
    }
    options.update(kwargs)
    return ScalewayClient(**options)


def _serve(**options: Any) -> Iterator[ThreadedServer]:
    server = ThreadedServer(EmulatorApp(demo_state(), seed=1234, **options))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def flaky_server() -> Iterator[ThreadedServer]:
    yield from _serve(error_rate=0.3)


@pytest.fixture
def ambiguous_server() -> Iterator[ThreadedServer]:
    yield from _serve(ambiguous_error_rate=0.35)


@pytest.fixture
def throttled_server() -> Iterator[ThreadedServer]:
    yield from _serve(rate_limit=60)


@pytest.fixture
def hostile_server() -> Iterator[ThreadedServer]:
    yield from _serve(error_rate=0.15, ambiguous_error_rate=0.15, rate_limit=150)


def _secrets_named(app: EmulatorApp, prefix: str) -> list[Any]:
    with app.state.lock:
        return [s for s in app.state.secrets[REGION].values() if s.name.startswith(prefix)]


async def _write_workload(client: ScalewayClient, prefix: str, count: int, versions: int) -> None:
    async def one(i: int) -> None:
        secret = await client.create_secret(REGION, name=f"{prefix}{i:02d}", path="/faults")
        for v in range(versions):
            await client.create_version(REGION, secret.id, f"{i}:{v}".encode())
        await client.update_secret(REGION, secret.id, description="touched")
        await client.disable_version(REGION, secret.id, 1)

    await asyncio.gather(*(one(i) for i in range(count)))


def _assert_exact(app: EmulatorApp, prefix: str, count: int, versions: int) -> None:
    secrets = _secrets_named(app, prefix)
    names = sorted(s.name for s in secrets)
    assert names == [f"{prefix}{i:02d}" for i in range(count)], "no secret lost or doubled"
    for secret in secrets:
        i = int(secret.name[len(prefix) :])
        assert [v.data for v in secret.versions] == [f"{i}:{v}".encode() for v in range(versions)]
        assert secret.description == "touched"
        assert secret.versions[0].status == VersionStatus.DISABLED


async def test_5xx_before_processing_are_retried(flaky_server: ThreadedServer) -> None:
    app: EmulatorApp = flaky_server.app
    async with _client(flaky_server) as client:
        await _write_workload(client, "flaky-", count=8, versions=3)
        stats = client.stats
    _assert_exact(app, "flaky-", 8, 3)
    assert app.stats.injected_errors > 0
    assert stats.server_errors == app.stats.injected_errors
    assert stats.retries >= stats.server_errors


async def test_ambiguous_5xx_never_duplicate_creates(ambiguous_server: ThreadedServer) -> None:
    app: EmulatorApp = ambiguous_server.app
    async with _client(ambiguous_server) as client:
        await _write_workload(client, "amb-", count=10, versions=3)
        deduplicated = client.stats.deduplicated
    _assert_exact(app, "amb-", 10, 3)
    assert app.stats.ambiguous_errors > 0
    assert deduplicated > 0, "some creates were answered 503 after taking effect"


async def test_bare_429_shrinks_concurrency_and_everything_completes(
    throttled_server: ThreadedServer,
) -> None:
    app: EmulatorApp = throttled_server.app
    # The gateway's answer really is bare: no JSON body, no Retry-After.
    async with httpx.AsyncClient(base_url=throttled_server.url) as raw:
        answers = await asyncio.gather(
            *(
                raw.get("/account/v3/projects", headers={"X-Auth-Token": demo.DEMO_SECRET_KEY})
                for _ in range(90)
            )
        )
    bare = [a for a in answers if a.status_code == 429]
    assert bare and all(a.content == b"" and "retry-after" not in a.headers for a in bare)

    # Realistic backoff against a 60 requests/s bucket (the defaults are 0.25 s and 20 s):
    # waits long enough for the bucket to refill, short enough to keep the test quick.
    async with _client(
        throttled_server, max_concurrency=16, backoff_base=0.1, backoff_max=1.0, max_retries=15
    ) as client:
        secrets = [s async for s in client.list_secrets(REGION)]
        assert secrets
        results = await asyncio.gather(*(client.get_secret(REGION, s.id) for s in secrets * 4))
        assert [r.id for r in results] == [s.id for s in secrets * 4]
        assert client.stats.rate_limited > 0
        assert client.limiter.decreases > 0
        assert client.concurrency_limit < 16 or client.limiter.increases > 0
    assert app.stats.rate_limited > 0


async def test_full_read_under_every_fault_matches_a_clean_read(
    hostile_server: ThreadedServer,
) -> None:
    """What a backup does (list, list versions, access) returns the same as without faults."""

    async def read_all(client: ScalewayClient) -> dict[tuple[str, int], bytes]:
        out: dict[tuple[str, int], bytes] = {}

        async def one(secret_id: str) -> None:
            async for v in client.list_versions(REGION, secret_id):
                if v.status == VersionStatus.ENABLED:
                    accessed = await client.access_version(REGION, secret_id, v.revision)
                    out[(secret_id, v.revision)] = accessed.data

        # Like a backup, never read versions that expire once accessed: a read whose answer
        # is lost (an ambiguous 503) has already destroyed them, so no retry can succeed.
        ids = [
            s.id
            async for s in client.list_secrets(
                REGION, organization_id=demo.DEMO_ORGANIZATION_ID, page_size=5
            )
            if not (s.ephemeral_policy and s.ephemeral_policy.expires_once_accessed)
        ]
        await asyncio.gather(*(one(i) for i in ids))
        return out

    async with _client(
        hostile_server, max_concurrency=8, backoff_base=0.05, backoff_max=0.5, max_retries=15
    ) as client:
        faulty = await read_all(client)
        stats = client.stats.as_dict()

    # The same (deterministic) demo world, without faults, in process: the reference read.
    # A separate world because reads change state (an expires-once-accessed version).
    reference = EmulatorApp(demo_state())
    async with ScalewayClient(
        demo.DEMO_SECRET_KEY,
        api_url="http://reference",
        organization_id=demo.DEMO_ORGANIZATION_ID,
        default_project_id=PROJECT,
        transport=httpx.ASGITransport(app=reference),
    ) as client:
        clean = await read_all(client)
        assert client.stats.retries == 0

    assert faulty == clean and len(clean) > 20
    assert stats["retries"] > 0
    assert hostile_server.app.stats.injected_errors > 0
