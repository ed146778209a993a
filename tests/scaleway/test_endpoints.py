"""Every endpoint: what the client sends (method, path, query, body) and what it parses."""

from __future__ import annotations

import base64
import zlib

from core.scaleway.client import ScalewayClient
from core.scaleway.models import EphemeralPolicy, SecretType
from tests.scaleway.conftest import (
    ORG,
    PROJECT,
    SECRET_ID,
    ScriptedApi,
    ok,
    secret_json,
    version_json,
)

SM = "/secret-manager/v1beta1/regions/fr-par"


async def test_create_secret_sends_the_sdk_shaped_body(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    api.on("POST", f"{SM}/secrets", ok(secret_json(path="/app/db", tags=["prod"])))
    secret = await client.create_secret(
        "fr-par",
        name="db-password",
        tags=["prod"],
        path="/app/db",
        type=SecretType.KEY_VALUE,
        description="d",
        ephemeral_policy=EphemeralPolicy(time_to_live="3600s", action="disable"),
    )
    assert secret.id == SECRET_ID and secret.path == "/app/db" and secret.tags == ("prod",)
    (request,) = api.requests
    assert request.headers["x-auth-token"]
    assert request.headers["content-type"].startswith("application/json")
    assert ScriptedApi.body(request) == {
        "project_id": PROJECT,
        "name": "db-password",
        "protected": False,
        "tags": ["prod"],
        "description": "d",
        "type": "key_value",
        "path": "/app/db",
        "ephemeral_policy": {
            "time_to_live": "3600s",
            "expires_once_accessed": None,
            "action": "disable",
        },
    }


async def test_get_update_delete_and_actions(api: ScriptedApi, client: ScalewayClient) -> None:
    api.on("GET", f"{SM}/secrets/{SECRET_ID}", ok(secret_json(version_count=2)))
    api.on("PATCH", f"{SM}/secrets/{SECRET_ID}", ok(secret_json(name="renamed", tags=[])))
    api.on("DELETE", f"{SM}/secrets/{SECRET_ID}", ok(status=204))
    api.on("POST", f"{SM}/secrets/{SECRET_ID}/protect", ok(secret_json(protected=True)))
    api.on("POST", f"{SM}/secrets/{SECRET_ID}/unprotect", ok(secret_json(protected=False)))
    api.on("POST", f"{SM}/secrets/{SECRET_ID}/restore", ok(secret_json()))
    api.on("POST", f"{SM}/secrets/{SECRET_ID}/add-owner", ok(status=204))

    assert (await client.get_secret("fr-par", SECRET_ID)).version_count == 2
    updated = await client.update_secret("fr-par", SECRET_ID, name="renamed", tags=[])
    assert updated.name == "renamed"
    assert ScriptedApi.body(api.requests[-1]) == {"name": "renamed", "tags": []}
    assert await client.delete_secret("fr-par", SECRET_ID) is None
    assert (await client.protect_secret("fr-par", SECRET_ID)).protected is True
    assert (await client.unprotect_secret("fr-par", SECRET_ID)).protected is False
    assert (await client.restore_secret("fr-par", SECRET_ID)).deletion_requested_at is None
    await client.add_secret_owner("fr-par", SECRET_ID, product="edge_services")
    assert ScriptedApi.body(api.requests[-1]) == {"product": "edge_services"}
    for action in ("protect", "unprotect", "restore"):
        (req,) = api.sent("POST", f"{SM}/secrets/{SECRET_ID}/{action}")
        assert ScriptedApi.body(req) == {}
    assert client.stats.per_operation["delete_secret"] == 1


async def test_create_version_computes_crc_and_base64(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    api.on("GET", f"{SM}/secrets/{SECRET_ID}/versions/latest", ok(version_json(3)))
    api.on("POST", f"{SM}/secrets/{SECRET_ID}/versions", ok(version_json(4)))
    data = b"\x00\xffpassword"
    version = await client.create_version(
        "fr-par", SECRET_ID, data, description="v4", disable_previous=True
    )
    assert version.revision == 4
    (post,) = api.sent("POST")
    body = ScriptedApi.body(post)
    assert base64.b64decode(body["data"]) == data
    assert body["data_crc32"] == zlib.crc32(data)
    assert body["description"] == "v4" and body["disable_previous"] is True


async def test_create_version_keeps_a_given_crc(api: ScriptedApi, client: ScalewayClient) -> None:
    api.on("POST", f"{SM}/secrets/{SECRET_ID}/versions", ok(version_json(1)))
    await client.create_version("fr-par", SECRET_ID, b"x", data_crc32=123, known_latest_revision=0)
    assert ScriptedApi.body(api.requests[-1])["data_crc32"] == 123
    assert not api.sent("GET"), "a known baseline needs no probe"


async def test_version_endpoints(api: ScriptedApi, client: ScalewayClient) -> None:
    base = f"{SM}/secrets/{SECRET_ID}/versions"
    api.on("GET", f"{base}/latest_enabled", ok(version_json(2)))
    api.on("PATCH", f"{base}/2", ok(version_json(2, description="new")))
    api.on("DELETE", f"{base}/2", ok(status=204))
    api.on("POST", f"{base}/2/enable", ok(version_json(2)))
    api.on("POST", f"{base}/2/disable", ok(version_json(2, status="disabled")))
    api.on("POST", f"{base}/2/restore", ok(version_json(2)))
    payload = base64.b64encode(b"s3cr3t").decode()
    api.on(
        "GET",
        f"{base}/1/access",
        ok(
            {
                "secret_id": SECRET_ID,
                "revision": 1,
                "data": payload,
                "data_crc32": None,
                "type": "opaque",
            }
        ),
    )
    assert (await client.get_version("fr-par", SECRET_ID, "latest_enabled")).revision == 2
    updated = await client.update_version("fr-par", SECRET_ID, 2, description="new")
    assert updated.description == "new"
    assert ScriptedApi.body(api.requests[-1]) == {"description": "new"}
    await client.delete_version("fr-par", SECRET_ID, 2)
    assert (await client.enable_version("fr-par", SECRET_ID, 2)).status == "enabled"
    assert (await client.disable_version("fr-par", SECRET_ID, "2")).status == "disabled"
    assert (await client.restore_version("fr-par", SECRET_ID, 2)).revision == 2
    accessed = await client.access_version("fr-par", SECRET_ID, 1)
    assert accessed.data == b"s3cr3t" and accessed.data_crc32 is None
    assert "s3cr3t" not in repr(accessed)


async def test_access_by_path_sends_the_query(api: ScriptedApi, client: ScalewayClient) -> None:
    payload = base64.b64encode(b"v").decode()
    api.on(
        "GET",
        f"{SM}/secrets-by-path/versions/latest/access",
        ok(
            {
                "secret_id": SECRET_ID,
                "revision": 3,
                "data": payload,
                "data_crc32": 5,
                "type": "opaque",
            }
        ),
    )
    accessed = await client.access_version_by_path("fr-par", secret_path="/app", secret_name="db")
    assert accessed.revision == 3 and accessed.data_crc32 == 5
    params = api.requests[-1].url.params
    assert params["secret_path"] == "/app" and params["secret_name"] == "db"
    assert params["project_id"] == PROJECT


async def test_list_secrets_filters_are_sent(api: ScriptedApi, client: ScalewayClient) -> None:
    api.on("GET", f"{SM}/secrets", ok({"secrets": [secret_json()], "total_count": 1}))
    items = [
        s
        async for s in client.list_secrets(
            "fr-par",
            tags=["a", "b"],
            name="n",
            path="/p",
            type="opaque",
            ephemeral=True,
            order_by="created_at_desc",
        )
    ]
    assert len(items) == 1
    params = api.requests[0].url.params
    assert params.get_list("tags") == ["a", "b"]
    assert params["project_id"] == PROJECT and "organization_id" not in params
    assert params["scheduled_for_deletion"] == "false" and params["ephemeral"] == "true"
    assert params["page"] == "1" and params["page_size"] == "100"
    assert params["order_by"] == "created_at_desc"


async def test_list_secrets_org_wide(api: ScriptedApi, client: ScalewayClient) -> None:
    api.on("GET", "/regions/nl-ams/secrets", ok({"secrets": [], "total_count": 0}))
    _ = [
        s
        async for s in client.list_secrets(
            "nl-ams", organization_id=ORG, scheduled_for_deletion=None
        )
    ]
    params = api.requests[0].url.params
    assert api.requests[0].url.path.startswith("/secret-manager/v1beta1/regions/nl-ams/")
    assert params["organization_id"] == ORG and "project_id" not in params
    assert "scheduled_for_deletion" not in params


async def test_browse_tags_types(api: ScriptedApi, client: ScalewayClient) -> None:
    api.on(
        "GET",
        f"{SM}/secrets/browse",
        ok(
            {
                "items": [
                    {"name": "app", "created_at": None, "updated_at": None, "folder": {}},
                    {
                        "name": "db",
                        "created_at": "2026-07-03T15:27:54.805853Z",
                        "updated_at": "2026-07-03T15:27:54.805853Z",
                        "secret": {
                            "id": SECRET_ID,
                            "tags": [],
                            "version_count": 1,
                            "protected": False,
                            "type": "opaque",
                            "ephemeral_policy": None,
                        },
                    },
                ],
                "current_path": "/",
                "total_count": 2,
            }
        ),
    )
    api.on("GET", f"{SM}/tags", ok({"tags": ["a", "b"], "total_count": 2}))
    api.on("GET", f"{SM}/secret-types", ok({"types": ["opaque", "key_value"], "total_count": 2}))
    items = [i async for i in client.browse_secrets("fr-par", prefix="/")]
    assert [i.is_folder for i in items] == [True, False]
    assert api.requests[0].url.params["prefix"] == "/"
    assert [t async for t in client.list_tags("fr-par")] == ["a", "b"]
    assert [t async for t in client.list_secret_types("fr-par")] == ["opaque", "key_value"]
    assert api.requests[-1].url.params["project_id"] == PROJECT


async def test_projects(api: ScriptedApi, client: ScalewayClient) -> None:
    project = {
        "id": PROJECT,
        "name": "production",
        "organization_id": ORG,
        "created_at": "2026-07-03T15:27:54.805853Z",
        "updated_at": "2026-07-03T15:27:54.805853Z",
        "description": "",
        "qualification": None,
    }
    api.on("GET", "/account/v3/projects", ok({"total_count": 1, "projects": [project]}))
    api.on("GET", f"/account/v3/projects/{PROJECT}", ok(project))
    projects = [p async for p in client.list_projects()]
    assert [p.id for p in projects] == [PROJECT]
    assert api.requests[0].url.params["organization_id"] == ORG
    assert (await client.get_project(PROJECT)).organization_id == ORG


async def test_get_api_key(api: ScriptedApi, client: ScalewayClient) -> None:
    """IAM ``GET /iam/v1alpha1/api-keys/{access_key}``: the key's expiry, never a secret key."""
    api.on(
        "GET",
        "/iam/v1alpha1/api-keys/SCWXXXXXXXXXXXXXXXXX",
        ok(
            {
                "access_key": "SCWXXXXXXXXXXXXXXXXX",
                "secret_key": None,
                "application_id": "a1b2c3d4-0000-4000-8000-000000000001",
                "user_id": None,
                "description": "backups",
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-02T00:00:00Z",
                "expires_at": "2027-01-01T00:00:00Z",
                "default_project_id": PROJECT,
                "editable": True,
                "deletable": True,
                "managed": False,
                "creation_ip": "192.0.2.1",
            }
        ),
    )
    key = await client.get_api_key("SCWXXXXXXXXXXXXXXXXX")
    (request,) = api.requests
    assert request.method == "GET" and not request.content and not request.url.query
    assert key.access_key == "SCWXXXXXXXXXXXXXXXXX" and key.description == "backups"
    assert key.expires_at is not None and key.expires_at.year == 2027
    assert key.default_project_id == PROJECT and key.extra == {}

    api.on(
        "GET",
        "/iam/v1alpha1/api-keys/SCWNEVER000000000000",
        ok({"access_key": "SCWNEVER000000000000", "expires_at": None}),
    )
    assert (await client.get_api_key("SCWNEVER000000000000")).expires_at is None
