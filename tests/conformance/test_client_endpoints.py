"""Our client against the emulator over real HTTP: every endpoint, happy paths and state rules.

These mirror what the SDK conformance tests check, driven through ``ScalewayClient`` instead,
against the same server (the ``emulator_server`` fixture).
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest

from core.scaleway.errors import (
    AlreadyExistsError,
    InvalidArgumentsError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    QuotaExceededError,
)
from core.scaleway.models import (
    MAX_PAYLOAD_BYTES,
    EphemeralPolicy,
    SecretStatus,
    SecretType,
    VersionStatus,
)
from tests.scaleway.emulated import World, add_key, emulator_serves_iam, install_world, unique

REGION = "fr-par"


@pytest.fixture
def world(emulator_server: Any, emulator_url: str, conformance_config: Any) -> World:
    return install_world(emulator_server.app, emulator_url, conformance_config)


async def test_secret_lifecycle(world: World) -> None:
    name = unique()
    async with world.client() as client:
        created = await client.create_secret(
            REGION,
            name=name,
            path="/conformance/app/",
            tags=["conformance", "db"],
            description="created by the client suite",
            type=SecretType.KEY_VALUE,
        )
        assert created.status == SecretStatus.READY
        assert created.path == "/conformance/app"  # trailing slash normalised
        assert created.tags == ("conformance", "db")
        assert created.version_count == 0 and created.region == REGION
        assert created.project_id == world.project_id
        assert created.created_at is not None and created.created_at.tzinfo is not None

        fetched = await client.get_secret(REGION, created.id)
        assert fetched == created

        updated = await client.update_secret(
            REGION, created.id, description="changed", tags=["conformance"]
        )
        assert updated.description == "changed" and updated.tags == ("conformance",)
        assert updated.updated_at is not None and created.updated_at is not None
        assert updated.updated_at >= created.updated_at

        listed = [s async for s in client.list_secrets(REGION, name=name)]
        assert [s.id for s in listed] == [created.id]

        version = await client.create_version(REGION, created.id, b'{"user":"app"}')
        assert version.revision == 1 and version.latest

        protected = await client.protect_secret(REGION, created.id)
        assert protected.protected
        with pytest.raises(PreconditionFailedError) as refused:
            await client.delete_secret(REGION, created.id)
        assert refused.value.precondition == "protected_resource"
        assert not (await client.unprotect_secret(REGION, created.id)).protected

        await client.delete_secret(REGION, created.id)  # soft: it has a version
        gone = await client.get_secret(REGION, created.id)
        assert gone.deletion_requested_at is not None
        assert not [s async for s in client.list_secrets(REGION, name=name)]
        scheduled = [
            s async for s in client.list_secrets(REGION, name=name, scheduled_for_deletion=True)
        ]
        assert [s.id for s in scheduled] == [created.id]

        restored = await client.restore_secret(REGION, created.id)
        assert restored.deletion_requested_at is None
        assert [s.id async for s in client.list_secrets(REGION, name=name)] == [created.id]


async def test_secret_without_versions_is_scheduled_like_any_other(world: World) -> None:
    """Recorded (Terraform cassettes, July 2026): deleting a secret that has no versions
    leaves it GET-able, 200 with ``deletion_requested_at`` and ``updated_at`` set."""
    async with world.client() as client:
        name = unique()
        secret = await client.create_secret(REGION, name=name)
        await client.delete_secret(REGION, secret.id)
        gone = await client.get_secret(REGION, secret.id)
        assert gone.deletion_requested_at is not None
        assert gone.updated_at == gone.deletion_requested_at
        assert gone.version_count == 0
        assert not [s async for s in client.list_secrets(REGION, name=name)]
        scheduled = client.list_secrets(REGION, name=name, scheduled_for_deletion=True)
        assert [s.id async for s in scheduled] == [secret.id]


async def test_ephemeral_secret_is_deleted_at_once(world: World) -> None:
    """Recorded (terraform/secret-ephemeral-policy): 404 right after the delete."""
    async with world.client() as client:
        policy = EphemeralPolicy(time_to_live="3600s", expires_once_accessed=False, action="delete")
        secret = await client.create_secret(REGION, name=unique(), ephemeral_policy=policy)
        await client.delete_secret(REGION, secret.id)
        with pytest.raises(NotFoundError) as missing:
            await client.get_secret(REGION, secret.id)
        assert missing.value.resource_id == secret.id


async def test_version_lifecycle(world: World) -> None:
    async with world.client() as client:
        secret = await client.create_secret(REGION, name=unique(), path="/conformance/v")
        v1 = await client.create_version(REGION, secret.id, b"one", description="first")
        v2 = await client.create_version(REGION, secret.id, b"two", disable_previous=True)
        assert (v1.revision, v2.revision) == (1, 2)

        versions = [v async for v in client.list_versions(REGION, secret.id)]
        assert [v.revision for v in versions] == [2, 1]  # newest first
        assert [v.status for v in versions] == [VersionStatus.ENABLED, VersionStatus.DISABLED]
        assert [v.latest for v in versions] == [True, False]
        enabled = [v async for v in client.list_versions(REGION, secret.id, status=["enabled"])]
        assert [v.revision for v in enabled] == [2]

        assert (await client.get_version(REGION, secret.id, "latest")).revision == 2
        assert (await client.get_version(REGION, secret.id, "latest_enabled")).revision == 2
        assert (await client.get_version(REGION, secret.id, 1)).description == "first"

        accessed = await client.access_version(REGION, secret.id, 2)
        assert accessed.data == b"two" and accessed.data_crc32 == zlib.crc32(b"two")
        assert accessed.type == SecretType.OPAQUE
        by_path = await client.access_version_by_path(
            REGION, secret_path="/conformance/v", secret_name=secret.name
        )
        assert by_path.secret_id == secret.id and by_path.data == b"two"
        first = await client.access_version_by_path(
            REGION, secret_path="/conformance/v", secret_name=secret.name, revision="latest"
        )
        assert first.revision == 2

        with pytest.raises(PreconditionFailedError) as disabled:
            await client.access_version(REGION, secret.id, 1)
        assert disabled.value.precondition == "resource_not_usable"
        assert (await client.enable_version(REGION, secret.id, 1)).status == VersionStatus.ENABLED
        assert (await client.access_version(REGION, secret.id, 1)).data == b"one"
        assert (await client.disable_version(REGION, secret.id, 1)).status == VersionStatus.DISABLED

        patched = await client.update_version(REGION, secret.id, 2, description="second")
        assert patched.description == "second"

        await client.delete_version(REGION, secret.id, 2)
        deleted = await client.get_version(REGION, secret.id, 2)
        assert deleted.status == VersionStatus.SCHEDULED_FOR_DELETION
        assert deleted.deletion_requested_at is not None
        await client.delete_version(REGION, secret.id, 2)  # idempotent
        back = await client.restore_version(REGION, secret.id, 2)
        assert back.status == VersionStatus.ENABLED and back.deletion_requested_at is None

        assert (await client.get_secret(REGION, secret.id)).version_count == 2


async def test_payloads_binary_and_size_limit(world: World) -> None:
    async with world.client() as client:
        secret = await client.create_secret(REGION, name=unique())
        binary = bytes(range(256)) * (MAX_PAYLOAD_BYTES // 256)
        assert len(binary) == MAX_PAYLOAD_BYTES
        version = await client.create_version(REGION, secret.id, binary)
        accessed = await client.access_version(REGION, secret.id, version.revision)
        assert accessed.data == binary
        with pytest.raises(InvalidArgumentsError) as too_big:
            await client.create_version(REGION, secret.id, binary + b"x")
        assert too_big.value.arguments[0]["argument_name"] == "data"
        assert too_big.value.status_code == 400
        with pytest.raises(InvalidArgumentsError) as bad_crc:
            await client.create_version(REGION, secret.id, b"abc", data_crc32=1)
        assert [d["argument_name"] for d in bad_crc.value.arguments] == ["data_crc32"]


async def test_typed_payloads_are_validated(world: World) -> None:
    async with world.client() as client:
        kv = await client.create_secret(REGION, name=unique(), type=SecretType.KEY_VALUE)
        await client.create_version(REGION, kv.id, json.dumps({"a": "1", "b": "2"}).encode())
        with pytest.raises(InvalidArgumentsError) as nested:
            await client.create_version(REGION, kv.id, b'{"key":"value","invalid":{}}')
        assert nested.value.arguments[0]["argument_name"] == "data"
        assert "invalid" not in nested.value.message.replace("invalid argument", "")
        db = await client.create_secret(REGION, name=unique(), type=SecretType.DATABASE_CREDENTIALS)
        good = {
            "engine": "postgres",
            "username": "u",
            "password": "p",
            "host": "h",
            "dbname": "d",
            "port": "5432",
        }
        await client.create_version(REGION, db.id, json.dumps(good).encode())
        with pytest.raises(InvalidArgumentsError):
            await client.create_version(REGION, db.id, b"not json")


async def test_duplicate_name_conflicts(world: World) -> None:
    name = unique()
    async with world.client() as client:
        first = await client.create_secret(REGION, name=name, path="/dup")
        with pytest.raises(AlreadyExistsError) as dup:
            await client.create_secret(REGION, name=name, path="/dup")
        assert dup.value.status_code == 409 and dup.value.body["resource_id"] == first.id
        other = await client.create_secret(REGION, name=name, path="/dup/elsewhere")
        assert other.id != first.id


async def test_version_quota(world: World) -> None:
    async with world.client() as client:
        secret = await client.create_secret(REGION, name=unique())
        for i in range(20):
            await client.create_version(REGION, secret.id, f"v{i}".encode())
        with pytest.raises(QuotaExceededError) as quota:
            await client.create_version(REGION, secret.id, b"one too many")
        assert quota.value.status_code == 403


async def test_pagination_over_http(world: World) -> None:
    path = "/" + unique("page")
    async with world.client() as client:
        made = {
            (await client.create_secret(REGION, name=f"s{i:02d}", path=path)).id for i in range(7)
        }
        for size in (1, 2, 3, 7, 100):
            seen = [s.id async for s in client.list_secrets(REGION, path=path, page_size=size)]
            assert len(seen) == 7 and set(seen) == made
        names = [s.name async for s in client.list_secrets(REGION, path=path, order_by="name_desc")]
        assert names == sorted(names, reverse=True)
        assert client.stats.per_operation["list_secrets"] >= 7 + 4 + 3 + 1 + 1


async def test_browse_tags_types_owner(world: World) -> None:
    root = "/" + unique("browse")
    tag = unique("tag")
    async with world.client() as client:
        leaf = await client.create_secret(REGION, name="leaf", path=root, tags=[tag])
        await client.create_secret(REGION, name="deep", path=f"{root}/sub", type=SecretType.SSH_KEY)
        items = [i async for i in client.browse_secrets(REGION, prefix=root)]
        kinds = sorted((i.name, i.is_folder) for i in items)
        assert kinds == [("leaf", False), ("sub", True)]
        secret_item = next(i for i in items if not i.is_folder)
        assert secret_item.secret is not None and secret_item.secret["id"] == leaf.id

        tags = [t async for t in client.list_tags(REGION, page_size=2)]
        assert tag in tags and len(tags) == len(set(tags))
        types = [t async for t in client.list_secret_types(REGION)]
        assert "ssh_key" in types and "opaque" in types

        await client.add_secret_owner(REGION, leaf.id, product="edge_services")
        assert (await client.get_secret(REGION, leaf.id)).used_by == ("edge_services",)


async def test_ephemeral_policy_round_trip(world: World) -> None:
    async with world.client() as client:
        secret = await client.create_secret(
            REGION,
            name=unique(),
            ephemeral_policy=EphemeralPolicy(
                time_to_live="3600s", expires_once_accessed=False, action="disable"
            ),
        )
        assert secret.ephemeral_policy is not None
        assert secret.ephemeral_policy.time_to_live == "3600s"
        version = await client.create_version(REGION, secret.id, b"short-lived")
        assert version.ephemeral_properties is not None
        assert version.ephemeral_properties.expires_at is not None


async def test_regions_are_separate(world: World) -> None:
    async with world.client() as client:
        secret = await client.create_secret("nl-ams", name=unique())
        assert secret.region == "nl-ams"
        with pytest.raises(NotFoundError):
            await client.get_secret("pl-waw", secret.id)


async def test_projects(world: World) -> None:
    async with world.client() as client:
        projects = [p async for p in client.list_projects()]
        ids = {p.id for p in projects}
        assert {world.project_id, world.other_project_id} <= ids
        assert all(p.organization_id == world.organization_id for p in projects)
        one = [p async for p in client.list_projects(project_ids=[world.project_id])]
        assert [p.id for p in one] == [world.project_id]
        paged = [p.id async for p in client.list_projects(page_size=1)]
        assert sorted(paged) == sorted(ids)
        project = await client.get_project(world.project_id)
        assert project.id == world.project_id and project.name
        with pytest.raises(NotFoundError):
            await client.get_project("00000000-0000-4000-8000-000000000000")


async def test_data_is_base64_on_the_wire(world: World) -> None:
    """The stored bytes are exactly what was sent (base64 round trip, no text decoding)."""
    payload = "ünïcødé\x00\xff".encode() + b"\x80\x81"
    async with world.client() as client:
        secret = await client.create_secret(REGION, name=unique())
        await client.create_version(REGION, secret.id, payload)
        accessed = await client.access_version(REGION, secret.id, "latest")
    assert accessed.data == payload
    assert base64.b64encode(accessed.data) == base64.b64encode(payload)


async def test_list_filters(world: World) -> None:
    tag = unique("tag")
    path = "/" + unique("filters")
    names = sorted(unique("s") for _ in range(6))
    async with world.client() as client:
        for i, name in enumerate(names):
            await client.create_secret(
                REGION,
                name=name,
                tags=[tag, "even" if i % 2 == 0 else "odd"],
                path=path if i < 4 else path + "/deeper",
                type=SecretType.KEY_VALUE if i == 3 else SecretType.OPAQUE,
                ephemeral_policy=(
                    EphemeralPolicy(time_to_live="600s", action="delete") if i == 5 else None
                ),
            )

        async def listed(**filters: Any) -> list[str]:
            return [s.name async for s in client.list_secrets(REGION, page_size=2, **filters)]

        assert await listed(tags=[tag]) == names  # name_asc by default, across pages
        assert sorted(await listed(tags=[tag, "even"])) == names[0::2]  # all tags must match
        assert sorted(await listed(tags=[tag], path=path)) == names[:4]  # exact folder
        assert await listed(tags=[tag], type=SecretType.KEY_VALUE) == [names[3]]
        assert await listed(tags=[tag], ephemeral=True) == [names[5]]
        assert await listed(tags=[tag], order_by="name_desc") == names[::-1]

        # Organization-wide listing (no project): the same secrets.
        org_wide = [
            s.name
            async for s in client.list_secrets(
                REGION, organization_id=world.organization_id, tags=[tag]
            )
        ]
        assert org_wide == names
        # Another organization is not ours to list.
        with pytest.raises(PermissionDeniedError):
            _ = [
                s
                async for s in client.list_secrets(
                    REGION, organization_id="00000000-0000-4000-8000-00000000beef"
                )
            ]


async def test_update_moves_and_renames(world: World) -> None:
    name = unique()
    async with world.client() as client:
        created = await client.create_secret(REGION, name=name, path="/client/app")
        moved = await client.update_secret(
            REGION, created.id, name=name + "-renamed", path="/client/moved/"
        )
        assert moved.name == name + "-renamed" and moved.path == "/client/moved"
        assert moved.created_at == created.created_at
        found = [s.id async for s in client.list_secrets(REGION, path="/client/moved")]
        assert created.id in found
        by_path = [
            s
            async for s in client.list_secrets(REGION, name=name + "-renamed", path="/client/moved")
        ]
        assert [s.id for s in by_path] == [created.id]


async def test_latest_enabled_when_none_is_enabled(world: World) -> None:
    async with world.client(max_retries=0) as client:
        secret = await client.create_secret(REGION, name=unique())
        with pytest.raises(NotFoundError):
            await client.get_version(REGION, secret.id, "latest")
        await client.create_version(REGION, secret.id, b"x")
        await client.disable_version(REGION, secret.id, 1)
        with pytest.raises(NotFoundError):
            await client.access_version(REGION, secret.id, "latest_enabled")
        with pytest.raises(InvalidArgumentsError):
            _ = [s async for s in client.list_secrets(REGION, page_size=101)]


async def test_connection_pool_is_bounded_and_every_connection_given_back(world: World) -> None:
    """96 requests, 32 in flight, through aiohttp's pool under httpx: bounded, reused, freed
    (the pool was sharded httpcore pools before aiohttp replaced them)."""
    import asyncio

    import aiohttp

    async with world.client(max_concurrency=32, concurrency_ceiling=32) as client:
        secret = await client.create_secret(REGION, name=unique())
        bulk = await client._http._transport.upgraded()  # type: ignore[attr-defined]
        results = await asyncio.gather(*(client.get_secret(REGION, secret.id) for _ in range(96)))
        assert {r.id for r in results} == {secret.id}
        session = bulk.client
        assert isinstance(session, aiohttp.ClientSession)
        connector = session.connector
        assert isinstance(connector, aiohttp.TCPConnector)
        assert connector.limit == 34
        assert not connector._acquired  # every connection given back to the pool
        idle = sum(len(conns) for conns in connector._conns.values())
        assert 1 <= idle <= 34


async def test_get_api_key_reads_its_expiry(world: World) -> None:
    """IAM: a key holding IAMReadOnly reads an API key's ``expires_at`` (issue 11's warning)."""
    if not emulator_serves_iam(world):
        pytest.skip("the emulator does not serve the IAM API yet")
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    access_key, secret_key = add_key(
        world, "iam-reader", ["IAMReadOnly"], expires_at=expires, description="reads keys"
    )
    async with world.client(secret_key, max_retries=0) as client:
        key = await client.get_api_key(access_key)
        assert key.access_key == access_key and key.expires_at == expires
        assert secret_key not in repr(key) and "secret_key" not in key.extra
        with pytest.raises(NotFoundError):
            await client.get_api_key("SCWNOSUCHKEY00000000")
    async with world.client(max_retries=0) as no_iam:
        with pytest.raises(PermissionDeniedError) as denied:
            await no_iam.get_api_key(access_key)
    assert denied.value.permission_set == "IAMReadOnly"


_SWITCH = """
import asyncio, sys
from core.scaleway.client import ScalewayClient
from core.scaleway.transport import UPGRADE_AFTER, Sender

