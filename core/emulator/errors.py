"""The API's error answers, as the real gateway words them (spec §5): one constructor each."""

from __future__ import annotations

from collections.abc import Mapping

JsonBody = Mapping[str, object]


class ApiError(Exception):
    """An error answered with ``status`` and a JSON ``body`` (keys sorted, as the gateway does)."""

    def __init__(self, status: int, body: JsonBody) -> None:
        super().__init__(str(body.get("message", "")))
        self.status = status
        self.body = dict(body)


def invalid(argument: str, help_message: str, reason: str = "format") -> ApiError:
    return ApiError(
        400,
        {
            "details": [
                {"argument_name": argument, "help_message": help_message, "reason": reason}
            ],
            "message": "invalid argument(s)",
            "type": "invalid_arguments",
        },
    )


def not_found(resource: str, resource_id: str) -> ApiError:
    return ApiError(
        404,
        {
            "message": "resource is not found",
            "resource": resource,
            "resource_id": resource_id,
            "type": "not_found",
        },
    )


def permission_denied(action: str, resource: str) -> ApiError:
    return ApiError(
        403,
        {
            "details": [{"action": action, "resource": resource}],
            "message": "insufficient permissions",
            "type": "permissions_denied",
        },
    )


def precondition_failed(precondition: str, help_message: str) -> ApiError:
    return ApiError(
        412,
        {
            "help_message": help_message,
            "message": "precondition is not respected",
            "precondition": precondition,
            "type": "precondition_failed",
        },
    )


def auth_denied(method: str, reason: str) -> ApiError:
    return ApiError(
        401,
        {
            "message": "authentication is denied",
            "method": method,
            "reason": reason,
            "type": "denied_authentication",
        },
    )


def already_exists(secret_id: str) -> ApiError:
    return ApiError(
        409,
        {
            "help_message": "a secret with this name already exists at this path in this project",
            "message": "resource already exists",
            "resource": "secret",
            "resource_id": secret_id,
            "type": "already_exists",
        },
    )


def locked(secret_id: str) -> ApiError:
    return ApiError(
        409,
        {
            "message": "resource is locked",
            "resource": "secret",
            "resource_id": secret_id,
            "type": "locked",
        },
    )


def quota_exceeded(current: int, quota: int, resource: str = "secret_versions") -> ApiError:
    """403 ``quotas_exceeded``: the Go SDK's ``QuotasExceededError`` (details of resource,
    quota, current), keys in the gateway's alphabetical order."""
    return ApiError(
        403,
        {
            "details": [{"current": current, "quota": quota, "resource": resource}],
            "message": "quota(s) exceeded for this resource",
            "type": "quotas_exceeded",
        },
    )


ROUTE_NOT_FOUND = ApiError(404, {"message": "route not found", "type": "not_found"})
METHOD_NOT_ALLOWED = ApiError(405, {"message": "method not allowed", "type": "method_not_allowed"})
UNAVAILABLE = ApiError(
    503, {"message": "service is unavailable, please retry", "type": "service_unavailable"}
)
INTERNAL = ApiError(500, {"message": "internal error", "type": "internal_error"})
PROTECTED_DELETE = precondition_failed("protected_resource", "cannot delete a protected secret")
