"""Adaptive (AIMD) bound on the number of API requests in flight.

Scaleway does not document its rate limits; its gateway answers a bare 429 once an account
sends too much at once. A fixed concurrency is either too timid for a quiet account or too
aggressive for a busy one, so the client adapts like TCP congestion control does: it halves
its limit when throttled (multiplicative decrease) and grows it by one after a window of
successes (additive increase), always within ``[min_limit, max_concurrency]`` (the ceiling;
above the configured concurrency it grows only while requests wait, see ``probe_from``).

Design points:

* Several requests in flight usually hit the same throttling episode. Each slot carries the
  *epoch* it was granted in and a decrease only happens once per epoch, so 16 concurrent 429s
  halve the limit once, not sixteen times.
* A ``Retry-After`` answer pauses *every* new request until it has passed (the gateway limits
  the account, not one connection). Throttled again while already at one request in flight
  (the real gateway sends no ``Retry-After``), the limiter pauses new requests itself, for a
  time that doubles on each such throttle and resets on success.
* Everything is synchronous bookkeeping on one event loop, with waiters served in FIFO order,
  so a released slot is handed to the oldest waiter and nobody starves.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType


@dataclass(frozen=True, slots=True)
class Ticket:
    """One granted slot: the epoch it belongs to decides whether a 429 still counts."""

    epoch: int


class AdaptiveLimiter:
    """An AIMD concurrency limiter, usable as ``async with limiter:`` or ``limiter.slot()``.

    ``limit`` is the current number of requests allowed in flight. ``on_throttle`` (a 429 or
    503) multiplies it by ``decrease_factor``; ``on_success`` adds one after ``increase_after``
    consecutive successes (default: the current limit, i.e. one full window, as in TCP).

    ``probe_from`` (the client's configured concurrency) opens the range above it up to
    ``max_concurrency`` (the ceiling): there the limit grows only while requests wait for a
    slot (a limit nobody uses proves nothing, as in RFC 7661), by one per success until the
    first throttle (TCP's slow start: the limit doubles each window), then additively.
    """

    def __init__(
        self,
        max_concurrency: int = 16,
        *,
        initial: int | None = None,
        min_limit: int = 1,
        decrease_factor: float = 0.5,
        increase_after: int | None = None,
        floor_pause: float = 0.1,
        max_pause: float = 5.0,
        probe_from: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if not 1 <= min_limit <= max_concurrency:
            raise ValueError("min_limit must be between 1 and max_concurrency")
        if not 0.0 < decrease_factor < 1.0:
            raise ValueError("decrease_factor must be between 0 and 1 (exclusive)")
        if increase_after is not None and increase_after < 1:
            raise ValueError("increase_after must be at least 1")
        start = max_concurrency if initial is None else initial
        self.max_concurrency = max_concurrency
        self.min_limit = min_limit
        self.decrease_factor = decrease_factor
        self.increase_after = increase_after
        self.floor_pause = floor_pause
        self.max_pause = max_pause
        self.probe_from = probe_from
        self._throttled = False
        self._floor_throttles = 0
        self._limit = min(max(start, min_limit), max_concurrency)
        self._in_flight = 0
        self._epoch = 0
        self._successes = 0
        self._resume_at = 0.0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._clock = clock
        self._sleep = sleep
        self.decreases = 0
        self.increases = 0

    # ------------------------------------------------------------------ observation

    @property
    def limit(self) -> int:
        """Requests currently allowed in flight."""
        return self._limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def paused_for(self) -> float:
        """Seconds left of a ``Retry-After`` pause (0 when not paused)."""
        return max(0.0, self._resume_at - self._clock())

    def __repr__(self) -> str:
        return (
            f"AdaptiveLimiter(limit={self._limit}, max={self.max_concurrency}, "
            f"in_flight={self._in_flight}, waiting={self.waiting})"
        )

    # ------------------------------------------------------------------ slots

    async def acquire(self) -> Ticket:
        """Wait for a free slot (and for any ``Retry-After`` pause to end)."""
        # Bounded: each pass either sleeps until the pause ends or leaves the loop; a new pause
        # can only be set by a response, i.e. by progress elsewhere.
        while (delay := self._resume_at - self._clock()) > 0:
            await self._sleep(delay)
        if self._in_flight < self._limit and not self._waiters:
            self._in_flight += 1
            return Ticket(self._epoch)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # The slot was handed over just as we were cancelled: give it back.
                self._release_slot()
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise
        return Ticket(self._epoch)

    def release(self) -> None:
        """Give a slot back (hands it to the oldest waiter, if the limit allows)."""
        self._release_slot()

    def _release_slot(self) -> None:
        if self._in_flight <= 0:
            raise RuntimeError("AdaptiveLimiter released more often than acquired")
        self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._in_flight < self._limit:
            waiter = self._waiters.popleft()
            if waiter.done():
                continue
            self._in_flight += 1
            waiter.set_result(None)

    def slot(self) -> _Slot:
        """``async with limiter.slot() as ticket:``: the ticket feeds ``on_throttle``."""
        return _Slot(self)

    async def __aenter__(self) -> Ticket:
        return await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # ------------------------------------------------------------------ feedback

    def on_success(self, ticket: Ticket | None = None) -> None:
        """Count a success; after a full window of them, allow one more request in flight."""
        self._successes += 1
        self._floor_throttles = 0
        if self._limit >= self.max_concurrency:
            return
        if self.probe_from is not None and self._limit >= self.probe_from:
            if not self._waiters and self._in_flight < self._limit:
                return  # nobody waits for a slot: a higher limit would prove nothing
            if not self._throttled:
                self._grow()  # slow start: one more per success, the limit doubles a window
                return
        window = self.increase_after or self._limit
        if self._successes >= window:
            self._grow()

    def _grow(self) -> None:
        self._limit += 1
        self._successes = 0
        self.increases += 1
        self._wake()

    def on_throttle(
        self, ticket: Ticket | None = None, *, retry_after: float | None = None
    ) -> None:
        """Halve the limit (once per epoch) and honour a ``Retry-After`` pause if given.

        A ticket from an older epoch means this throttling episode was already answered, so
        only the pause (if any) is applied.
        """
        if retry_after is not None and retry_after > 0:
            self._resume_at = max(self._resume_at, self._clock() + retry_after)
        self._successes = 0
        self._throttled = True  # slow start ends at the first sign of a limit
        if ticket is not None and ticket.epoch != self._epoch:
            return
        if self._limit <= self.min_limit and retry_after is None:
            # Already at the floor and still throttled: one request at a time is too much
            # for the gateway, so space requests out with a pause that doubles each time.
            self._floor_throttles += 1
            pause = min(self.max_pause, self.floor_pause * 2 ** (self._floor_throttles - 1))
            self._resume_at = max(self._resume_at, self._clock() + pause)
        new_limit = max(self.min_limit, int(self._limit * self.decrease_factor))
        self._epoch += 1
        if new_limit < self._limit:
            self._limit = new_limit
            self.decreases += 1


class _Slot:
    """Async context manager around one acquire/release pair, yielding its ticket."""

    __slots__ = ("_limiter", "_ticket")

    def __init__(self, limiter: AdaptiveLimiter) -> None:
        self._limiter = limiter
        self._ticket: Ticket | None = None

    async def __aenter__(self) -> Ticket:
        self._ticket = await self._limiter.acquire()
        return self._ticket

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._limiter.release()
