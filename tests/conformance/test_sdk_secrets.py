"""The official SDK against the emulator: secrets (create, list, browse, get, update, delete,
protect, unprotect, restore, add-owner), tags and secret types, pagination helpers."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from scaleway.secret.v1beta1 import (
    EphemeralPolicy,
    EphemeralPolicyAction,
    ListSecretsRequestOrderBy,
    Product,
    SecretStatus,
    SecretType,
)
from scaleway_core.api import ScalewayException


def unique(prefix: str = "sdk") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def error_body(exc: pytest.ExceptionInfo[ScalewayException]) -> dict[str, Any]:
    body = exc.value.response.json()
    assert isinstance(body, dict)
    return body


def test_create_get_update_secret(secret_api: Any, conformance_config: Any) -> None:
    name = unique()
    created = secret_api.create_secret(
        name=name,
        protected=False,
        tags=["sdk", "conformance"],
        description="made by the SDK",
        type_=SecretType.KEY_VALUE,
        path="/sdk/app/",
    )
    assert created.name == name
    assert created.project_id == conformance_config.project_id
    assert created.status == SecretStatus.READY
    assert created.path == "/sdk/app"
    assert created.tags == ["sdk", "conformance"]
    assert created.version_count == 0
    assert created.type_ == SecretType.KEY_VALUE
    assert created.region == "fr-par"
    assert created.used_by == []
    assert created.deletion_requested_at is None
    assert created.ephemeral_policy is None
    assert created.created_at == created.updated_at

    fetched = secret_api.get_secret(secret_id=created.id)
    assert fetched == created

    updated = secret_api.update_secret(
        secret_id=created.id,
        name=name + "-renamed",
        tags=["changed"],
        description="new",
        path="/sdk/moved/",
    )
    assert updated.name == name + "-renamed"
    assert updated.tags == ["changed"]
    assert updated.description == "new"
    assert updated.path == "/sdk/moved"
    assert updated.updated_at > created.updated_at
    assert updated.created_at == created.created_at


def test_create_defaults(secret_api: Any) -> None:
    created = secret_api.create_secret(name=unique(), protected=False)
    assert created.type_ == SecretType.OPAQUE
    assert created.path == "/"
    assert created.description == ""
    assert created.tags == []
    assert created.protected is False


def test_create_in_other_region(make_sdk_client: Any) -> None:
    from scaleway.secret.v1beta1 import SecretV1Beta1API

    api = SecretV1Beta1API(make_sdk_client("full", default_region="pl-waw"))
    created = api.create_secret(name=unique(), protected=False)
    assert created.region == "pl-waw"
    assert api.get_secret(secret_id=created.id).region == "pl-waw"
    with pytest.raises(ScalewayException) as missing:
        api.get_secret(secret_id=created.id, region="fr-par")
    assert missing.value.status_code == 404


def test_duplicate_name_is_409(secret_api: Any) -> None:
    name = unique()
    first = secret_api.create_secret(name=name, protected=False, path="/dup")
    with pytest.raises(ScalewayException) as exc:
        secret_api.create_secret(name=name, protected=False, path="/dup/")
    assert exc.value.status_code == 409
    body = error_body(exc)
    assert body["type"] == "already_exists"
    assert body["resource"] == "secret" and body["resource_id"] == first.id
    # Another path is another secret.
    assert secret_api.create_secret(name=name, protected=False, path="/dup/other").id != first.id


def test_unicode_names_and_paths_round_trip(secret_api: Any) -> None:
    name = f"mot-de-passe-é-{unique()}"
    created = secret_api.create_secret(name=name, protected=False, path="/équipe/数据库")
    assert (created.name, created.path) == (name, "/équipe/数据库")
    fetched = secret_api.get_secret(secret_id=created.id)
    assert (fetched.name, fetched.path) == (name, "/équipe/数据库")
    listed = secret_api.list_secrets_all(
        name=name, path="/équipe/数据库", scheduled_for_deletion=False
    )
    assert [s.id for s in listed] == [created.id]
    for bad in ("trailing-newline\n", "tab\tname", "slash/name"):
        with pytest.raises(ScalewayException) as refused:
            secret_api.create_secret(name=bad, protected=False)
        assert refused.value.status_code == 400


def test_create_validation_errors(secret_api: Any, conformance_config: Any) -> None:
    with pytest.raises(ScalewayException) as bad_path:
        secret_api.create_secret(name=unique(), protected=False, path="no-leading-slash")
    assert bad_path.value.status_code == 400
    assert error_body(bad_path)["details"][0]["argument_name"] == "path"

    with pytest.raises(ScalewayException) as bad_name:
        secret_api.create_secret(name="has space", protected=False)
    assert bad_name.value.status_code == 400
    assert error_body(bad_name)["details"][0]["argument_name"] == "name"

    with pytest.raises(ScalewayException) as bad_project:
        secret_api.create_secret(name=unique(), protected=False, project_id="not-a-uuid")
    assert bad_project.value.status_code == 400

    with pytest.raises(ScalewayException) as foreign:
        secret_api.create_secret(name=unique(), protected=False, project_id=str(uuid.uuid4()))
    assert foreign.value.status_code == 403
    assert error_body(foreign)["type"] == "permissions_denied"


def test_list_secrets_filters_and_all_helper(secret_api: Any) -> None:
    tag = unique("tag")
    path = "/" + unique("list")
    names = sorted(unique("s") for _ in range(7))
    ids = {}
    for i, name in enumerate(names):
        s = secret_api.create_secret(
            name=name,
            protected=False,
            tags=[tag, "even" if i % 2 == 0 else "odd"],
            path=path if i < 5 else path + "/deeper",
            type_=SecretType.OPAQUE if i != 3 else SecretType.KEY_VALUE,
        )
        ids[name] = s.id

    page = secret_api.list_secrets(scheduled_for_deletion=False, tags=[tag], page_size=3)
    assert page.total_count == 7 and len(page.secrets) == 3
    assert [s.name for s in page.secrets] == names[:3]  # name_asc by default
    second = secret_api.list_secrets(scheduled_for_deletion=False, tags=[tag], page_size=3, page=3)
    assert second.total_count == 7 and [s.name for s in second.secrets] == names[6:]
    past = secret_api.list_secrets(scheduled_for_deletion=False, tags=[tag], page_size=3, page=9)
    assert past.total_count == 7 and past.secrets == []

    everything = secret_api.list_secrets_all(scheduled_for_deletion=False, tags=[tag], page_size=2)
    assert [s.name for s in everything] == names

    desc = secret_api.list_secrets_all(
        scheduled_for_deletion=False, tags=[tag], order_by=ListSecretsRequestOrderBy.NAME_DESC
    )
    assert [s.name for s in desc] == names[::-1]

    both_tags = secret_api.list_secrets_all(scheduled_for_deletion=False, tags=[tag, "even"])
    assert sorted(s.name for s in both_tags) == names[0::2]

    in_path = secret_api.list_secrets_all(scheduled_for_deletion=False, tags=[tag], path=path + "/")
    assert sorted(s.name for s in in_path) == names[:5]

    by_name = secret_api.list_secrets_all(scheduled_for_deletion=False, name=names[4])
    assert [s.id for s in by_name] == [ids[names[4]]]

    typed = secret_api.list_secrets_all(
        scheduled_for_deletion=False, tags=[tag], type_=SecretType.KEY_VALUE
    )
    assert [s.name for s in typed] == [names[3]]

    with pytest.raises(ScalewayException) as too_big:
        secret_api.list_secrets(scheduled_for_deletion=False, page_size=101)
    assert too_big.value.status_code == 400
    assert error_body(too_big)["details"][0]["argument_name"] == "page_size"


def test_list_ephemeral_filter(secret_api: Any) -> None:
    tag = unique("eph")
    policy = EphemeralPolicy(
        action=EphemeralPolicyAction.DISABLE, time_to_live="3600s", expires_once_accessed=False
    )
    eph = secret_api.create_secret(
        name=unique(), protected=False, tags=[tag], ephemeral_policy=policy
    )
    secret_api.create_secret(name=unique(), protected=False, tags=[tag])
    assert eph.ephemeral_policy is not None
    assert eph.ephemeral_policy.time_to_live == "3600s"
    assert eph.ephemeral_policy.action == EphemeralPolicyAction.DISABLE
    only = secret_api.list_secrets_all(scheduled_for_deletion=False, tags=[tag], ephemeral=True)
    assert [s.id for s in only] == [eph.id]
    assert len(secret_api.list_secrets_all(scheduled_for_deletion=False, tags=[tag])) == 2


def test_browse(secret_api: Any) -> None:
    root = "/" + unique("browse")
    tag = unique("btag")
    a = secret_api.create_secret(name="alpha", protected=False, path=root, tags=[tag])
    secret_api.create_secret(name="beta", protected=False, path=root + "/sub", tags=[tag])
    secret_api.create_secret(name="gamma", protected=False, path=root + "/sub/deep", tags=[tag])
    secret_api.create_secret(name="delta", protected=False, path=root + "/other", tags=[tag])

    listing = secret_api.browse_secrets(prefix=root)
    assert listing.current_path == root
    assert listing.total_count == 3
    assert [i.name for i in listing.items] == ["alpha", "other", "sub"]
    alpha = listing.items[0]
    assert alpha.secret is not None and alpha.folder is None
    assert alpha.secret.id == a.id and alpha.secret.tags == [tag]
    assert alpha.secret.type_ == SecretType.OPAQUE and alpha.secret.version_count == 0
    assert listing.items[2].folder is not None and listing.items[2].secret is None

    sub = secret_api.browse_secrets(prefix=root + "/sub/")
    assert sub.current_path == root + "/sub"
    assert [i.name for i in sub.items] == ["beta", "deep"]

    paged = secret_api.browse_secrets(prefix=root, page_size=2, page=2)
    assert paged.total_count == 3 and [i.name for i in paged.items] == ["sub"]


def test_soft_delete_and_restore(secret_api: Any) -> None:
    s = secret_api.create_secret(name=unique(), protected=False, tags=[unique("del")])
    secret_api.create_secret_version(secret_id=s.id, data=b64(b"v1"))
    secret_api.delete_secret(secret_id=s.id)  # 204, returns None

    deleted = secret_api.get_secret(secret_id=s.id)
    assert deleted.deletion_requested_at is not None
    assert deleted.updated_at == deleted.deletion_requested_at
    assert deleted.version_count == 1
    live = secret_api.list_secrets_all(scheduled_for_deletion=False, tags=s.tags)
    assert live == []
    scheduled = secret_api.list_secrets_all(scheduled_for_deletion=True, tags=s.tags)
    assert [x.id for x in scheduled] == [s.id]

    # While scheduled: metadata readable, data not.
    with pytest.raises(ScalewayException) as blocked:
        secret_api.access_secret_version(secret_id=s.id, revision="1")
    assert blocked.value.status_code == 412

    restored = secret_api.restore_secret(secret_id=s.id)
    assert restored.deletion_requested_at is None
    assert secret_api.access_secret_version(secret_id=s.id, revision="1").data == b64(b"v1")


def test_delete_without_versions_schedules(secret_api: Any) -> None:
    """Recorded (Terraform, July 2026): no versions, no ephemeral policy: still GET-able."""
    s = secret_api.create_secret(name=unique(), protected=False)
    secret_api.delete_secret(secret_id=s.id)
    deleted = secret_api.get_secret(secret_id=s.id)
    assert deleted.deletion_requested_at is not None
    assert deleted.updated_at == deleted.deletion_requested_at
    assert deleted.version_count == 0
    assert secret_api.restore_secret(secret_id=s.id).deletion_requested_at is None


def test_delete_ephemeral_is_immediate(secret_api: Any) -> None:
    policy = EphemeralPolicy(
        action=EphemeralPolicyAction.DELETE, time_to_live="3600s", expires_once_accessed=False
    )
    s = secret_api.create_secret(name=unique(), protected=False, ephemeral_policy=policy)
    secret_api.delete_secret(secret_id=s.id)
    with pytest.raises(ScalewayException) as gone:
        secret_api.get_secret(secret_id=s.id)
    assert gone.value.status_code == 404
    assert error_body(gone) == {
        "message": "resource is not found",
        "resource": "secret",
        "resource_id": s.id,
        "type": "not_found",
    }


def test_protect_unprotect(secret_api: Any) -> None:
    s = secret_api.create_secret(name=unique(), protected=True)
    assert s.protected is True
    with pytest.raises(ScalewayException) as refused:
        secret_api.delete_secret(secret_id=s.id)
    assert refused.value.status_code == 412
    assert error_body(refused) == {
        "help_message": "cannot delete a protected secret",
        "message": "precondition is not respected",
        "precondition": "protected_resource",
        "type": "precondition_failed",
    }
    unprotected = secret_api.unprotect_secret(secret_id=s.id)
    assert unprotected.protected is False
    assert unprotected.updated_at == s.updated_at  # observed: unchanged
    assert secret_api.protect_secret(secret_id=s.id).protected is True
    secret_api.unprotect_secret(secret_id=s.id)
    secret_api.delete_secret(secret_id=s.id)


def test_add_owner(secret_api: Any) -> None:
    s = secret_api.create_secret(name=unique(), protected=False)
    assert secret_api.add_secret_owner(secret_id=s.id, product=Product.EDGE_SERVICES) is None
    secret_api.add_secret_owner(secret_id=s.id, product=Product.EDGE_SERVICES)
    assert secret_api.get_secret(secret_id=s.id).used_by == [Product.EDGE_SERVICES]
    with pytest.raises(ScalewayException) as bad:
        secret_api.add_secret_owner(secret_id=s.id)
    assert bad.value.status_code == 400


def test_tags_and_types(make_sdk_client: Any, conformance_config: Any) -> None:
    from scaleway.secret.v1beta1 import SecretV1Beta1API

    # A region the other tests do not write to in the "other" project, via the scoped key.
    api = SecretV1Beta1API(
        make_sdk_client(
            "scoped",
            default_project_id=conformance_config.other_project_id,
            default_region="nl-ams",
        )
    )
    before_tags = set(api.list_tags_all())
    t1, t2 = unique("tt"), unique("tt")
    api.create_secret(name=unique(), protected=False, tags=[t1, t2], type_=SecretType.SSH_KEY)
    api.create_secret(name=unique(), protected=False, tags=[t1])
    tags = api.list_tags_all(page_size=1)
    assert {t1, t2} <= set(tags) and set(tags) - before_tags == {t1, t2}
    assert tags == sorted(tags)
    page = api.list_tags(page_size=1)
    assert page.total_count == len(tags) and len(page.tags) == 1

    types = api.list_secret_types_all()
    assert SecretType.SSH_KEY in types and SecretType.OPAQUE in types
    assert all(isinstance(t, SecretType) for t in types)


def test_unknown_and_malformed_ids(secret_api: Any) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(ScalewayException) as nf:
        secret_api.get_secret(secret_id=missing)
    assert nf.value.status_code == 404 and error_body(nf)["resource_id"] == missing
    with pytest.raises(ScalewayException) as bad:
        secret_api.get_secret(secret_id="not-a-uuid")
    assert bad.value.status_code == 400
    body = error_body(bad)
    assert body["type"] == "invalid_arguments"
    assert body["details"][0]["argument_name"] == "secret_id"


def test_unknown_region_is_400(secret_api: Any) -> None:
    with pytest.raises(ScalewayException) as exc:
        secret_api.list_secrets(scheduled_for_deletion=False, region="xx-yyy")
    assert exc.value.status_code == 400
    assert error_body(exc)["details"][0]["argument_name"] == "region"


def test_seeded_secret_from_config(secret_api: Any) -> None:
    found = secret_api.list_secrets_all(scheduled_for_deletion=False, name="seeded-db")
    assert len(found) == 1
    seeded = found[0]
    assert seeded.type_ == SecretType.DATABASE_CREDENTIALS and seeded.version_count == 2
    access = secret_api.access_secret_version(secret_id=seeded.id, revision="latest_enabled")
    assert access.revision == 2 and b'"p2"' in base64.b64decode(access.data)
