"""The sending layer under httpx: which pool sends the bytes, one TLS context, what failed.

This is the seam where the bytes go out. The client sends through an
:class:`httpx.AsyncClient` (requests, responses, auth, timeouts stay httpx's) whose transport
is whatever :func:`make_transport` returns, or the ``transport=`` a caller hands to
``ScalewayClient`` (any :class:`httpx.AsyncBaseTransport`: a mock, ``httpx.ASGITransport``
for the in-process emulator). What the retry core needs to know about a transport failure
(was the request sent? can repeating help? how to say it) is kept here too, next to the
exceptions it reads.

The default transport, :class:`Sender`, chooses by measurement how the bytes go out:
- a run's first :data:`UPGRADE_AFTER` (16) requests go through httpx's own transport
  (httpcore, imported beside the store's key derivation by :func:`warm_up`);
- the next one imports aiohttp (:mod:`core.scaleway.aiohttp_sender`; once a process, in a
  daemon thread), and it and the ones after it wait for the import, then go through
  aiohttp's pool.
aiohttp costs 0.1-0.15 s of CPU to import (it builds its TLS contexts at import time); with
32 requests in flight, httpcore's pool costs 1-3 ms of CPU a request against aiohttp's 0.2-0.4
(``benchmarks/client_cpu_bench.py``): past a few dozen concurrent requests aiohttp has paid
for itself. A command that sends a dozen (an unchanged backup of a small project: the
permission check and a few list pages, 15 requests) never imports it. Measured on 1000x3
backups, alternating, 3 runs each (``benchmarks/backup_bench.py``'s world): the unchanged
re-backup 0.43-0.57 s with this, 0.64-0.74 s with aiohttp from the first request; the
first backup the same either way (2.6-3.1 s). Sending the requests past the 16th through
httpcore while aiohttp was imported instead cost the first backup 0.3-0.5 s: the rising
concurrency crowded httpcore's pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import ssl
import sys
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

import httpx

from core.errors import Remedy
from core.scaleway.errors import TransportError
from core.scaleway.permissions import Operation

if TYPE_CHECKING:
    from core.scaleway.aiohttp_sender import AiohttpSender

__all__ = [
    "FATAL",
    "NOT_SENT",
    "UPGRADE_AFTER",
    "AiohttpSender",
    "AttemptDeadlineExceeded",
    "Sender",
    "make_transport",
    "shared_ssl_context",
    "transport_error",
    "warm_up",
]

UPGRADE_AFTER = 16  # requests sent through httpcore before aiohttp is imported (module docstring)


@lru_cache(maxsize=2)
def shared_ssl_context(plain_http: bool) -> ssl.SSLContext:
    """One TLS context per process: building one (loading the CA bundle) costs 50-100 ms,
    and the CLI, the console and the tests create many short-lived clients.

    An ``http://`` API URL (the emulator) never does TLS (redirects are not followed), so
    it gets an empty, still-verifying context instead of paying for the CA bundle at all.
    """
    if plain_http:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return httpx.create_ssl_context()


class AttemptDeadlineExceeded(httpx.ReadTimeout):
    """One attempt (sending, waiting, reading the whole answer) took longer than the
    client's deadline per attempt: a server trickling bytes defeats per-read timeouts."""


def __getattr__(name: str) -> object:
    if name == "AiohttpSender":  # imported on first use, as the Sender does
        return importlib.import_module("core.scaleway.aiohttp_sender").AiohttpSender
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warm_up() -> None:
    """Import what the first request needs (httpcore, h11, anyio's asyncio backend: 30-50 ms,
    which httpx imports only then), e.g. in a thread while a store's key is derived."""
    for name in ("httpcore", "h11", "anyio._backends._asyncio"):
        try:
            importlib.import_module(name)
        except ImportError:  # only a head start: the first request imports what it needs
            pass


def _bulk_sender(verify: ssl.SSLContext, max_connections: int, max_body: int) -> AiohttpSender:
    from core.scaleway.aiohttp_sender import AiohttpSender

    return AiohttpSender(verify=verify, max_connections=max_connections, max_body=max_body)


