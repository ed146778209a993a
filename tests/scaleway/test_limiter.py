"""The AIMD limiter: bounds in-flight work, halves on throttling, grows back on success."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from core.scaleway.client import ScalewayClient
from core.scaleway.limiter import AdaptiveLimiter
from tests.scaleway.conftest import SECRET_ID, FakeTime, ScriptedApi, error, ok, secret_json

SM = "/secret-manager/v1beta1/regions/fr-par"


def test_starts_at_configured_value_within_bounds() -> None:
    assert AdaptiveLimiter(16).limit == 16
    assert AdaptiveLimiter(16, initial=4).limit == 4
    assert AdaptiveLimiter(8, initial=50).limit == 8
    assert AdaptiveLimiter(8, initial=0).limit == 1
    with pytest.raises(ValueError):
        AdaptiveLimiter(0)
    with pytest.raises(ValueError):
        AdaptiveLimiter(4, decrease_factor=1.0)


def test_multiplicative_decrease_floors_at_one() -> None:
    limiter = AdaptiveLimiter(16)
    seen = []
    for _ in range(6):
        limiter.on_throttle()
        seen.append(limiter.limit)
    assert seen == [8, 4, 2, 1, 1, 1]


def test_additive_increase_after_a_window_of_successes() -> None:
    limiter = AdaptiveLimiter(10, initial=2)
    limiter.on_success()
    assert limiter.limit == 2
    limiter.on_success()
    assert limiter.limit == 3  # a full window of 2
    for _ in range(3):
        limiter.on_success()
    assert limiter.limit == 4
    for _ in range(1000):
        limiter.on_success()
    assert limiter.limit == 10  # never above max


def test_fixed_increase_window() -> None:
    limiter = AdaptiveLimiter(10, initial=5, increase_after=3)
    for _ in range(3):
        limiter.on_success()
    assert limiter.limit == 6


def test_throttle_resets_the_success_run() -> None:
    limiter = AdaptiveLimiter(10, initial=4, increase_after=3)
    limiter.on_success()
    limiter.on_success()
    limiter.on_throttle()
    limiter.on_success()
    limiter.on_success()
    assert limiter.limit == 2


async def test_one_decrease_per_throttling_episode() -> None:
    limiter = AdaptiveLimiter(16)
    tickets = [await limiter.acquire() for _ in range(16)]
    for ticket in tickets:  # sixteen concurrent 429s of the same window
        limiter.on_throttle(ticket)
    assert limiter.limit == 8
    for _ in tickets:
        limiter.release()
    fresh = await limiter.acquire()
    limiter.on_throttle(fresh)  # a new episode
    assert limiter.limit == 4
    limiter.release()


async def test_bounds_requests_in_flight() -> None:
    limiter = AdaptiveLimiter(3)
    peak = 0
    running = 0

    async def work() -> None:
        nonlocal peak, running
        async with limiter:
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            running -= 1

    await asyncio.gather(*(work() for _ in range(20)))
    assert peak == 3
    assert limiter.in_flight == 0


async def test_decrease_takes_effect_as_slots_are_released() -> None:
    limiter = AdaptiveLimiter(4)
    tickets = [await limiter.acquire() for _ in range(4)]
    limiter.on_throttle(tickets[0])
    assert limiter.limit == 2
    waiter = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    limiter.release()
    limiter.release()
    await asyncio.sleep(0)
    assert not waiter.done(), "4 -> 2 in flight before anyone new starts"
    limiter.release()
    await asyncio.sleep(0)
    assert waiter.done()
    assert limiter.in_flight == 2


async def test_waiters_are_served_in_order() -> None:
    limiter = AdaptiveLimiter(1)
    order: list[int] = []
    await limiter.acquire()

    async def take(i: int) -> None:
        async with limiter:
            order.append(i)

    tasks = [asyncio.ensure_future(take(i)) for i in range(5)]
    await asyncio.sleep(0)
    limiter.release()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    limiter = AdaptiveLimiter(1)
    await limiter.acquire()
    waiter = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    limiter.release()
    assert limiter.in_flight == 0 and limiter.waiting == 0
    async with limiter:
        assert limiter.in_flight == 1


async def test_retry_after_pauses_new_acquires() -> None:
    clock = FakeTime()
    limiter = AdaptiveLimiter(4, clock=clock.clock, sleep=clock.sleep)
    limiter.on_throttle(retry_after=3.0)
    assert limiter.paused_for == 3.0
    async with limiter:
        pass
    assert clock.sleeps == [3.0]


async def test_client_limiter_reacts_to_429_and_recovers(
    api: ScriptedApi, make_client: Callable[..., ScalewayClient]
) -> None:
    client = make_client(max_concurrency=8)
    assert client.concurrency_limit == 8
    api.on("GET", f"{SM}/secrets/{SECRET_ID}", error(429), ok(secret_json()))
    await client.get_secret("fr-par", SECRET_ID)
    assert client.concurrency_limit == 4
    for _ in range(4 + 5 + 6):
        await client.get_secret("fr-par", SECRET_ID)
    assert client.concurrency_limit == 7


async def test_client_503_also_shrinks_and_500_does_not(
    api: ScriptedApi, make_client: Callable[..., ScalewayClient]
) -> None:
    client = make_client(max_concurrency=8)
    api.on("GET", f"{SM}/secrets/{SECRET_ID}", error(500), error(503), ok(secret_json()))
    await client.get_secret("fr-par", SECRET_ID)
    assert client.concurrency_limit == 4


async def test_client_concurrency_is_bounded_over_many_tasks(
    api: ScriptedApi, make_client: Callable[..., ScalewayClient]
) -> None:
    running = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return ok(secret_json())

    # The ceiling is the hard bound (max_concurrency is where the limit starts).
    client = make_client(
        max_concurrency=5, concurrency_ceiling=5, transport=httpx.MockTransport(handler)
    )
    await asyncio.gather(*(client.get_secret("fr-par", SECRET_ID) for _ in range(40)))
    assert 1 < peak <= 5
    assert client.stats.requests == 40


async def test_limit_grows_past_max_concurrency_only_while_requests_wait(
    make_client: Callable[..., ScalewayClient],
) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001)
        return ok(secret_json())

    client = make_client(
        max_concurrency=4, concurrency_ceiling=12, transport=httpx.MockTransport(handler)
    )
    for _ in range(50):  # one at a time: nothing waits, nothing to grow for
        await client.get_secret("fr-par", SECRET_ID)
    assert client.concurrency_limit == 4
    await asyncio.gather(*(client.get_secret("fr-par", SECRET_ID) for _ in range(200)))
    assert client.concurrency_limit == 12  # slow start to the ceiling, never past it


def test_slow_start_ends_at_the_first_throttle() -> None:
    limiter = AdaptiveLimiter(64, initial=8, probe_from=8)
    limiter._in_flight = 8  # every slot busy: the limit is what holds work back
    for _ in range(8):
        limiter.on_success()
        limiter._in_flight = limiter.limit
    assert limiter.limit == 16  # doubled in one window
    limiter.on_throttle()
    assert limiter.limit == 8
    for _ in range(8):
        limiter.on_success()
        limiter._in_flight = limiter.limit
    assert limiter.limit == 9  # additive after a throttle


async def test_read_timeouts_shrink_but_refused_connections_do_not(
    api: ScriptedApi, make_client: Callable[..., ScalewayClient]
) -> None:
    client = make_client(max_concurrency=8)
    api.on("GET", f"{SM}/secrets/{SECRET_ID}", httpx.ConnectError("refused"), ok(secret_json()))
    await client.get_secret("fr-par", SECRET_ID)
    assert client.concurrency_limit == 8
    api.routes.clear()
    api.on("GET", f"{SM}/secrets/{SECRET_ID}", httpx.ReadTimeout("slow"), ok(secret_json()))
    await client.get_secret("fr-par", SECRET_ID)
    assert client.concurrency_limit == 4


async def test_throttled_at_the_floor_pauses_with_doubling() -> None:
    clock = FakeTime()
    limiter = AdaptiveLimiter(
        2, floor_pause=0.1, max_pause=0.35, clock=clock.clock, sleep=clock.sleep
    )
    limiter.on_throttle()  # 2 -> 1: no pause yet
    assert limiter.limit == 1 and limiter.paused_for == 0.0
    limiter.on_throttle()
    assert limiter.paused_for == pytest.approx(0.1)
    limiter.on_throttle()
    assert limiter.paused_for == pytest.approx(0.2)
    limiter.on_throttle()
    assert limiter.paused_for == pytest.approx(0.35)  # capped
    async with limiter:
        pass
    assert clock.sleeps == [pytest.approx(0.35)]
    limiter.on_success()  # a full window at limit 1: back to 2, doubling reset
    assert limiter.limit == 2
    limiter.on_throttle()
    assert limiter.limit == 1 and limiter.paused_for == 0.0
    limiter.on_throttle()
    assert limiter.paused_for == pytest.approx(0.1)


async def test_cancelled_requests_give_their_slots_back(
    make_client: Callable[..., ScalewayClient],
) -> None:
    started = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(30)  # never answers before the cancellation
        return ok(secret_json())

    client = make_client(max_concurrency=2, transport=httpx.MockTransport(handler))
    tasks = [asyncio.ensure_future(client.get_secret("fr-par", SECRET_ID)) for _ in range(5)]
    await asyncio.wait_for(started.wait(), 5)
    assert client.limiter.in_flight == 2 and client.limiter.waiting == 3
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert client.limiter.in_flight == 0 and client.limiter.waiting == 0
