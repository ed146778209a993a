"""The secret key never shows: not in a repr, a str, an error, or a log record."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from core.errors import ConfigError
from core.scaleway.client import ScalewayClient
from core.scaleway.errors import ScalewayError
from tests.scaleway.conftest import SECRET_ID, SECRET_KEY, ScriptedApi, error, ok, secret_json

SM = "/secret-manager/v1beta1/regions/fr-par"


async def test_key_is_sent_only_as_the_auth_header(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    api.on("GET", f"{SM}/secrets/{SECRET_ID}", ok(secret_json()))
    await client.get_secret("fr-par", SECRET_ID)
    request = api.requests[0]
    assert request.headers["X-Auth-Token"] == SECRET_KEY
    assert SECRET_KEY not in str(request.url)
    assert request.headers["user-agent"].startswith("secret-kloset/")


def test_repr_and_str_hide_the_key(client: ScalewayClient) -> None:
    for text in (
        repr(client),
        str(client),
        f"{client}",
        repr(client._http),
        repr(client._http.auth),
    ):
        assert SECRET_KEY not in text
    assert "hidden" in repr(client)


async def test_errors_and_logs_never_carry_the_key(
    api: ScriptedApi, make_client: Callable[..., ScalewayClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(max_retries=2)
    api.on(
        "GET",
        f"{SM}/secrets/{SECRET_ID}",
        error(429),
        error(500),
        error(401, {"type": "denied_authentication", "reason": "not_found"}),
    )
    api.on("GET", f"{SM}/secrets", httpx.ConnectError("refused"))
    errors: list[ScalewayError] = []
    with pytest.raises(ScalewayError) as first:
        await client.get_secret("fr-par", SECRET_ID)
    errors.append(first.value)
    with pytest.raises(ScalewayError) as second:
        _ = [s async for s in client.list_secrets("fr-par", name="db-password", path="/prod")]
    errors.append(second.value)
    for err in errors:
        for text in (str(err), repr(err), err.message, err.hint or "", repr(err.body)):
            assert SECRET_KEY not in text
    assert caplog.records, "the client logs its retries"
    for record in caplog.records:
        text = record.getMessage()
        assert SECRET_KEY not in text
        assert "db-password" not in text and "/prod" not in text


async def test_httpx_request_logs_lose_their_query_string(
    api: ScriptedApi, client: ScalewayClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    api.on(
        "GET",
        f"{SM}/secrets-by-path/versions/latest/access",
        ok(
            {
                "secret_id": SECRET_ID,
                "revision": 1,
                "data": "",
                "data_crc32": None,
                "type": "opaque",
            }
        ),
    )
    await client.access_version_by_path(
        "fr-par", secret_path="/prod/db", secret_name="root-password"
    )
    messages = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert messages, "httpx logged the request"
    assert all("root-password" not in m and "/prod/db" not in m for m in messages)


def test_malformed_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as err:
        ScalewayClient(secret_key="abc def\n")
    assert "abc def" not in str(err.value)


def test_api_url_from_env_and_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCW_API_URL", "http://127.0.0.1:8421/")
    assert ScalewayClient(secret_key=SECRET_KEY).api_url == "http://127.0.0.1:8421"
    assert (
        ScalewayClient(secret_key=SECRET_KEY, api_url="https://x.test//").api_url
        == "https://x.test"
    )
    monkeypatch.delenv("SCW_API_URL")
    assert ScalewayClient(secret_key=SECRET_KEY).api_url == "https://api.scaleway.com"
    with pytest.raises(ConfigError):
        ScalewayClient(secret_key=SECRET_KEY, api_url="ftp://x")


async def test_context_manager_closes(client: ScalewayClient) -> None:
    async with client as entered:
        assert entered is client
    assert client.closed


@pytest.mark.parametrize("url", ["https://api.scaleway.com", "http://127.0.0.1:8421"])
async def test_tls_verification_is_never_off(url: str) -> None:
    import ssl

    import aiohttp

    from core.scaleway.transport import AiohttpSender, Sender

    async def contexts(client: ScalewayClient) -> list[ssl.SSLContext]:
        sender = client._http._transport
        assert isinstance(sender, Sender)
        # the first requests' pool (httpcore) verifies with the context too
        assert sender.first._pool._ssl_context is sender.verify
        transport = await sender.upgraded()
        assert isinstance(transport, AiohttpSender)
        assert transport.ssl_context is sender.verify
        session = transport._session()  # what the first request will build
        try:
            connector = session.connector
            assert isinstance(connector, aiohttp.TCPConnector)
            assert connector._ssl is transport.ssl_context  # aiohttp verifies with it
        finally:
            await session.close()
        return [transport.ssl_context]

    client = ScalewayClient(secret_key=SECRET_KEY, api_url=url, max_concurrency=20)
    for context in await contexts(client):
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    again = ScalewayClient(secret_key=SECRET_KEY, api_url=url)
    assert (await contexts(again))[0] is (await contexts(client))[0]  # built once per process
