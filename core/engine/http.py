"""A lean HTTP/1.1 transport for the engines' bulk API traffic.

A backup of thousands of secrets is thousands of small requests. Through httpx's default
transport (httpcore on anyio) each one costs this machine about 2.5 ms of client CPU, mostly
connection-pool bookkeeping (every request scans every pooled connection and polls its
socket); that, not the network, capped a backup at about 100 requests per second. This
transport speaks HTTP/1.1 with ``h11`` straight over asyncio streams, keeps idle connections
in a LIFO list per origin, and costs about 0.25 ms per request: ten times less.

It plugs into ``httpx.AsyncClient(transport=...)``, so retries, error mapping, the adaptive
limiter and everything else of :class:`core.scaleway.client.ScalewayClient` are unchanged.
Failures are raised as the httpx exceptions the client already classifies: a connection that
could not be made (``ConnectError``/``ConnectTimeout``: the request was not sent) versus one
that broke after sending (``ReadError``/``RemoteProtocolError``/``ReadTimeout``: ambiguous).

Idle keep-alive connections closed by the server are noticed without a system call (the
stream is at EOF) and dropped; if a reused connection turns out dead before any answer byte
arrives, a GET is sent again once on a fresh connection, anything else is reported as
ambiguous. ``SECRET_KLOSET_HTTP=httpx`` selects httpx's own transport instead, and so does a
configured proxy (``HTTPS_PROXY``...), which this transport does not speak.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import h11
import httpx

ENV_SWITCH = "SECRET_KLOSET_HTTP"
READ_CHUNK = 256 * 1024
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


class _Stale(Exception):
    """A reused connection was closed by the server before it answered."""


def _timeouts(request: httpx.Request) -> tuple[float | None, float | None, float | None]:
    spec: dict[str, Any] = request.extensions.get("timeout") or {}
    return spec.get("connect"), spec.get("read"), spec.get("write")


def _default_ssl_context() -> ssl.SSLContext:
    """Verify servers as httpx does: ``SSL_CERT_FILE``/``SSL_CERT_DIR`` if set, else certifi."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    if cafile is None and capath is None:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:  # pragma: no cover - certifi comes with httpx
            pass
    return ssl.create_default_context(cafile=cafile, capath=capath)


_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    last_used: float = field(default_factory=time.monotonic)

    def usable(self, expiry: float) -> bool:
        if self.reader.at_eof() or self.writer.is_closing():
            return False
        return time.monotonic() - self.last_used < expiry

    def close(self) -> None:
        try:
            self.writer.close()
        except Exception:
            pass

    async def roundtrip(
        self,
        request: httpx.Request,
        body: bytes,
        *,
        read_timeout: float | None,
        write_timeout: float | None,
    ) -> httpx.Response:
        target = request.url.raw_path
        headers = [(k, v) for k, v in request.headers.raw]
        out = self.h11.send(h11.Request(method=request.method, target=target, headers=headers))
        if body:
            out = (out or b"") + (self.h11.send(h11.Data(data=body)) or b"")
        out = (out or b"") + (self.h11.send(h11.EndOfMessage()) or b"")
        self.writer.write(out)
        try:
            await asyncio.wait_for(self.writer.drain(), write_timeout)
        except TimeoutError:
            raise httpx.WriteTimeout("timed out sending the request", request=request) from None
        except (ConnectionError, OSError) as err:
            raise _Stale() from err

        status = 0
        response_headers: list[tuple[bytes, bytes]] = []
        reason = b""
        parts: list[bytes] = []
        received = False
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as err:
                if not received:
                    raise _Stale() from err
                raise httpx.RemoteProtocolError(str(err), request=request) from None
            if event is h11.NEED_DATA:
                try:
                    chunk = await asyncio.wait_for(self.reader.read(READ_CHUNK), read_timeout)
                except TimeoutError:
                    raise httpx.ReadTimeout(
                        "timed out waiting for the answer", request=request
                    ) from None
                except (ConnectionError, OSError) as err:
                    if not received:
                        raise _Stale() from err
                    raise httpx.ReadError(str(err) or type(err).__name__, request=request) from None
                if not chunk and not received:
                    raise _Stale()
                received = received or bool(chunk)
                self.h11.receive_data(chunk)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                response_headers = list(event.headers)
                reason = event.reason
            elif isinstance(event, h11.Data):
                parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError(
                    "the server closed the connection mid-answer", request=request
                )
        self.last_used = time.monotonic()
        return httpx.Response(
            status,
            headers=response_headers,
            stream=httpx.ByteStream(b"".join(parts)),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    def recycle(self) -> bool:
        """Ready the connection for the next request; False when it cannot be reused."""
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            try:
                self.h11.start_next_cycle()
            except h11.LocalProtocolError:
                return False
            return True
        return False


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams with a LIFO keep-alive pool (see the module docstring)."""

    def __init__(
        self,
        *,
        max_idle_per_origin: int = 64,
        keepalive_expiry: float = 4.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_idle = max_idle_per_origin
        self.keepalive_expiry = keepalive_expiry
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self.connections_opened = 0
        self._closed = False

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = _default_ssl_context()
        return self._ssl

    async def _connect(
        self, origin: tuple[str, str, int], request: httpx.Request, limit: float | None
    ) -> _Connection:
        scheme, host, port = origin
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        ssl_arg: ssl.SSLContext | None = self._ssl_context() if scheme == "https" else None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    host, port, ssl=ssl_arg, server_hostname=host if ssl_arg else None
                ),
                limit,
            )
        except TimeoutError:
            raise httpx.ConnectTimeout("the connection timed out", request=request) from None
        except (OSError, ssl.SSLError) as err:
            raise httpx.ConnectError(str(err) or type(err).__name__, request=request) from None
        self.connections_opened += 1
        return _Connection(reader, writer)

    def _take_idle(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.usable(self.keepalive_expiry):
                return conn
            conn.close()
        return None

    def _give_back(self, origin: tuple[str, str, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if self._closed or len(idle) >= self.max_idle:
            conn.close()
        else:
            idle.append(conn)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("the transport is closed", request=request)
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        origin = (url.scheme, url.host, port)
        connect_timeout, read_timeout, write_timeout = _timeouts(request)
        body = await request.aread()
        for attempt in range(2):
            conn = self._take_idle(origin)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin, request, connect_timeout)
            try:
                response = await conn.roundtrip(
                    request, body, read_timeout=read_timeout, write_timeout=write_timeout
                )
            except _Stale:
                conn.close()
                if reused and attempt == 0 and request.method in IDEMPOTENT:
                    continue  # the server had closed the idle connection: try a fresh one
                if reused:
                    raise httpx.RemoteProtocolError(
                        "the server closed a kept-alive connection", request=request
                    ) from None
                raise httpx.ReadError("the server closed the connection", request=request) from None
            except BaseException:
                conn.close()
                raise
            if conn.recycle():
                self._give_back(origin, conn)
            else:
                conn.close()
            return response
        raise httpx.RemoteProtocolError(  # pragma: no cover - the loop returns or raises
            "no usable connection", request=request
        )

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


def engine_transport() -> httpx.AsyncBaseTransport | None:
    """The transport the CLI's engines use: :class:`LeanTransport`; ``None`` (the client's
    default, httpx's own) when ``SECRET_KLOSET_HTTP=httpx`` asks for it, or when a proxy is
    configured (``HTTPS_PROXY`` and friends: httpx knows how to tunnel, this does not)."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() == "httpx":
        return None
    for name in _PROXY_VARIABLES:
        if os.environ.get(name) or os.environ.get(name.lower()):
            return None
    return LeanTransport()
