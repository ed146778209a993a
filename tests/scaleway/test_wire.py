"""The client builds each request from the endpoint table: method, path, query names, body."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from core.scaleway.client import ScalewayClient
from core.scaleway.endpoints import ENDPOINTS, Body, Operation
from core.scaleway.models import EphemeralProperties
from tests.scaleway.conftest import PROJECT, SECRET_ID, secret_json, version_json

ACCESS = {"secret_id": SECRET_ID, "revision": 1, "data": "dmFsdWU=", "data_crc32": None}
LISTS = {"secrets": secret_json(), "items": {"name": "f", "folder": {}}, "versions": version_json(),
         "tags": "a", "types": "opaque", "projects": {"id": PROJECT, "name": "p", "organization_id": PROJECT}}  # fmt: skip


def _answer(operation: Operation) -> httpx.Response:
    ep = ENDPOINTS[operation]
    if ep.method == "DELETE":
        return httpx.Response(204)
    if ep.items:
        return httpx.Response(200, json={ep.items: [LISTS[ep.items]], "total_count": 1})
    if "api-keys" in ep.path:
        return httpx.Response(200, json={"access_key": "SCWXXXXXXXXXXXXXXXXX"})
    if ep.path.endswith("/access"):
        return httpx.Response(200, json=ACCESS)
    if "/versions/" in ep.path or operation is Operation.CREATE_VERSION:
        return httpx.Response(200, json=version_json())
    if "projects" in ep.path:
        return httpx.Response(200, json=LISTS["projects"])
    return httpx.Response(200, json=secret_json())


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", path) + "$")


async def _drain(it: AsyncIterator[Any]) -> None:
    async for _ in it:
        pass


R, S = "fr-par", SECRET_ID
CALLS: dict[Operation, Callable[[ScalewayClient], Awaitable[Any]]] = {
    Operation.CREATE_SECRET: lambda c: c.create_secret(R, name="n", tags=["a"]),
    Operation.LIST_SECRETS: lambda c: _drain(c.list_secrets(R, tags=["x"], name="n", path="/p", ephemeral=True, type="opaque", order_by="name_asc", organization_id=PROJECT)),
    Operation.BROWSE_SECRETS: lambda c: _drain(c.browse_secrets(R, tags=["t"], type="opaque", order_by="name_asc")),
    Operation.GET_SECRET: lambda c: c.get_secret(R, S),
    Operation.UPDATE_SECRET: lambda c: c.update_secret(R, S, description="d"),
    Operation.DELETE_SECRET: lambda c: c.delete_secret(R, S),
    Operation.PROTECT_SECRET: lambda c: c.protect_secret(R, S),
    Operation.UNPROTECT_SECRET: lambda c: c.unprotect_secret(R, S),
    Operation.RESTORE_SECRET: lambda c: c.restore_secret(R, S),
    Operation.ADD_SECRET_OWNER: lambda c: c.add_secret_owner(R, S, product="s2s_vpn"),
    Operation.CREATE_VERSION: lambda c: c.create_version(R, S, b"v", known_latest_revision=0),
    Operation.LIST_VERSIONS: lambda c: _drain(c.list_versions(R, S, status=["enabled"])),
    Operation.GET_VERSION: lambda c: c.get_version(R, S, 1),
    Operation.UPDATE_VERSION: lambda c: c.update_version(R, S, 1, ephemeral_properties=EphemeralProperties()),
    Operation.DELETE_VERSION: lambda c: c.delete_version(R, S, 1),
    Operation.ACCESS_VERSION: lambda c: c.access_version(R, S, "latest"),
    Operation.ACCESS_VERSION_BY_PATH: lambda c: c.access_version_by_path(R, secret_path="/", secret_name="n"),
    Operation.ENABLE_VERSION: lambda c: c.enable_version(R, S, 1),
    Operation.DISABLE_VERSION: lambda c: c.disable_version(R, S, 1),
    Operation.RESTORE_VERSION: lambda c: c.restore_version(R, S, 1),
    Operation.LIST_TAGS: lambda c: _drain(c.list_tags(R)),
    Operation.LIST_SECRET_TYPES: lambda c: _drain(c.list_secret_types(R)),
    Operation.LIST_PROJECTS: lambda c: _drain(c.list_projects(name="p", project_ids=["a"], order_by="name_asc")),
    Operation.GET_PROJECT: lambda c: c.get_project(PROJECT),
    Operation.GET_API_KEY: lambda c: c.get_api_key("SCWXXXXXXXXXXXXXXXXX"),
}  # fmt: skip


def test_every_operation_has_a_call() -> None:
    assert set(CALLS) == set(Operation)


@pytest.mark.parametrize("operation", list(Operation))
async def test_request_follows_the_table(operation: Operation) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return _answer(operation)

    ep = ENDPOINTS[operation]
    async with ScalewayClient(
        "11111111-2222-3333-4444-555555555555",
        api_url="https://api.example.test",
        organization_id=PROJECT,
        default_project_id=PROJECT,
        transport=httpx.MockTransport(handler),
    ) as client:
        await CALLS[operation](client)
    assert [r.method for r in sent] == [ep.method]
    (request,) = sent
    assert _template(ep.path).match(request.url.path), request.url.path
    assert {k for k, _ in request.url.params.multi_items()} <= set(ep.query)
    if ep.body is Body.NONE:
        assert request.content == b""
    elif ep.body is Body.EMPTY:
        assert request.content == b"{}"
    else:
        assert request.content.startswith(b"{") and request.content != b"{}"
    assert client.stats.per_operation == {str(operation): 1}
