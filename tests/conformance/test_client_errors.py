"""Our client against the emulator over real HTTP: every error the API can answer, typed.

401 for unknown and malformed keys; 403 naming the exact permission set each operation needs,
for a key holding every other set; 403 outside a key's projects; 400/404/412 shapes; and
transport failures (nothing listening, timeouts) as ``TransportError``.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from core.emulator import EmulatorApp, ThreadedServer, demo_state
from core.scaleway.client import ScalewayClient
from core.scaleway.endpoints import endpoint
from core.scaleway.errors import (
    AuthenticationError,
    InvalidArgumentsError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    TransportError,
)
from core.scaleway.permissions import REQUIRED_SET, Operation
from tests.scaleway.emulated import World, install_world, unique

REGION = "fr-par"
MISSING_ID = "00000000-0000-4000-8000-000000000000"
SOME_ACCESS_KEY = "SCWXXXXXXXXXXXXXXXXX"


@pytest.fixture
def world(emulator_server: Any, emulator_url: str, conformance_config: Any) -> World:
    return install_world(emulator_server.app, emulator_url, conformance_config)


@pytest.fixture
async def fixture_secret(world: World) -> tuple[str, str]:
    """A secret (id, name) under /errors with one enabled version, made by the admin key."""
    async with world.client() as admin:
        secret = await admin.create_secret(REGION, name=unique(), path="/errors")
        await admin.create_version(REGION, secret.id, b"value")
    return secret.id, secret.name


Call = Callable[[ScalewayClient], Awaitable[Any]]


def _calls(world: World, secret_id: str, name: str) -> dict[Operation, Call]:
    """One representative call per operation, all aimed at ``secret_id``'s project."""

    async def drain(it: Any) -> list[Any]:
        return [x async for x in it]

    return {
        Operation.LIST_SECRETS: lambda c: drain(c.list_secrets(REGION)),
        Operation.BROWSE_SECRETS: lambda c: drain(c.browse_secrets(REGION, prefix="/")),
        Operation.GET_SECRET: lambda c: c.get_secret(REGION, secret_id),
        Operation.LIST_VERSIONS: lambda c: drain(c.list_versions(REGION, secret_id)),
        Operation.GET_VERSION: lambda c: c.get_version(REGION, secret_id, 1),
        Operation.LIST_TAGS: lambda c: drain(c.list_tags(REGION)),
        Operation.LIST_SECRET_TYPES: lambda c: drain(c.list_secret_types(REGION)),
        Operation.ACCESS_VERSION: lambda c: c.access_version(REGION, secret_id, 1),
        Operation.ACCESS_VERSION_BY_PATH: lambda c: c.access_version_by_path(
            REGION, secret_path="/errors", secret_name=name
        ),
        Operation.CREATE_SECRET: lambda c: c.create_secret(REGION, name=unique()),
        Operation.CREATE_VERSION: lambda c: c.create_version(
            REGION, secret_id, b"v", known_latest_revision=1
        ),
        Operation.UPDATE_SECRET: lambda c: c.update_secret(REGION, secret_id, description="x"),
        Operation.UPDATE_VERSION: lambda c: c.update_version(REGION, secret_id, 1, description="x"),
        Operation.PROTECT_SECRET: lambda c: c.protect_secret(REGION, secret_id),
        Operation.UNPROTECT_SECRET: lambda c: c.unprotect_secret(REGION, secret_id),
        Operation.ENABLE_VERSION: lambda c: c.enable_version(REGION, secret_id, 1),
        Operation.DISABLE_VERSION: lambda c: c.disable_version(REGION, secret_id, 1),
        Operation.ADD_SECRET_OWNER: lambda c: c.add_secret_owner(
            REGION, secret_id, product="s2s_vpn"
        ),
        Operation.DELETE_SECRET: lambda c: c.delete_secret(REGION, secret_id),
        Operation.DELETE_VERSION: lambda c: c.delete_version(REGION, secret_id, 1),
        Operation.RESTORE_SECRET: lambda c: c.restore_secret(REGION, secret_id),
        Operation.RESTORE_VERSION: lambda c: c.restore_version(REGION, secret_id, 1),
        Operation.LIST_PROJECTS: lambda c: drain(c.list_projects()),
        Operation.GET_PROJECT: lambda c: c.get_project(world.project_id),
        Operation.GET_API_KEY: lambda c: c.get_api_key(SOME_ACCESS_KEY),
    }


