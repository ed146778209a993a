"""The bytes on the wire do not depend on what sends them: aiohttp (the client's bulk sender)
writes exactly the request httpx's own transport (httpcore, its first requests' sender)
writes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from core.scaleway.client import ScalewayClient
from core.scaleway.transport import AiohttpSender, Sender, shared_ssl_context

SECRET_ID = "11111111-2222-4333-8444-555555555555"
ANSWER = (
    b'{"id": "11111111-2222-4333-8444-555555555555", "secrets": [], "total_count": 0,'
    b' "revision": 1, "secret_id": "11111111-2222-4333-8444-555555555555"}'
)

Call = Callable[[ScalewayClient], Awaitable[Any]]


async def _list(client: ScalewayClient) -> None:
    _ = [s async for s in client.list_secrets("fr-par", name="a b/é", tags=["x&y", "+"])]


CALLS: dict[str, Call] = {
    "list with a query": _list,
    "get": lambda c: c.get_secret("fr-par", SECRET_ID),
    "create with a body": lambda c: c.create_secret("fr-par", name="n é", tags=["t"]),
    "patch with a body": lambda c: c.update_secret("fr-par", SECRET_ID, description="d é"),
    "action with {}": lambda c: c.protect_secret("fr-par", SECRET_ID),
    "delete": lambda c: c.delete_secret("fr-par", SECRET_ID),
}


async def _capture(call: Call, transport: httpx.AsyncBaseTransport | None) -> bytes:
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            seen.append(head + await reader.readexactly(length))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(ANSWER) + ANSWER
            )
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with ScalewayClient(
            "wire-key",
            api_url=f"http://127.0.0.1:{port}",
            default_project_id="p",
            max_retries=0,
            transport=transport,
        ) as client:
            await asyncio.wait_for(call(client), 10)
    finally:
        server.close()
    assert len(seen) == 1
    return seen[0].replace(str(port).encode(), b"PORT")


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_aiohttp_sends_the_bytes_httpcore_sends(name: str) -> None:
    plain = shared_ssl_context(True)
    ours = await _capture(
        CALLS[name], AiohttpSender(verify=plain, max_connections=4, max_body=1 << 20)
    )
    httpcore = await _capture(CALLS[name], httpx.AsyncHTTPTransport())
    assert ours == httpcore
    assert b"\r\nX-Auth-Token: wire-key\r\n" in ours
    # the client's default transport sends its first requests through httpcore: the same bytes
    assert await _capture(CALLS[name], None) == httpcore
    upgraded = Sender(verify=plain, max_connections=4, max_body=1 << 20, upgrade_after=None)
    assert await _capture(CALLS[name], upgraded) == httpcore
