"""Raw wire details of the emulator over real HTTP (httpx, no SDK): key order, timestamps,
204 bodies, error shapes, both SDKs' query habits, and the gateway's bare 429."""

from __future__ import annotations

import base64
import re
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.emulator import EmulatorApp, ThreadedServer, load_config

SECRET_KEYS = [
    "id",
    "project_id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "tags",
    "version_count",
    "description",
    "managed",
    "type",
    "protected",
    "path",
    "ephemeral_policy",
    "used_by",
    "deletion_requested_at",
    "key_id",
    "region",
]
VERSION_KEYS = [
    "revision",
    "secret_id",
    "status",
    "created_at",
    "updated_at",
    "deleted_at",
    "description",
    "latest",
    "ephemeral_properties",
    "deletion_requested_at",
    "region",
]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
SM = "/secret-manager/v1beta1/regions/fr-par"


@pytest.fixture
def http(emulator_url: str, conformance_config: Any) -> Iterator[httpx.Client]:
    token = conformance_config.keys["full"].secret_key
    with httpx.Client(base_url=emulator_url, headers={"X-Auth-Token": token}, timeout=10) as client:
        yield client


def _new_secret(http: httpx.Client, project_id: str, **fields: Any) -> dict[str, Any]:
    body = {"project_id": project_id, "name": f"wire-{uuid.uuid4().hex[:10]}", **fields}
    r = http.post(f"{SM}/secrets", json=body)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_secret_and_version_key_order(http: httpx.Client, conformance_config: Any) -> None:
    # Go-style body: nulls and zero-value enums.
    secret = _new_secret(
        http,
        conformance_config.project_id,
        tags=None,
        type="unknown_type",
        path="/",
        protected=True,
    )
    assert list(secret) == SECRET_KEYS
    assert secret["tags"] == [] and secret["type"] == "opaque" and secret["description"] == ""
    assert secret["ephemeral_policy"] is None and secret["deletion_requested_at"] is None
    assert secret["key_id"] is None and secret["used_by"] == []
    assert TIMESTAMP.match(secret["created_at"]) and TIMESTAMP.match(secret["updated_at"])

    r = http.post(
        f"{SM}/secrets/{secret['id']}/versions", json={"data": "aGVsbG8=", "description": "v1"}
    )
    assert r.status_code == 200
    version = r.json()
    assert list(version) == VERSION_KEYS
    assert version["deleted_at"] is None and version["ephemeral_properties"] is None
    assert TIMESTAMP.match(version["created_at"])

    access = http.get(f"{SM}/secrets/{secret['id']}/versions/1/access").json()
    assert list(access) == ["secret_id", "revision", "data", "data_crc32", "type"]
    assert access["data"] == "aGVsbG8=" and access["data_crc32"] is None

    listing = http.get(
        f"{SM}/secrets",
        params={"project_id": conformance_config.project_id, "name": secret["name"]},
    )
    assert list(listing.json()) == ["secrets", "total_count"]
    versions = http.get(f"{SM}/secrets/{secret['id']}/versions").json()
    assert list(versions) == ["versions", "total_count"]


def test_projects_total_count_first(http: httpx.Client) -> None:
    body = http.get("/account/v3/projects").json()
    assert list(body) == ["total_count", "projects"]
    assert list(body["projects"][0]) == [
        "id",
        "name",
        "organization_id",
        "created_at",
        "updated_at",
        "description",
        "qualification",
        "status",
    ]


def test_delete_is_204_empty(http: httpx.Client, conformance_config: Any) -> None:
    secret = _new_secret(http, conformance_config.project_id)
    http.post(f"{SM}/secrets/{secret['id']}/versions", json={"data": "eA=="})
    r = http.request("DELETE", f"{SM}/secrets/{secret['id']}/versions/1", content=b"{}")
    assert r.status_code == 204 and r.content == b""
    assert r.headers["content-type"] == "application/json"  # recorded: the real API sends it
    r = http.delete(f"{SM}/secrets/{secret['id']}")
    assert r.status_code == 204 and r.content == b""