def _skip_unless_served(world: World, operation: Operation) -> None:
    """Skip an operation this client or this emulator does not have yet.

    ``get_api_key`` lands in the client and the emulator on two branches; until both are
    there its probes are skipped rather than failed.
    """
    if operation is not Operation.GET_API_KEY:
        return
    if not hasattr(ScalewayClient, "get_api_key"):
        pytest.skip("the client has no get_api_key yet")
    answer = httpx.get(
        world.url + endpoint(operation).url(access_key=SOME_ACCESS_KEY),
        headers={"X-Auth-Token": world.admin_key},
        timeout=10.0,
    )
    if answer.status_code == 404 and "resource" not in answer.text:
        pytest.skip("the emulator does not serve the IAM API yet")


def test_every_operation_has_a_probe() -> None:
    """The probe table covers the whole IAM table, so no operation escapes the 403 test."""
    dummy = World(
        url="http://unused",
        app=None,  # type: ignore[arg-type]
        organization_id=MISSING_ID,
        project_id=MISSING_ID,
        other_project_id=MISSING_ID,
        admin_key=MISSING_ID,
        scoped_key=MISSING_ID,
    )
    assert set(_calls(dummy, MISSING_ID, "name")) == set(REQUIRED_SET)


@pytest.mark.parametrize("operation", sorted(REQUIRED_SET, key=str))
async def test_403_names_the_missing_permission_set(
    world: World, fixture_secret: tuple[str, str], operation: Operation
) -> None:
    _skip_unless_served(world, operation)
    needed = str(REQUIRED_SET[operation])
    secret_id, name = fixture_secret
    call = _calls(world, secret_id, name)[operation]
    async with world.client(world.lacking[needed], max_retries=0) as client:
        with pytest.raises(PermissionDeniedError) as denied:
            await call(client)
    err = denied.value
    assert err.status_code == 403
    assert err.operation == operation
    assert err.permission_set == needed
    assert needed in err.message and needed in (err.hint or "")
    assert err.body.get("type") == "permissions_denied"


async def test_each_permission_set_alone_is_enough(
    world: World, fixture_secret: tuple[str, str]
) -> None:
    """The other side of the table: a key holding all sets passes every operation.

    (``get_api_key`` needs an IAM set the admin key does not hold: see test_client_endpoints.)
    """
    secret_id, name = fixture_secret
    calls = _calls(world, secret_id, name)
    skipped = (Operation.DELETE_SECRET, Operation.DELETE_VERSION, Operation.GET_API_KEY)
    order = [op for op in calls if op not in skipped]
    async with world.client() as admin:
        for op in order:
            await calls[op](admin)
        await calls[Operation.DELETE_VERSION](admin)
        await calls[Operation.DELETE_SECRET](admin)


async def test_401_unknown_key(world: World) -> None:
    async with world.client(str(uuid.uuid4()), max_retries=0) as client:
        with pytest.raises(AuthenticationError) as denied:
            await client.get_secret(REGION, MISSING_ID)
    assert denied.value.status_code == 401
    assert denied.value.body["reason"] == "not_found"
    assert "SCW_SECRET_KEY" in (denied.value.hint or "")


async def test_401_malformed_key(world: World) -> None:
    async with world.client("not-a-uuid", max_retries=0) as client:
        with pytest.raises(AuthenticationError) as denied:
            _ = [p async for p in client.list_projects()]
    assert denied.value.body["reason"] == "invalid_argument"


async def test_project_scoped_key(world: World) -> None:
    async with world.client(world.scoped_key, default_project_id=world.other_project_id) as scoped:
        secret = await scoped.create_secret(REGION, name=unique())
        assert secret.project_id == world.other_project_id
        with pytest.raises(PermissionDeniedError):
            await scoped.create_secret(REGION, name=unique(), project_id=world.project_id)
        with pytest.raises(PermissionDeniedError) as projects:
            _ = [p async for p in scoped.list_projects()]
        assert projects.value.permission_set == "ProjectReadOnly"
        assert "organization" in (projects.value.hint or "")


