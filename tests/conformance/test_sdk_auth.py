"""The official SDK against the emulator: authentication (401) and IAM permission sets and
project scopes (403) per endpoint, as in the spec's IAM table."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from scaleway.account.v3 import AccountV3ProjectAPI
from scaleway.secret.v1beta1 import Product, SecretV1Beta1API
from scaleway_core.api import ScalewayException


def unique(prefix: str = "auth") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def api_for(make_sdk_client: Any) -> Callable[..., Any]:
    def make(key: str, **overrides: Any) -> Any:
        return SecretV1Beta1API(make_sdk_client(key, **overrides))

    return make


@pytest.fixture
def fixture_secret(secret_api: Any) -> Any:
    s = secret_api.create_secret(name=unique(), protected=False, path="/auth", tags=[unique("t")])
    secret_api.create_secret_version(secret_id=s.id, data=b64(b"payload"))
    return s


def _status(call: Callable[[], Any]) -> int:
    try:
        call()
    except ScalewayException as exc:
        assert exc.status_code is not None
        return int(exc.status_code)
    return 200


@pytest.mark.parametrize(
    ("key", "reason", "method"),
    [("unknown", "not_found", "api_key"), ("expired", "expired", "api_key")],
)
def test_bad_keys_get_401(api_for: Any, key: str, reason: str, method: str) -> None:
    with pytest.raises(ScalewayException) as exc:
        api_for(key).list_secrets(scheduled_for_deletion=False)
    assert exc.value.status_code == 401
    assert exc.value.response.json() == {
        "message": "authentication is denied",
        "method": method,
        "reason": reason,
        "type": "denied_authentication",
    }


def test_readonly_key(api_for: Any, fixture_secret: Any, make_sdk_client: Any) -> None:
    api = api_for("readonly")
    sid = fixture_secret.id
    # Metadata: allowed.
    assert api.get_secret(secret_id=sid).id == sid
    assert api.list_secrets(scheduled_for_deletion=False, tags=fixture_secret.tags).total_count == 1
    assert api.list_secret_versions(secret_id=sid).total_count == 1
    assert api.get_secret_version(secret_id=sid, revision="1").revision == 1
    assert api.browse_secrets(prefix="/auth").current_path == "/auth"
    api.list_tags()
    api.list_secret_types()
    # Data and every write: 403 permissions_denied.
    with pytest.raises(ScalewayException) as denied:
        api.access_secret_version(secret_id=sid, revision="1")
    assert denied.value.status_code == 403
    body = denied.value.response.json()
    assert body["type"] == "permissions_denied" and body["message"] == "insufficient permissions"
    assert body["details"][0]["resource"] == "secret_version"
    writes: list[Callable[[], Any]] = [
        lambda: api.create_secret(name=unique(), protected=False),
        lambda: api.update_secret(secret_id=sid, description="x"),
        lambda: api.delete_secret(secret_id=sid),
        lambda: api.protect_secret(secret_id=sid),
        lambda: api.unprotect_secret(secret_id=sid),
        lambda: api.restore_secret(secret_id=sid),
        lambda: api.add_secret_owner(secret_id=sid, product=Product.S2S_VPN),
        lambda: api.create_secret_version(secret_id=sid, data=b64(b"x")),
        lambda: api.update_secret_version(secret_id=sid, revision="1", description="x"),
        lambda: api.delete_secret_version(secret_id=sid, revision="1"),
        lambda: api.enable_secret_version(secret_id=sid, revision="1"),
        lambda: api.disable_secret_version(secret_id=sid, revision="1"),
        lambda: api.restore_secret_version(secret_id=sid, revision="1"),
        lambda: api.access_secret_version_by_path(
            secret_path="/auth", secret_name=fixture_secret.name, revision="1"
        ),
    ]
    assert [_status(w) for w in writes] == [403] * len(writes)
    # Project listing needs ProjectReadOnly.
    with pytest.raises(ScalewayException) as no_projects:
        AccountV3ProjectAPI(make_sdk_client("readonly")).list_projects()
    assert no_projects.value.status_code == 403


def test_key_without_access_cannot_read_data(api_for: Any, fixture_secret: Any) -> None:
    api = api_for("no_access")
    assert api.get_secret(secret_id=fixture_secret.id).id == fixture_secret.id
    with pytest.raises(ScalewayException) as exc:
        api.access_secret_version(secret_id=fixture_secret.id, revision="latest")
    assert exc.value.status_code == 403
    # It may still write (Create/Write/Delete/Restore).
    v = api.create_secret_version(secret_id=fixture_secret.id, data=b64(b"more"))
    assert v.revision == 2


def test_key_without_permission_sets(api_for: Any, fixture_secret: Any) -> None:
    api = api_for("no_permissions")
    checks: list[Callable[[], Any]] = [
        lambda: api.list_secrets(scheduled_for_deletion=False),
        lambda: api.get_secret(secret_id=fixture_secret.id),
        lambda: api.list_tags(),
        lambda: api.access_secret_version(secret_id=fixture_secret.id, revision="1"),
    ]
    assert [_status(c) for c in checks] == [403] * len(checks)


def test_project_scoped_key(
    api_for: Any, fixture_secret: Any, conformance_config: Any, make_sdk_client: Any
) -> None:
    other = conformance_config.other_project_id
    scoped = api_for("scoped", default_project_id=other)
    # Its own project: full access.
    mine = scoped.create_secret(name=unique(), protected=False)
    assert mine.project_id == other
    scoped.create_secret_version(secret_id=mine.id, data=b64(b"ok"))
    assert scoped.access_secret_version(secret_id=mine.id, revision="1").revision == 1
    assert [
        s.id for s in scoped.list_secrets_all(scheduled_for_deletion=False, name=mine.name)
    ] == [mine.id]
    # Another project's secret: 403, by id, by listing and by path.
    with pytest.raises(ScalewayException) as by_id:
        scoped.get_secret(secret_id=fixture_secret.id)
    assert by_id.value.status_code == 403
    with pytest.raises(ScalewayException) as listing:
        scoped.list_secrets(scheduled_for_deletion=False, project_id=conformance_config.project_id)
    assert listing.value.status_code == 403
    with pytest.raises(ScalewayException) as creating:
        scoped.create_secret(
            name=unique(), protected=False, project_id=conformance_config.project_id
        )
    assert creating.value.status_code == 403
    # Listing without project_id (only the organization): 403, such keys must name a project.
    no_project = api_for("scoped", default_project_id=None)
    with pytest.raises(ScalewayException) as org_only:
        no_project.list_secrets(scheduled_for_deletion=False)
    assert org_only.value.status_code == 403
    # Organization-level project listing: 403 even with ProjectReadOnly in its policy.
    with pytest.raises(ScalewayException) as projects:
        AccountV3ProjectAPI(make_sdk_client("scoped")).list_projects()
    assert projects.value.status_code == 403


def test_full_key_lists_with_org_only(api_for: Any, fixture_secret: Any) -> None:
    api = api_for("full", default_project_id=None)
    found = api.list_secrets_all(scheduled_for_deletion=False, tags=fixture_secret.tags)
    assert [s.id for s in found] == [fixture_secret.id]


def test_other_organization_is_denied(api_for: Any) -> None:
    api = api_for("full", default_organization_id=str(uuid.uuid4()), default_project_id=None)
    with pytest.raises(ScalewayException) as exc:
        api.list_secrets(scheduled_for_deletion=False)
    assert exc.value.status_code == 403
