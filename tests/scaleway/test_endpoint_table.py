"""The one endpoint table: complete, consistent with the spec, and the source of REQUIRED_SET."""

from __future__ import annotations

import re

import pytest

from core.scaleway import permissions
from core.scaleway.endpoints import (
    ENDPOINT_LIST,
    ENDPOINTS,
    Body,
    Mode,
    Operation,
    PermissionSet,
    endpoint,
)

SM = "/secret-manager/v1beta1/regions/{region}"

# The wire spec's endpoint summary (§3, §7) plus IAM's GET api-key: method and path per op.
SPEC: dict[Operation, tuple[str, str]] = {
    Operation.CREATE_SECRET: ("POST", SM + "/secrets"),
    Operation.LIST_SECRETS: ("GET", SM + "/secrets"),
    Operation.BROWSE_SECRETS: ("GET", SM + "/secrets/browse"),
    Operation.GET_SECRET: ("GET", SM + "/secrets/{secret_id}"),
    Operation.UPDATE_SECRET: ("PATCH", SM + "/secrets/{secret_id}"),
    Operation.DELETE_SECRET: ("DELETE", SM + "/secrets/{secret_id}"),
    Operation.PROTECT_SECRET: ("POST", SM + "/secrets/{secret_id}/protect"),
    Operation.UNPROTECT_SECRET: ("POST", SM + "/secrets/{secret_id}/unprotect"),
    Operation.RESTORE_SECRET: ("POST", SM + "/secrets/{secret_id}/restore"),
    Operation.ADD_SECRET_OWNER: ("POST", SM + "/secrets/{secret_id}/add-owner"),
    Operation.CREATE_VERSION: ("POST", SM + "/secrets/{secret_id}/versions"),
    Operation.LIST_VERSIONS: ("GET", SM + "/secrets/{secret_id}/versions"),
    Operation.GET_VERSION: ("GET", SM + "/secrets/{secret_id}/versions/{revision}"),
    Operation.UPDATE_VERSION: ("PATCH", SM + "/secrets/{secret_id}/versions/{revision}"),
    Operation.DELETE_VERSION: ("DELETE", SM + "/secrets/{secret_id}/versions/{revision}"),
    Operation.ACCESS_VERSION: ("GET", SM + "/secrets/{secret_id}/versions/{revision}/access"),
    Operation.ENABLE_VERSION: ("POST", SM + "/secrets/{secret_id}/versions/{revision}/enable"),
    Operation.DISABLE_VERSION: ("POST", SM + "/secrets/{secret_id}/versions/{revision}/disable"),
    Operation.RESTORE_VERSION: ("POST", SM + "/secrets/{secret_id}/versions/{revision}/restore"),
    Operation.ACCESS_VERSION_BY_PATH: ("GET", SM + "/secrets-by-path/versions/{revision}/access"),
    Operation.LIST_TAGS: ("GET", SM + "/tags"),
    Operation.LIST_SECRET_TYPES: ("GET", SM + "/secret-types"),
    Operation.LIST_PROJECTS: ("GET", "/account/v3/projects"),
    Operation.GET_PROJECT: ("GET", "/account/v3/projects/{project_id}"),
    Operation.GET_API_KEY: ("GET", "/iam/v1alpha1/api-keys/{access_key}"),
}

# The hand-kept table REQUIRED_SET was before it was derived (spec §8), plus IAM.
REQUIRED: dict[Operation, PermissionSet] = {
    Operation.LIST_SECRETS: PermissionSet.SECRET_READ_ONLY,
    Operation.BROWSE_SECRETS: PermissionSet.SECRET_READ_ONLY,
    Operation.GET_SECRET: PermissionSet.SECRET_READ_ONLY,
    Operation.LIST_VERSIONS: PermissionSet.SECRET_READ_ONLY,
    Operation.GET_VERSION: PermissionSet.SECRET_READ_ONLY,
    Operation.LIST_TAGS: PermissionSet.SECRET_READ_ONLY,
    Operation.LIST_SECRET_TYPES: PermissionSet.SECRET_READ_ONLY,
    Operation.ACCESS_VERSION: PermissionSet.SECRET_ACCESS,
    Operation.ACCESS_VERSION_BY_PATH: PermissionSet.SECRET_ACCESS,
    Operation.CREATE_SECRET: PermissionSet.SECRET_CREATE,
    Operation.CREATE_VERSION: PermissionSet.SECRET_CREATE,
    Operation.UPDATE_SECRET: PermissionSet.SECRET_WRITE,
    Operation.UPDATE_VERSION: PermissionSet.SECRET_WRITE,
    Operation.PROTECT_SECRET: PermissionSet.SECRET_WRITE,
    Operation.UNPROTECT_SECRET: PermissionSet.SECRET_WRITE,
    Operation.ENABLE_VERSION: PermissionSet.SECRET_WRITE,
    Operation.DISABLE_VERSION: PermissionSet.SECRET_WRITE,
    Operation.ADD_SECRET_OWNER: PermissionSet.SECRET_WRITE,
    Operation.DELETE_SECRET: PermissionSet.SECRET_DELETE,
    Operation.DELETE_VERSION: PermissionSet.SECRET_DELETE,
    Operation.RESTORE_SECRET: PermissionSet.SECRET_RESTORE,
    Operation.RESTORE_VERSION: PermissionSet.SECRET_RESTORE,
    Operation.LIST_PROJECTS: PermissionSet.PROJECT_READ_ONLY,
    Operation.GET_PROJECT: PermissionSet.PROJECT_READ_ONLY,
    Operation.GET_API_KEY: PermissionSet.IAM_READ_ONLY,
}


