"""Retries: what is retried, how long the client waits, and when it gives up."""

from __future__ import annotations

import random
from collections.abc import Callable

import httpx
import pytest

from core.scaleway.client import ScalewayClient
from core.scaleway.errors import (
    InvalidArgumentsError,
    NotFoundError,
    RateLimitedError,
    ScalewayError,
    ServerError,
    TransportError,
)
from core.scaleway.retry import RetryPolicy, parse_retry_after
from tests.scaleway.conftest import SECRET_ID, FakeTime, ScriptedApi, error, ok, secret_json

SM = "/secret-manager/v1beta1/regions/fr-par"
GET_SECRET = f"{SM}/secrets/{SECRET_ID}"

MakeClient = Callable[..., ScalewayClient]


async def test_429_then_success_is_retried(
    api: ScriptedApi, client: ScalewayClient, fake_time: FakeTime
) -> None:
    api.on("GET", GET_SECRET, error(429), error(429), ok(secret_json()))
    secret = await client.get_secret("fr-par", SECRET_ID)
    assert secret.id == SECRET_ID
    assert len(api.requests) == 3
    assert (
        client.stats.requests == 3 and client.stats.retries == 2 and client.stats.rate_limited == 2
    )
    assert len(fake_time.sleeps) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_retried_for_idempotent_calls(
    api: ScriptedApi, client: ScalewayClient, status: int
) -> None:
    api.on(
        "PATCH",
        GET_SECRET,
        error(status, {"message": "oops", "type": "internal"}),
        ok(secret_json()),
    )
    await client.update_secret("fr-par", SECRET_ID, description="x")
    assert len(api.requests) == 2
    assert client.stats.server_errors == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412])
async def test_4xx_is_never_retried(
    api: ScriptedApi, client: ScalewayClient, status: int, fake_time: FakeTime
) -> None:
    api.on("GET", GET_SECRET, error(status, {"type": "x", "message": "no"}), ok(secret_json()))
    with pytest.raises(Exception):  # noqa: B017 - the type is checked in test_errors
        await client.get_secret("fr-par", SECRET_ID)
    assert len(api.requests) == 1 and fake_time.sleeps == []


