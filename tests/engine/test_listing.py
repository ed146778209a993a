"""Listing a large project: the pages a full first page's count implies are fetched ahead,
concurrently, and still come out complete and in order."""

from __future__ import annotations

import asyncio

import httpx

from core.emulator import EmulatorApp, parse_config
from tests.engine.conftest import make_client
from tests.engine.helpers import SOURCE, emulator_config, many_secrets


class Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.in_flight = 0
        self.most = 0
        self.pages: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        listing = request.url.path.endswith("/secrets") and request.method == "GET"
        if listing:
            self.pages.append(request.url.params["page"])
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.005 if listing else 0)
            return await self.inner.handle_async_request(request)
        finally:
            if listing:
                self.in_flight -= 1


async def test_pages_are_fetched_ahead_and_yielded_in_order() -> None:
    app = EmulatorApp(parse_config(emulator_config(many_secrets(450, 1))))
    counting = Counting(httpx.ASGITransport(app=app))
    async with make_client(app, transport=counting) as client:
        names = [s.name async for s in client.list_secrets("fr-par", project_id=SOURCE)]
    assert len(names) == 450 + 12
    assert names == sorted(names)  # the API's default order, kept across pages
    assert len(set(names)) == len(names)
    assert sorted(counting.pages, key=int) == ["1", "2", "3", "4", "5"]
    assert counting.most > 1  # pages 2-5 were in flight together
