"""aiohttp's connection pool behind httpx: the bulk sender of :class:`core.scaleway.transport.Sender`.

Imported only once a run has sent enough requests for it to pay (its import costs 0.1-0.15 s).
:class:`AiohttpSender` adapts ``httpx_aiohttp.AiohttpTransport`` to what the client relies
on: the URL goes out exactly as httpx built it, no cookie jar, and aiohttp's failures map to
the httpx exception that says the truth about them (the package maps a reset after sending to
``ConnectTimeout``, which would make a create look safe to repeat).
"""

from __future__ import annotations

import ssl

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from yarl import URL

__all__ = ["AiohttpSender"]


def _httpx_error(exc: BaseException) -> type[httpx.TransportError]:
    """The httpx exception that says what an aiohttp failure means for a retry."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout  # no connection in time (pool or connect): not sent
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError  # refused, DNS, TLS verification: not sent
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError  # may have been processed
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol
    return httpx.ReadError  # a reset or broken payload after sending: ambiguous


def _mapped(exc: BaseException) -> httpx.TransportError:
    cause = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
    if isinstance(exc, httpx.TransportError) and not isinstance(cause, aiohttp.ClientError):
        return exc
    assert cause is not None
    error = _httpx_error(cause)(f"{type(cause).__name__}: {cause}")
    error.__cause__ = cause
    return error


class _Request(aiohttp.ClientRequest):
    """aiohttp's request, minus the ``Content-Length: 0`` it adds to a body-less DELETE
    (httpx sends none: the bytes must not depend on the sender)."""

    GET_METHODS = aiohttp.ClientRequest.GET_METHODS | {"DELETE"}


class AiohttpSender(AiohttpTransport):
    """``httpx_aiohttp.AiohttpTransport`` with the URL sent as httpx encoded it, no cookie
    jar, and truthful exceptions (see the module docstring).

    Timeouts keep httpx's meaning: ``connect`` bounds opening a connection, ``pool`` waiting
    for one (aiohttp's ``connect``), ``read`` each read; ``max_connections`` bounds the pool.
    The answer's body is read here, at most ``max_body`` bytes of it (one more tells the
    caller it was cut; a declared larger one is not read at all): the client never streams,
    and two layers of async iterators per answer were a tenth of its CPU.
    """

    def __init__(
        self, *, verify: ssl.SSLContext, max_connections: int, max_body: int = 16 << 20
    ) -> None:
        limits = httpx.Limits(max_connections=max_connections)
        super().__init__(verify=verify, limits=limits, client=self._session)
        self.max_body = max_body

    def _session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry or 5.0,
            ssl=self.ssl_context,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            request_class=_Request,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self.client
        if not isinstance(session, aiohttp.ClientSession):
            session = self.client = self._session()
        timeout = request.extensions.get("timeout", {})
        content = request.content  # the client sends bodies it built, always read
        try:
            answer = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                # httpx's own names (``Host``, ``X-Auth-Token``): its mapping view lowercases them
                headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                ],
                data=content or None,
                allow_redirects=False,
                compress=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                    connect=timeout.get("pool"),
                ),
                server_hostname=request.extensions.get("sni_hostname"),
            )
            body = await self._body(answer)
        except aiohttp.ClientError as exc:
            raise _mapped(exc) from exc
        extensions = {"http_version": b"HTTP/1.1"}
        if answer.reason:
            extensions["reason_phrase"] = answer.reason.encode()
        response = httpx.Response(
            status_code=answer.status,
            headers=answer.raw_headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions=extensions,
        )
        if len(body) <= self.max_body:
            # Read whole here: the caller sees ``is_stream_consumed`` and skips httpx's two
            # layers of async iterators (a cut body is left to it, to refuse by its size).
            if "Content-Encoding" in answer.headers:
                response.read()  # decoded as httpx decodes
            else:  # what read() would return, without its chunkers and identity decoder
                response._content = body
                response.is_stream_consumed = True
        return response

    async def _body(self, answer: aiohttp.ClientResponse) -> bytes:
        """At most ``max_body + 1`` bytes of the answer; the connection goes back to the
        pool when the body was read whole, is closed otherwise (or on any failure)."""
        limit = self.max_body
        length = answer.content_length
        if length is not None and length > limit:
            answer.close()
            return b""  # the caller refuses it by its Content-Length
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := await answer.content.readany():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    answer.close()
                    break
            else:
                answer.release()
        except BaseException:
            answer.close()
            raise
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def __repr__(self) -> str:
        return f"AiohttpSender(max_connections={self.limits.max_connections})"