async def test_transport_errors_are_retried_then_typed(
    api: ScriptedApi, make_client: MakeClient
) -> None:
    client = make_client(max_retries=3)
    api.on("GET", GET_SECRET, httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(TransportError) as err:
        await client.get_secret("fr-par", SECRET_ID)
    assert len(api.requests) == 4
    assert "SCW_API_URL" in (err.value.hint or "")
    assert "https://api.example.test" in err.value.message
    assert err.value.operation == "get_secret"
    assert client.stats.transport_errors == 4 and client.stats.retries == 3


async def test_timeout_hint_mentions_the_timeout(api: ScriptedApi, make_client: MakeClient) -> None:
    client = make_client(max_retries=0)
    api.on("GET", GET_SECRET, httpx.ReadTimeout("timed out"))
    with pytest.raises(TransportError) as err:
        await client.get_secret("fr-par", SECRET_ID)
    assert "timeout" in (err.value.hint or "")


async def test_unsupported_protocol_is_not_retried(
    api: ScriptedApi, make_client: MakeClient
) -> None:
    client = make_client(max_retries=3)
    api.on("GET", GET_SECRET, httpx.UnsupportedProtocol("bad scheme"))
    with pytest.raises(TransportError):
        await client.get_secret("fr-par", SECRET_ID)
    assert len(api.requests) == 1


async def test_max_retries_bounds_attempts(api: ScriptedApi, make_client: MakeClient) -> None:
    client = make_client(max_retries=2)
    api.on("GET", GET_SECRET, error(429))
    with pytest.raises(RateLimitedError) as err:
        await client.get_secret("fr-par", SECRET_ID)
    assert len(api.requests) == 3
    assert "after 3 attempts" in err.value.message


async def test_deadline_bounds_total_time(
    api: ScriptedApi, make_client: MakeClient, fake_time: FakeTime
) -> None:
    client = make_client(max_retries=100, retry_deadline=5.0, backoff_base=1.0, backoff_max=4.0)
    api.on("GET", GET_SECRET, error(503))
    with pytest.raises(ServerError):
        await client.get_secret("fr-par", SECRET_ID)
    assert sum(fake_time.sleeps) < 5.0
    assert len(api.requests) < 100


async def test_backoff_is_full_jitter_within_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0, rng=random.Random(1))
    for n in range(1, 10):
        ceiling = min(8.0, 0.5 * 2 ** (n - 1))
        draws = [policy.backoff(n) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        # Full jitter spreads waits over the whole range, not just near the ceiling.
        assert min(draws) < ceiling * 0.2 and max(draws) > ceiling * 0.8


async def test_retry_after_is_a_floor(
    api: ScriptedApi, client: ScalewayClient, fake_time: FakeTime
) -> None:
    api.on("GET", GET_SECRET, error(429, headers={"Retry-After": "7"}), ok(secret_json()))
    await client.get_secret("fr-par", SECRET_ID)
    assert fake_time.sleeps[-1] >= 7.0
    assert client.limiter.paused_for == 0.0  # the pause has elapsed on the fake clock


def test_parse_retry_after() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:10 GMT", now=now) == 10.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("garbage") is None


async def test_delete_404_after_ambiguous_attempt_means_done(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    api.on(
        "DELETE",
        GET_SECRET,
        error(502),
        error(404, {"type": "not_found", "resource": "secret", "resource_id": SECRET_ID}),
    )
    assert await client.delete_secret("fr-par", SECRET_ID) is None
    assert len(api.requests) == 2


async def test_delete_404_after_a_429_is_still_an_error(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    # A 429 means the first attempt was not processed, so the 404 is real.
    api.on(
        "DELETE",
        GET_SECRET,
        error(429),
        error(404, {"type": "not_found", "resource": "secret", "resource_id": SECRET_ID}),
    )
    with pytest.raises(NotFoundError):
        await client.delete_secret("fr-par", SECRET_ID)


async def test_delete_404_first_is_an_error(api: ScriptedApi, client: ScalewayClient) -> None:
    api.on(
        "DELETE",
        GET_SECRET,
        error(404, {"type": "not_found", "resource": "secret", "resource_id": SECRET_ID}),
    )
    with pytest.raises(NotFoundError):
        await client.delete_secret("fr-par", SECRET_ID)


async def test_actions_and_access_are_retried(api: ScriptedApi, client: ScalewayClient) -> None:
    api.on("POST", f"{GET_SECRET}/protect", error(500), ok(secret_json(protected=True)))
    api.on(
        "POST",
        f"{GET_SECRET}/versions/1/disable",
        httpx.ReadTimeout("t"),
        ok({"revision": 1, "secret_id": SECRET_ID, "status": "disabled"}),
    )
    assert (await client.protect_secret("fr-par", SECRET_ID)).protected
    assert (await client.disable_version("fr-par", SECRET_ID, 1)).status == "disabled"
    assert client.stats.retries == 2


async def test_pagination_pages_are_retried_individually(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    page1 = ok({"secrets": [secret_json(id=f"s{i}") for i in range(2)], "total_count": 3})
    page2 = ok({"secrets": [secret_json(id="s2")], "total_count": 3})

    calls: dict[int, int] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        calls[page] = calls.get(page, 0) + 1
        if page == 2 and calls[page] == 1:
            return error(503)
        return page1 if page == 1 else page2

    api.on("GET", f"{SM}/secrets", answer)
    ids = [s.id async for s in client.list_secrets("fr-par", page_size=2)]
    assert ids == ["s0", "s1", "s2"]
    assert calls == {1: 1, 2: 2}


async def test_invalid_arguments_on_create_is_not_retried(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    api.on(
        "POST",
        f"{SM}/secrets",
        error(
            400,
            {
                "details": [{"argument_name": "name", "reason": "required"}],
                "message": "invalid argument(s)",
                "type": "invalid_arguments",
            },
        ),
    )
    with pytest.raises(InvalidArgumentsError) as err:
        await client.create_secret("fr-par", name="")
    assert "name (required)" in err.value.message
    assert len(api.requests) == 1


async def test_waited_seconds_sum_the_backoff(
    api: ScriptedApi, client: ScalewayClient, fake_time: FakeTime
) -> None:
    api.on("GET", GET_SECRET, error(503), error(503), ok(secret_json()))
    await client.get_secret("fr-par", SECRET_ID)
    assert client.stats.waited_seconds == pytest.approx(sum(fake_time.sleeps))
    assert client.stats.as_dict()["retries"] == 2
    client.stats.reset()
    assert client.stats.as_dict()["requests"] == 0 and client.stats.per_operation == {}


async def test_redirect_means_a_wrong_api_url(api: ScriptedApi, client: ScalewayClient) -> None:
    api.on(
        "GET",
        GET_SECRET,
        httpx.Response(301, headers={"Location": "https://elsewhere.test/x?token=1"}),
    )
    with pytest.raises(ScalewayError) as err:
        await client.get_secret("fr-par", SECRET_ID)
    assert err.value.status_code == 301
    assert "https://elsewhere.test/x" in err.value.message and "token" not in err.value.message
    assert "SCW_API_URL" in (err.value.hint or "")
    assert len(api.requests) == 1
