"""The official SDK against the emulator: versions (create, list, get, update, delete, enable,
disable, restore, access by id and by path), payload rules and revision aliases."""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from typing import Any

import pytest
from scaleway.secret.v1beta1 import (
    EphemeralPolicy,
    EphemeralPolicyAction,
    EphemeralProperties,
    SecretType,
    SecretVersionStatus,
)
from scaleway_core.api import ScalewayException

from core.emulator.demo_material import API_CHAIN_PEM, DEPLOY_SSH_PRIVATE_KEY


def unique(prefix: str = "ver") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def body_of(exc: pytest.ExceptionInfo[ScalewayException]) -> dict[str, Any]:
    body = exc.value.response.json()
    assert isinstance(body, dict)
    return body


@pytest.fixture
def secret(secret_api: Any) -> Any:
    return secret_api.create_secret(name=unique(), protected=False, path="/versions")


def test_versions_lifecycle(secret_api: Any, secret: Any) -> None:
    v1 = secret_api.create_secret_version(
        secret_id=secret.id, data=b64(b"one"), description="first"
    )
    assert v1.revision == 1 and v1.latest is True and v1.status == SecretVersionStatus.ENABLED
    assert v1.description == "first" and v1.secret_id == secret.id and v1.region == "fr-par"
    assert v1.deleted_at is None and v1.deletion_requested_at is None
    v2 = secret_api.create_secret_version(secret_id=secret.id, data=b64(b"two"))
    assert v2.revision == 2 and v2.latest is True
    assert secret_api.get_secret_version(secret_id=secret.id, revision="1").latest is False
    assert secret_api.get_secret(secret_id=secret.id).version_count == 2

    listed = secret_api.list_secret_versions(secret_id=secret.id)
    assert listed.total_count == 2
    assert [v.revision for v in listed.versions] == [2, 1]  # revision descending
    assert [
        v.revision for v in secret_api.list_secret_versions_all(secret_id=secret.id, page_size=1)
    ] == [2, 1]

    updated = secret_api.update_secret_version(
        secret_id=secret.id, revision="1", description="renamed"
    )
    assert updated.description == "renamed" and updated.updated_at > v1.updated_at

    disabled = secret_api.disable_secret_version(secret_id=secret.id, revision="2")
    assert disabled.status == SecretVersionStatus.DISABLED
    only_disabled = secret_api.list_secret_versions(
        secret_id=secret.id, status=[SecretVersionStatus.DISABLED]
    )
    assert [v.revision for v in only_disabled.versions] == [2] and only_disabled.total_count == 1

    # latest = highest of any status; latest_enabled skips the disabled one.
    assert secret_api.get_secret_version(secret_id=secret.id, revision="latest").revision == 2
    assert (
        secret_api.get_secret_version(secret_id=secret.id, revision="latest_enabled").revision == 1
    )
    access = secret_api.access_secret_version(secret_id=secret.id, revision="latest_enabled")
    assert access.revision == 1 and base64.b64decode(access.data) == b"one"
    assert access.type_ == SecretType.OPAQUE

    with pytest.raises(ScalewayException) as not_usable:
        secret_api.access_secret_version(secret_id=secret.id, revision="2")
    assert not_usable.value.status_code == 412
    assert body_of(not_usable)["precondition"] == "resource_not_usable"

    enabled = secret_api.enable_secret_version(secret_id=secret.id, revision="2")
    assert enabled.status == SecretVersionStatus.ENABLED
    assert (
        base64.b64decode(
            secret_api.access_secret_version(secret_id=secret.id, revision="latest").data
        )
        == b"two"
    )


def test_delete_and_restore_version(secret_api: Any, secret: Any) -> None:
    secret_api.create_secret_version(secret_id=secret.id, data=b64(b"a"))
    secret_api.create_secret_version(secret_id=secret.id, data=b64(b"b"))
    secret_api.disable_secret_version(secret_id=secret.id, revision="1")
    before = secret_api.get_secret_version(secret_id=secret.id, revision="1")
    assert secret_api.delete_secret_version(secret_id=secret.id, revision="1") is None

    deleted = secret_api.get_secret_version(secret_id=secret.id, revision="1")
    assert deleted.status == SecretVersionStatus.SCHEDULED_FOR_DELETION
    assert deleted.deletion_requested_at is not None and deleted.deleted_at is None
    assert deleted.updated_at == before.updated_at  # observed: unchanged by delete
    assert secret_api.get_secret(secret_id=secret.id).version_count == 2  # still counted
    assert secret_api.list_secret_versions(secret_id=secret.id).total_count == 2

    with pytest.raises(ScalewayException) as no_data:
        secret_api.access_secret_version(secret_id=secret.id, revision="1")
    assert no_data.value.status_code == 412

    restored = secret_api.restore_secret_version(secret_id=secret.id, revision="1")
    assert restored.status == SecretVersionStatus.DISABLED  # the status it had before
    assert restored.deletion_requested_at is None


