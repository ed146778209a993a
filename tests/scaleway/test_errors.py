"""Error bodies → typed errors: class, fields kept, and messages that leak nothing."""

from __future__ import annotations

import pytest

from core.errors import ExitCode, KlosetError, Remedy
from core.scaleway.client import ScalewayClient, error_from_response
from core.scaleway.errors import (
    AlreadyExistsError,
    AuthenticationError,
    ConflictError,
    InvalidArgumentsError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    QuotaExceededError,
    RateLimitedError,
    ScalewayError,
    ServerError,
)
from core.scaleway.permissions import REQUIRED_SET, Operation
from tests.scaleway.conftest import SECRET_ID, ScriptedApi, error

SM = "/secret-manager/v1beta1/regions/fr-par"

INVALID_KV = (
    b'{"details":[{"argument_name":"data","help_message":"- hunter2: Invalid type. Expected: '
    b'string, given: object\\n","reason":"format"}],"message":"invalid argument(s)",'
    b'"type":"invalid_arguments"}'
)


def test_invalid_arguments_lists_names_and_reasons_never_values() -> None:
    err = error_from_response(Operation.CREATE_VERSION, 400, INVALID_KV)
    assert isinstance(err, InvalidArgumentsError)
    assert err.status_code == 400 and err.operation == Operation.CREATE_VERSION
    assert err.arguments[0]["argument_name"] == "data"
    assert "data (format)" in err.message
    assert "hunter2" not in str(err) and "hunter2" not in repr(err)
    assert err.hint


@pytest.mark.parametrize("operation", list(REQUIRED_SET))
def test_permission_denied_names_the_needed_set(operation: Operation) -> None:
    body = b'{"details":[{"action":"read","resource":"secret"}],"message":"insufficient permissions","type":"permissions_denied"}'
    err = error_from_response(operation, 403, body)
    assert isinstance(err, PermissionDeniedError)
    needed = str(REQUIRED_SET[operation])
    assert err.permission_set == needed
    assert needed in err.message
    assert err.hint is not None and needed in err.hint and "console" in err.hint
    assert err.body["type"] == "permissions_denied"


def test_permission_scope_in_hint() -> None:
    org = error_from_response(Operation.LIST_PROJECTS, 403, b'{"type":"permissions_denied"}')
    proj = error_from_response(Operation.ACCESS_VERSION, 403, b'{"type":"permissions_denied"}')
    assert "organization" in (org.hint or "") and "ProjectReadOnly" in org.message
    assert "project" in (proj.hint or "") and "SecretManagerSecretAccess" in proj.message


def test_quota_exceeded_is_not_a_permission_error() -> None:
    body = b'{"details":[{"resource":"secret_versions","quota":20,"current":20}],"message":"quota(s) exceeded for this resource","type":"quotas_exceeded"}'
    err = error_from_response(Operation.CREATE_VERSION, 403, body)
    assert isinstance(err, QuotaExceededError)
    assert "20 of 20" in err.message


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            401,
            b'{"message":"authentication is denied","method":"api_key","reason":"not_found","type":"denied_authentication"}',
            AuthenticationError,
        ),
        (
            404,
            b'{"message":"resource is not found","resource":"secret","resource_id":"'
            + SECRET_ID.encode()
            + b'","type":"not_found"}',
            NotFoundError,
        ),
        (
            409,
            b'{"help_message":"x","message":"resource already exists","resource":"secret","resource_id":"y","type":"already_exists"}',
            AlreadyExistsError,
        ),
        (
            409,
            b'{"current_state":"x","message":"resource is in a transient state","resource":"secret","resource_id":"y","type":"transient_state"}',
            ConflictError,
        ),
        (
            412,
            b'{"help_message":"cannot delete a protected secret","message":"precondition is not respected","precondition":"protected_resource","type":"precondition_failed"}',
            PreconditionFailedError,
        ),
        (429, b"", RateLimitedError),
        (429, b"<html>Too Many Requests</html>", RateLimitedError),
        (500, b'{"message":"internal error","type":"internal"}', ServerError),
        (502, b"Bad Gateway", ServerError),
        (503, b"", ServerError),
        (418, b"", ScalewayError),
    ],
)
def test_status_mapping(status: int, body: bytes, cls: type[ScalewayError]) -> None:
    err = error_from_response(Operation.GET_SECRET, status, body)
    assert type(err) is cls
    assert err.status_code == status
    assert isinstance(err.body, dict)
    assert isinstance(err, KlosetError) and err.exit_code == ExitCode.ERROR
    assert err.message.startswith("get_secret: ")


def test_not_found_and_precondition_fields() -> None:
    body = (
        b'{"message":"resource is not found","resource":"secret","resource_id":"'
        + SECRET_ID.encode()
        + b'","type":"not_found"}'
    )
    err = error_from_response(Operation.GET_SECRET, 404, body)
    assert isinstance(err, NotFoundError)
    assert err.resource == "secret" and err.resource_id == SECRET_ID and SECRET_ID in err.message
    pre = error_from_response(
        Operation.DELETE_SECRET,
        412,
        b'{"precondition":"protected_resource","type":"precondition_failed"}',
    )
    assert isinstance(pre, PreconditionFailedError)
    assert pre.precondition == "protected_resource" and "unprotect" in (pre.hint or "")


