"""Typed errors of the Scaleway API, built from its JSON error bodies.

Each class says what went wrong and how to fix it. Messages carry ids and permission-set
names only, never a secret key, a secret value, a name or a path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import KlosetError
from core.scaleway.permissions import REQUIRED_SET, Operation


class ScalewayError(KlosetError):
    """Any error answered by (or on the way to) the Scaleway API."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status_code: int | None = None,
        body: dict[str, Any] | None = None,
        operation: Operation | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.body = body or {}
        self.operation = operation


class TransportError(ScalewayError):
    """The API could not be reached (connection refused, DNS, timeout, TLS)."""


class InvalidArgumentsError(ScalewayError):
    """400 invalid_arguments; ``details`` lists each argument and why it was refused.

    ``details`` here is the API's list of refused arguments (as before ``KlosetError`` gained
    its own ``details`` mapping for a remedy's wording); that mapping is kept apart in
    ``remedy_details`` so neither shadows the other.
    """

    remedy_details: Mapping[str, str]

    @property  # type: ignore[override]
    def details(self) -> list[dict[str, Any]]:
        return list(self.body.get("details") or [])

    @details.setter
    def details(self, value: Mapping[str, str]) -> None:
        self.remedy_details = value


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
