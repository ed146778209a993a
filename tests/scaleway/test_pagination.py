"""Lists follow pagination to the end, whatever the server does with page sizes and counts."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.scaleway.client import ScalewayClient
from core.scaleway.errors import InvalidArgumentsError
from tests.scaleway.conftest import SECRET_ID, ScriptedApi, ok, secret_json, version_json

SM = "/secret-manager/v1beta1/regions/fr-par"


def paged(total: int, *, cap: int | None = None, count: str = "int", key: str = "secrets"):  # type: ignore[no-untyped-def]
    """A server holding ``total`` items; ``cap`` clamps page_size like a stricter server."""
    pages: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        size = int(request.url.params.get("page_size", "50"))
        if cap is not None:
            size = min(size, cap)
        pages.append(page)
        start = (page - 1) * size
        ids = range(start, min(start + size, total))
        items = [
            secret_json(id=f"s{i}") if key == "secrets" else version_json(total - i) for i in ids
        ]
        body: dict[str, object] = {key: items}
        if count == "int":
            body["total_count"] = total
        elif count == "str":
            body["total_count"] = str(total)
        return ok(body)

    return answer, pages


@pytest.mark.parametrize(
    ("total", "requests"), [(0, 1), (1, 1), (99, 1), (100, 1), (101, 2), (250, 3)]
)
async def test_follows_pages_to_the_end(
    api: ScriptedApi, client: ScalewayClient, total: int, requests: int
) -> None:
    answer, pages = paged(total)
    api.on("GET", f"{SM}/secrets", answer)
    ids = [s.id async for s in client.list_secrets("fr-par")]
    assert ids == [f"s{i}" for i in range(total)]
    assert pages == list(range(1, requests + 1))


async def test_server_capping_page_size_loses_nothing(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    answer, pages = paged(120, cap=50)
    api.on("GET", f"{SM}/secrets", answer)
    ids = [s.id async for s in client.list_secrets("fr-par")]
    assert len(ids) == 120 and len(set(ids)) == 120
    assert pages == [1, 2, 3]


async def test_total_count_as_string_is_tolerated(api: ScriptedApi, client: ScalewayClient) -> None:
    answer, pages = paged(150, count="str")
    api.on("GET", f"{SM}/secrets", answer)
    assert len([s async for s in client.list_secrets("fr-par")]) == 150
    assert pages == [1, 2]


async def test_without_total_count_stops_on_short_page(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    answer, pages = paged(230, count="none")
    api.on("GET", f"{SM}/secrets", answer)
    assert len([s async for s in client.list_secrets("fr-par")]) == 230
    assert pages == [1, 2, 3]


async def test_without_total_count_exact_multiple_ends_on_empty_page(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    answer, pages = paged(200, count="none")
    api.on("GET", f"{SM}/secrets", answer)
    assert len([s async for s in client.list_secrets("fr-par")]) == 200
    assert pages == [1, 2, 3]


async def test_overstated_total_count_ends_on_empty_page(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [secret_json(id="only")] if page == 1 else []
        return ok({"secrets": items, "total_count": 999})

    api.on("GET", f"{SM}/secrets", answer)
    assert [s.id async for s in client.list_secrets("fr-par")] == ["only"]
    assert len(api.requests) == 2


async def test_versions_pages(api: ScriptedApi, client: ScalewayClient) -> None:
    answer, pages = paged(25, key="versions")
    api.on("GET", f"{SM}/secrets/{SECRET_ID}/versions", answer)
    revisions = [
        v.revision
        async for v in client.list_versions("fr-par", SECRET_ID, page_size=10, status=["enabled"])
    ]
    assert revisions == list(range(25, 0, -1))
    assert pages == [1, 2, 3]
    assert api.requests[0].url.params.get_list("status") == ["enabled"]


async def test_page_size_is_checked(client: ScalewayClient) -> None:
    with pytest.raises(InvalidArgumentsError):
        _ = [s async for s in client.list_secrets("fr-par", page_size=0)]


async def test_lists_are_lazy(api: ScriptedApi, client: ScalewayClient) -> None:
    answer, pages = paged(500)
    api.on("GET", f"{SM}/secrets", answer)
    async for _ in client.list_secrets("fr-par"):
        break
    assert pages == [1]


@settings(max_examples=40, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=260),
    page_size=st.integers(min_value=1, max_value=100),
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=100)),
    count=st.sampled_from(["int", "str", "none"]),
)
async def test_every_item_exactly_once(
    total: int, page_size: int, cap: int | None, count: str
) -> None:
    """Whatever the server does with page sizes and counts, each item comes out once, in order.

    (Without a count, a server that silently caps the page size is indistinguishable from the
    end of the list; that one combination is the only one left out.)
    """
    if count == "none" and cap is not None and cap < page_size:
        cap = None
    api = ScriptedApi()
    answer, pages = paged(total, cap=cap, count=count)
    api.on("GET", f"{SM}/secrets", answer)
    client = ScalewayClient(
        secret_key="11111111-2222-3333-4444-555555555555",
        api_url="https://api.example.test",
        default_project_id="6f1e7c8a-0d6b-4e0a-9a52-3c1d2f3e4a5b",
        transport=httpx.MockTransport(api.handler),
    )
    ids = [s.id async for s in client.list_secrets("fr-par", page_size=page_size)]
    assert ids == [f"s{i}" for i in range(total)]
    assert len(pages) <= total // max(1, min(page_size, cap or page_size)) + 2