async def main(url, key, org, project):
    client = ScalewayClient(key, api_url=url, organization_id=org, default_project_id=project)
    async with client:
        sender = client._http._transport
        assert isinstance(sender, Sender) and sender.bulk is None
        secret = await client.create_secret("fr-par", name="switch-" + project[:8])
        ids = set()
        while sender.sent < UPGRADE_AFTER:
            ids.add((await client.get_secret("fr-par", secret.id)).id)
        assert "aiohttp" not in sys.modules and sender.bulk is None  # all through httpcore
        # the next requests, at once: they wait for the import, then go through aiohttp
        got = await asyncio.gather(*(client.get_secret("fr-par", secret.id) for _ in range(8)))
        ids.update(s.id for s in got)
        assert ids == {secret.id}
        assert "aiohttp" in sys.modules and sender.bulk is not None and "aiohttp" in repr(sender)
        sent = sender.sent
        await client.get_secret("fr-par", secret.id)
        assert sender.sent == sent  # no longer counted: aiohttp sent it
        connector = sender.bulk.client.connector
        assert not connector._acquired and sum(len(c) for c in connector._conns.values()) >= 1
        await client.delete_secret("fr-par", secret.id)
    assert sender.bulk.client.closed  # the client's close closes both pools
    # a new client in a process that has aiohttp starts on it
    assert ScalewayClient(key, api_url=url)._http._transport.bulk is not None
    print("ok")

asyncio.run(main(*sys.argv[1:]))
"""


def test_first_requests_go_through_httpcore_then_through_aiohttp(world: World) -> None:
    """The default transport sends a run's first UPGRADE_AFTER requests through httpx's own
    pool; the next ones wait for aiohttp's import (once a process, in a thread), then go
    through aiohttp's pool. The answers do not depend on which. In a fresh interpreter: one
    that has imported aiohttp (as this one has) starts on it."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    args = [world.url, world.admin_key, world.organization_id, world.project_id]
    done = subprocess.run(
        [sys.executable, "-c", _SWITCH, *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