class _BulkImport:
    """aiohttp's import, once per process, in a daemon thread: not one ``asyncio.run`` waits
    for at its end, so a run that never needed aiohttp does not wait for it either."""

    MODULE = "core.scaleway.aiohttp_sender"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.failed: BaseException | None = None

    def imported(self) -> bool:
        module = sys.modules.get(self.MODULE)
        return module is not None and hasattr(module, "AiohttpSender")

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self.imported():
                self._thread = threading.Thread(
                    target=self._run, name="aiohttp-import", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            importlib.import_module(self.MODULE)
        except BaseException as exc:
            self.failed = exc
        else:
            from core._gc import imported

            imported()
        with self._lock:
            self._done.set()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed meanwhile
                loop.call_soon_threadsafe(_resolve, future)

    async def wait(self) -> bool:
        """Wait for the import (started if need be); whether aiohttp can be used."""
        self.start()
        with self._lock:
            if not (self._done.is_set() or self.imported()):
                future = asyncio.get_running_loop().create_future()
                self._waiters.append((asyncio.get_running_loop(), future))
            else:
                future = None
        if future is not None:
            await future
        return self.imported()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_BULK = _BulkImport()


class Sender(httpx.AsyncBaseTransport):
    """httpx's own transport for a run's first ``upgrade_after`` requests, aiohttp's pool
    after (see the module docstring): the next request starts aiohttp's import, in a daemon
    thread, and the requests from there on wait for it. Both send the same bytes
    (``tests/conformance``); requests already in flight on the first finish there. A process
    that has imported aiohttp already (or ``upgrade_after=None``) starts on it.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext,
        max_connections: int,
        max_body: int,
        upgrade_after: int | None = UPGRADE_AFTER,
    ) -> None:
        self.verify = verify
        self.max_connections = max_connections
        self.max_body = max_body
        self.upgrade_after = upgrade_after or 0
        self.sent = 0
        self.first = httpx.AsyncHTTPTransport(
            verify=verify,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )
        self.bulk: AiohttpSender | None = None
        if upgrade_after is None or _BULK.imported():
            self._switch()

    def _switch(self) -> AiohttpSender:
        """The aiohttp sender, built once aiohttp is imported."""
        if self.bulk is None:
            self.bulk = _bulk_sender(self.verify, self.max_connections, self.max_body)
        return self.bulk

    async def upgraded(self) -> AiohttpSender:
        """The aiohttp sender, imported now if it is not yet (tests, and callers that know
        they are about to send many requests)."""
        if self.bulk is None and not await _BULK.wait():
            raise RuntimeError("aiohttp could not be imported") from _BULK.failed
        return self._switch()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        bulk = self.bulk
        if bulk is None:
            self.sent += 1
            # Past upgrade_after, a request waits for aiohttp (imported once, in a thread):
            # sent through httpcore meanwhile, the rising concurrency crowded its pool and
            # cost a 1000x3 backup 0.3-0.5 s.
            if (self.sent > self.upgrade_after and await _BULK.wait()) or _BULK.imported():
                bulk = self._switch()
            else:
                return await self.first.handle_async_request(request)
        return await bulk.handle_async_request(request)

    async def aclose(self) -> None:
        await self.first.aclose()
        if self.bulk is not None:
            await self.bulk.aclose()

    def __repr__(self) -> str:
        on = "aiohttp" if self.bulk is not None else "httpcore"
        return f"Sender(max_connections={self.max_connections}, on={on})"


def make_transport(
    max_connections: int, verify: ssl.SSLContext, max_body: int
) -> httpx.AsyncBaseTransport:
    """The transport a client sends through when its caller gives none."""
    return Sender(
        verify=verify,
        max_connections=max_connections,
        max_body=max_body,
        upgrade_after=UPGRADE_AFTER,
    )


# Transport failures raised before the request left this machine: always safe to repeat.
NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
)
# Transport failures that repeating cannot fix (a malformed URL, an unsupported scheme).
FATAL: tuple[type[Exception], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)

_TRANSPORT_WHAT: dict[type[Exception], str] = {
    httpx.ConnectTimeout: "the connection timed out",
    httpx.ConnectError: "the connection failed",
    httpx.ReadTimeout: "timed out waiting for the answer",
    httpx.WriteTimeout: "timed out sending the request",
    httpx.PoolTimeout: "no connection became free in time",
    httpx.ReadError: "the connection broke while reading the answer",
    httpx.WriteError: "the connection broke while sending the request",
    httpx.RemoteProtocolError: "the server closed the connection or broke the protocol",
    httpx.UnsupportedProtocol: "the API URL's scheme is not supported",
    httpx.ProxyError: "the proxy failed",
}


def is_congestion(exc: Exception) -> bool:
    """An answer that does not come in time is congestion too (TCP treats a timeout as
    loss); a connect timeout is not (nothing was sent)."""
    return isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout)


def transport_error(
    operation: Operation, exc: Exception, attempts: int, api_url: str
) -> TransportError:
    """The typed error of a request that got no answer."""
    if isinstance(exc, AttemptDeadlineExceeded):
        what = str(exc)
    else:
        what = next(
            (text for cls, text in _TRANSPORT_WHAT.items() if isinstance(exc, cls)),
            "the request failed",
        )
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    timeout_hint = " or raise the timeout" if isinstance(exc, httpx.TimeoutException) else ""
    return TransportError(
        f"{operation}: could not reach the Scaleway API at {api_url}: {what}"
        f" ({type(exc).__name__}){tried}",
        hint=(
            "check the network connection and the API URL (SCW_API_URL or the profile's "
            f"api_url){timeout_hint}"
        ),
        remedy=Remedy.RETRY_LATER,
        operation=operation,
    )
