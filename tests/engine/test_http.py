"""The lean HTTP/1.1 transport: keep-alive, stale connections, errors, framing."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from core.emulator import EmulatorApp, ThreadedServer, parse_config
from core.engine.http import LeanTransport, engine_transport
from core.scaleway.client import ScalewayClient
from core.scaleway.errors import NotFoundError, TransportError
from tests.engine.helpers import FULL_SECRET, ORG, SOURCE, emulator_config

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return head + body


async def serve(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


async def test_against_the_emulator_with_the_client() -> None:
    app = EmulatorApp(parse_config(emulator_config()))
    with ThreadedServer(app) as server:
        transport = LeanTransport()
        async with ScalewayClient(
            FULL_SECRET,
            api_url=server.url,
            organization_id=ORG,
            default_project_id=SOURCE,
            transport=transport,
        ) as client:
            secrets = [s async for s in client.list_secrets("fr-par")]
            assert len(secrets) == 12
            created = await client.create_secret("fr-par", name="via-lean", path="/t")
            version = await client.create_version("fr-par", created.id, b"\x00\xffdata" * 1000)
            accessed = await client.access_version("fr-par", created.id, version.revision)
            assert accessed.data == b"\x00\xffdata" * 1000
            await client.delete_version("fr-par", created.id, version.revision)  # 204, empty
            with pytest.raises(NotFoundError):
                await client.get_secret("fr-par", "00000000-0000-4000-8000-000000000000")
            await asyncio.gather(*(client.get_secret("fr-par", s.id) for s in secrets))
        # Keep-alive: a handful of connections for all of that.
        assert 1 <= transport.connections_opened <= 16


async def test_a_dead_idle_connection_is_replaced_for_get_and_ambiguous_for_post() -> None:
    async def once_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(OK)  # keep-alive by default in HTTP/1.1 ...
        await writer.drain()
        writer.close()  # ... but the server drops the connection anyway

    server, url = await serve(once_then_close)
    async with server:
        transport = LeanTransport()
        async with httpx.AsyncClient(transport=transport, base_url=url) as http:
            assert (await http.get("/a")).status_code == 200
            await asyncio.sleep(0.05)  # the FIN arrives: the idle connection is dropped
            assert (await http.get("/b")).status_code == 200
            assert transport.connections_opened == 2  # the dead one was not reused


async def test_reused_connection_dying_unnoticed() -> None:
    requests_seen = 0

    async def answer_then_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests_seen
        await _read_request(reader)
        requests_seen += 1
        writer.write(OK)
        await writer.drain()
        # Wait for the next request on this connection, then hang up without answering.
        try:
            await _read_request(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        requests_seen += 1
        writer.close()

    server, url = await serve(answer_then_reset)
    async with server:
        transport = LeanTransport()
        async with httpx.AsyncClient(transport=transport, base_url=url) as http:
            assert (await http.get("/a")).status_code == 200
            assert (await http.get("/b")).status_code == 200  # retried on a fresh connection
            assert transport.connections_opened == 2
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post("/c", json={"x": 1})  # not retried: it may have been applied


async def test_errors_map_to_httpx_exceptions() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)

    server, url = await serve(silent)
    async with (
        server,
        httpx.AsyncClient(transport=LeanTransport(), base_url=url, timeout=0.2) as http,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/slow")
    server2, url2 = await serve(silent)
    server2.close()
    await server2.wait_closed()
    async with httpx.AsyncClient(transport=LeanTransport(), base_url=url2) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/nobody")
    async with ScalewayClient(
        FULL_SECRET, api_url=url2, max_retries=1, backoff_base=0.001, transport=LeanTransport()
    ) as client:
        with pytest.raises(TransportError):
            await client.get_secret("fr-par", "00000000-0000-4000-8000-000000000000")


async def test_chunked_answers_and_connection_close() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await _read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return

    server, url = await serve(chunked)
    async with server:
        transport = LeanTransport()
        async with httpx.AsyncClient(transport=transport, base_url=url) as http:
            for _ in range(3):
                response = await http.get("/")
                assert response.content == b"hello world"
        assert transport.connections_opened == 3  # "Connection: close" is honoured


def test_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(engine_transport(), LeanTransport)
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert engine_transport() is None  # httpx handles proxies
    monkeypatch.delenv("https_proxy")
    monkeypatch.setenv("SECRET_KLOSET_HTTP", "httpx")
    assert engine_transport() is None


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, made with ``cryptography``."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_https_verified_against_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_path, key_path = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_path, key_path)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(OK)
        await writer.drain()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    async with server:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        async with httpx.AsyncClient(transport=LeanTransport()) as http:
            with pytest.raises(httpx.ConnectError):  # not trusted by default (certifi)
                await http.get(f"https://localhost:{port}/")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
        async with httpx.AsyncClient(transport=LeanTransport()) as http:
            assert (await http.get(f"https://localhost:{port}/")).json() == {}
