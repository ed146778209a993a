"""The aiohttp sender hands the client the answer's body read whole, decoded as httpx decodes
it; a body past the client's bound is still refused by its size."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from core.scaleway.client import ScalewayClient
from core.scaleway.errors import UnexpectedAnswerError
from core.scaleway.transport import Sender

SECRET_ID = "11111111-2222-4333-8444-555555555555"
PROJECT = "22222222-3333-4444-8555-666666666666"
SECRET = {
    "id": SECRET_ID,
    "project_id": PROJECT,
    "name": "n",
    "status": "ready",
    "tags": [],
    "version_count": 1,
    "region": "fr-par",
    "path": "/",
}


@asynccontextmanager
async def _server(body: bytes, headers: dict[str, str]) -> AsyncIterator[str]:
    """A loopback HTTP/1.1 server answering every request with ``body``."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                head = [f"{k}: {v}" for k, v in headers.items()]
                head.append(f"Content-Length: {len(body)}")
                writer.write(("HTTP/1.1 200 OK\r\n" + "\r\n".join(head) + "\r\n\r\n").encode())
                writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


async def _get(url: str, max_response_bytes: int = 1 << 20) -> str:
    client = ScalewayClient(
        secret_key="9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d",
        api_url=url,
        default_project_id=PROJECT,
        max_retries=0,
        max_response_bytes=max_response_bytes,
    )
    async with client:
        sender = client._http._transport
        assert isinstance(sender, Sender)
        await sender.upgraded()  # aiohttp from the first request
        return (await client.get_secret("fr-par", SECRET_ID)).name


@pytest.mark.parametrize("encoding", [None, "gzip"])
async def test_the_body_read_by_the_sender_is_the_decoded_answer(encoding: str | None) -> None:
    body = json.dumps(SECRET).encode()
    headers = {"Content-Type": "application/json"}
    if encoding:
        body = gzip.compress(body)
        headers["Content-Encoding"] = encoding
    async with _server(body, headers) as url:
        assert await _get(url) == "n"


async def test_a_body_at_the_bound_is_read_and_one_past_it_refused() -> None:
    body = json.dumps(SECRET).encode()
    async with _server(body, {"Content-Type": "application/json"}) as url:
        assert await _get(url, max_response_bytes=len(body)) == "n"
        with pytest.raises(UnexpectedAnswerError, match="larger than"):
            await _get(url, max_response_bytes=len(body) - 1)
