"""Property tests (modest example counts): pagination is exact for any page size, payloads
round-trip byte for byte with their CRC, and validation never lets a bad typed payload in."""

from __future__ import annotations

import asyncio
import base64
import json
import zlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.emulator import EmulatorApp, demo_state
from core.emulator.demo import DEMO_ORGANIZATION_ID, DEMO_PRODUCTION_PROJECT_ID
from core.emulator.validation import validate_payload
from tests.emulator.conftest import SM, asgi_client

PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


async def _pages(
    app: EmulatorApp, url: str, params: dict[str, Any], key: str, size: int
) -> tuple[list[Any], set[int]]:
    items: list[Any] = []
    totals: set[int] = set()
    async with asgi_client(app) as client:
        for page in range(1, 200):  # bounded
            body = (
                await client.get(url, params={**params, "page": page, "page_size": size})
            ).json()
            totals.add(body["total_count"])
            if not body[key]:
                break
            assert len(body[key]) <= size
            items.extend(body[key])
    return items, totals


@PROPS
@given(
    size=st.integers(min_value=1, max_value=100),
    order=st.sampled_from(["name_asc", "name_desc", "created_at_asc", "updated_at_desc"]),
)
def test_secret_pages_concatenate_to_the_full_list(size: int, order: str) -> None:
    app = EmulatorApp(demo_state())
    params = {"organization_id": DEMO_ORGANIZATION_ID, "order_by": order}
    paged, totals = asyncio.run(_pages(app, f"{SM}/secrets", params, "secrets", size))
    everything, _ = asyncio.run(_pages(app, f"{SM}/secrets", params, "secrets", 100))
    assert totals == {len(everything)}
    assert [s["id"] for s in paged] == [s["id"] for s in everything]
    assert len({s["id"] for s in paged}) == len(paged)


@PROPS
@given(size=st.integers(min_value=1, max_value=10))
def test_project_and_tag_pages(size: int) -> None:
    app = EmulatorApp(demo_state())
    projects, totals = asyncio.run(_pages(app, "/account/v3/projects", {}, "projects", size))
    assert totals == {4} and len(projects) == 4
    tags, tag_totals = asyncio.run(
        _pages(app, f"{SM}/tags", {"project_id": DEMO_PRODUCTION_PROJECT_ID}, "tags", size)
    )
    assert tag_totals == {len(tags)} and tags == sorted(set(tags))


async def _round_trip(
    app: EmulatorApp, secret_id: str, payload: bytes, with_crc: bool
) -> dict[str, Any]:
    async with asgi_client(app) as client:
        body: dict[str, Any] = {"data": base64.b64encode(payload).decode()}
        if with_crc:
            body["data_crc32"] = zlib.crc32(payload)
        r = await client.post(f"{SM}/secrets/{secret_id}/versions", json=body)
        assert r.status_code == 200, r.text
        revision = r.json()["revision"]
        got: dict[str, Any] = (
            await client.get(f"{SM}/secrets/{secret_id}/versions/{revision}/access")
        ).json()
        return got


@settings(max_examples=30, deadline=None)
@given(payload=st.binary(min_size=0, max_size=4096), with_crc=st.booleans())
def test_opaque_payloads_round_trip(payload: bytes, with_crc: bool) -> None:
    app = EmulatorApp(demo_state())
    secret = next(
        s
        for s in app.state.iter_secrets("fr-par")
        if s.type == "opaque" and not s.scheduled_for_deletion and s.ephemeral_policy is None
    )
    secret.versions = secret.versions[:1]  # stay under the version quota
    got = asyncio.run(_round_trip(app, secret.id, payload, with_crc))
    assert base64.b64decode(got["data"]) == payload
    assert got["data_crc32"] == (zlib.crc32(payload) if with_crc else None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(
    obj=st.dictionaries(st.text(alphabet="abcxyz_-.0123 éü", max_size=8), json_values, max_size=5)
)
def test_key_value_accepts_exactly_flat_string_objects(obj: dict[str, Any]) -> None:
    problem = validate_payload("key_value", json.dumps(obj).encode())
    flat = all(isinstance(v, str) for v in obj.values())
    assert (problem is None) == flat
    if problem is not None:
        assert problem.endswith("\n") and all(
            line.startswith("- ") for line in problem.splitlines()
        )
