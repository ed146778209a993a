"""The official SDK against the emulator: IAM v1alpha1 ``get_api_key`` (a key's metadata)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from scaleway.iam.v1alpha1 import IamV1Alpha1API
from scaleway_core.api import ScalewayException


def test_get_api_key_answers_the_real_shape(
    make_sdk_client: Any, conformance_config: Any, emulator_url: str
) -> None:
    import httpx

    api = IamV1Alpha1API(make_sdk_client("iam"))
    full = conformance_config.key("full")
    key = api.get_api_key(access_key=full.access_key)
    assert key.access_key == full.access_key
    assert key.secret_key is None  # never shown after creation
    assert key.description == "conformance: full"
    assert key.expires_at is None
    assert key.default_project_id == conformance_config.organization_id
    assert key.application_id and key.user_id is None
    assert key.editable and key.deletable and not key.managed
    assert key.created_at == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)

    iam = api.get_api_key(access_key=conformance_config.key("iam").access_key)
    assert iam.expires_at == datetime(2099, 1, 1, tzinfo=UTC)
    scoped = api.get_api_key(access_key=conformance_config.key("scoped").access_key)
    assert scoped.default_project_id == conformance_config.other_project_id

    raw = httpx.get(
        f"{emulator_url}/iam/v1alpha1/api-keys/{full.access_key}",
        headers={"X-Auth-Token": conformance_config.key("iam").secret_key},
    ).json()
    assert list(raw) == [
        "access_key",
        "secret_key",
        "application_id",
        "user_id",
        "description",
        "created_at",
        "updated_at",
        "expires_at",
        "default_project_id",
        "editable",
        "deletable",
        "managed",
        "creation_ip",
    ]
    assert full.secret_key not in str(raw)


def test_get_api_key_errors(make_sdk_client: Any, conformance_config: Any) -> None:
    api = IamV1Alpha1API(make_sdk_client("iam"))
    with pytest.raises(ScalewayException) as missing:
        api.get_api_key(access_key="SCWNOSUCHKEY00000000")
    assert missing.value.status_code == 404
    assert missing.value.response.json() == {
        "message": "resource is not found",
        "resource": "api_key",
        "resource_id": "SCWNOSUCHKEY00000000",
        "type": "not_found",
    }
    with pytest.raises(ScalewayException) as bad:
        api.get_api_key(access_key="nope")
    assert bad.value.status_code == 400


@pytest.mark.parametrize("key_name", ["full", "scoped", "no_permissions"])
def test_get_api_key_needs_iam_read_only(
    make_sdk_client: Any, conformance_config: Any, key_name: str
) -> None:
    """No self-read exception: even a key reading itself needs IAMReadOnly (org-wide)."""
    own = conformance_config.key(key_name).access_key
    api = IamV1Alpha1API(make_sdk_client(key_name))
    with pytest.raises(ScalewayException) as denied:
        api.get_api_key(access_key=own)
    assert denied.value.status_code == 403
    assert denied.value.response.json()["details"] == [{"action": "read", "resource": "api_key"}]