def test_by_path_not_found_never_echoes_the_path() -> None:
    body = b'{"message":"resource is not found","resource":"secret","resource_id":"/prod/db-password","type":"not_found"}'
    err = error_from_response(Operation.ACCESS_VERSION_BY_PATH, 404, body)
    assert "db-password" not in str(err)


def test_bare_429_body_is_empty_dict() -> None:
    err = error_from_response(Operation.LIST_SECRETS, 429, b"")
    assert err.body == {} and err.status_code == 429


async def test_client_raises_typed_errors_with_operation(api: ScriptedApi, make_client) -> None:  # type: ignore[no-untyped-def]
    client: ScalewayClient = make_client(max_retries=0)
    api.on(
        "GET",
        f"{SM}/secrets/{SECRET_ID}/versions/1/access",
        error(403, {"message": "insufficient permissions", "type": "permissions_denied"}),
    )
    api.on(
        "DELETE",
        f"{SM}/secrets/{SECRET_ID}",
        error(412, {"precondition": "protected_resource", "type": "precondition_failed"}),
    )
    api.on("GET", f"{SM}/secrets", error(429, headers={"x-envoy-ratelimited": "true"}))
    with pytest.raises(PermissionDeniedError) as denied:
        await client.access_version("fr-par", SECRET_ID, 1)
    assert denied.value.operation == Operation.ACCESS_VERSION
    assert denied.value.permission_set == "SecretManagerSecretAccess"
    with pytest.raises(PreconditionFailedError):
        await client.delete_secret("fr-par", SECRET_ID)
    with pytest.raises(RateLimitedError) as limited:
        _ = [s async for s in client.list_secrets("fr-par")]
    assert limited.value.body == {} and limited.value.status_code == 429


async def test_local_argument_checks(client: ScalewayClient, api: ScriptedApi) -> None:
    with pytest.raises(InvalidArgumentsError) as bad_region:
        await client.get_secret("mars", SECRET_ID)
    assert "region" in bad_region.value.message and "fr-par" in (bad_region.value.hint or "")
    for revision in (0, -1, "newest", True, "1.5"):
        with pytest.raises(InvalidArgumentsError):
            await client.get_version("fr-par", SECRET_ID, revision)  # type: ignore[arg-type]
    for bad_id in ("", "..", " x"):
        with pytest.raises(InvalidArgumentsError):
            await client.get_secret("fr-par", bad_id)
    assert api.requests == [], "nothing invalid is sent"


async def test_ids_are_escaped_as_one_path_segment(
    client: ScalewayClient, api: ScriptedApi
) -> None:
    with pytest.raises(NotFoundError):
        await client.get_secret("fr-par", "a/../../b")
    assert api.requests[0].url.raw_path.decode().endswith("/secrets/a%2F..%2F..%2Fb")


async def test_non_json_success_is_a_server_error(client: ScalewayClient, api: ScriptedApi) -> None:
    import httpx

    api.on("GET", f"{SM}/secrets/{SECRET_ID}", httpx.Response(200, content=b"<html>proxy</html>"))
    with pytest.raises(ServerError) as err:
        await client.get_secret("fr-par", SECRET_ID)
    assert "not JSON" in err.value.message


def test_get_api_key_403_names_the_organization_iam_set() -> None:
    err = error_from_response(Operation.GET_API_KEY, 403, b'{"type":"permissions_denied"}')
    assert isinstance(err, PermissionDeniedError) and err.permission_set == "IAMReadOnly"
    assert "organization" in (err.hint or "")


@pytest.mark.parametrize(
    ("status", "body", "remedy"),
    [
        (401, b'{"type":"denied_authentication","reason":"expired"}', Remedy.CONFIGURE_CREDENTIALS),
        (403, b'{"type":"permissions_denied"}', Remedy.GRANT_PERMISSION),
        (409, b'{"type":"transient_state"}', Remedy.RETRY_LATER),
        (429, b"", Remedy.LOWER_CONCURRENCY),
        (503, b"", Remedy.RETRY_LATER),
        (400, b'{"type":"invalid_arguments"}', None),
        (404, b'{"type":"not_found"}', None),
        (412, b'{"type":"precondition_failed"}', None),
    ],
)
def test_remedies_and_no_cli_flags_in_hints(
    status: int, body: bytes, remedy: Remedy | None
) -> None:
    """Core says what fixes an error as a remedy code; its hints name no CLI flag."""
    err = error_from_response(Operation.GET_SECRET, status, body)
    assert err.remedy == remedy
    assert "--" not in (err.hint or "")
    if remedy is Remedy.GRANT_PERMISSION:
        assert err.details == {"permission_set": "SecretManagerReadOnly", "scope": "project"}
