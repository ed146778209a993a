"""A request body is written by msgspec, not by httpx's ``json=`` (json.dumps): the request
must not change by a byte, headers and their order included."""

from __future__ import annotations

import httpx
import pytest

from core.scaleway._calls import build_request

BODIES = [
    {},
    {"name": "n é", "tags": ["t", "x&y"], "protected": False, "path": "/a/b"},
    {"data": "aGVsbG8=", "data_crc32": 907060870, "description": None, "disable_previous": True},
    {"k": 'a"b\\c/\n\r\t\b\f\x00\x1f\x7f \u2028 \U0001f600', "n": [1, -2, True, None, {"x": []}]},
]


@pytest.mark.parametrize("body", BODIES)
async def test_a_body_is_the_request_json_makes(body: dict[str, object]) -> None:
    async with httpx.AsyncClient(headers={"X-Auth-Token": "k", "User-Agent": "ua"}) as http:
        url = httpx.URL("https://api.example/secret-manager/v1beta1/regions/fr-par/secrets")
        ours = build_request(http, "POST", url, body)
        reference = http.build_request("POST", url, json=body)
    assert ours.content == reference.content
    assert ours.headers.raw == reference.headers.raw
    assert ours.method == reference.method and ours.url == reference.url


async def test_no_body_no_content_headers() -> None:
    async with httpx.AsyncClient() as http:
        url = httpx.URL("https://api.example/x")
        ours = build_request(http, "GET", url, None)
        reference = http.build_request("GET", url)
    assert ours.headers.raw == reference.headers.raw
    assert ours.content == b""
