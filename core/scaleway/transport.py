"""The sending layer under httpx: sharded connection pools, one TLS context, what failed.

This is the seam where the bytes go out. The client sends through an
:class:`httpx.AsyncClient` whose transport is whatever :func:`make_transport` returns (or
the ``transport=`` a caller hands to ``ScalewayClient``): any
:class:`httpx.AsyncBaseTransport` can take its place (a mock in tests, another HTTP
implementation later) without the request building, retries or error mapping above it
changing. What the retry core needs to know about a transport failure (was the request
sent? can repeating help? how to say it) is kept here too, next to the exceptions it reads.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from functools import lru_cache

import httpx

from core.errors import Remedy
from core.scaleway.errors import TransportError
from core.scaleway.permissions import Operation

__all__ = [
    "FATAL",
    "NOT_SENT",
    "SHARD_SIZE",
    "ShardedTransport",
    "make_transport",
    "shared_ssl_context",
    "transport_error",
]

# Connections per pool shard. httpcore scans every connection of its pool (with a socket
# poll for each idle one) when a request starts and ends, a cost that grows with the square
# of the pool size: 32 connections in one pool cost 3-4x more CPU per request than 4 pools
# of 8 (measured against the emulator: 4.9 vs 1.35 ms of client CPU per request).
SHARD_SIZE = 8


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


class _CountedStream(httpx.AsyncByteStream):
    """A response body that tells its shard when it is done (the connection is free)."""

    def __init__(self, inner: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._inner = inner
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()
        await self._inner.aclose()


class ShardedTransport(httpx.AsyncBaseTransport):
    """Several small connection pools instead of one big one, least-busy first.

    Same behaviour as one ``httpx.AsyncHTTPTransport`` (same exceptions, same TLS), with a
    per-request cost that no longer grows with the concurrency.
    """

    def __init__(self, max_concurrency: int, verify: ssl.SSLContext) -> None:
        count = max(1, -(-max_concurrency // SHARD_SIZE))
        per_shard = -(-max_concurrency // count)
        self.shards = [
            httpx.AsyncHTTPTransport(
                verify=verify,
                limits=httpx.Limits(
                    max_connections=per_shard + 2, max_keepalive_connections=per_shard
                ),
            )
            for _ in range(count)
        ]
        self.active = [0] * count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self.shards)), key=self.active.__getitem__)
        self.active[index] += 1

        def done() -> None:
            self.active[index] -= 1

        try:
            response = await self.shards[index].handle_async_request(request)
        except BaseException:
            done()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CountedStream(response.stream, done),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for shard in self.shards:
            await shard.aclose()

    def __repr__(self) -> str:
        return f"_ShardedTransport(shards={len(self.shards)}, active={sum(self.active)})"


def make_transport(max_concurrency: int, verify: ssl.SSLContext) -> httpx.AsyncBaseTransport:
    """The transport a client sends through when its caller gives none."""
    return ShardedTransport(max_concurrency, verify)


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