def test_headers_and_error_content_type(http: httpx.Client) -> None:
    r = http.get(f"{SM}/secrets/{uuid.uuid4()}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert "x-request-id" in r.headers
    assert r.headers["server"].startswith("Scaleway API Gateway")
    assert "x-total-count" not in {k.lower() for k in r.headers}
    ok = http.get("/account/v3/projects")
    assert "x-total-count" not in {k.lower() for k in ok.headers}


def test_sdk_query_habits(http: httpx.Client, conformance_config: Any) -> None:
    tag = f"habits-{uuid.uuid4().hex[:8]}"
    _new_secret(http, conformance_config.project_id, tags=[tag])
    # Python SDK: True/False booleans and a {} body on GET.
    py = http.request(
        "GET",
        f"{SM}/secrets",
        params={
            "project_id": conformance_config.project_id,
            "tags": tag,
            "scheduled_for_deletion": "False",
        },
        content=b"{}",
    )
    assert py.status_code == 200 and py.json()["total_count"] == 1
    # Go SDK: every enum sent, zero values meaning "unset", empty strings for unset strings.
    go = http.get(
        f"{SM}/secrets",
        params=[
            ("project_id", conformance_config.project_id),
            ("organization_id", conformance_config.organization_id),
            ("tags", tag),
            ("order_by", "name_asc"),
            ("type", "unknown_type"),
            ("scheduled_for_deletion", "false"),
            ("name", ""),
            ("path", ""),
            ("page_size", "0"),
        ],
    )
    assert go.status_code == 200 and go.json()["total_count"] == 1
    upper = http.get(
        f"{SM}/secrets",
        params={
            "project_id": conformance_config.project_id,
            "tags": tag,
            "scheduled_for_deletion": "TRUE",
        },
    )
    assert upper.status_code == 200 and upper.json()["total_count"] == 0
    bad = http.get(f"{SM}/secrets", params={"scheduled_for_deletion": "maybe"})
    assert bad.status_code == 400


def test_header_name_is_case_insensitive(emulator_url: str, conformance_config: Any) -> None:
    token = conformance_config.keys["full"].secret_key
    for header in ("x-auth-token", "X-AUTH-TOKEN"):
        r = httpx.get(f"{emulator_url}/account/v3/projects", headers={header: token})
        assert r.status_code == 200


@pytest.mark.parametrize(
    ("headers", "method", "reason"),
    [
        ({}, "unknown_method", "invalid_argument"),
        ({"X-Auth-Token": "not-a-uuid"}, "api_key", "invalid_argument"),
        ({"X-Auth-Token": str(uuid.UUID(int=7))}, "api_key", "not_found"),
    ],
)
def test_401_bodies(emulator_url: str, headers: dict[str, str], method: str, reason: str) -> None:
    r = httpx.get(f"{emulator_url}{SM}/secrets", headers=headers)
    assert r.status_code == 401
    assert r.text == (
        f'{{"message":"authentication is denied","method":"{method}",'
        f'"reason":"{reason}","type":"denied_authentication"}}'
    )


def test_bad_json_body_and_unknown_route(http: httpx.Client) -> None:
    r = http.post(
        f"{SM}/secrets", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["type"] == "invalid_arguments"
    assert http.get("/secret-manager/v1beta1/regions/fr-par/nothing-here").status_code == 404
    assert http.put(f"{SM}/secrets").status_code == 405


def test_data_round_trips_binary(http: httpx.Client, conformance_config: Any) -> None:
    secret = _new_secret(http, conformance_config.project_id)
    payload = bytes(range(256)) * 3
    encoded = base64.b64encode(payload).decode()
    crc = zlib.crc32(payload)
    # A CRC sent as a string (protobuf JSON allows it for integers) is checked too.
    r = http.post(
        f"{SM}/secrets/{secret['id']}/versions", json={"data": encoded, "data_crc32": str(crc ^ 1)}
    )
    assert r.status_code == 400
    r = http.post(
        f"{SM}/secrets/{secret['id']}/versions", json={"data": encoded, "data_crc32": str(crc)}
    )
    assert r.status_code == 200
    got = http.get(f"{SM}/secrets/{secret['id']}/versions/latest/access").json()
    assert base64.b64decode(got["data"]) == payload and got["data_crc32"] == zlib.crc32(payload)


@pytest.fixture
def limited(conformance_config: Any) -> Iterator[tuple[ThreadedServer, EmulatorApp]]:
    app = EmulatorApp(load_config(conformance_config.path), rate_limit=2)
    with ThreadedServer(app) as server:
        yield server, app


def test_bare_429(limited: tuple[ThreadedServer, EmulatorApp], conformance_config: Any) -> None:
    server, app = limited
    token = conformance_config.keys["full"].secret_key
    statuses = []
    with httpx.Client(base_url=server.url, headers={"X-Auth-Token": token}) as client:
        for _ in range(6):  # far more than the 2-request burst, in well under a second
            r = client.get("/account/v3/projects")
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.content == b""
                assert r.headers["x-envoy-ratelimited"] == "true"
                assert "retry-after" not in r.headers
                assert "content-type" not in r.headers
    assert 429 in statuses and statuses[0] == 200
    assert app.stats.rate_limited == statuses.count(429)


def test_sdk_sees_503_from_error_injection(conformance_config: Any) -> None:
    from scaleway import Client
    from scaleway.account.v3 import AccountV3ProjectAPI
    from scaleway_core.api import ScalewayException

    app = EmulatorApp(load_config(conformance_config.path), error_rate=1.0, seed=1)
    with ThreadedServer(app) as server:
        key = conformance_config.keys["full"]
        client = Client(
            access_key=key.access_key,
            secret_key=key.secret_key,
            api_url=server.url,
            default_organization_id=conformance_config.organization_id,
            default_region="fr-par",
        )
        with pytest.raises(ScalewayException) as exc:
            AccountV3ProjectAPI(client).list_projects()
        assert exc.value.status_code == 503
        assert exc.value.response.json()["type"] == "service_unavailable"
    assert app.stats.injected_errors == 1


def test_security_headers_on_every_answer(http: httpx.Client, conformance_config: Any) -> None:
    """Recorded (the CLI's cassette): the gateway's four security headers, errors included."""
    secret = _new_secret(http, conformance_config.project_id)
    answers = [
        http.get(f"{SM}/secrets/{secret['id']}"),
        http.get(f"{SM}/secrets/{uuid.uuid4()}"),
        http.delete(f"{SM}/secrets/{secret['id']}"),
        http.get("/no/such/route"),
    ]
    for r in answers:
        assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert r.headers["strict-transport-security"] == "max-age=63072000"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
