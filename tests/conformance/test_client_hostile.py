"""Our client against hostile or broken servers over real HTTP on loopback (issue 9).

Each test starts a tiny asyncio HTTP/1.1 server that misbehaves one way: it trickles the
answer one byte at a time (per-read timeouts never fire), sends an endless or a declared-huge
body, answers fields of the wrong JSON type or bad base64, or throttles with ``Retry-After``.
Every case must end in a typed error (or the right wait) within a bounded time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.utils import formatdate
from typing import Any

import pytest

from core.scaleway.client import ScalewayClient
from core.scaleway.errors import TransportError, UnexpectedAnswerError

SECRET_ID = "11111111-2222-4333-8444-555555555555"
PROJECT = "22222222-3333-4444-8555-666666666666"
KEY = "9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"

Handler = Callable[[int, asyncio.StreamWriter], Awaitable[None]]


def _secret(**changes: Any) -> dict[str, Any]:
    secret: dict[str, Any] = {
        "id": SECRET_ID,
        "project_id": PROJECT,
        "name": "n",
        "status": "ready",
        "tags": [],
        "version_count": 1,
        "region": "fr-par",
        "path": "/",
    }
    secret.update(changes)
    return secret


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _json(writer: asyncio.StreamWriter, body: object, status: int = 200) -> None:
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
    writer.write(_head(status, headers) + data)
    await writer.drain()


@asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[str]:
    """A loopback HTTP/1.1 server calling ``handler(request_number, writer)`` per request."""
    count = 0
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                count += 1
                await handler(count, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _client(url: str, **kwargs: Any) -> ScalewayClient:
    options: dict[str, Any] = {
        "secret_key": KEY,
        "api_url": url,
        "default_project_id": PROJECT,
        "max_retries": 0,
    }
    options.update(kwargs)
    return ScalewayClient(**options)


async def test_a_trickling_answer_is_cut_at_the_deadline_per_attempt() -> None:
    """One byte every 0.2 s never trips a per-read timeout; the attempt's deadline does."""

    async def trickle(_: int, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, {"Content-Type": "application/json", "Content-Length": "4096"}))
        for _ in range(4096):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.2)

    async with _server(trickle) as url, _client(url, timeout=30.0, attempt_deadline=1.0) as c:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            await c.get_secret("fr-par", SECRET_ID)
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 5.0
    assert "did not complete within 1 s" in caught.value.message
    assert "deadline per attempt" in caught.value.message


async def test_an_endless_answer_stops_at_the_size_bound() -> None:
    """No Content-Length, bytes without end: the client stops reading past its bound."""

    async def endless(_: int, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, {"Content-Type": "application/json", "Connection": "close"}))
        chunk = b"[" * 65536
        for _ in range(300 * 16):  # 300 MiB if nobody stopped reading
            writer.write(chunk)
            await writer.drain()

    async with _server(endless) as url, _client(url, max_response_bytes=1 << 20) as client:
        started = time.monotonic()
        with pytest.raises(UnexpectedAnswerError) as caught:
            await client.get_secret("fr-par", SECRET_ID)
    assert time.monotonic() - started < 10.0
    assert "larger than 1 MiB" in caught.value.message
    assert "unexpected answer from the API" in caught.value.message


async def test_a_declared_huge_answer_is_refused_before_reading() -> None:
    async def declared(_: int, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, {"Content-Length": str(300 << 20)}) + b"{")
        await writer.drain()
        await asyncio.sleep(30)

    async with _server(declared) as url, _client(url) as client:
        started = time.monotonic()
        with pytest.raises(UnexpectedAnswerError, match="larger than 16 MiB"):
            await client.get_secret("fr-par", SECRET_ID)
    assert time.monotonic() - started < 5.0


@pytest.mark.parametrize(
    ("changes", "field", "why"),
    [
        ({"tags": "not-a-list"}, "tags", "expected a list of strings, got a string"),
        ({"protected": "false"}, "protected", "expected a boolean, got a string"),
        ({"created_at": 12}, "created_at", "expected an RFC 3339 timestamp, got a number"),
        ({"version_count": {"n": 1}}, "version_count", "expected an integer, got an object"),
        ({"ephemeral_policy": ["x"]}, "ephemeral_policy", "expected an object, got a list"),
        ({"description": ["x"]}, "description", "expected a string, got a list"),
        ({"name": {"x": 1}}, "name", "expected a string, got an object"),
        ({"id": 7}, "id", "expected a string, got a number"),
        (
            {"ephemeral_policy": {"expires_once_accessed": "yes"}},
            "ephemeral_policy.expires_once_accessed",
            "expected a boolean, got a string",
        ),
    ],
)
async def test_a_field_of_the_wrong_json_type_is_named(
    changes: dict[str, Any], field: str, why: str
) -> None:
    async def wrong(_: int, writer: asyncio.StreamWriter) -> None:
        await _json(writer, _secret(**changes))

    async with _server(wrong) as url, _client(url) as client:
        with pytest.raises(UnexpectedAnswerError) as caught:
            await client.get_secret("fr-par", SECRET_ID)
    assert caught.value.message == (
        f"get_secret: unexpected answer from the API: field {field}: {why}"
    )


async def test_list_items_that_are_not_objects_are_named() -> None:
    async def wrong(_: int, writer: asyncio.StreamWriter) -> None:
        await _json(writer, {"secrets": ["x"], "total_count": 1})

    async with _server(wrong) as url, _client(url) as client:
        with pytest.raises(UnexpectedAnswerError, match="expected an object, got a string"):
            _ = [s async for s in client.list_secrets("fr-par")]


async def test_bad_base64_in_an_access_answer_says_so() -> None:
    async def bad(_: int, writer: asyncio.StreamWriter) -> None:
        body = {"secret_id": SECRET_ID, "revision": 1, "data": "not base64!", "data_crc32": None}
        await _json(writer, body)

    async with _server(bad) as url, _client(url) as client:
        with pytest.raises(UnexpectedAnswerError) as caught:
            await client.access_version("fr-par", SECRET_ID, 1)
    assert "field data: is not valid base64" in caught.value.message
    assert "not base64!" not in caught.value.message  # never the value


@pytest.mark.parametrize("form", ["seconds", "http-date"])
async def test_retry_after_is_honoured_over_http(form: str) -> None:
    async def throttle(number: int, writer: asyncio.StreamWriter) -> None:
        if number == 1:
            value = "1" if form == "seconds" else formatdate(time.time() + 2, usegmt=True)
            writer.write(_head(429, {"Retry-After": value, "Content-Length": "0"}))
            await writer.drain()
        else:
            await _json(writer, _secret())

    async with _server(throttle) as url, _client(url, max_retries=2) as client:
        started = time.monotonic()
        secret = await client.get_secret("fr-par", SECRET_ID)
        elapsed = time.monotonic() - started
    assert secret.id == SECRET_ID
    # An HTTP date has a one-second resolution: "in two seconds" is at least one from now.
    assert 0.95 <= elapsed < 5.0
    assert client.stats.rate_limited == 1 and client.limiter.decreases == 1
