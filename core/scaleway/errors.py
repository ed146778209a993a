"""Typed errors of the Scaleway API, and the one mapping of an error answer to them.

Each class says what went wrong; ``hint`` says how to fix it in a flag-free sentence and
``remedy`` says it as a code the front ends word (``core`` names no command-line flag).
Messages carry ids and permission-set names only, never a secret key, a secret value, a
name or a path.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from typing import Any

from core.errors import KlosetError, Remedy
from core.scaleway.models import REGIONS
from core.scaleway.permissions import ORGANIZATION_SCOPED, REQUIRED_SET, Operation

__all__ = [
    "AlreadyExistsError",
    "AuthenticationError",
    "ConflictError",
    "InvalidArgumentsError",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "QuotaExceededError",
    "RateLimitedError",
    "ScalewayError",
    "ServerError",
    "TransportError",
    "UnexpectedAnswerError",
    "error_from_response",
    "local_invalid",
    "redirect_error",
]

JsonDict = dict[str, Any]


class ScalewayError(KlosetError):
    """An error answered by (or on the way to) the Scaleway API."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status_code: int | None = None,
        body: dict[str, Any] | None = None,
        operation: Operation | None = None,
        remedy: Remedy | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, remedy=remedy, details=details)
        self.status_code = status_code
        self.body = body or {}
        self.operation = operation


class TransportError(ScalewayError):
    """The API could not be reached (connection refused, DNS, timeout, TLS)."""


class InvalidArgumentsError(ScalewayError):
    """400 invalid_arguments; ``arguments`` lists each argument and why it was refused (the
    API's ``details`` list; ``details`` itself is the remedy's mapping, as on every error)."""

    @property
    def arguments(self) -> list[dict[str, Any]]:
        return list(self.body.get("details") or [])


class AuthenticationError(ScalewayError):
    """401 denied_authentication: the secret key is unknown, malformed or expired."""


class PermissionDeniedError(ScalewayError):
    """403 permissions_denied; ``permission_set`` names the set the operation needs."""

    @property
    def permission_set(self) -> str | None:
        if self.operation is None:
            return None
        needed = REQUIRED_SET.get(self.operation)
        return str(needed) if needed else None


class QuotaExceededError(ScalewayError):
    """403 quotas_exceeded (e.g. more than 20 versions on a secret)."""


class NotFoundError(ScalewayError):
    """404 not_found; ``resource`` and ``resource_id`` say what was missing."""

    @property
    def resource(self) -> str | None:
        return self.body.get("resource")

    @property
    def resource_id(self) -> str | None:
        return self.body.get("resource_id")


class AlreadyExistsError(ScalewayError):
    """409 already_exists."""


class ConflictError(ScalewayError):
    """409 transient_state or locked."""


class PreconditionFailedError(ScalewayError):
    """412 precondition_failed; ``precondition`` names which (e.g. protected_resource)."""

    @property
    def precondition(self) -> str | None:
        return self.body.get("precondition")


class RateLimitedError(ScalewayError):
    """429: the gateway throttled the request (bare body, no Retry-After)."""


class ServerError(ScalewayError):
    """5xx from the API."""


class UnexpectedAnswerError(ServerError):
    """An answer the client cannot read: a field of the wrong JSON type, bad base64, or a
    body past the client's size bound. A server (or a proxy) fault, never retried: the
    same request would get the same answer."""


# --------------------------------------------------------------------------- mapping


