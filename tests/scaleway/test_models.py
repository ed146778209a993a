"""The models' one codec: what it keeps, what absent and null keys become, key order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.scaleway.models import (
    AccessedVersion,
    ApiKey,
    BrowseItem,
    EphemeralPolicy,
    Project,
    Secret,
    SecretStatus,
    SecretVersion,
    VersionStatus,
)
from tests.scaleway.conftest import SECRET_ID, secret_json, version_json


def test_secret_round_trips_in_the_real_key_order() -> None:
    data = secret_json(
        tags=["a"],
        ephemeral_policy={"time_to_live": "60s", "expires_once_accessed": None, "action": "delete"},
    )
    secret = Secret.from_api(data)
    assert secret.ephemeral_policy == EphemeralPolicy("60s", None, "delete")
    assert secret.created_at == datetime(2026, 7, 3, 15, 27, 54, 805853, tzinfo=UTC)
    out = secret.to_api()
    assert out == data and list(out) == list(data)


def test_unknown_keys_and_enum_values_are_kept() -> None:
    secret = Secret.from_api(secret_json(status="frozen", type="passkey", brand_new={"x": 1}))
    assert secret.status == "frozen" and secret.type == "passkey"
    assert secret.extra == {"brand_new": {"x": 1}}
    assert "brand_new" not in secret.to_api()


def test_absent_null_and_empty_keys() -> None:
    sparse = Secret.from_api({"id": SECRET_ID, "status": None, "type": "", "tags": None})
    assert sparse.status == SecretStatus.UNKNOWN and sparse.type == "opaque"
    assert sparse.tags == () and sparse.region == "" and sparse.path == "/"
    assert sparse.project_id == "" and sparse.description == ""
    # keys decoded as sent keep a null (only an absent key gets the default)
    assert Secret.from_api({"id": SECRET_ID, "name": None}).name is None
    version = SecretVersion.from_api({"revision": "3"})
    assert version.revision == 3 and version.status == VersionStatus.UNKNOWN
    with pytest.raises(KeyError):
        Secret.from_api({"name": "no id"})
    with pytest.raises(KeyError):
        SecretVersion.from_api({"secret_id": "x"})


def test_timestamps_nine_digits_naive_and_empty() -> None:
    v = SecretVersion.from_api(
        version_json(
            created_at="2026-07-03T15:27:54.805853123Z",
            updated_at="2026-07-03T15:27:54",
            deleted_at="",
        )
    )
    assert v.created_at == datetime(2026, 7, 3, 15, 27, 54, 805853, tzinfo=UTC)
    assert v.updated_at == datetime(2026, 7, 3, 15, 27, 54, tzinfo=UTC)
    assert v.deleted_at is None


def test_accessed_version_data_and_null_crc() -> None:
    accessed = AccessedVersion.from_api(
        {"secret_id": SECRET_ID, "revision": 2, "data": "dmFsdWU=", "data_crc32": None}
    )
    assert accessed.data == b"value" and accessed.data_crc32 is None and accessed.type == "opaque"
    assert accessed.to_api()["data"] == "dmFsdWU="
    assert "value" not in repr(accessed)
    with pytest.raises(ValueError):
        AccessedVersion.from_api({"revision": 1, "data": "not base64!"})


def test_omitted_when_none() -> None:
    assert "status" not in Project(id="p", name="n", organization_id="o").to_api()
    folder = BrowseItem.from_api(
        {"name": "f", "created_at": None, "updated_at": None, "folder": {}}
    )
    assert folder.is_folder and "secret" not in folder.to_api()


def test_api_key_never_keeps_a_secret_key() -> None:
    key = ApiKey.from_api(
        {
            "access_key": "SCWXXXXXXXXXXXXXXXXX",
            "secret_key": "11111111-2222-3333-4444-555555555555",
            "description": "backup",
            "created_at": "2026-01-01T00:00:00Z",
            "expires_at": None,
            "future_field": 1,
        }
    )
    assert key.expires_at is None and key.extra == {"future_field": 1}
    assert "1111" not in repr(key) and "secret_key" not in key.to_api()
    expiring = ApiKey.from_api({"access_key": "SCWX", "expires_at": "2027-01-01T00:00:00Z"})
    assert expiring.expires_at == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("model", "data"),
    [(Secret, secret_json(tags=["a"])), (SecretVersion, version_json())],
)
def test_a_decoded_model_is_the_one_its_constructor_builds(
    model: type[Secret] | type[SecretVersion], data: dict[str, object]
) -> None:
    # The decoder fills a bare instance's slots (not __init__): the object must be the same,
    # equal, hashable alike, and still frozen.
    import dataclasses

    decoded = model.from_api(data)
    built = model(**{f.name: getattr(decoded, f.name) for f in dataclasses.fields(model)})
    assert decoded == built
    assert hash(decoded) == hash(built)
    assert repr(decoded) == repr(built)
    first = dataclasses.fields(model)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(decoded, first, "x")
    assert all(hasattr(decoded, f.name) for f in dataclasses.fields(model))
