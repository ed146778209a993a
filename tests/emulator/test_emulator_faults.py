"""Fault injection (latency, 503 before/after applying, rate limit) and request counters."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from core.emulator import EmulatorApp, demo_state
from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID
from tests.emulator.conftest import SM, asgi_client, ok


def _secret_count(app: EmulatorApp) -> int:
    return sum(1 for _ in app.state.iter_secrets())


async def test_error_rate_one_answers_503_before_touching_state() -> None:
    app = EmulatorApp(demo_state(), error_rate=1.0, seed=3)
    before = _secret_count(app)
    async with asgi_client(app) as client:
        r = await client.post(
            f"{SM}/secrets", json={"project_id": DEMO_PRODUCTION_PROJECT_ID, "name": "new"}
        )
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "message": "service is unavailable, please retry",
        "type": "service_unavailable",
    }
    assert _secret_count(app) == before
    assert app.stats.injected_errors == 1 and app.stats.by_status[503] == 1


async def test_ambiguous_errors_apply_then_fail() -> None:
    app = EmulatorApp(demo_state(), ambiguous_error_rate=1.0, seed=3)
    before = _secret_count(app)
    async with asgi_client(app) as client:
        r = await client.post(
            f"{SM}/secrets", json={"project_id": DEMO_PRODUCTION_PROJECT_ID, "name": "new"}
        )
        assert r.status_code == 503
        assert _secret_count(app) == before + 1  # applied
        again = await client.post(
            f"{SM}/secrets", json={"project_id": DEMO_PRODUCTION_PROJECT_ID, "name": "new"}
        )
    assert again.status_code == 503  # still failing, but the retry was refused as a duplicate
    assert _secret_count(app) == before + 1
    assert app.stats.ambiguous_errors == 2


async def _pattern(seed: int) -> list[int]:
    app = EmulatorApp(demo_state(), error_rate=0.5, seed=seed)
    async with asgi_client(app) as client:
        return [(await client.get("/account/v3/projects")).status_code for _ in range(40)]


async def test_error_injection_is_seeded() -> None:
    first, second, other = await _pattern(7), await _pattern(7), await _pattern(8)
    assert first == second
    assert first != other
    assert set(first) == {200, 503}
    assert 8 <= first.count(503) <= 32  # about half


async def test_rate_limit_bare_429() -> None:
    app = EmulatorApp(demo_state(), rate_limit=3)
    async with asgi_client(app) as client:
        statuses = []
        for _ in range(10):
            r = await client.get("/account/v3/projects")
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.content == b"" and r.headers["x-envoy-ratelimited"] == "true"
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses
    assert app.stats.rate_limited == statuses.count(429)
    app.set_rate_limit(None)
    async with asgi_client(app) as client:
        assert (await client.get("/account/v3/projects")).status_code == 200


async def test_latency_sleeps_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float, *args: Any) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    app = EmulatorApp(demo_state(), latency_ms=25)
    async with asgi_client(app) as client:
        for _ in range(3):
            ok(await client.get("/account/v3/projects"))
    assert slept.count(0.025) == 3


def test_invalid_options() -> None:
    with pytest.raises(ValueError):
        EmulatorApp(demo_state(), error_rate=1.5)
    with pytest.raises(ValueError):
        EmulatorApp(demo_state(), latency_ms=-1)
    with pytest.raises(ValueError):
        EmulatorApp(demo_state(), rate_limit=-2)


async def test_stats_count_per_operation(app: EmulatorApp) -> None:
    async with asgi_client(app) as client:
        listed = ok(
            await client.get(f"{SM}/secrets", params={"project_id": DEMO_PRODUCTION_PROJECT_ID})
        )
        sid = listed["secrets"][0]["id"]
        ok(await client.get(f"{SM}/secrets/{sid}"))
        ok(await client.get(f"{SM}/secrets/{sid}"))
        await client.get(f"{SM}/secrets/{sid}/versions/latest_enabled/access")
        await client.get("/nowhere")
    assert app.stats["list_secrets"] == 1
    assert app.stats["get_secret"] == 2
    assert app.stats["access_secret_version"] == 1
    assert app.stats.requests == 5
    assert app.stats.by_status[404] == 1
    snap = app.stats.snapshot()
    assert snap["by_operation"]["get_secret"] == 2
    app.stats.reset()
    assert app.stats.requests == 0 and app.stats["get_secret"] == 0


async def test_ids_are_seeded() -> None:
    async def create(seed: int) -> str:
        app = EmulatorApp(demo_state(), seed=seed)
        async with asgi_client(app) as client:
            body = ok(
                await client.post(
                    f"{SM}/secrets", json={"project_id": DEMO_PRODUCTION_PROJECT_ID, "name": "s"}
                )
            )
        return str(body["id"])

    assert await create(1) == await create(1)
    assert await create(1) != await create(2)


async def test_stats_endpoint(app: EmulatorApp) -> None:
    async with asgi_client(app, token=None) as client:
        await client.get("/account/v3/projects")  # 401, still counted
        body = ok(await client.get("/_emulator/stats"))
        assert body["requests"] == 1 and body["by_status"] == {"401": 1}
        assert body["by_operation"] == {"list_projects": 1}
        reset = ok(await client.post("/_emulator/stats/reset"))
        assert reset["requests"] == 0
        assert (await client.get("/_emulator/stats/other")).status_code == 404
    assert app.stats.requests == 0  # the stats endpoint itself is not counted


async def test_access_log_never_carries_query_strings(caplog: pytest.LogCaptureFixture) -> None:
    app = EmulatorApp(demo_state(), log_requests=True)
    secret = next(s for s in app.state.iter_secrets("fr-par") if s.path == "/prod/db")
    with caplog.at_level(logging.INFO, logger="core.emulator.access"):
        async with asgi_client(app) as client:
            r = await client.get(
                f"{SM}/secrets-by-path/versions/latest_enabled/access",
                params={
                    "project_id": secret.project_id,
                    "secret_path": secret.path,
                    "secret_name": secret.name,
                },
            )
            assert r.status_code == 200
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "core.emulator.access"]
    assert len(lines) == 1
    assert lines[0].startswith(f"GET {SM}/secrets-by-path/versions/latest_enabled/access 200 ")
    assert secret.name not in caplog.text and "/prod/db" not in caplog.text