def test_revisions_are_never_reused(secret_api: Any, secret: Any) -> None:
    for payload in (b"1", b"2", b"3"):
        secret_api.create_secret_version(secret_id=secret.id, data=b64(payload))
    for rev in ("1", "2", "3"):
        secret_api.delete_secret_version(secret_id=secret.id, revision=rev)
    v4 = secret_api.create_secret_version(secret_id=secret.id, data=b64(b"4"))
    assert v4.revision == 4


def test_disable_previous(secret_api: Any, secret: Any) -> None:
    secret_api.create_secret_version(secret_id=secret.id, data=b64(b"old"))
    new = secret_api.create_secret_version(
        secret_id=secret.id, data=b64(b"new"), disable_previous=True
    )
    assert new.status == SecretVersionStatus.ENABLED
    assert (
        secret_api.get_secret_version(secret_id=secret.id, revision="1").status
        == SecretVersionStatus.DISABLED
    )


def test_unknown_revisions(secret_api: Any, secret: Any) -> None:
    with pytest.raises(ScalewayException) as none_yet:
        secret_api.get_secret_version(secret_id=secret.id, revision="latest")
    assert none_yet.value.status_code == 404
    secret_api.create_secret_version(secret_id=secret.id, data=b64(b"x"))
    with pytest.raises(ScalewayException) as missing:
        secret_api.get_secret_version(secret_id=secret.id, revision="7")
    assert missing.value.status_code == 404
    assert body_of(missing)["type"] == "not_found"
    with pytest.raises(ScalewayException) as bad:
        secret_api.get_secret_version(secret_id=secret.id, revision="newest")
    assert bad.value.status_code == 400
    assert body_of(bad)["details"][0]["argument_name"] == "revision"
    secret_api.disable_secret_version(secret_id=secret.id, revision="1")
    with pytest.raises(ScalewayException) as no_enabled:
        secret_api.access_secret_version(secret_id=secret.id, revision="latest_enabled")
    assert no_enabled.value.status_code == 404


def test_crc32(secret_api: Any, secret: Any) -> None:
    data = b"checked payload"
    crc = zlib.crc32(data)
    secret_api.create_secret_version(secret_id=secret.id, data=b64(data), data_crc32=crc)
    assert secret_api.access_secret_version(secret_id=secret.id, revision="1").data_crc32 == crc
    with pytest.raises(ScalewayException) as mismatch:
        secret_api.create_secret_version(secret_id=secret.id, data=b64(data), data_crc32=crc ^ 1)
    assert mismatch.value.status_code == 400
    detail = body_of(mismatch)["details"][0]
    assert detail["argument_name"] == "data_crc32" and detail["reason"] == "constraint"
    assert secret_api.get_secret(secret_id=secret.id).version_count == 1  # nothing half-made


def test_payload_size_limit(secret_api: Any, secret: Any) -> None:
    exact = b"\x00" * 65536
    v = secret_api.create_secret_version(secret_id=secret.id, data=b64(exact))
    assert (
        base64.b64decode(
            secret_api.access_secret_version(secret_id=secret.id, revision=str(v.revision)).data
        )
        == exact
    )
    with pytest.raises(ScalewayException) as too_big:
        secret_api.create_secret_version(secret_id=secret.id, data=b64(exact + b"\x01"))
    assert too_big.value.status_code == 400
    assert body_of(too_big)["details"][0]["argument_name"] == "data"


