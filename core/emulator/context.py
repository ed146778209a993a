"""What a handler receives (:class:`Ctx`) and returns (:class:`Reply`), and the request
readers every handler shares: query parameters, body fields, pagination and ordering."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from starlette.datastructures import QueryParams
from starlette.responses import Response

from core._json import json_bytes
from core.emulator.errors import invalid
from core.emulator.state import ApiKey, EmulatorState, Sortable, is_uuid, sort_by
from core.emulator.validation import normalize_folder_path, valid_name
from core.scaleway.endpoints import Endpoint, Operation

SERVER_HEADER = "Scaleway API Gateway (secret-kloset emulator)"
UINT32_MAX = 2**32 - 1

Body = dict[str, object]
"""A request's JSON object (empty for GET and DELETE, whose bodies are ignored)."""


SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "strict-transport-security": "max-age=63072000",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}
"""The gateway's security headers, on every real answer (recorded: the CLI's cassette)."""


def _headers() -> dict[str, str]:
    return {"x-request-id": str(uuid.uuid4()), "server": SERVER_HEADER, **SECURITY_HEADERS}


def json_response(status: int, payload: object) -> Response:
    return Response(
        json_bytes(payload), status_code=status, media_type="application/json", headers=_headers()
    )


def bare_429() -> Response:
    """The real gateway's throttle answer: no body, no Retry-After, one envoy header."""
    return Response(b"", status_code=429, headers={"x-envoy-ratelimited": "true"})


@dataclass
class Reply:
    """A handler's answer: a status and a JSON payload (``204``: no body, yet
    ``Content-Type: application/json`` as the real API sends it)."""

    status: int = 200
    payload: object = None

    def to_response(self) -> Response:
        if self.status == 204:
            return Response(b"", status_code=204, media_type="application/json", headers=_headers())
        return json_response(self.status, self.payload)


class Query:
    """Typed access to query parameters, tolerant of both official SDKs' habits."""

    def __init__(self, params: QueryParams) -> None:
        self.params = params

    def get_str(self, name: str) -> str | None:
        values = self.params.getlist(name)
        if not values or values[-1] == "":  # Go sends `key=` for unset strings
            return None
        return values[-1]

    def get_list(self, name: str) -> list[str]:
        return [v for v in self.params.getlist(name) if v != ""]

    def get_bool(self, name: str) -> bool | None:
        raw = self.get_str(name)
        if raw is None:
            return None
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise invalid(name, f"{name} must be true or false")

    def get_int(self, name: str) -> int | None:
        raw = self.get_str(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise invalid(name, f"{name} must be an integer") from None

    def get_uuid(self, name: str) -> str | None:
        raw = self.get_str(name)
        if raw is None:
            return None
        if not is_uuid(raw):
            raise invalid(name, f"{name} must be a valid UUID")
        return raw.lower()

    def get_enum(
        self, name: str, allowed: tuple[str, ...], default: str | None = None
    ) -> str | None:
        raw = self.get_str(name)
        if raw is None or raw.startswith("unknown_"):  # Go sends zero values when unset
            return default
        if raw not in allowed:
            raise invalid(name, f"{name} must be one of: {', '.join(allowed)}")
        return raw


@dataclass
class Ctx:
    """One authenticated, authorized request, as a handler sees it (under the state lock)."""

    state: EmulatorState
    endpoint: Endpoint
    params: dict[str, str]
    query: Query
    body: Body
    key: ApiKey
    now: datetime
    new_id: Callable[[], str]
    region: str = ""

    @property
    def method(self) -> str:
        return self.endpoint.method

    @property
    def operation(self) -> Operation:
        return self.endpoint.operation

    @property
    def denial(self) -> tuple[str, str]:
        """The IAM (action, resource) a 403 on this operation names."""
        return self.endpoint.denial


Handler = Callable[[Ctx], Reply]


# --------------------------------------------------------------------------- body fields


def body_str(body: Body, name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(name, f"{name} is required", "required")
        return None
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be a string")
    return value


def body_bool(body: Body, name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(name, f"{name} must be a boolean")
    return value


def body_tags(body: Body) -> list[str] | None:
    value = body.get("tags")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise invalid("tags", "tags must be a list of strings")
    return [str(t) for t in value]


def body_path(body: Body) -> str | None:
    value = body_str(body, "path")
    if value is None or value == "":
        return None
    normalized = normalize_folder_path(value)
    if normalized is None:
        raise invalid(
            "path",
            "path must start with / and each segment must be 1 to 255 letters, digits, '.', '_' or '-'",
        )
    return normalized


def body_name(body: Body, *, required: bool) -> str | None:
    name = body_str(body, "name", required=required)
    if name is None:
        return None
    if not valid_name(name):
        raise invalid(
            "name", "name must be 1 to 255 letters, digits, '.', '_' or '-'", "constraint"
        )
    return name


# --------------------------------------------------------------------------- lists

T = TypeVar("T")


def paginate(ctx: Ctx, items: Sequence[T]) -> list[T]:
    settings = ctx.state.settings
    page = ctx.query.get_int("page")
    if page is None or page == 0:
        page = 1
    if page < 0:
        raise invalid("page", "page must be greater than or equal to 1", "constraint")
    size = ctx.query.get_int("page_size")
    if size is None or size == 0:
        size = settings.default_page_size
    if size < 0 or size > settings.max_page_size:
        raise invalid(
            "page_size",
            f"page_size must be between 1 and {settings.max_page_size}",
            "constraint",
        )
    start = (page - 1) * size
    return list(items[start : start + size])


__all__ = ["Sortable", "sort_by"]  # the one sort lives with the sorted index (state.py)
