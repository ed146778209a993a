"""In-process fixtures: the emulator app on demo data, reached through ``httpx.ASGITransport``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.emulator import EmulatorApp, demo_state
from core.emulator.demo import DEMO_SECRET_KEY

SM = "/secret-manager/v1beta1/regions/fr-par"


def asgi_client(app: EmulatorApp, token: str | None = DEMO_SECRET_KEY) -> httpx.AsyncClient:
    headers = {"X-Auth-Token": token} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://emulator", headers=headers
    )


@pytest.fixture
def app() -> EmulatorApp:
    return EmulatorApp(demo_state())


@pytest.fixture
async def client(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as c:
        yield c


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None
