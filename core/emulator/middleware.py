"""What happens around every operation's handler, as a chain of middleware.

Each middleware takes the request's :class:`Call` and the rest of the chain, and returns the
response; :func:`chain` composes them. The order is the emulator's wire behaviour:

``count`` -> ``rate_limit`` (bare 429) -> ``latency`` -> ``inject_errors`` (503 before) ->
``ambiguous_errors`` (503 after) -> ``persist`` -> ``guard`` (errors -> JSON, bugs -> 500) ->
``authenticate`` (401) -> ``parse`` (body, clock, region: 400) -> ``authorize`` (403) ->
the handler, under the state lock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

from core.emulator.context import Body, Ctx, Handler, Query, bare_429, json_response
from core.emulator.errors import (
    INTERNAL,
    UNAVAILABLE,
    ApiError,
    auth_denied,
    invalid,
    not_found,
    permission_denied,
)
from core.emulator.state import ApiKey, EmulatorState, is_uuid
from core.scaleway.endpoints import Body as BodyKind
from core.scaleway.endpoints import Endpoint, Operation
from core.scaleway.models import REGIONS, VersionStatus
from core.scaleway.permissions import ORGANIZATION_SCOPED, grants

_log = logging.getLogger("core.emulator")


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

    def snapshot(self) -> dict[str, object]:
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


# --------------------------------------------------------------------------- the chain


class Host(Protocol):
    """What the middleware reads from the app: the world, the fault knobs, the clock."""

    state: EmulatorState
    stats: EmulatorStats
    bucket: TokenBucket | None
    latency_ms: float
    error_rate: float
    ambiguous_error_rate: float
    fault_rng: random.Random
    handlers: dict[Operation, Handler]

    def now(self) -> datetime: ...
    def new_id(self) -> str: ...
    def expire(self, now: datetime) -> None: ...
    async def persist(self) -> None: ...


@dataclass
class Call:
    """One request on its way through the chain; each stage fills in what it learned."""

    request: Request
    endpoint: Endpoint
    params: dict[str, str]
    key: ApiKey | None = None
    body: Body = field(default_factory=dict)
    now: datetime | None = None
    region: str = ""


Next = Callable[[Call], Awaitable[Response]]
Middleware = Callable[[Call, Next], Awaitable[Response]]


def chain(middleware: Sequence[Middleware], last: Next) -> Next:
    """``middleware[0]`` runs first and calls the next one, ..., the last calls ``last``."""
    step = last
    for outer in reversed(middleware):
        step = _link(outer, step)
    return step


def _link(outer: Middleware, inner: Next) -> Next:
    async def run(call: Call) -> Response:
        return await outer(call, inner)

    return run


def count(host: Host) -> Middleware:
    """Count the operation, then the status finally answered (faults included)."""

    async def run(call: Call, call_next: Next) -> Response:
        host.stats.by_operation[str(call.endpoint.operation)] += 1
        response = await call_next(call)
        host.stats.by_status[response.status_code] += 1
        return response

    return run


def rate_limit(host: Host) -> Middleware:
    """The token bucket; the excess gets the real gateway's bare 429."""

    async def run(call: Call, call_next: Next) -> Response:
        if host.bucket is not None and not host.bucket.take():
            host.stats.rate_limited += 1
            return bare_429()
        return await call_next(call)

    return run


def latency(host: Host) -> Middleware:
    async def run(call: Call, call_next: Next) -> Response:
        if host.latency_ms:
            await asyncio.sleep(host.latency_ms / 1000.0)
        return await call_next(call)

    return run


def _unavailable() -> Response:
    return json_response(UNAVAILABLE.status, UNAVAILABLE.body)


def inject_errors(host: Host) -> Middleware:
    """A fraction of requests answered 503 before anything is applied."""

    async def run(call: Call, call_next: Next) -> Response:
        if host.error_rate and host.fault_rng.random() < host.error_rate:
            host.stats.injected_errors += 1
            return _unavailable()
        return await call_next(call)

    return run


def ambiguous_errors(host: Host) -> Middleware:
    """A fraction of requests applied, then answered 503 anyway (did it happen? yes)."""

    async def run(call: Call, call_next: Next) -> Response:
        response = await call_next(call)
        if host.ambiguous_error_rate and host.fault_rng.random() < host.ambiguous_error_rate:
            host.stats.ambiguous_errors += 1
            return _unavailable()
        return response

    return run


