"""Options no recorded traffic covers, driven by the official SDK (issue 14): ``key_id``,
``page_size`` limits, every ``order_by`` of list and browse, the version and organization
quotas as the Go SDK's ``QuotasExceededError`` reads them (details: resource, quota, current),
and our client's ``QuotaExceededError`` on the organization quota."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from scaleway.secret.v1beta1 import BrowseSecretsRequestOrderBy, ListSecretsRequestOrderBy
from scaleway_core.api import ScalewayException

from core.scaleway.errors import QuotaExceededError
from tests.scaleway.emulated import World, install_world


def unique(prefix: str = "unc") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def body(exc: pytest.ExceptionInfo[ScalewayException]) -> dict[str, Any]:
    data = exc.value.response.json()
    assert isinstance(data, dict)
    return data


def test_key_id_is_kept_and_shown(secret_api: Any) -> None:
    key_id = str(uuid.uuid4())
    created = secret_api.create_secret(name=unique(), protected=False, key_id=key_id)
    assert created.key_id == key_id
    assert secret_api.get_secret(secret_id=created.id).key_id == key_id
    listed = secret_api.list_secrets_all(name=created.name, scheduled_for_deletion=False)
    assert [s.key_id for s in listed] == [key_id]
    plain = secret_api.create_secret(name=unique(), protected=False)
    assert plain.key_id is None  # the platform's key: null, as recorded


def test_key_id_must_be_a_uuid(secret_api: Any) -> None:
    with pytest.raises(ScalewayException) as refused:
        secret_api.create_secret(name=unique(), protected=False, key_id="not-a-key")
    assert refused.value.status_code == 400
    assert body(refused)["details"][0]["argument_name"] == "key_id"


def test_page_size_limits(secret_api: Any) -> None:
    assert secret_api.list_secrets(page_size=100, scheduled_for_deletion=False).total_count >= 0
    with pytest.raises(ScalewayException) as refused:
        secret_api.list_secrets(page_size=101, scheduled_for_deletion=False)
    assert refused.value.status_code == 400
    detail = body(refused)["details"][0]
    assert (detail["argument_name"], detail["reason"]) == ("page_size", "constraint")


@pytest.mark.parametrize("order", list(ListSecretsRequestOrderBy))
def test_every_list_order(secret_api: Any, order: ListSecretsRequestOrderBy) -> None:
    tag = unique("ord")
    for name in ("b", "a", "c"):
        secret_api.create_secret(name=f"{tag}-{name}", protected=False, tags=[tag])
    listed = secret_api.list_secrets_all(tags=[tag], order_by=order, scheduled_for_deletion=False)
    field, direction = str(order).rsplit("_", 1)
    keys = [getattr(s, field) for s in listed]
    assert keys == sorted(keys, reverse=direction == "desc")
    assert len(listed) == 3


@pytest.mark.parametrize("order", list(BrowseSecretsRequestOrderBy))
def test_every_browse_order(secret_api: Any, order: BrowseSecretsRequestOrderBy) -> None:
    root = "/" + unique("browse")
    for name in ("b", "a"):
        secret_api.create_secret(name=name, protected=False, path=root)
    secret_api.create_secret(name="x", protected=False, path=root + "/sub")
    page = secret_api.browse_secrets(prefix=root, order_by=order)
    field, direction = str(order).rsplit("_", 1)
    keys = [getattr(i, field) for i in page.items]
    assert keys == sorted(keys, reverse=direction == "desc")
    assert page.total_count == 3


def test_version_quota_body(secret_api: Any) -> None:
    secret = secret_api.create_secret(name=unique(), protected=False)
    for _ in range(20):
        secret_api.create_secret_version(secret_id=secret.id, data="eA==")
    with pytest.raises(ScalewayException) as refused:
        secret_api.create_secret_version(secret_id=secret.id, data="eA==")
    assert refused.value.status_code == 403
    assert body(refused) == {
        "details": [{"current": 20, "quota": 20, "resource": "secret_versions"}],
        "message": "quota(s) exceeded for this resource",
        "type": "quotas_exceeded",
    }


@pytest.fixture
def secret_quota(emulator_server: Any) -> Iterator[int]:
    """The organization's secret quota set to what it holds now: the next create is over."""
    state = emulator_server.app.state
    with state.lock:
        held = state.secret_count()
        state.settings.max_secrets = held
    try:
        yield held
    finally:
        with state.lock:
            state.settings.max_secrets = 0


def test_organization_secret_quota(secret_api: Any, secret_quota: int) -> None:
    with pytest.raises(ScalewayException) as refused:
        secret_api.create_secret(name=unique(), protected=False)
    assert refused.value.status_code == 403
    assert body(refused) == {
        "details": [{"current": secret_quota, "quota": secret_quota, "resource": "secrets"}],
        "message": "quota(s) exceeded for this resource",
        "type": "quotas_exceeded",
    }


async def test_client_reads_the_secret_quota(
    emulator_server: Any, emulator_url: str, conformance_config: Any, secret_quota: int
) -> None:
    world: World = install_world(emulator_server.app, emulator_url, conformance_config)
    async with world.client() as client:
        with pytest.raises(QuotaExceededError) as refused:
            await client.create_secret("fr-par", name=unique())
    assert refused.value.status_code == 403