def test_every_operation_has_exactly_one_endpoint() -> None:
    assert [e.operation for e in ENDPOINT_LIST] == list(dict.fromkeys(ENDPOINTS))
    assert set(ENDPOINTS) == set(Operation)


@pytest.mark.parametrize("operation", list(Operation))
def test_method_and_path_follow_the_spec(operation: Operation) -> None:
    e = endpoint(operation)
    assert (e.method, e.path) == SPEC[operation]


def test_required_set_is_derived_from_the_table() -> None:
    assert permissions.REQUIRED_SET == REQUIRED
    assert permissions.Operation is Operation and permissions.PermissionSet is PermissionSet


def test_modes_and_bodies() -> None:
    creates = {e.operation for e in ENDPOINT_LIST if e.mode is Mode.CREATE}
    deletes = {e.operation for e in ENDPOINT_LIST if e.mode is Mode.DELETE}
    assert creates == {Operation.CREATE_SECRET, Operation.CREATE_VERSION}
    assert deletes == {Operation.DELETE_SECRET, Operation.DELETE_VERSION}
    for e in ENDPOINT_LIST:
        if e.method in ("GET", "DELETE"):
            assert e.body is Body.NONE, e.operation
        else:
            assert e.body is not Body.NONE, e.operation
        # Actions (a verb after the resource) are POSTed with the literal {}.
        is_action = e.method == "POST" and re.search(
            r"/(protect|unprotect|restore|enable|disable)$", e.path
        )
        assert (e.body is Body.EMPTY) == bool(is_action), e.operation


def test_path_params_regional_and_pagination() -> None:
    assert endpoint(Operation.GET_VERSION).path_params == ("region", "secret_id", "revision")
    assert endpoint(Operation.ACCESS_VERSION_BY_PATH).path_params == ("region", "revision")
    assert endpoint(Operation.GET_API_KEY).path_params == ("access_key",)
    assert not endpoint(Operation.LIST_PROJECTS).regional
    assert not endpoint(Operation.GET_API_KEY).regional
    assert all(e.regional for e in ENDPOINT_LIST if e.path.startswith("/secret-manager/"))
    lists = {e.operation: e.items for e in ENDPOINT_LIST if e.paginated}
    assert lists == {
        Operation.LIST_SECRETS: "secrets",
        Operation.BROWSE_SECRETS: "items",
        Operation.LIST_VERSIONS: "versions",
        Operation.LIST_TAGS: "tags",
        Operation.LIST_SECRET_TYPES: "types",
        Operation.LIST_PROJECTS: "projects",
    }
    for e in ENDPOINT_LIST:
        assert ("page" in e.query) == e.paginated, e.operation


def test_browse_is_routed_before_the_secret_id_template() -> None:
    order = [e.operation for e in ENDPOINT_LIST]
    assert order.index(Operation.BROWSE_SECRETS) < order.index(Operation.GET_SECRET)


def test_url_encodes_each_parameter_as_one_segment() -> None:
    url = endpoint(Operation.GET_VERSION).url(region="fr-par", secret_id="a/b", revision="1")
    assert url == "/secret-manager/v1beta1/regions/fr-par/secrets/a%2Fb/versions/1"


def test_iam_sets() -> None:
    assert permissions.grants({"IAMManager"}, Operation.GET_API_KEY)
    assert permissions.grants({"OrganizationManager"}, Operation.GET_API_KEY)
    assert not permissions.grants({"SecretManagerFullAccess"}, Operation.GET_API_KEY)
    assert PermissionSet.IAM_READ_ONLY in permissions.ORGANIZATION_SCOPED