async def test_not_found_and_bad_ids(world: World, fixture_secret: tuple[str, str]) -> None:
    secret_id, name = fixture_secret
    async with world.client(max_retries=0) as client:
        with pytest.raises(NotFoundError) as missing:
            await client.get_secret(REGION, MISSING_ID)
        assert missing.value.resource == "secret" and missing.value.resource_id == MISSING_ID
        with pytest.raises(NotFoundError):
            await client.get_version(REGION, secret_id, 99)
        with pytest.raises(NotFoundError) as by_path:
            await client.access_version_by_path(
                REGION, secret_path="/errors", secret_name=name + "-nope"
            )
        assert name not in str(by_path.value)
        with pytest.raises(InvalidArgumentsError) as bad:
            await client.get_secret(REGION, "not-a-uuid")
        assert bad.value.status_code == 400
        assert [d["argument_name"] for d in bad.value.details] == ["secret_id"]
        with pytest.raises(InvalidArgumentsError) as region:
            await client.get_secret("xx-xxx", secret_id)
        assert region.value.status_code == 400  # well-formed but unknown: the API says so


async def test_precondition_failed_on_scheduled_secret(world: World) -> None:
    async with world.client(max_retries=0) as client:
        secret = await client.create_secret(REGION, name=unique())
        await client.create_version(REGION, secret.id, b"v")
        await client.delete_secret(REGION, secret.id)
        with pytest.raises(PreconditionFailedError) as scheduled:
            await client.access_version(REGION, secret.id, "latest")
        assert scheduled.value.precondition == "resource_not_usable"
        with pytest.raises(PreconditionFailedError):
            await client.create_version(REGION, secret.id, b"w")
        await client.restore_secret(REGION, secret.id)
        assert (await client.access_version(REGION, secret.id, "latest")).data == b"v"


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_refused_is_a_transport_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    async with ScalewayClient(
        str(uuid.uuid4()), api_url=url, max_retries=2, backoff_base=0.001, backoff_max=0.01
    ) as client:
        with pytest.raises(TransportError) as failed:
            await client.get_secret(REGION, MISSING_ID)
    err = failed.value
    assert url in err.message and "SCW_API_URL" in (err.hint or "")
    assert err.status_code is None and err.operation == Operation.GET_SECRET
    assert client.stats.requests == 3 and client.stats.transport_errors == 3


async def test_unresolvable_host_is_a_transport_error() -> None:
    async with ScalewayClient(
        str(uuid.uuid4()), api_url="http://does-not-exist.invalid", max_retries=0
    ) as client:
        with pytest.raises(TransportError) as failed:
            _ = [p async for p in client.list_projects()]
    assert "SCW_API_URL" in (failed.value.hint or "")


@pytest.fixture
def slow_server() -> Iterator[ThreadedServer]:
    server = ThreadedServer(EmulatorApp(demo_state(), latency_ms=400))
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_timeout_is_a_transport_error(slow_server: ThreadedServer) -> None:
    from core.emulator import demo

    async with ScalewayClient(
        demo.DEMO_SECRET_KEY,
        api_url=slow_server.url,
        timeout=0.05,
        max_retries=1,
        backoff_base=0.001,
    ) as client:
        with pytest.raises(TransportError) as failed:
            await client.get_secret(REGION, MISSING_ID)
    assert "timeout" in (failed.value.hint or "")
    assert client.stats.retries == 1


async def test_configured_keys_of_the_conformance_world(
    world: World, conformance_config: Any, fixture_secret: tuple[str, str]
) -> None:
    """The shared config's keys: expired → 401 expired; no sets → 403; read-only → no data."""
    secret_id, _ = fixture_secret
    expired = conformance_config.key("expired").secret_key
    async with world.client(expired, max_retries=0) as client:
        with pytest.raises(AuthenticationError) as old:
            await client.get_secret(REGION, secret_id)
    assert old.value.body["reason"] == "expired"

    nothing = conformance_config.key("no_permissions").secret_key
    async with world.client(nothing, max_retries=0) as client:
        with pytest.raises(PermissionDeniedError) as none:
            await client.get_secret(REGION, secret_id)
    assert none.value.permission_set == "SecretManagerReadOnly"

    readonly = conformance_config.key("readonly").secret_key
    async with world.client(readonly, max_retries=0) as client:
        assert (await client.get_secret(REGION, secret_id)).id == secret_id
        with pytest.raises(PermissionDeniedError) as data:
            await client.access_version(REGION, secret_id, "latest")
    assert data.value.permission_set == "SecretManagerSecretAccess"

    no_access = conformance_config.key("no_access").secret_key
    async with world.client(no_access, max_retries=0) as client:
        versions = [v async for v in client.list_versions(REGION, secret_id)]
        assert versions
        with pytest.raises(PermissionDeniedError):
            await client.access_version(REGION, secret_id, versions[0].revision)
