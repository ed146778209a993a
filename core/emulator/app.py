"""The Secret Manager v1beta1 + Account v3 + IAM (API keys) emulator as an ASGI application.

``EmulatorApp(state)`` answers every endpoint of the one endpoint table
(:mod:`core.scaleway.endpoints`) field by field as the real API does: key order, ``null`` vs
``""``, timestamps with microseconds and ``Z``, strict base64, CRC-32 check, 64 KiB limit,
typed payload validation, soft deletion and restore, protected secrets, the 20-version quota,
exact pagination and the real error bodies. API keys' permission sets and project scopes are
enforced per endpoint.

Fault injection (added latency, a fraction of 503s before or after applying a request, and a
token-bucket rate limit answered with the gateway's bare 429) makes the client's resilience
testable. Every request is counted in :attr:`EmulatorApp.stats`.

Where things are: routes (:mod:`core.emulator.asgi`), the chain of stats, faults and auth
around each handler (:mod:`core.emulator.middleware`), the handlers by resource
(:mod:`core.emulator.handlers`). This class holds the knobs and the state file. It serves
over real HTTP through :class:`core.emulator.server.ThreadedServer` (uvicorn) and in-process
through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from starlette.types import Receive, Scope, Send

from core._fs import write_atomic
from core.emulator.asgi import STATS_PATH, AccessLog, StatsEndpoint, build_router
from core.emulator.context import SERVER_HEADER, Handler
from core.emulator.handlers import HANDLERS
from core.emulator.middleware import EmulatorStats, TokenBucket
from core.emulator.state import EmulatorState
from core.scaleway.endpoints import Operation
from core.scaleway.models import utcnow

__all__ = ["SERVER_HEADER", "STATS_PATH", "EmulatorApp", "EmulatorStats", "TokenBucket"]


class EmulatorApp:
    """The ASGI app. See the module docstring; options are documented in docs/EMULATOR.md."""

    def __init__(
        self,
        state: EmulatorState,
        *,
        latency_ms: float = 0,
        error_rate: float = 0.0,
        rate_limit: float | None = None,
        seed: int | None = None,
        state_path: str | Path | None = None,
        ambiguous_error_rate: float = 0.0,
        clock: Callable[[], datetime] | None = None,
        log_requests: bool = False,
    ) -> None:
        for name, rate in (
            ("error_rate", error_rate),
            ("ambiguous_error_rate", ambiguous_error_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        self.state = state
        self.latency_ms = latency_ms
        self.error_rate = error_rate
        self.ambiguous_error_rate = ambiguous_error_rate
        self.bucket = TokenBucket(rate_limit) if rate_limit else None
        self.state_path = Path(state_path) if state_path else None
        self.stats = EmulatorStats()
        self.fault_rng = random.Random(seed)
        self.handlers: dict[Operation, Handler] = dict(HANDLERS)
        """Operation -> handler (a test may swap one to play an emulator bug)."""
        self._id_rng = random.Random(seed) if seed is not None else None
        self._clock = clock or utcnow
        self._custom_clock = clock is not None
        self._last_expire = 0.0
        self._save_lock = threading.Lock()
        self._saved_generation = -1
        self._asgi = AccessLog(StatsEndpoint(build_router(self), self.stats), log_requests)

    # ------------------------------------------------------------------ configuration

    @property
    def log_requests(self) -> bool:
        return self._asgi.enabled

    @log_requests.setter
    def log_requests(self, enabled: bool) -> None:
        self._asgi.enabled = enabled

    @property
    def rate_limit(self) -> float | None:
        return self.bucket.rate if self.bucket else None

    def set_rate_limit(self, rate: float | None) -> None:
        self.bucket = TokenBucket(rate) if rate else None

    def new_id(self) -> str:
        if self._id_rng is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._id_rng.getrandbits(128), version=4))

    def now(self) -> datetime:
        return self._clock()

    def expire(self, now: datetime) -> None:
        """Apply time-based transitions, at most once a second (every request on a custom
        clock, which tests move by hand). Called under the state lock."""
        tick = time.monotonic()
        if self._custom_clock or tick - self._last_expire >= 1.0:
            self._last_expire = tick
            self.state.expire(now)

    # ------------------------------------------------------------------ persistence

    def flush(self) -> None:
        """Write the state file now if anything changed since the last write."""
        if self.state_path is None:
            return
        with self._save_lock:
            with self.state.lock:
                generation = self.state.generation
                if generation == self._saved_generation:
                    return
                data = self.state.dumps()
            write_atomic(self.state_path, data)
            self._saved_generation = generation

    async def persist(self) -> None:
        if self.state_path is not None and self.state.generation != self._saved_generation:
            await asyncio.to_thread(self.flush)

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        await self._asgi(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await asyncio.to_thread(self.flush)
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return