def test_bad_base64(secret_api: Any, secret: Any) -> None:
    for bad in ("not base64!", "YWJj\n", "YWJ", "YW-j"):
        with pytest.raises(ScalewayException) as exc:
            secret_api.create_secret_version(secret_id=secret.id, data=bad)
        assert exc.value.status_code == 400
        assert body_of(exc)["details"][0] == {
            "argument_name": "data",
            "help_message": "data must be standard base64 with padding",
            "reason": "format",
        }


def test_version_quota(secret_api: Any, secret: Any) -> None:
    for i in range(20):
        secret_api.create_secret_version(secret_id=secret.id, data=b64(str(i).encode()))
    with pytest.raises(ScalewayException) as exc:
        secret_api.create_secret_version(secret_id=secret.id, data=b64(b"21st"))
    assert exc.value.status_code == 403
    body = body_of(exc)
    assert body["type"] == "quotas_exceeded"
    assert body["details"][0]["quota"] == 20


@pytest.mark.parametrize(
    ("secret_type", "payload"),
    [
        (SecretType.KEY_VALUE, {"user": "app", "token": "x"}),
        (SecretType.BASIC_CREDENTIALS, {"username": "u", "password": "p"}),
        (
            SecretType.DATABASE_CREDENTIALS,
            {
                "engine": "mysql",
                "username": "u",
                "password": "p",
                "host": "h",
                "dbname": "d",
                "port": "3306",
            },
        ),
        (SecretType.SSH_KEY, {"ssh_private_key": DEPLOY_SSH_PRIVATE_KEY}),
        (SecretType.CERTIFICATE, API_CHAIN_PEM),
    ],
)
def test_typed_payloads_accepted(secret_api: Any, secret_type: SecretType, payload: Any) -> None:
    s = secret_api.create_secret(name=unique(), protected=False, type_=secret_type)
    data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    v = secret_api.create_secret_version(secret_id=s.id, data=b64(data))
    access = secret_api.access_secret_version(secret_id=s.id, revision=str(v.revision))
    assert base64.b64decode(access.data) == data and access.type_ == secret_type


@pytest.mark.parametrize(
    ("secret_type", "payload", "fragment"),
    [
        (
            SecretType.KEY_VALUE,
            b'{"key":"value","invalid":{}}',
            "- invalid: Invalid type. Expected: string, given: object\n",
        ),
        (SecretType.KEY_VALUE, b"[1,2]", "Expected: object"),
        (SecretType.KEY_VALUE, b"not json", "Invalid JSON"),
        (SecretType.BASIC_CREDENTIALS, b'{"username":"u"}', "password is required"),
        (
            SecretType.DATABASE_CREDENTIALS,
            b'{"engine":"postgres","username":"u","password":"p","host":"h","dbname":"d","port":5432}',
            "port: Invalid type",
        ),
        (
            SecretType.DATABASE_CREDENTIALS,
            b'{"engine":"oracle","username":"u","password":"p","host":"h","dbname":"d","port":"1521"}',
            "engine",
        ),
        (SecretType.SSH_KEY, b'{"key":"x"}', "ssh_private_key is required"),
        (SecretType.CERTIFICATE, b"just text", "PEM"),
    ],
)
def test_typed_payloads_rejected(
    secret_api: Any, secret_type: SecretType, payload: bytes, fragment: str
) -> None:
    s = secret_api.create_secret(name=unique(), protected=False, type_=secret_type)
    with pytest.raises(ScalewayException) as exc:
        secret_api.create_secret_version(secret_id=s.id, data=b64(payload))
    assert exc.value.status_code == 400
    body = body_of(exc)
    assert body["message"] == "invalid argument(s)" and body["type"] == "invalid_arguments"
    detail = body["details"][0]
    assert detail["argument_name"] == "data" and detail["reason"] == "format"
    assert fragment in detail["help_message"]


def test_key_value_rejection_is_the_recorded_body(secret_api: Any) -> None:
    s = secret_api.create_secret(name=unique(), protected=False, type_=SecretType.KEY_VALUE)
    with pytest.raises(ScalewayException) as exc:
        secret_api.create_secret_version(secret_id=s.id, data=b64(b'{"key":"value","invalid":{}}'))
    assert exc.value.response.text == (
        '{"details":[{"argument_name":"data","help_message":"- invalid: Invalid type. '
        'Expected: string, given: object\\n","reason":"format"}],'
        '"message":"invalid argument(s)","type":"invalid_arguments"}'
    )


