"""The Secret Manager v1beta1 + Account v3 emulator as an ASGI application.

``EmulatorApp(state)`` answers every endpoint of spec §3 (and the Account v3 project list and
get) field by field as the real API does: key order, ``null`` vs ``""``, timestamps with
microseconds and ``Z``, strict base64, CRC-32 check, 64 KiB limit, typed payload validation,
soft deletion and restore, protected secrets, the 20-version quota, exact pagination and the
real error bodies. API keys' permission sets and project scopes are enforced per endpoint.

Fault injection (added latency, a fraction of 503s before or after applying a request, and a
token-bucket rate limit answered with the gateway's bare 429) makes the client's resilience
testable. Every request is counted in :attr:`EmulatorApp.stats`.

It serves over real HTTP through :class:`core.emulator.server.ThreadedServer` (uvicorn) and
in-process through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import logging
import random
import re
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from core.emulator.state import (
    ApiKey,
    EmulatorState,
    SecretState,
    VersionState,
    apply_ephemeral_action,
    is_uuid,
    write_atomic,
)
from core.emulator.validation import (
    normalize_folder_path,
    valid_name,
    valid_ttl,
    validate_payload,
)
from core.scaleway.models import (
    MAX_PAYLOAD_BYTES,
    REGIONS,
    EphemeralAction,
    EphemeralPolicy,
    EphemeralProperties,
    Product,
    SecretStatus,
    SecretType,
    VersionStatus,
    format_duration,
    format_time,
    parse_duration,
    parse_time,
    utcnow,
)
from core.scaleway.permissions import ORGANIZATION_SCOPED, REQUIRED_SET, Operation, grants

Handler = Callable[["Ctx"], "Reply"]
_log = logging.getLogger("core.emulator")
_access_log = logging.getLogger("core.emulator.access")

_SECRET_TYPES = tuple(str(t) for t in SecretType if t != SecretType.UNKNOWN)
_VERSION_STATUSES = tuple(str(s) for s in VersionStatus if s != VersionStatus.UNKNOWN)
_SECRET_ORDERS = (
    "name_asc",
    "name_desc",
    "created_at_asc",
    "created_at_desc",
    "updated_at_asc",
    "updated_at_desc",
)
_PROJECT_ORDERS = ("created_at_asc", "created_at_desc", "name_asc", "name_desc")
_PRODUCTS = tuple(str(p) for p in Product if p != Product.UNKNOWN)
_ACTIONS = tuple(str(a) for a in EphemeralAction if a != EphemeralAction.UNKNOWN)
_UINT32_MAX = 2**32 - 1
STATS_PATH = "/_emulator/stats"
SERVER_HEADER = "Scaleway API Gateway (secret-kloset emulator)"


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An error answered with ``status`` and a JSON ``body`` (keys sorted, as the gateway does)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


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


PROTECTED_DELETE = precondition_failed("protected_resource", "cannot delete a protected secret")


# The IAM action and resource named in a 403's details, per operation.
_DENIAL: dict[Operation, tuple[str, str]] = {
    Operation.CREATE_SECRET: ("create", "secret"),
    Operation.LIST_SECRETS: ("read", "secret"),
    Operation.BROWSE_SECRETS: ("read", "secret"),
    Operation.GET_SECRET: ("read", "secret"),
    Operation.UPDATE_SECRET: ("write", "secret"),
    Operation.DELETE_SECRET: ("delete", "secret"),
    Operation.PROTECT_SECRET: ("write", "secret"),
    Operation.UNPROTECT_SECRET: ("write", "secret"),
    Operation.RESTORE_SECRET: ("restore", "secret"),
    Operation.ADD_SECRET_OWNER: ("write", "secret"),
    Operation.CREATE_VERSION: ("create", "secret_version"),
    Operation.LIST_VERSIONS: ("read", "secret_version"),
    Operation.GET_VERSION: ("read", "secret_version"),
    Operation.UPDATE_VERSION: ("write", "secret_version"),
    Operation.DELETE_VERSION: ("delete", "secret_version"),
    Operation.ACCESS_VERSION: ("access", "secret_version"),
    Operation.ACCESS_VERSION_BY_PATH: ("access", "secret_version"),
    Operation.ENABLE_VERSION: ("write", "secret_version"),
    Operation.DISABLE_VERSION: ("write", "secret_version"),
    Operation.RESTORE_VERSION: ("restore", "secret_version"),
    Operation.LIST_TAGS: ("read", "secret"),
    Operation.LIST_SECRET_TYPES: ("read", "secret"),
    Operation.LIST_PROJECTS: ("read", "project"),
    Operation.GET_PROJECT: ("read", "project"),
}


# --------------------------------------------------------------------------- responses


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(status: int, payload: Any) -> Response:
    return Response(
        _json_bytes(payload),
        status_code=status,
        media_type="application/json",
        headers={"x-request-id": str(uuid.uuid4()), "server": SERVER_HEADER},
    )


def bare_429() -> Response:
    """The real gateway's throttle answer: no body, no Retry-After, one envoy header."""
    return Response(b"", status_code=429, headers={"x-envoy-ratelimited": "true"})


@dataclass
class Reply:
    status: int = 200
    payload: Any = None

    def to_response(self) -> Response:
        if self.status == 204:
            return Response(
                b"",
                status_code=204,
                headers={"x-request-id": str(uuid.uuid4()), "server": SERVER_HEADER},
            )
        return json_response(self.status, self.payload)


# --------------------------------------------------------------------------- stats