def persist(host: Host) -> Middleware:
    """Write the state file (``--state``) after every request that changed something."""

    async def run(call: Call, call_next: Next) -> Response:
        response = await call_next(call)
        await host.persist()
        return response

    return run


def guard() -> Middleware:
    """API errors become their JSON answer; anything else is an emulator bug: a JSON 500."""

    async def run(call: Call, call_next: Next) -> Response:
        try:
            return await call_next(call)
        except ApiError as err:
            return json_response(err.status, err.body)
        except Exception:
            _log.exception("emulator: unexpected error in %s", call.endpoint.operation)
            return json_response(INTERNAL.status, INTERNAL.body)

    return run


def authenticate(host: Host) -> Middleware:
    """``X-Auth-Token`` names an API key that exists and has not expired (else 401)."""

    async def run(call: Call, call_next: Next) -> Response:
        token = call.request.headers.get("x-auth-token")
        if token is None or token.strip() == "":
            raise auth_denied("unknown_method", "invalid_argument")
        if not is_uuid(token.strip()):
            raise auth_denied("api_key", "invalid_argument")
        key = host.state.key_for_token(token)
        if key is None:
            raise auth_denied("api_key", "not_found")
        if key.expires_at is not None and key.expires_at <= host.now():
            raise auth_denied("api_key", "expired")
        call.key = key
        return await call_next(call)

    return run


def _parse_body(raw: bytes) -> Body:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise invalid("body", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object")
    return body


def parse(host: Host) -> Middleware:
    """The JSON body (POST and PATCH; GET and DELETE bodies are ignored), the request's
    instant, and the region of the path (400 for a region Scaleway does not have)."""

    async def run(call: Call, call_next: Next) -> Response:
        if call.endpoint.body is not BodyKind.NONE:
            call.body = _parse_body(await call.request.body())
        call.now = host.now()
        if "region" in call.params:
            region = call.params["region"]
            if region not in REGIONS:
                raise invalid("region", f"region must be one of: {', '.join(REGIONS)}")
            call.region = region
        return await call_next(call)

    return run


def _look_up_first(state: EmulatorState, call: Call) -> None:
    """``lookup_before_permission``: the path's secret and revision must exist (else 404)."""
    secret_id = call.params.get("secret_id")
    if secret_id is None or not call.region:
        return
    found = state.secrets[call.region].get(secret_id.lower())
    if found is None:
        raise not_found("secret", secret_id)
    raw = call.params.get("revision")
    if raw is None:
        return
    if raw == "latest_enabled":
        exists = any(v.status == VersionStatus.ENABLED for v in found.versions)
    elif raw == "latest":
        exists = bool(found.versions)
    else:
        exists = raw.isdigit() and found.version(int(raw)) is not None
    if not exists:
        raise not_found("secret_version", raw)


def authorize(host: Host) -> Middleware:
    """The key's permission sets grant the operation (organization-level sets only in an
    organization-wide policy), else 403 naming the IAM action and resource."""

    async def run(call: Call, call_next: Next) -> Response:
        key = call.key
        assert key is not None, "authorize runs after authenticate"
        permission = call.endpoint.permission
        allowed = grants(key.permission_sets, call.endpoint.operation)
        if permission in ORGANIZATION_SCOPED and not key.org_wide:
            allowed = False
        if not allowed:
            if host.state.settings.lookup_before_permission:
                with host.state.lock:
                    _look_up_first(host.state, call)
            raise permission_denied(*call.endpoint.denial)
        return await call_next(call)

    return run


def execute(host: Host) -> Next:
    """The end of the chain: the operation's handler, under the state lock."""

    async def run(call: Call) -> Response:
        assert call.key is not None and call.now is not None
        endpoint = call.endpoint
        ctx = Ctx(
            state=host.state,
            endpoint=endpoint,
            params=call.params,
            query=Query(call.request.query_params),
            body=call.body,
            key=call.key,
            now=call.now,
            new_id=host.new_id,
            region=call.region,
        )
        handler = host.handlers[endpoint.operation]
        with host.state.lock:
            host.expire(call.now)
            reply = handler(ctx)
            if endpoint.method != "GET":
                host.state.touch()
        return reply.to_response()

    return run


def operation_chain(host: Host) -> Next:
    """The whole chain every operation's request goes through (see the module docstring)."""
    return chain(
        [
            count(host),
            rate_limit(host),
            latency(host),
            inject_errors(host),
            ambiguous_errors(host),
            persist(host),
            guard(),
            authenticate(host),
            parse(host),
            authorize(host),
        ],
        execute(host),
    )
