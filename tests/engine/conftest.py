"""Fixtures for engine tests: the emulator in-process (``httpx.ASGITransport``), a client on
it, and an in-memory store with fast KDF parameters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.emulator import EmulatorApp, parse_config
from core.scaleway.client import ScalewayClient
from core.store import KdfParams, Store
from tests.engine.helpers import FULL_SECRET, ORG, SOURCE, emulator_config


def make_client(app: Any, secret_key: str = FULL_SECRET, **kwargs: Any) -> ScalewayClient:
    options: dict[str, Any] = {
        "api_url": "http://emulator.test",
        "organization_id": ORG,
        "default_project_id": SOURCE,
        "default_region": "fr-par",
        "transport": httpx.ASGITransport(app=app),
        "backoff_base": 0.001,
        "backoff_max": 0.01,
    }
    options.update(kwargs)
    return ScalewayClient(secret_key, **options)


@pytest.fixture
def app() -> EmulatorApp:
    return EmulatorApp(parse_config(emulator_config()), seed=1)


@pytest.fixture
async def client(app: EmulatorApp) -> AsyncIterator[ScalewayClient]:
    async with make_client(app) as c:
        yield c


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    s = await Store.init(
        f"memory://engine-{uuid.uuid4().hex}",
        "test passphrase",
        kdf=KdfParams.for_tests(),
        cache_dir=":memory:",
    )
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture(autouse=True)
def short_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engines pause before their second pass over transient failures; not in tests."""
    import core.engine.backup.pipeline
    import core.engine.restore.apply

    monkeypatch.setattr(core.engine.backup.pipeline, "RETRY_PAUSE", 0.05)
    monkeypatch.setattr(core.engine.restore.apply, "RETRY_PAUSE", 0.05)