@dataclass
class EmulatorStats:
    """Request counters, readable by tests and benchmarks (``app.stats["create_secret"]``)."""

    requests: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    injected_errors: int = 0
    ambiguous_errors: int = 0

    def __getitem__(self, operation: str) -> int:
        return self.by_operation[str(operation)]

    def reset(self) -> None:
        self.requests = 0
        self.by_operation.clear()
        self.by_status.clear()
        self.rate_limited = 0
        self.injected_errors = 0
        self.ambiguous_errors = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_operation": dict(self.by_operation),
            "by_status": dict(self.by_status),
            "rate_limited": self.rate_limited,
            "injected_errors": self.injected_errors,
            "ambiguous_errors": self.ambiguous_errors,
        }


class TokenBucket:
    """Requests per second with a burst of one second's worth (at least one request)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate limit must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False


# --------------------------------------------------------------------------- request context


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
    app: EmulatorApp
    method: str
    operation: Operation
    params: dict[str, str]
    query: Query
    body: dict[str, Any]
    key: ApiKey
    now: datetime
    region: str = ""

    @property
    def state(self) -> EmulatorState:
        return self.app.state


# --------------------------------------------------------------------------- body helpers


def _body_str(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(name, f"{name} is required", "required")
        return None
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be a string")
    return value


def _body_bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(name, f"{name} must be a boolean")
    return value


def _body_tags(body: dict[str, Any]) -> list[str] | None:
    value = body.get("tags")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise invalid("tags", "tags must be a list of strings")
    return list(value)


def _body_path(body: dict[str, Any]) -> str | None:
    value = _body_str(body, "path")
    if value is None or value == "":
        return None
    normalized = normalize_folder_path(value)
    if normalized is None:
        raise invalid(
            "path",
            "path must start with / and each segment must be 1 to 255 letters, digits, '.', '_' or '-'",
        )
    return normalized


def _body_name(body: dict[str, Any], *, required: bool) -> str | None:
    name = _body_str(body, "name", required=required)
    if name is None:
        return None
    if not valid_name(name):
        raise invalid(
            "name", "name must be 1 to 255 letters, digits, '.', '_' or '-'", "constraint"
        )
    return name


def _parse_policy(value: Any) -> EphemeralPolicy | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("ephemeral_policy", "ephemeral_policy must be an object")
    ttl = value.get("time_to_live")
    if ttl is not None:
        if not isinstance(ttl, str) or not valid_ttl(ttl):
            raise invalid(
                "ephemeral_policy.time_to_live",
                "time_to_live must be a duration between 1s and 1 year (e.g. '3600s')",
                "constraint",
            )
        ttl = format_duration(parse_duration(ttl))
    once = value.get("expires_once_accessed")
    if once is not None and not isinstance(once, bool):
        raise invalid("ephemeral_policy.expires_once_accessed", "must be a boolean")
    action = value.get("action")
    if action is None or action == EphemeralAction.UNKNOWN:
        raise invalid("ephemeral_policy.action", "action is required", "required")
    if action not in _ACTIONS:
        raise invalid("ephemeral_policy.action", f"action must be one of: {', '.join(_ACTIONS)}")
    if ttl is None and not once:
        raise invalid(
            "ephemeral_policy",
            "at least one of time_to_live or expires_once_accessed must be set",
            "constraint",
        )
    return EphemeralPolicy(time_to_live=ttl, expires_once_accessed=once, action=action)


def _derive_properties(policy: EphemeralPolicy | None, now: datetime) -> EphemeralProperties | None:
    if policy is None:
        return None
    expires_at = None
    if policy.time_to_live:
        expires_at = now + timedelta(seconds=parse_duration(policy.time_to_live))
    return EphemeralProperties(
        expires_at=expires_at,
        expires_once_accessed=policy.expires_once_accessed,
        action=policy.action,
    )


def _paginate(ctx: Ctx, items: list[Any]) -> list[Any]:
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
    return items[start : start + size]


def _sort_key(order: str) -> tuple[Callable[[Any], Any], bool]:
    field_name, direction = order.rsplit("_", 1)
    reverse = direction == "desc"
    if field_name == "name":
        return (lambda s: (s.name, s.created_at, s.id)), reverse
    if field_name == "created_at":
        return (lambda s: (s.created_at, s.id)), reverse
    return (lambda s: (s.updated_at, s.id)), reverse


# --------------------------------------------------------------------------- the app


class EmulatorApp:
    """The ASGI app. See the module docstring; options are documented in docs/EMULATOR.md."""

    def __init__(
        self,
        state: EmulatorState,
        *,
        latency_ms: float = 0,
        error_rate: float = 0.0,
        rate_limit: float | None = None,
        seed: int | None = None,
        state_path: str | Path | None = None,
        ambiguous_error_rate: float = 0.0,
        clock: Callable[[], datetime] | None = None,
        log_requests: bool = False,
    ) -> None:
        for name, rate in (
            ("error_rate", error_rate),
            ("ambiguous_error_rate", ambiguous_error_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        self.state = state
        self.latency_ms = latency_ms
        self.error_rate = error_rate
        self.ambiguous_error_rate = ambiguous_error_rate
        self.bucket = TokenBucket(rate_limit) if rate_limit else None
        self.state_path = Path(state_path) if state_path else None
        self.log_requests = log_requests
        self.stats = EmulatorStats()
        self._fault_rng = random.Random(seed)
        self._id_rng = random.Random(seed) if seed is not None else None
        self._clock = clock or utcnow
        self._custom_clock = clock is not None
        self._last_expire = 0.0
        self._save_lock = threading.Lock()
        self._saved_generation = -1
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ configuration

    @property
    def rate_limit(self) -> float | None:
        return self.bucket.rate if self.bucket else None

    def set_rate_limit(self, rate: float | None) -> None:
        self.bucket = TokenBucket(rate) if rate else None

    def new_id(self) -> str:
        if self._id_rng is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._id_rng.getrandbits(128), version=4))

    # ------------------------------------------------------------------ persistence

    def flush(self) -> None:
        """Write the state file now if anything changed since the last write."""
        if self.state_path is None:
            return
        with self._save_lock:
            with self.state.lock:
                generation = self.state.generation
                if generation == self._saved_generation:
                    return
                data = self.state.dumps()
            write_atomic(self.state_path, data)
            self._saved_generation = generation

    async def _persist(self) -> None:
        if self.state_path is not None and self.state.generation != self._saved_generation:
            await asyncio.to_thread(self.flush)

    # ------------------------------------------------------------------ routing

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], Operation, Handler]]:
        sm = r"^/secret-manager/v1beta1/regions/(?P<region>[^/]+)"
        sid = r"(?P<secret_id>[^/]+)"
        rev = r"(?P<revision>[^/]+)"
        table: list[tuple[str, str, Operation, Handler]] = [
            ("POST", sm + r"/secrets$", Operation.CREATE_SECRET, self.create_secret),
            ("GET", sm + r"/secrets$", Operation.LIST_SECRETS, self.list_secrets),
            ("GET", sm + r"/secrets/browse$", Operation.BROWSE_SECRETS, self.browse_secrets),
            ("GET", sm + rf"/secrets/{sid}$", Operation.GET_SECRET, self.get_secret),
            ("PATCH", sm + rf"/secrets/{sid}$", Operation.UPDATE_SECRET, self.update_secret),
            ("DELETE", sm + rf"/secrets/{sid}$", Operation.DELETE_SECRET, self.delete_secret),
            (
                "POST",
                sm + rf"/secrets/{sid}/protect$",
                Operation.PROTECT_SECRET,
                self.protect_secret,
            ),
            (
                "POST",
                sm + rf"/secrets/{sid}/unprotect$",
                Operation.UNPROTECT_SECRET,
                self.unprotect_secret,
            ),
            (
                "POST",
                sm + rf"/secrets/{sid}/restore$",
                Operation.RESTORE_SECRET,
                self.restore_secret,
            ),
            (
                "POST",
                sm + rf"/secrets/{sid}/add-owner$",
                Operation.ADD_SECRET_OWNER,
                self.add_secret_owner,
            ),
            (
                "POST",
                sm + rf"/secrets/{sid}/versions$",
                Operation.CREATE_VERSION,
                self.create_version,
            ),
            ("GET", sm + rf"/secrets/{sid}/versions$", Operation.LIST_VERSIONS, self.list_versions),
            (
                "GET",
                sm + rf"/secrets/{sid}/versions/{rev}$",
                Operation.GET_VERSION,
                self.get_version,
            ),
            (
                "PATCH",
                sm + rf"/secrets/{sid}/versions/{rev}$",
                Operation.UPDATE_VERSION,
                self.update_version,
            ),
            (
                "DELETE",
                sm + rf"/secrets/{sid}/versions/{rev}$",
                Operation.DELETE_VERSION,
                self.delete_version,
            ),
            (
                "GET",
                sm + rf"/secrets/{sid}/versions/{rev}/access$",
                Operation.ACCESS_VERSION,
                self.access_version,
            ),
            (
                "POST",
                sm + rf"/secrets/{sid}/versions/{rev}/enable$",
                Operation.ENABLE_VERSION,
                self.enable_version,
            ),
            (
                "POST",
                sm + rf"/secrets/{sid}/versions/{rev}/disable$",
                Operation.DISABLE_VERSION,
                self.disable_version,
            ),
            (
                "POST",
                sm + rf"/secrets/{sid}/versions/{rev}/restore$",
                Operation.RESTORE_VERSION,
                self.restore_version,
            ),
            (
                "GET",
                sm + rf"/secrets-by-path/versions/{rev}/access$",
                Operation.ACCESS_VERSION_BY_PATH,
                self.access_by_path,
            ),
            ("GET", sm + r"/tags$", Operation.LIST_TAGS, self.list_tags),
            ("GET", sm + r"/secret-types$", Operation.LIST_SECRET_TYPES, self.list_secret_types),
            ("GET", r"^/account/v3/projects$", Operation.LIST_PROJECTS, self.list_projects),
            (
                "GET",
                r"^/account/v3/projects/(?P<project_id>[^/]+)$",
                Operation.GET_PROJECT,
                self.get_project,
            ),
        ]
        return [(m, re.compile(p), op, h) for m, p, op, h in table]

    def _match(self, method: str, path: str) -> tuple[Operation, Handler, dict[str, str]]:
        path_matched = False
        for route_method, pattern, op, handler in self._routes:
            m = pattern.match(path)
            if m is None:
                continue
            path_matched = True
            if route_method == method:
                return op, handler, m.groupdict()
        if path_matched:
            raise ApiError(405, {"message": "method not allowed", "type": "method_not_allowed"})
        raise ApiError(404, {"message": "route not found", "type": "not_found"})

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        started = time.perf_counter()
        response = await self.handle(request)
        await response(scope, receive, send)
        if self.log_requests:
            # Method, path (ids only) and status: never the query string, which can carry
            # secret names and paths (access by path, list filters).
            _access_log.info(
                "%s %s %d %.1fms",
                request.method,
                request.url.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await asyncio.to_thread(self.flush)
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, request: Request) -> Response:
        method = request.method.upper()
        if request.url.path.startswith(STATS_PATH):
            return self._stats_endpoint(method, request.url.path)
        self.stats.requests += 1
        try:
            operation, handler, params = self._match(method, request.url.path)
        except ApiError as err:
            self.stats.by_status[err.status] += 1
            return json_response(err.status, err.body)
        self.stats.by_operation[str(operation)] += 1

        if self.bucket is not None and not self.bucket.take():
            self.stats.rate_limited += 1
            self.stats.by_status[429] += 1
            return bare_429()
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000.0)
        if self.error_rate and self._fault_rng.random() < self.error_rate:
            self.stats.injected_errors += 1
            self.stats.by_status[503] += 1
            return self._unavailable()

        raw = await request.body()
        try:
            reply = self._dispatch(request, method, operation, handler, params, raw)
        except Exception:  # an emulator bug: answer like the gateway would, and say so
            _log.exception("emulator: unexpected error in %s", operation)
            reply = Reply(500, {"message": "internal error", "type": "internal_error"})
        await self._persist()

        if self.ambiguous_error_rate and self._fault_rng.random() < self.ambiguous_error_rate:
            self.stats.ambiguous_errors += 1
            self.stats.by_status[503] += 1
            return self._unavailable()
        self.stats.by_status[reply.status] += 1
        return reply.to_response()

    def _stats_endpoint(self, method: str, path: str) -> Response:
        """Emulator-only: ``GET /_emulator/stats`` (counters), ``POST /_emulator/stats/reset``.

        Outside the Scaleway API (no real path starts with ``/_emulator``), never counted,
        never throttled, and holding nothing secret, so a benchmark can read a separate
        process's counters.
        """
        if method == "GET" and path == STATS_PATH:
            return json_response(200, self.stats.snapshot())
        if method == "POST" and path == STATS_PATH + "/reset":
            self.stats.reset()
            return json_response(200, self.stats.snapshot())
        return json_response(404, {"message": "route not found", "type": "not_found"})

    @staticmethod
    def _unavailable() -> Response:
        return json_response(
            503, {"message": "service is unavailable, please retry", "type": "service_unavailable"}
        )

    def _dispatch(
        self,
        request: Request,
        method: str,
        operation: Operation,
        handler: Handler,
        params: dict[str, str],
        raw: bytes,
    ) -> Reply:
        try:
            key = self._authenticate(request)
            body: dict[str, Any] = {}
            if method in ("POST", "PATCH", "PUT"):  # GET/DELETE bodies are ignored (SDK sends {})
                body = self._parse_body(raw)
            now = self._clock()
            ctx = Ctx(
                app=self,
                method=method,
                operation=operation,
                params=params,
                query=Query(request.query_params),
                body=body,
                key=key,
                now=now,
            )
            if "region" in params:
                region = params["region"]
                if region not in REGIONS:
                    raise invalid("region", f"region must be one of: {', '.join(REGIONS)}")
                ctx.region = region
            self._authorize(key, operation)
            with self.state.lock:
                self._expire(now)
                reply = handler(ctx)
                if method != "GET":
                    self.state.touch()
            return reply
        except ApiError as err:
            return Reply(err.status, err.body)

    def _expire(self, now: datetime) -> None:
        tick = time.monotonic()
        if self._custom_clock or tick - self._last_expire >= 1.0:
            self._last_expire = tick
            self.state.expire(now)

    # ------------------------------------------------------------------ auth

    def _authenticate(self, request: Request) -> ApiKey:
        token = request.headers.get("x-auth-token")
        if token is None or token.strip() == "":
            raise auth_denied("unknown_method", "invalid_argument")
        if not is_uuid(token.strip()):
            raise auth_denied("api_key", "invalid_argument")
        key = self.state.key_for_token(token)
        if key is None:
            raise auth_denied("api_key", "not_found")
        if key.expires_at is not None and key.expires_at <= self._clock():
            raise auth_denied("api_key", "expired")
        return key

    def _authorize(self, key: ApiKey, operation: Operation) -> None:
        required = REQUIRED_SET[operation]
        allowed = grants(key.permission_sets, operation)
        if required in ORGANIZATION_SCOPED and not key.org_wide:
            allowed = False  # organization-level sets only work in org-wide policies
        if not allowed:
            raise permission_denied(*_DENIAL[operation])

    def _check_project(self, ctx: Ctx, project_id: str) -> None:
        """The key may act on ``project_id`` (which must belong to the organization)."""
        if project_id not in ctx.state.projects or not ctx.key.allows_project(project_id):
            raise permission_denied(*_DENIAL[ctx.operation])

    def _scope(self, ctx: Ctx) -> set[str]:
        """Project ids a list request covers (``organization_id`` AND ``project_id``)."""
        organization_id = ctx.query.get_uuid("organization_id")
        project_id = ctx.query.get_uuid("project_id")
        if organization_id is not None and organization_id != ctx.state.organization_id.lower():
            raise permission_denied(*_DENIAL[ctx.operation])
        if project_id is not None:
            self._check_project(ctx, project_id)
            return {project_id}
        if not ctx.key.org_wide:
            # Spec §4.2: keys scoped to specific projects must pass project_id.
            raise permission_denied(*_DENIAL[ctx.operation])
        return set(ctx.state.projects)

    def _secret(self, ctx: Ctx) -> SecretState:
        secret_id = ctx.params["secret_id"]
        if not is_uuid(secret_id):
            raise invalid("secret_id", "secret_id must be a valid UUID")
        secret = ctx.state.secrets[ctx.region].get(secret_id.lower())
        if secret is None:
            raise not_found("secret", secret_id)
        if not ctx.key.allows_project(secret.project_id):
            raise permission_denied(*_DENIAL[ctx.operation])
        if secret.status == SecretStatus.LOCKED and ctx.method != "GET":
            # Scaleway locks secrets on its side; no change is accepted while locked.
            raise ApiError(
                409,
                {
                    "message": "resource is locked",
                    "resource": "secret",
                    "resource_id": secret.id,
                    "type": "locked",
                },
            )
        return secret

    @staticmethod
    def _parse_body(raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise invalid("body", "the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise invalid("body", "the request body must be a JSON object")
        return body

    # ------------------------------------------------------------------ shared rules

    def _live_duplicate(
        self, ctx: Ctx, project_id: str, path: str, name: str, exclude: str | None = None
    ) -> SecretState | None:
        if not ctx.state.settings.reject_duplicate_names:
            return None
        for s in ctx.state.secrets_named(ctx.region, project_id, path, name):
            if s.id != exclude and not s.scheduled_for_deletion:
                return s
        return None

    @staticmethod
    def _conflict(existing: SecretState) -> ApiError:
        return ApiError(
            409,
            {
                "help_message": "a secret with this name already exists at this path in this project",
                "message": "resource already exists",
                "resource": "secret",
                "resource_id": existing.id,
                "type": "already_exists",
            },
        )

    @staticmethod
    def _not_scheduled(secret: SecretState) -> None:
        if secret.scheduled_for_deletion:
            raise precondition_failed(
                "resource_not_usable",
                "the secret is scheduled for deletion; restore it first",
            )

    @staticmethod
    def _revision(secret: SecretState, raw: str) -> VersionState:
        if raw == "latest":
            revision = secret.latest_revision
            if revision is None:
                raise not_found("secret_version", raw)
            found = secret.version(revision)
        elif raw == "latest_enabled":
            enabled = [v for v in secret.versions if v.status == VersionStatus.ENABLED]
            if not enabled:
                raise not_found("secret_version", raw)
            found = max(enabled, key=lambda v: v.revision)
        else:
            if not raw.isdigit() or int(raw) > _UINT32_MAX:
                raise invalid(
                    "revision",
                    "revision must be a revision number, 'latest' or 'latest_enabled'",
                )
            found = secret.version(int(raw))
        if found is None:
            raise not_found("secret_version", raw)
        return found

    def _version_writable(self, secret: SecretState, v: VersionState) -> None:
        self._not_scheduled(secret)
        if v.status in (VersionStatus.SCHEDULED_FOR_DELETION, VersionStatus.DELETED):
            raise precondition_failed(
                "resource_not_usable",
                "the version is scheduled for deletion or deleted; restore it first",
            )

    # ------------------------------------------------------------------ secrets

    def create_secret(self, ctx: Ctx) -> Reply:
        body = ctx.body
        raw_project = _body_str(body, "project_id", required=True)
        assert raw_project is not None
        if not is_uuid(raw_project):
            raise invalid("project_id", "project_id must be a valid UUID")
        project_id = raw_project.lower()
        self._check_project(ctx, project_id)
        name = _body_name(body, required=True)
        assert name is not None
        protected = _body_bool(body, "protected") or False
        tags = _body_tags(body) or []
        description = _body_str(body, "description") or ""
        raw_type = _body_str(body, "type")
        if raw_type is None or raw_type == SecretType.UNKNOWN:
            secret_type = str(SecretType.OPAQUE)
        elif raw_type in _SECRET_TYPES:
            secret_type = raw_type
        else:
            raise invalid("type", f"type must be one of: {', '.join(_SECRET_TYPES)}")
        path = _body_path(body) or "/"
        policy = _parse_policy(body.get("ephemeral_policy"))
        key_id = _body_str(body, "key_id")
        if key_id is not None and key_id != "":
            if not is_uuid(key_id):
                raise invalid("key_id", "key_id must be a valid UUID")
        else:
            key_id = None
        existing = self._live_duplicate(ctx, project_id, path, name)
        if existing is not None:
            raise self._conflict(existing)
        secret = SecretState(
            id=self.new_id(),
            project_id=project_id,
            region=ctx.region,
            name=name,
            path=path,
            type=secret_type,
            tags=tags,
            description=description,
            protected=protected,
            ephemeral_policy=policy,
            key_id=key_id,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        ctx.state.add_secret(secret)
        return Reply(200, secret.to_model().to_api())

    def list_secrets(self, ctx: Ctx) -> Reply:
        q = ctx.query
        projects = self._scope(ctx)
        order = q.get_enum("order_by", _SECRET_ORDERS, "name_asc") or "name_asc"
        tags = q.get_list("tags")
        name = q.get_str("name")
        raw_path = q.get_str("path")
        path = None
        if raw_path is not None:
            path = normalize_folder_path(raw_path)
            if path is None:
                raise invalid("path", "path must start with /")
        ephemeral = q.get_bool("ephemeral")
        secret_type = q.get_enum("type", _SECRET_TYPES)
        scheduled = q.get_bool("scheduled_for_deletion") or False
        matches = [
            s
            for s in ctx.state.secrets[ctx.region].values()
            if s.project_id in projects
            and s.scheduled_for_deletion == scheduled
            and all(t in s.tags for t in tags)
            and (name is None or s.name == name)
            and (path is None or s.path == path)
            and (not ephemeral or s.ephemeral_policy is not None)
            and (secret_type is None or s.type == secret_type)
        ]
        sort_key, reverse = _sort_key(order)
        matches.sort(key=sort_key, reverse=reverse)
        page = _paginate(ctx, matches)
        return Reply(
            200,
            {"secrets": [s.to_model().to_api() for s in page], "total_count": len(matches)},
        )

    def browse_secrets(self, ctx: Ctx) -> Reply:
        q = ctx.query
        projects = self._scope(ctx)
        raw_prefix = q.get_str("prefix") or "/"
        prefix = normalize_folder_path(raw_prefix)
        if prefix is None:
            raise invalid("prefix", "prefix must start with / and be a valid path")
        order = q.get_enum("order_by", _SECRET_ORDERS, "name_asc") or "name_asc"
        tags = q.get_list("tags")
        secret_type = q.get_enum("type", _SECRET_TYPES)
        below = "/" if prefix == "/" else prefix + "/"
        secrets_here: list[SecretState] = []
        folders: dict[str, tuple[datetime, datetime]] = {}
        for s in ctx.state.secrets[ctx.region].values():
            if (
                s.project_id not in projects
                or s.scheduled_for_deletion
                or not all(t in s.tags for t in tags)
                or (secret_type is not None and s.type != secret_type)
            ):
                continue
            if s.path == prefix:
                secrets_here.append(s)
            elif s.path.startswith(below):
                folder = s.path[len(below) :].split("/", 1)[0]
                first, last = folders.get(folder, (s.created_at, s.updated_at))
                folders[folder] = (min(first, s.created_at), max(last, s.updated_at))

        items: list[_BrowseItem] = []
        for folder, (created, updated) in folders.items():
            items.append(
                _BrowseItem(
                    folder,
                    created,
                    updated,
                    "",
                    {
                        "name": folder,
                        "created_at": format_time(created),
                        "updated_at": format_time(updated),
                        "folder": {},
                    },
                )
            )
        for s in secrets_here:
            model = s.to_model().to_api()
            items.append(
                _BrowseItem(
                    s.name,
                    s.created_at,
                    s.updated_at,
                    s.id,
                    {
                        "name": s.name,
                        "created_at": model["created_at"],
                        "updated_at": model["updated_at"],
                        "secret": {
                            "id": s.id,
                            "tags": list(s.tags),
                            "version_count": len(s.versions),
                            "protected": s.protected,
                            "type": str(s.type),
                            "ephemeral_policy": model["ephemeral_policy"],
                        },
                    },
                )
            )
        sort_key, reverse = _sort_key(order)
        items.sort(key=sort_key, reverse=reverse)
        page = _paginate(ctx, items)
        return Reply(
            200,
            {
                "items": [i.payload for i in page],
                "current_path": prefix,
                "total_count": len(items),
            },
        )

    def get_secret(self, ctx: Ctx) -> Reply:
        return Reply(200, self._secret(ctx).to_model().to_api())

    def update_secret(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        self._not_scheduled(secret)
        body = ctx.body
        name = _body_name(body, required=False)
        tags = _body_tags(body)
        description = _body_str(body, "description")
        path = _body_path(body)
        policy = None
        if body.get("ephemeral_policy") is not None:
            raw_policy = body["ephemeral_policy"]
            if (
                isinstance(raw_policy, dict)
                and raw_policy.get("time_to_live") is None
                and (raw_policy.get("expires_once_accessed") is None)
            ):
                # Observed: a PATCH clearing the TTL is accepted and echoed with nulls.
                action = raw_policy.get("action")
                if action not in _ACTIONS:
                    raise invalid("ephemeral_policy.action", "action is required", "required")
                policy = EphemeralPolicy(None, None, action)
            else:
                policy = _parse_policy(raw_policy)
        new_name = name if name is not None else secret.name
        new_path = path if path is not None else secret.path
        if (new_name, new_path) != (secret.name, secret.path):
            existing = self._live_duplicate(ctx, secret.project_id, new_path, new_name, secret.id)
            if existing is not None:
                raise self._conflict(existing)
        if (new_name, new_path) != (secret.name, secret.path):
            ctx.state.rename_secret(secret, name=new_name, path=new_path)
        if tags is not None:
            secret.tags = tags
        if description is not None:
            secret.description = description
        if policy is not None:
            secret.ephemeral_policy = policy
        secret.updated_at = ctx.now
        return Reply(200, secret.to_model().to_api())

    def delete_secret(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        if secret.protected:
            raise PROTECTED_DELETE
        if secret.scheduled_for_deletion:
            return Reply(204)
        if not secret.versions or secret.ephemeral_policy is not None:
            ctx.state.remove_secret(secret)
            return Reply(204)
        secret.deletion_requested_at = ctx.now
        secret.updated_at = ctx.now
        return Reply(204)

    def protect_secret(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        secret.protected = True
        return Reply(200, secret.to_model().to_api())

    def unprotect_secret(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        secret.protected = False
        return Reply(200, secret.to_model().to_api())

    def restore_secret(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        if secret.scheduled_for_deletion:
            existing = self._live_duplicate(
                ctx, secret.project_id, secret.path, secret.name, secret.id
            )
            if existing is not None:
                raise self._conflict(existing)
            secret.deletion_requested_at = None
            secret.updated_at = ctx.now
            for v in secret.versions:
                if v.status == VersionStatus.SCHEDULED_FOR_DELETION:
                    _restore_version(v)
        return Reply(200, secret.to_model().to_api())

    def add_secret_owner(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        product = _body_str(ctx.body, "product")
        if product is None or product == Product.UNKNOWN:
            raise invalid("product", "product is required", "required")
        if product not in _PRODUCTS:
            raise invalid("product", f"product must be one of: {', '.join(_PRODUCTS)}")
        if product not in secret.used_by:
            secret.used_by.append(product)
        return Reply(200, {})

    # ------------------------------------------------------------------ versions

    def create_version(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        self._not_scheduled(secret)
        body = ctx.body
        encoded = _body_str(body, "data", required=True)
        assert encoded is not None
        try:
            data = _strict_b64(encoded)
        except ValueError:
            raise invalid("data", "data must be standard base64 with padding") from None
        if len(data) > MAX_PAYLOAD_BYTES:
            raise invalid(
                "data",
                f"data must not exceed {MAX_PAYLOAD_BYTES} bytes (64 KiB); got {len(data)}",
                "constraint",
            )
        description = _body_str(body, "description") or ""
        disable_previous = _body_bool(body, "disable_previous") or False
        crc = body.get("data_crc32")
        if crc is not None:
            if isinstance(crc, str) and crc.isdigit():
                crc = int(crc)
            if not isinstance(crc, int) or isinstance(crc, bool) or not 0 <= crc <= _UINT32_MAX:
                raise invalid("data_crc32", "data_crc32 must be an unsigned 32-bit integer")
            if crc != zlib.crc32(data):
                raise invalid(
                    "data_crc32",
                    "data_crc32 does not match the CRC32 of the decoded data",
                    "constraint",
                )
        problem = validate_payload(secret.type, data)
        if problem is not None:
            raise invalid("data", problem, "format")
        live = [v for v in secret.versions if v.status != VersionStatus.DELETED]
        quota = ctx.state.settings.max_versions_per_secret
        if len(live) >= quota:
            raise ApiError(
                403,
                {
                    "details": [
                        {"current": len(live), "quota": quota, "resource": "secret_versions"}
                    ],
                    "message": "quota(s) exceeded for this resource",
                    "type": "quotas_exceeded",
                },
            )
        if disable_previous and secret.versions:
            previous = max(secret.versions, key=lambda v: v.revision)
            if previous.status == VersionStatus.ENABLED:
                previous.status = VersionStatus.DISABLED
                previous.updated_at = ctx.now
        version = VersionState(
            revision=secret.next_revision,
            data=data,
            status=VersionStatus.ENABLED,
            data_crc32=crc,
            description=description,
            created_at=ctx.now,
            updated_at=ctx.now,
            ephemeral_properties=_derive_properties(secret.ephemeral_policy, ctx.now),
        )
        secret.next_revision += 1
        secret.versions.append(version)
        return Reply(200, secret.version_model(version).to_api())

    def list_versions(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        statuses = set()
        for raw in ctx.query.get_list("status"):
            if raw.startswith("unknown_"):
                continue
            if raw not in _VERSION_STATUSES:
                raise invalid("status", f"status must be one of: {', '.join(_VERSION_STATUSES)}")
            statuses.add(raw)
        matches = [v for v in secret.versions if not statuses or v.status in statuses]
        matches.sort(key=lambda v: v.revision, reverse=True)
        page = _paginate(ctx, matches)
        return Reply(
            200,
            {
                "versions": [secret.version_model(v).to_api() for v in page],
                "total_count": len(matches),
            },
        )

    def get_version(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        version = self._revision(secret, ctx.params["revision"])
        return Reply(200, secret.version_model(version).to_api())

    def update_version(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        version = self._revision(secret, ctx.params["revision"])
        self._version_writable(secret, version)
        description = _body_str(ctx.body, "description")
        raw_props = ctx.body.get("ephemeral_properties")
        props = None
        if raw_props is not None:
            if not isinstance(raw_props, dict):
                raise invalid("ephemeral_properties", "ephemeral_properties must be an object")
            expires_raw = raw_props.get("expires_at")
            try:
                expires_at = parse_time(expires_raw) if isinstance(expires_raw, str) else None
            except ValueError:
                raise invalid(
                    "ephemeral_properties.expires_at", "expires_at must be an RFC 3339 timestamp"
                ) from None
            if expires_raw is not None and not isinstance(expires_raw, str):
                raise invalid(
                    "ephemeral_properties.expires_at", "expires_at must be an RFC 3339 timestamp"
                )
            once = raw_props.get("expires_once_accessed")
            if once is not None and not isinstance(once, bool):
                raise invalid("ephemeral_properties.expires_once_accessed", "must be a boolean")
            action = raw_props.get("action") or str(EphemeralAction.UNKNOWN)
            if action != EphemeralAction.UNKNOWN and action not in _ACTIONS:
                raise invalid(
                    "ephemeral_properties.action", f"action must be one of: {', '.join(_ACTIONS)}"
                )
            props = EphemeralProperties(
                expires_at=expires_at, expires_once_accessed=once, action=action
            )
        if description is not None:
            version.description = description
        if props is not None:
            version.ephemeral_properties = props
        version.updated_at = ctx.now
        return Reply(200, secret.version_model(version).to_api())

    def delete_version(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        version = self._revision(secret, ctx.params["revision"])
        self._not_scheduled(secret)
        if version.status in (VersionStatus.SCHEDULED_FOR_DELETION, VersionStatus.DELETED):
            return Reply(204)
        version.status_before_deletion = str(version.status)
        version.status = VersionStatus.SCHEDULED_FOR_DELETION
        version.deletion_requested_at = ctx.now
        return Reply(204)

    def _access(self, ctx: Ctx, secret: SecretState, raw_revision: str) -> Reply:
        if secret.scheduled_for_deletion:
            raise precondition_failed(
                "resource_not_usable", "the secret is scheduled for deletion and cannot be accessed"
            )
        version = self._revision(secret, raw_revision)
        if version.status != VersionStatus.ENABLED:
            if ctx.state.settings.non_enabled_access_status == 404:
                raise not_found("secret_version", raw_revision)
            raise precondition_failed(
                "resource_not_usable", f"the version is {version.status} and cannot be accessed"
            )
        payload = {
            "secret_id": secret.id,
            "revision": version.revision,
            "data": _b64(version.data),
            "data_crc32": version.data_crc32,
            "type": str(secret.type),
        }
        props = version.ephemeral_properties
        if props is not None and props.expires_once_accessed:
            apply_ephemeral_action(version, props.action, ctx.now)
            ctx.state.touch()
        return Reply(200, payload)

    def access_version(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        return self._access(ctx, secret, ctx.params["revision"])

    def access_by_path(self, ctx: Ctx) -> Reply:
        q = ctx.query
        project_id = q.get_uuid("project_id")
        if project_id is None:
            raise invalid("project_id", "project_id is required", "required")
        self._check_project(ctx, project_id)
        name = q.get_str("secret_name")
        if name is None:
            raise invalid("secret_name", "secret_name is required", "required")
        path = normalize_folder_path(q.get_str("secret_path") or "/")
        if path is None:
            raise invalid("secret_path", "secret_path must start with /")
        for s in ctx.state.secrets_named(ctx.region, project_id, path, name):
            if not s.scheduled_for_deletion:
                return self._access(ctx, s, ctx.params["revision"])
        raise not_found("secret", "")

    def enable_version(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        version = self._revision(secret, ctx.params["revision"])
        self._version_writable(secret, version)
        if version.status != VersionStatus.ENABLED:
            version.status = VersionStatus.ENABLED
            version.updated_at = ctx.now
            if secret.ephemeral_policy is not None:
                version.ephemeral_properties = _derive_properties(secret.ephemeral_policy, ctx.now)
        return Reply(200, secret.version_model(version).to_api())

    def disable_version(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        version = self._revision(secret, ctx.params["revision"])
        self._version_writable(secret, version)
        if version.status != VersionStatus.DISABLED:
            version.status = VersionStatus.DISABLED
            version.updated_at = ctx.now
        return Reply(200, secret.version_model(version).to_api())

    def restore_version(self, ctx: Ctx) -> Reply:
        secret = self._secret(ctx)
        version = self._revision(secret, ctx.params["revision"])
        self._not_scheduled(secret)
        if version.status == VersionStatus.DELETED:
            raise precondition_failed(
                "resource_not_usable", "the version is permanently deleted and cannot be restored"
            )
        if version.status == VersionStatus.SCHEDULED_FOR_DELETION:
            _restore_version(version)
        return Reply(200, secret.version_model(version).to_api())

    # ------------------------------------------------------------------ tags and types

    def list_tags(self, ctx: Ctx) -> Reply:
        projects = self._scope(ctx)
        tags = sorted(
            {
                t
                for s in ctx.state.secrets[ctx.region].values()
                if s.project_id in projects and not s.scheduled_for_deletion
                for t in s.tags
            }
        )
        return Reply(200, {"tags": _paginate(ctx, tags), "total_count": len(tags)})

    def list_secret_types(self, ctx: Ctx) -> Reply:
        projects = self._scope(ctx)
        used = {
            s.type
            for s in ctx.state.secrets[ctx.region].values()
            if s.project_id in projects and not s.scheduled_for_deletion
        }
        types = [t for t in _SECRET_TYPES if t in used]
        return Reply(200, {"types": _paginate(ctx, types), "total_count": len(types)})

    # ------------------------------------------------------------------ account

    def list_projects(self, ctx: Ctx) -> Reply:
        q = ctx.query
        organization_id = q.get_uuid("organization_id")
        if organization_id is not None and organization_id != ctx.state.organization_id.lower():
            raise permission_denied(*_DENIAL[ctx.operation])
        name = q.get_str("name")
        order = q.get_enum("order_by", _PROJECT_ORDERS, "created_at_asc") or "created_at_asc"
        ids = q.get_list("project_ids")
        for pid in ids:
            if not is_uuid(pid):
                raise invalid("project_ids", "project_ids must be valid UUIDs")
        wanted = {p.lower() for p in ids}
        matches = [
            p
            for p in ctx.state.projects.values()
            if (name is None or p.name == name) and (not wanted or p.id in wanted)
        ]
        sort_key, reverse = _sort_key(order)
        matches.sort(key=sort_key, reverse=reverse)
        page = _paginate(ctx, matches)
        org = ctx.state.organization_id
        return Reply(
            200,
            {
                "total_count": len(matches),
                "projects": [p.to_model(org).to_api() for p in page],
            },
        )

    def get_project(self, ctx: Ctx) -> Reply:
        project_id = ctx.params["project_id"]
        if not is_uuid(project_id):
            raise invalid("project_id", "project_id must be a valid UUID")
        project = ctx.state.projects.get(project_id.lower())
        if project is None:
            raise not_found("project_id", project_id)
        return Reply(200, project.to_model(ctx.state.organization_id).to_api())


# --------------------------------------------------------------------------- helpers


@dataclass
class _BrowseItem:
    """A browse entry with the fields ``order_by`` sorts on."""

    name: str
    created_at: datetime
    updated_at: datetime
    id: str
    payload: dict[str, Any]


def _restore_version(v: VersionState) -> None:
    v.status = v.status_before_deletion or VersionStatus.ENABLED
    v.status_before_deletion = None
    v.deletion_requested_at = None


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


_B64_RE = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")


def _strict_b64(text: str) -> bytes:
    """Standard base64 with padding, nothing else (no whitespace, no URL alphabet)."""
    if not _B64_RE.match(text):
        raise ValueError("not strict base64")
    return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
