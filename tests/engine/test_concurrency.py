"""Backup starts as many secrets at once as the client's ceiling allows (the client's adaptive
limit paces the requests): at 100 ms a request, 32 secrets at a time capped the requests in
flight near 90 whatever the limiter allowed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from core.emulator import EmulatorApp, parse_config
from core.engine.backup import BackupOptions, run_backup
from core.engine.concurrency import secrets_at_once
from core.scaleway.models import SecretVersion
from core.store import Store
from tests.engine.conftest import make_client
from tests.engine.helpers import emulator_config, many_secrets

COUNT = 48  # more than the 32 secrets a backup started at once before


async def test_backup_reads_as_many_secrets_at_once_as_the_ceiling_allows(store: Store) -> None:
    app = EmulatorApp(parse_config(emulator_config(many_secrets(COUNT, 1))), seed=1)
    async with make_client(app, concurrency_ceiling=256) as client:  # 256 / 4 = 64 at once
        in_flight = peak = 0
        real = client.list_versions

        async def list_versions(*args: Any, **kwargs: Any) -> AsyncIterator[SecretVersion]:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            for _ in range(COUNT):  # let every secret the backup started reach here
                await asyncio.sleep(0)
            try:
                async for version in real(*args, **kwargs):
                    yield version
            finally:
                in_flight -= 1

        client.list_versions = list_versions  # type: ignore[method-assign]
        result = await run_backup(client, store, BackupOptions(preflight=False))
    assert result.status == "complete"
    assert result.secrets >= COUNT
    assert peak > 32, f"{peak} secrets read at once"


def test_a_client_without_a_ceiling_keeps_the_concurrency_asked() -> None:
    assert secrets_at_once(object(), 32) == 32
    assert secrets_at_once(object(), 8, requests_each=4) == 8


async def test_secrets_at_once_fill_the_ceiling_and_no_more(store: Store) -> None:
    app = EmulatorApp(parse_config(emulator_config(many_secrets(1, 1))), seed=1)
    async with make_client(app, concurrency_ceiling=256) as client:
        assert secrets_at_once(client, 32) == 256
        assert secrets_at_once(client, 32, requests_each=4) == 64
        assert secrets_at_once(client, 100, requests_each=4) == 100