def _decode_body(content: bytes) -> JsonDict:
    """The JSON object of an error body; ``{}`` for empty or non-JSON bodies (bare 429)."""
    if not content or not content.strip():
        return {}
    try:
        parsed = jsonlib.loads(content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _argument_summary(body: JsonDict) -> str:
    """``name (required), data (format)``: argument names and reasons, never their values."""
    parts: list[str] = []
    for detail in body.get("details") or []:
        if not isinstance(detail, dict):
            continue
        name = str(detail.get("argument_name") or "?")
        reason = detail.get("reason")
        parts.append(f"{name} ({reason})" if reason else name)
    fields = body.get("fields")  # the "Validation Error" shape of some Scaleway APIs
    if isinstance(fields, dict):
        parts.extend(str(k) for k in fields)
    return ", ".join(parts)


def error_from_response(
    operation: Operation | None,
    status: int,
    content: bytes,
    *,
    attempts: int = 1,
) -> ScalewayError:
    """Map one HTTP error answer to its typed :class:`ScalewayError`.

    Messages quote only the operation, status, error type, argument names and reasons,
    resource ids and permission-set names: Scaleway's free-text ``help_message`` can echo a
    payload's keys, so it stays in ``body`` for whoever needs it, not in the message.
    """
    body = _decode_body(content)
    kind = str(body.get("type") or "")
    op = str(operation) if operation else "request"
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    common: dict[str, Any] = {"status_code": status, "body": body, "operation": operation}

    if status == 400 or kind == "invalid_arguments":
        args = _argument_summary(body)
        what = f"invalid argument(s): {args}" if args else f"invalid request ({kind or 'HTTP 400'})"
        return InvalidArgumentsError(
            f"{op}: {what}",
            hint="fix the named argument(s); the error's details say what each one must be",
            **common,
        )
    if status == 401 or kind == "denied_authentication":
        reason = body.get("reason")
        why = f" ({reason})" if reason and reason != "unknown_reason" else ""
        return AuthenticationError(
            f"{op}: authentication denied by the Scaleway API{why}",
            hint=(
                "check the secret key (the profile's key in the keyring, or SCW_SECRET_KEY); "
                "if the API key was deleted or has expired, create a new one in the Scaleway "
                "console (IAM → API keys)"
            ),
            remedy=Remedy.CONFIGURE_CREDENTIALS,
            details={"case": "authentication"},
            **common,
        )
    if status == 403 and kind == "quotas_exceeded":
        quota = ""
        for detail in body.get("details") or []:
            if isinstance(detail, dict) and detail.get("resource"):
                quota = (
                    f": {detail.get('resource')} at {detail.get('current')} of "
                    f"{detail.get('quota')}"
                )
                break
        return QuotaExceededError(
            f"{op}: quota exceeded{quota}",
            hint=(
                "Scaleway allows 20 versions per secret and a limited number of secrets per "
                "organization; delete versions or secrets you no longer need, or ask Scaleway "
                "support to raise the quota"
            ),
            **common,
        )
    if status == 403:
        needed = REQUIRED_SET.get(operation) if operation else None
        if needed is not None:
            scope = "organization" if needed in ORGANIZATION_SCOPED else "project"
            return PermissionDeniedError(
                f"{op}: permission denied: the API key lacks the {needed} permission set",
                hint=(
                    f"grant {needed} (or a set that includes it) to the API key's user or "
                    f"application in the Scaleway console (IAM → Policies), scoped to the "
                    f"{scope}, or use an API key that has it"
                ),
                remedy=Remedy.GRANT_PERMISSION,
                details={"permission_set": str(needed), "scope": scope},
                **common,
            )
        return PermissionDeniedError(
            f"{op}: permission denied",
            hint="check the IAM policy of the API key in the Scaleway console",
            remedy=Remedy.GRANT_PERMISSION,
            **common,
        )
    if status == 404:
        resource = body.get("resource")
        resource_id = body.get("resource_id")
        # By-path lookups name secrets by path and name: never echo those.
        if operation == Operation.ACCESS_VERSION_BY_PATH:
            what = "the secret or version at that path was not found"
        elif resource and resource_id:
            what = f"{resource} {resource_id} not found"
        elif resource:
            what = f"{resource} not found"
        else:
            what = "not found"
        return NotFoundError(
            f"{op}: {what}",
            hint="check the id, the region and the project (ids are per region)",
            **common,
        )
    if status == 409:
        if kind == "already_exists":
            return AlreadyExistsError(
                f"{op}: the resource already exists",
                hint="a secret with the same project, path and name exists; pick another name or update it",
                **common,
            )
        return ConflictError(
            f"{op}: conflict ({kind or 'HTTP 409'})",
            hint="the resource is locked or busy; try again later",
            remedy=Remedy.RETRY_LATER,
            **common,
        )
    if status == 412:
        precondition = body.get("precondition") or "unknown_precondition"
        hints = {
            "protected_resource": "the secret is protected: unprotect it first",
            "resource_not_usable": "the version is disabled or scheduled for deletion: enable or restore it first",
            "resource_still_in_use": "the resource is still in use by another product",
        }
        return PreconditionFailedError(
            f"{op}: precondition failed ({precondition})",
            hint=hints.get(str(precondition), "the resource is not in a state that allows this"),
            **common,
        )
    if status == 429:
        return RateLimitedError(
            f"{op}: rate limited by the Scaleway API (HTTP 429){tried}",
            hint="lower the concurrency or try again in a moment",
            remedy=Remedy.LOWER_CONCURRENCY,
            **common,
        )
    if 500 <= status <= 599:
        return ServerError(
            f"{op}: the Scaleway API failed (HTTP {status}){tried}",
            hint="this is on Scaleway's side; try again later (status.scaleway.com)",
            remedy=Remedy.RETRY_LATER,
            **common,
        )
    return ScalewayError(
        f"{op}: unexpected answer from the Scaleway API (HTTP {status}, {kind or 'no type'})",
        **common,
    )


def redirect_error(
    operation: Operation, api_url: str, status: int, target: str | None
) -> ScalewayError:
    """The Scaleway API never redirects: a 3xx means the API URL points elsewhere."""
    where = f" to {target}" if target else ""
    return ScalewayError(
        f"{operation}: {api_url} answered HTTP {status} (a redirect{where}), not the Scaleway API",
        hint="set SCW_API_URL (or the profile's api_url) to the API's address, e.g. "
        "https://api.scaleway.com",
        status_code=status,
        operation=operation,
    )


def local_invalid(operation: Operation, argument: str, reason: str) -> InvalidArgumentsError:
    """An argument refused before sending (never sent to the API, so no status code)."""
    hints = {
        "region": f"use one of {', '.join(REGIONS)}",
        "revision": "a revision is a positive number, 'latest' or 'latest_enabled'",
    }
    return InvalidArgumentsError(
        f"{operation}: invalid argument(s): {argument} ({reason})",
        hint=hints.get(argument, f"check the {argument} argument"),
        remedy=Remedy.CHOOSE_REGION if argument == "region" else None,
        body={"details": [{"argument_name": argument, "reason": reason}]},
        operation=operation,
    )
