"""Retry policy of the Scaleway client: what may be retried, and how long to wait.

Waits use exponential backoff with *full jitter* (a uniform draw in ``[0, base * 2**n]``,
capped): when many workers are throttled at once, full jitter spreads their retries instead
of having them all come back in the same instant. Two bounds keep a retrying call finite: a
number of retries and a total deadline, whichever is reached first.

The clock, the sleep and the random source are injectable so that tests never really wait.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Statuses that say "try again later", never "your request is wrong".
RETRYABLE_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
# Statuses that mean the API (or its gateway) is overloaded: they also shrink the limit
# (a 500 is a bug on one request, not load).
THROTTLE_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    """429 and every 5xx; a 4xx is the caller's mistake and retrying cannot fix it."""
    return status == 429 or 500 <= status <= 599


@dataclass(slots=True)
class RetryPolicy:
    """How often and how long a call is retried.

    ``max_retries`` counts retries (so ``max_retries + 1`` attempts at most); ``deadline`` is
    the total time in seconds a call (attempts plus waits) may take before giving up.
    """

    max_retries: int = 5
    deadline: float = 120.0
    base_delay: float = 0.25
    max_delay: float = 20.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if self.deadline <= 0:
            raise ValueError("deadline must be positive")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, retry_number: int) -> float:
        """Full-jitter wait before retry ``retry_number`` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, retry_number - 1)))
        return self.rng.uniform(0.0, ceiling)

    def budget(self) -> RetryBudget:
        """A fresh budget for one logical call (shared by its lookups and re-creates)."""
        return RetryBudget(self, started=self.clock())


@dataclass(slots=True)
class RetryBudget:
    """What one logical call has left: retries and time."""

    policy: RetryPolicy
    started: float
    retries: int = 0

    @property
    def elapsed(self) -> float:
        return self.policy.clock() - self.started

    @property
    def remaining(self) -> float:
        return self.policy.deadline - self.elapsed

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """The wait before the next retry, or ``None`` when the budget is spent.

        A server's ``Retry-After`` is a floor: we never come back earlier than asked.
        """
        if self.retries >= self.policy.max_retries:
            return None
        delay = self.policy.backoff(self.retries + 1)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if delay >= self.remaining:
            return None
        return delay

    async def wait(self, delay: float) -> None:
        self.retries += 1
        if delay > 0:
            await self.policy.sleep(delay)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    Scaleway's gateway does not send it today; other proxies in front of an emulator or a
    future gateway may, and it costs nothing to honour.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return 0.0
    return min(seconds, 3600.0)
