"""API rules in-process (httpx.ASGITransport): time-based behaviour with an injected clock,
settings switches, ordering, pagination edges, scoping, and rules the SDK cannot reach."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx

from core.emulator import EmulatorApp, demo_state
from core.emulator.demo import (
    DEMO_ORGANIZATION_ID,
    DEMO_PRODUCTION_PROJECT_ID,
    DEMO_READONLY_SECRET_KEY,
    DEMO_STAGING_PROJECT_ID,
    DEMO_STAGING_SECRET_KEY,
)
from core.scaleway.endpoints import Operation
from tests.emulator.conftest import SM, asgi_client, ok

PROD = {"project_id": DEMO_PRODUCTION_PROJECT_ID}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, 0, 500000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def _create(client: httpx.AsyncClient, name: str, **fields: object) -> dict[str, object]:
    body: dict[str, object] = {**PROD, "name": name, **fields}
    created: dict[str, object] = ok(await client.post(f"{SM}/secrets", json=body))
    return created


async def test_ttl_expiry_and_purge_follow_the_clock() -> None:
    clock = Clock()
    state = demo_state()
    state.settings.deletion_grace_days = 7  # Scaleway's; the demo keeps its own for a century
    app = EmulatorApp(state, clock=clock)
    async with asgi_client(app) as client:
        eph = await _create(
            client, "ttl", ephemeral_policy={"time_to_live": "60s", "action": "disable"}
        )
        v = ok(await client.post(f"{SM}/secrets/{eph['id']}/versions", json={"data": "YQ=="}))
        assert v["ephemeral_properties"] == {
            "expires_at": "2026-12-01T12:01:00.500000Z",
            "expires_once_accessed": None,
            "action": "disable",
        }
        clock.now += timedelta(seconds=61)
        got = ok(await client.get(f"{SM}/secrets/{eph['id']}/versions/1"))
        assert got["status"] == "disabled"

        plain = await _create(client, "purged")
        ok(await client.post(f"{SM}/secrets/{plain['id']}/versions", json={"data": "YQ=="}))
        r = await client.delete(f"{SM}/secrets/{plain['id']}")
        assert r.status_code == 204
        clock.now += timedelta(days=6, hours=23)
        assert (await client.get(f"{SM}/secrets/{plain['id']}")).status_code == 200
        clock.now += timedelta(hours=2)
        assert (await client.get(f"{SM}/secrets/{plain['id']}")).status_code == 404


async def test_a_deleted_secret_without_versions_is_scheduled_then_purged() -> None:
    """Recorded: GET-able after the delete (200, deletion_requested_at = updated_at = the
    deletion time); like every scheduled secret: out of lists and browse, its name free,
    restorable, and purged after the grace period."""
    clock = Clock()
    state = demo_state()
    state.settings.deletion_grace_days = 7
    app = EmulatorApp(state, clock=clock)
    async with asgi_client(app) as client:
        empty = await _create(client, "empty", path="/nover")
        clock.now += timedelta(seconds=5)
        assert (await client.delete(f"{SM}/secrets/{empty['id']}")).status_code == 204
        got = ok(await client.get(f"{SM}/secrets/{empty['id']}"))
        assert got["deletion_requested_at"] == got["updated_at"] == "2026-12-01T12:00:05.500000Z"
        assert got["version_count"] == 0 and got["created_at"] == empty["created_at"]
        listed = ok(await client.get(f"{SM}/secrets", params={**PROD, "name": "empty"}))
        assert listed["total_count"] == 0
        scheduled = ok(
            await client.get(
                f"{SM}/secrets",
                params={**PROD, "name": "empty", "scheduled_for_deletion": "true"},
            )
        )
        assert [s["id"] for s in scheduled["secrets"]] == [empty["id"]]
        browse = ok(await client.get(f"{SM}/secrets/browse", params={**PROD, "prefix": "/nover"}))
        assert browse["items"] == []
        # A second delete is a no-op; the grace period counts from the first.
        clock.now += timedelta(days=3)
        assert (await client.delete(f"{SM}/secrets/{empty['id']}")).status_code == 204
        clock.now += timedelta(days=4)
        assert (await client.get(f"{SM}/secrets/{empty['id']}")).status_code == 404


async def test_an_ephemeral_secret_is_removed_at_once(client: httpx.AsyncClient) -> None:
    eph = await _create(
        client, "eph-gone", ephemeral_policy={"time_to_live": "60s", "action": "delete"}
    )
    assert (await client.delete(f"{SM}/secrets/{eph['id']}")).status_code == 204
    r = await client.get(f"{SM}/secrets/{eph['id']}")
    assert r.status_code == 404 and r.json()["resource_id"] == eph["id"]


async def test_a_seeded_secret_without_versions_may_be_scheduled() -> None:
    from core.emulator import parse_config

    org = "11111111-1111-4111-8111-111111111111"
    state = parse_config(
        {
            "organization_id": org,
            "projects": [{"id": org, "name": "default"}],
            "api_keys": [
                {
                    "access_key": "SCW" + "B" * 17,
                    "secret_key": "33333333-3333-4333-8333-333333333333",
                    "permission_sets": ["SecretManagerFullAccess"],
                }
            ],
            "secrets": [{"project_id": org, "name": "bare", "scheduled_for_deletion": True}],
        }
    )
    (bare,) = state.iter_secrets()
    assert bare.scheduled_for_deletion and not bare.versions


async def test_timestamps_use_the_clock_and_microseconds() -> None:
    clock = Clock()
    app = EmulatorApp(demo_state(), clock=clock)
    async with asgi_client(app) as client:
        s = await _create(client, "timed")
        assert s["created_at"] == "2026-12-01T12:00:00.500000Z"
        clock.now += timedelta(microseconds=1)
        patched = ok(await client.patch(f"{SM}/secrets/{s['id']}", json={"description": "d"}))
        assert patched["updated_at"] == "2026-12-01T12:00:00.500001Z"
        assert patched["created_at"] == s["created_at"]


async def test_restore_conflicts_with_a_live_namesake(client: httpx.AsyncClient) -> None:
    first = await _create(client, "twin", path="/t")
    ok(await client.post(f"{SM}/secrets/{first['id']}/versions", json={"data": "YQ=="}))
    assert (await client.delete(f"{SM}/secrets/{first['id']}")).status_code == 204
    second = await _create(client, "twin", path="/t")  # the name is free while scheduled
    r = await client.post(f"{SM}/secrets/{first['id']}/restore", json={})
    assert r.status_code == 409 and r.json()["resource_id"] == second["id"]


async def test_rename_into_an_existing_name_is_409(client: httpx.AsyncClient) -> None:
    await _create(client, "taken", path="/r")
    other = await _create(client, "free", path="/r")
    r = await client.patch(f"{SM}/secrets/{other['id']}", json={"name": "taken"})
    assert r.status_code == 409
    moved = ok(await client.patch(f"{SM}/secrets/{other['id']}", json={"path": "/elsewhere/"}))
    assert moved["path"] == "/elsewhere"
    renamed = ok(await client.patch(f"{SM}/secrets/{other['id']}", json={"name": "taken"}))
    assert renamed["name"] == "taken"
    by_path = await client.get(
        f"{SM}/secrets-by-path/versions/latest/access",
        params={**PROD, "secret_path": "/elsewhere", "secret_name": "taken"},
    )
    assert by_path.status_code == 404  # found by its new name, but it has no version yet
    assert by_path.json()["resource"] == "secret_version"


async def test_duplicates_allowed_when_switched_off() -> None:
    state = demo_state()
    state.settings.reject_duplicate_names = False
    async with asgi_client(EmulatorApp(state)) as client:
        a = await _create(client, "same")
        b = await _create(client, "same")
        assert a["id"] != b["id"]


async def test_non_enabled_access_can_answer_404() -> None:
    state = demo_state()
    state.settings.non_enabled_access_status = 404
    async with asgi_client(EmulatorApp(state)) as client:
        s = await _create(client, "quiet")
        ok(await client.post(f"{SM}/secrets/{s['id']}/versions", json={"data": "YQ=="}))
        ok(await client.post(f"{SM}/secrets/{s['id']}/versions/1/disable", json={}))
        r = await client.get(f"{SM}/secrets/{s['id']}/versions/1/access")
        assert r.status_code == 404 and r.json()["resource"] == "secret_version"


async def test_order_by_and_page_edges(client: httpx.AsyncClient) -> None:
    names = ["c-sort", "a-sort", "b-sort"]
    for n in names:
        await _create(client, n, tags=["sorting"])
    base = {**PROD, "tags": "sorting"}
    created_asc = ok(
        await client.get(f"{SM}/secrets", params={**base, "order_by": "created_at_asc"})
    )
    assert [s["name"] for s in created_asc["secrets"]] == names
    created_desc = ok(
        await client.get(f"{SM}/secrets", params={**base, "order_by": "created_at_desc"})
    )
    assert [s["name"] for s in created_desc["secrets"]] == names[::-1]
    page0 = ok(await client.get(f"{SM}/secrets", params={**base, "page": "0"}))
    assert page0["total_count"] == 3 and len(page0["secrets"]) == 3
    assert (await client.get(f"{SM}/secrets", params={**base, "page": "-1"})).status_code == 400
    assert (await client.get(f"{SM}/secrets", params={**base, "page": "x"})).status_code == 400
    assert (
        await client.get(f"{SM}/secrets", params={**base, "order_by": "size_asc"})
    ).status_code == 400
    default_size = ok(
        await client.get(f"{SM}/secrets", params={"organization_id": DEMO_ORGANIZATION_ID})
    )
    assert len(default_size["secrets"]) == min(50, default_size["total_count"])


async def test_version_status_filter(client: httpx.AsyncClient) -> None:
    s = await _create(client, "statuses")
    for _ in range(3):
        ok(
            await client.post(
                f"{SM}/secrets/{s['id']}/versions", json={"data": "YQ==", "disable_previous": True}
            )
        )
    url = f"{SM}/secrets/{s['id']}/versions"
    enabled = ok(await client.get(url, params={"status": "enabled"}))
    assert [v["revision"] for v in enabled["versions"]] == [3]
    both = ok(await client.get(url, params=[("status", "enabled"), ("status", "disabled")]))
    assert both["total_count"] == 3
    unset = ok(await client.get(url, params={"status": "unknown_status"}))
    assert unset["total_count"] == 3
    assert (await client.get(url, params={"status": "gone"})).status_code == 400


async def test_scoped_keys_see_only_their_project() -> None:
    app = EmulatorApp(demo_state())
    async with asgi_client(app, DEMO_STAGING_SECRET_KEY) as staging:
        mine = ok(
            await staging.get(f"{SM}/secrets", params={"project_id": DEMO_STAGING_PROJECT_ID})
        )
        assert mine["total_count"] > 0
        assert all(s["project_id"] == DEMO_STAGING_PROJECT_ID for s in mine["secrets"])
        r = await staging.get(f"{SM}/secrets", params={"organization_id": DEMO_ORGANIZATION_ID})
        assert r.status_code == 403
        assert (
            await staging.get(f"{SM}/secrets/browse", params={"prefix": "/"})
        ).status_code == 403
        assert (await staging.get("/account/v3/projects")).status_code == 403
        tags = ok(await staging.get(f"{SM}/tags", params={"project_id": DEMO_STAGING_PROJECT_ID}))
        assert "staging" in tags["tags"] and "prod" not in tags["tags"]
    async with asgi_client(app, DEMO_READONLY_SECRET_KEY) as ro:
        listing = ok(await ro.get(f"{SM}/secrets", params=PROD))
        sid = listing["secrets"][0]["id"]
        r = await ro.get(f"{SM}/secrets/{sid}/versions/latest/access")
        assert r.status_code == 403
        assert r.json() == {
            "details": [{"action": "access", "resource": "secret_version"}],
            "message": "insufficient permissions",
            "type": "permissions_denied",
        }


async def test_org_and_project_filters_are_anded(client: httpx.AsyncClient) -> None:
    both = ok(
        await client.get(
            f"{SM}/secrets",
            params={"organization_id": DEMO_ORGANIZATION_ID, "project_id": DEMO_STAGING_PROJECT_ID},
        )
    )
    assert both["total_count"] > 0
    assert {s["project_id"] for s in both["secrets"]} == {DEMO_STAGING_PROJECT_ID}
    everything = ok(
        await client.get(f"{SM}/secrets", params={"organization_id": DEMO_ORGANIZATION_ID})
    )
    assert everything["total_count"] > both["total_count"]


async def test_browse_folders_aggregate_times(client: httpx.AsyncClient) -> None:
    body = ok(await client.get(f"{SM}/secrets/browse", params={**PROD, "prefix": "/prod"}))
    listing = ok(await client.get(f"{SM}/secrets", params={**PROD, "path": "/prod/db"}))
    db = next(i for i in body["items"] if i["name"] == "db")
    assert list(db) == ["name", "created_at", "updated_at", "folder"] and db["folder"] == {}
    assert db["created_at"] == min(s["created_at"] for s in listing["secrets"])
    root = ok(await client.get(f"{SM}/secrets/browse", params={**PROD, "prefix": "/"}))
    secret_item = next(i for i in root["items"] if "secret" in i)
    assert list(secret_item["secret"]) == [
        "id",
        "tags",
        "version_count",
        "protected",
        "type",
        "ephemeral_policy",
    ]


async def test_add_owner_and_protect_are_idempotent(client: httpx.AsyncClient) -> None:
    s = await _create(client, "owned")
    for _ in range(2):
        assert (
            ok(await client.post(f"{SM}/secrets/{s['id']}/add-owner", json={"product": "s2s_vpn"}))
            == {}
        )
        ok(await client.post(f"{SM}/secrets/{s['id']}/protect", json={}))
    got = ok(await client.get(f"{SM}/secrets/{s['id']}"))
    assert got["used_by"] == ["s2s_vpn"] and got["protected"] is True
    bad = await client.post(f"{SM}/secrets/{s['id']}/add-owner", json={"product": "kubernetes"})
    assert bad.status_code == 400


async def test_once_accessed_delete_removes_the_data(client: httpx.AsyncClient) -> None:
    s = await _create(
        client, "burn", ephemeral_policy={"expires_once_accessed": True, "action": "delete"}
    )
    ok(
        await client.post(
            f"{SM}/secrets/{s['id']}/versions", json={"data": base64.b64encode(b"x").decode()}
        )
    )
    ok(await client.get(f"{SM}/secrets/{s['id']}/versions/1/access"))
    after = ok(await client.get(f"{SM}/secrets/{s['id']}/versions/1"))
    assert after["status"] == "deleted" and after["deleted_at"] is not None
    assert (await client.get(f"{SM}/secrets/{s['id']}/versions/1/access")).status_code == 412
    assert (
        await client.post(f"{SM}/secrets/{s['id']}/versions/1/restore", json={})
    ).status_code == 412


async def test_body_type_errors(client: httpx.AsyncClient) -> None:
    for body, field in (
        ({**PROD, "name": 5}, "name"),
        ({**PROD, "name": "x", "tags": "a"}, "tags"),
        ({**PROD, "name": "x", "protected": "yes"}, "protected"),
        ({**PROD, "name": "x", "type": "password"}, "type"),
        ({**PROD, "name": "x", "key_id": "k"}, "key_id"),
        ({**PROD}, "name"),
        ({"name": "x"}, "project_id"),
        (
            {**PROD, "name": "x", "ephemeral_policy": {"time_to_live": "1h", "action": "delete"}},
            "ephemeral_policy.time_to_live",
        ),
        (
            {**PROD, "name": "x", "ephemeral_policy": {"time_to_live": "60s"}},
            "ephemeral_policy.action",
        ),
    ):
        r = await client.post(f"{SM}/secrets", json=body)
        assert r.status_code == 400, body
        assert r.json()["details"][0]["argument_name"] == field, body
    r = await client.post(f"{SM}/secrets", content=b"[1]")
    assert r.status_code == 400


async def test_an_emulator_bug_is_a_json_500(app: EmulatorApp) -> None:
    def broken(ctx: object) -> None:
        raise RuntimeError("bug")

    app.handlers[Operation.LIST_TAGS] = broken  # type: ignore[assignment]
    async with asgi_client(app) as client:
        r = await client.get(f"{SM}/tags", params=PROD)
        assert r.status_code == 500
        assert r.json() == {"message": "internal error", "type": "internal_error"}
        ok(await client.get(f"{SM}/secret-types", params=PROD))  # the app keeps serving


async def test_locked_secrets_refuse_changes_but_stay_readable() -> None:
    state = demo_state()
    secret = next(s for s in state.iter_secrets("fr-par") if s.versions and not s.protected)
    secret.status = "locked"
    async with asgi_client(EmulatorApp(state)) as client:
        got = ok(await client.get(f"{SM}/secrets/{secret.id}"))
        assert got["status"] == "locked"
        ok(await client.get(f"{SM}/secrets/{secret.id}/versions"))
        for method, suffix, body in (
            ("PATCH", "", {"description": "x"}),
            ("DELETE", "", None),
            ("POST", "/protect", {}),
            ("POST", "/versions", {"data": "YQ=="}),
            ("POST", "/versions/1/disable", {}),
        ):
            r = await client.request(method, f"{SM}/secrets/{secret.id}{suffix}", json=body)
            assert r.status_code == 409, (method, suffix)
            assert r.json() == {
                "message": "resource is locked",
                "resource": "secret",
                "resource_id": secret.id,
                "type": "locked",
            }


async def test_max_secrets_from_the_config_answers_quotas_exceeded() -> None:
    import tomllib

    from core.emulator import parse_config

    org = "11111111-1111-4111-8111-111111111111"
    key = "33333333-3333-4333-8333-333333333333"
    config = tomllib.loads(
        f"""
organization_id = "{org}"
[settings]
max_secrets = 2
lookup_before_permission = true
[[projects]]
id = "{org}"
name = "default"
[[api_keys]]
access_key = "SCWBBBBBBBBBBBBBBBBB"
secret_key = "{key}"
permission_sets = ["SecretManagerFullAccess"]
[[secrets]]
project_id = "{org}"
name = "seeded"
"""
    )
    state = parse_config(config)
    assert state.settings.lookup_before_permission is True
    async with asgi_client(EmulatorApp(state), key) as client:
        ok(await client.post(f"{SM}/secrets", json={"project_id": org, "name": "second"}))
        r = await client.post(f"{SM}/secrets", json={"project_id": org, "name": "third"})
        assert r.status_code == 403
        assert r.json() == {
            "details": [{"current": 2, "quota": 2, "resource": "secrets"}],
            "message": "quota(s) exceeded for this resource",
            "type": "quotas_exceeded",
        }
