"""The sorted list index (issue 10): pages read from it are exactly the pages of a full
filter-and-sort, in every order, after every kind of change."""

from __future__ import annotations

import random

import httpx
import pytest

from core.emulator import EmulatorApp
from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID
from core.emulator.state import SecretState, sort_by
from tests.emulator.conftest import SM, ok

ORDERS = (
    "name_asc",
    "name_desc",
    "created_at_asc",
    "created_at_desc",
    "updated_at_asc",
    "updated_at_desc",
)


def _expected(app: EmulatorApp, project: str, scheduled: bool, order: str) -> list[str]:
    items: list[SecretState] = [
        s
        for s in app.state.secrets["fr-par"].values()
        if s.project_id == project and s.scheduled_for_deletion == scheduled
    ]
    sort_by(items, order)
    return [s.id for s in items]


async def _pages(client: httpx.AsyncClient, order: str, scheduled: bool, size: int) -> list[str]:
    ids: list[str] = []
    page = 1
    while True:
        body = ok(
            await client.get(
                f"{SM}/secrets",
                params={
                    "project_id": DEMO_PRODUCTION_PROJECT_ID,
                    "order_by": order,
                    "page": page,
                    "page_size": size,
                    "scheduled_for_deletion": str(scheduled).lower(),
                },
            )
        )
        ids += [s["id"] for s in body["secrets"]]
        if not body["secrets"]:
            assert len(ids) == body["total_count"]
            return ids
        page += 1


async def _check(app: EmulatorApp, client: httpx.AsyncClient) -> None:
    for order in ORDERS:
        for scheduled in (False, True):
            want = _expected(app, DEMO_PRODUCTION_PROJECT_ID, scheduled, order)
            assert await _pages(client, order, scheduled, 3) == want, (order, scheduled)


@pytest.mark.parametrize("seed", [1, 2])
async def test_pages_follow_every_change(
    app: EmulatorApp, client: httpx.AsyncClient, seed: int
) -> None:
    rng = random.Random(seed)
    await _check(app, client)
    created: list[str] = []
    for n in range(12):
        body = ok(
            await client.post(
                f"{SM}/secrets",
                json={"project_id": DEMO_PRODUCTION_PROJECT_ID, "name": f"idx-{seed}-{n:02d}"},
            )
        )
        created.append(body["id"])
        await _check(app, client)  # interleaved: a page after each create
    for secret_id in rng.sample(created, 4):
        ok(await client.patch(f"{SM}/secrets/{secret_id}", json={"name": f"z-{secret_id}"}))
    await _check(app, client)
    for secret_id in rng.sample(created, 5):
        assert (await client.delete(f"{SM}/secrets/{secret_id}")).status_code == 204
    await _check(app, client)
    scheduled = [s for s in created if app.state.secrets["fr-par"][s].scheduled_for_deletion]
    ok(await client.post(f"{SM}/secrets/{scheduled[0]}/restore", json={}))
    ok(await client.post(f"{SM}/secrets/{created[0]}/versions", json={"data": "eA=="}))
    await _check(app, client)


async def test_filters_keep_the_index_order(app: EmulatorApp, client: httpx.AsyncClient) -> None:
    body = ok(
        await client.get(
            f"{SM}/secrets",
            params={"project_id": DEMO_PRODUCTION_PROJECT_ID, "order_by": "created_at_desc"},
        )
    )
    tagged = ok(
        await client.get(
            f"{SM}/secrets",
            params={
                "project_id": DEMO_PRODUCTION_PROJECT_ID,
                "order_by": "created_at_desc",
                "tags": body["secrets"][0]["tags"][:1] or None,
            },
        )
    )
    every = [s["id"] for s in body["secrets"]]
    subset = [s["id"] for s in tagged["secrets"]]
    assert subset == [i for i in every if i in set(subset)]
