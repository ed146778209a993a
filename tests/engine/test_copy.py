"""Copy's apply starts as many secrets at once as the client's ceiling allows, as the
restore's does (the client's adaptive limit bounds the requests in flight)."""

from __future__ import annotations

import asyncio
from typing import Any

from core.emulator import EmulatorApp, parse_config
from core.engine.concurrency import secrets_at_once
from core.engine.copy import run_copy
from core.store import Store
from tests.engine.conftest import make_client
from tests.engine.helpers import SOURCE, TARGET, emulator_config, many_secrets

COUNT = 48  # more than the 32 secrets copy's apply started at once before


async def test_copy_applies_as_many_secrets_at_once_as_the_ceiling_allows(store: Store) -> None:
    app = EmulatorApp(parse_config(emulator_config(many_secrets(COUNT, 1))), seed=1)
    async with make_client(app, concurrency_ceiling=64) as client:
        assert secrets_at_once(client, 32) == 64
        in_flight = peak = 0
        real = client.create_secret

        async def create_secret(*args: Any, **kwargs: Any) -> Any:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            for _ in range(COUNT):  # let every secret the apply started reach here
                await asyncio.sleep(0)
            try:
                return await real(*args, **kwargs)
            finally:
                in_flight -= 1

        client.create_secret = create_secret  # type: ignore[method-assign]
        result = await run_copy(
            client, store, project_id=SOURCE, region="fr-par", to_project=TARGET
        )
    assert result.status == "ok"
    created = sum(1 for a in result.restore.actions if str(a.action) == "create")
    assert created > 32
    assert peak > 32, f"{peak} secrets created at once"
