"""ApiUrls builds the URL httpx's parser builds from the whole text, or lets httpx parse it."""

from __future__ import annotations

import httpx
import pytest

from core.scaleway.urls import ApiUrls

PATHS = [
    "/secret-manager/v1beta1/regions/fr-par/secrets/0b6f3c1e-5a2d-4e8f-9c7b-1d2e3f4a5b6c/versions/1/access",
    "/account/v3/projects",
    "/iam/v1alpha1/api-keys/SCWXXXXXXXXXXXXXXXXX",
    "/a/%2F%20b/c",
    "/a/./b",  # a dot segment: httpx removes it
    "/a/../b",
    "/a/.hidden",
    "/a/%2f",  # a lower-case escape
    "/a/é",
    "/a/b c",
    "/a/{x}",
    "/a/%zz",
    "/a?b",
    "/a#b",
]
QUERIES = [
    None,
    "",
    "project_id=1&page=2&page_size=100",
    "name=a+b&path=%2Fx%2Fy",
    "a=%C3%A9",
    "x=y#z",
    "a=b c",
]
API_URLS = [
    "http://127.0.0.1:43567",
    "https://api.scaleway.com",
    "https://API.Scaleway.com:443",
    "http://[::1]:8080",
    "http://localhost:8080/prefix",
    "https://api.scaleway.com/",
]


@pytest.mark.parametrize("api_url", API_URLS)
def test_the_url_is_the_one_httpx_parses(api_url: str) -> None:
    urls = ApiUrls(api_url)
    for path in PATHS:
        for query in QUERIES:
            text = api_url + path + ("" if query is None else "?" + query)
            try:
                expected = httpx.URL(text)
            except httpx.InvalidURL:
                with pytest.raises(httpx.InvalidURL):
                    urls.url(path, query)
                continue
            got = urls.url(path, query)
            assert got == expected, text
            assert (got.raw_path, got.netloc, got.scheme, got.host, got.port) == (
                expected.raw_path,
                expected.netloc,
                expected.scheme,
                expected.host,
                expected.port,
            ), text
            assert got.query == expected.query and got.fragment == expected.fragment


def test_the_shortcut_is_taken_for_the_clients_own_urls() -> None:
    assert ApiUrls("https://api.scaleway.com")._fast
    assert ApiUrls("http://127.0.0.1:43567")._fast
    assert not ApiUrls("http://localhost:8080/prefix")._fast  # a path prefix: parsed by httpx