def test_access_by_path(secret_api: Any, conformance_config: Any) -> None:
    name = unique()
    s = secret_api.create_secret(name=name, protected=False, path="/by/path")
    secret_api.create_secret_version(secret_id=s.id, data=b64(b"first"))
    secret_api.create_secret_version(secret_id=s.id, data=b64(b"second"))
    got = secret_api.access_secret_version_by_path(
        secret_path="/by/path", secret_name=name, revision="latest"
    )
    assert got.secret_id == s.id and got.revision == 2 and base64.b64decode(got.data) == b"second"
    first = secret_api.access_secret_version_by_path(
        secret_path="/by/path/", secret_name=name, revision="1"
    )
    assert base64.b64decode(first.data) == b"first"
    assert first.data_crc32 == 0  # SDK maps JSON null (no CRC supplied) to 0
    with pytest.raises(ScalewayException) as missing:
        secret_api.access_secret_version_by_path(secret_path="/by", secret_name=name, revision="1")
    assert missing.value.status_code == 404
    with pytest.raises(ScalewayException) as other_project:
        secret_api.access_secret_version_by_path(
            secret_path="/by/path",
            secret_name=name,
            revision="1",
            project_id=conformance_config.other_project_id,
        )
    assert other_project.value.status_code == 404


def test_ephemeral_versions(secret_api: Any) -> None:
    policy = EphemeralPolicy(
        action=EphemeralPolicyAction.DISABLE, time_to_live="86400s", expires_once_accessed=True
    )
    s = secret_api.create_secret(name=unique(), protected=False, ephemeral_policy=policy)
    v = secret_api.create_secret_version(secret_id=s.id, data=b64(b"once"))
    assert v.ephemeral_properties is not None
    assert v.ephemeral_properties.expires_once_accessed is True
    assert v.ephemeral_properties.action == EphemeralPolicyAction.DISABLE
    assert v.ephemeral_properties.expires_at is not None
    assert (
        base64.b64decode(secret_api.access_secret_version(secret_id=s.id, revision="1").data)
        == b"once"
    )
    # Accessed once: the policy's action (disable) applies.
    assert (
        secret_api.get_secret_version(secret_id=s.id, revision="1").status
        == SecretVersionStatus.DISABLED
    )
    with pytest.raises(ScalewayException):
        secret_api.access_secret_version(secret_id=s.id, revision="1")
    again = secret_api.enable_secret_version(secret_id=s.id, revision="1")
    assert again.status == SecretVersionStatus.ENABLED
    assert again.ephemeral_properties is not None
    props = EphemeralProperties(action=EphemeralPolicyAction.DELETE, expires_once_accessed=False)
    patched = secret_api.update_secret_version(
        secret_id=s.id, revision="1", ephemeral_properties=props
    )
    assert patched.ephemeral_properties is not None
    assert patched.ephemeral_properties.action == EphemeralPolicyAction.DELETE

    with pytest.raises(ScalewayException) as bad_policy:
        secret_api.create_secret(
            name=unique(),
            protected=False,
            ephemeral_policy=EphemeralPolicy(
                action=EphemeralPolicyAction.DELETE, time_to_live="0s"
            ),
        )
    assert bad_policy.value.status_code == 400
    # Deleting an ephemeral secret is immediate.
    secret_api.delete_secret(secret_id=s.id)
    with pytest.raises(ScalewayException) as gone:
        secret_api.get_secret(secret_id=s.id)
    assert gone.value.status_code == 404


def test_scheduled_secret_refuses_writes(secret_api: Any, secret: Any) -> None:
    secret_api.create_secret_version(secret_id=secret.id, data=b64(b"x"))
    secret_api.delete_secret(secret_id=secret.id)
    for call in (
        lambda: secret_api.create_secret_version(secret_id=secret.id, data=b64(b"y")),
        lambda: secret_api.update_secret(secret_id=secret.id, description="no"),
        lambda: secret_api.disable_secret_version(secret_id=secret.id, revision="1"),
    ):
        with pytest.raises(ScalewayException) as exc:
            call()
        assert exc.value.status_code == 412
    # Metadata stays readable.
    assert secret_api.get_secret_version(secret_id=secret.id, revision="1").revision == 1
    assert secret_api.list_secret_versions(secret_id=secret.id).total_count == 1
