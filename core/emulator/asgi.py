"""The emulator's ASGI stack: a Starlette router generated from the one endpoint table.

Every :class:`core.scaleway.endpoints.Endpoint` becomes one route (its method, its path
template) whose app runs the operation chain of :mod:`core.emulator.middleware` (stats,
faults, auth, then the handler of :data:`core.emulator.handlers.HANDLERS`). Around the router,
two ASGI middlewares see every request: the access log and the emulator-only stats endpoint.
Unknown paths and methods get the gateway's JSON 404 and 405 (no redirect on slashes, no
implicit HEAD).
"""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.emulator.context import json_response
from core.emulator.errors import METHOD_NOT_ALLOWED, ROUTE_NOT_FOUND, ApiError
from core.emulator.middleware import Call, EmulatorStats, Host, Next, operation_chain
from core.scaleway.endpoints import ENDPOINT_LIST, Endpoint

STATS_PATH = "/_emulator/stats"
_access_log = logging.getLogger("core.emulator.access")


def _error(stats: EmulatorStats, error: ApiError) -> Response:
    stats.by_status[error.status] += 1
    return json_response(error.status, error.body)


class _OperationApp:
    """The ASGI app of one operation's route: the request through the operation chain."""

    def __init__(self, endpoint: Endpoint, run: Next) -> None:
        self.endpoint = endpoint
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        params = {str(k): str(v) for k, v in scope.get("path_params", {}).items()}
        response = await self.run(Call(request, self.endpoint, params))
        await response(scope, receive, send)


class OperationRoute(Route):
    """One endpoint of the table: exactly its method (no implicit HEAD), JSON 405 otherwise."""

    def __init__(self, endpoint: Endpoint, run: Next, stats: EmulatorStats) -> None:
        super().__init__(
            endpoint.path,
            _OperationApp(endpoint, run),
            methods=[endpoint.method],
            name=str(endpoint.operation),
        )
        self.methods = {endpoint.method}
        self.operation_endpoint = endpoint
        self._stats = stats

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in (self.methods or ()):
            await _error(self._stats, METHOD_NOT_ALLOWED)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_router(host: Host) -> Router:
    """One route per endpoint, in the table's order (``/secrets/browse`` before
    ``/secrets/{secret_id}``), all sharing one operation chain."""
    run = operation_chain(host)
    routes = [OperationRoute(e, run, host.stats) for e in ENDPOINT_LIST]

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        await _error(host.stats, ROUTE_NOT_FOUND)(scope, receive, send)

    return Router(routes=list(routes), redirect_slashes=False, default=not_found)


class StatsEndpoint:
    """Emulator-only: ``GET /_emulator/stats`` (counters), ``POST /_emulator/stats/reset``.

    Outside the Scaleway API (no real path starts with ``/_emulator``), never counted,
    never throttled, and holding nothing secret, so a benchmark can read a separate
    process's counters. Every other request is counted, then passed on.
    """

    def __init__(self, app: ASGIApp, stats: EmulatorStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if not path.startswith(STATS_PATH):
            self.stats.requests += 1
            await self.app(scope, receive, send)
            return
        method = str(scope["method"]).upper()
        if method == "GET" and path == STATS_PATH:
            response = json_response(200, self.stats.snapshot())
        elif method == "POST" and path == STATS_PATH + "/reset":
            self.stats.reset()
            response = json_response(200, self.stats.snapshot())
        else:
            response = json_response(ROUTE_NOT_FOUND.status, ROUTE_NOT_FOUND.body)
        await response(scope, receive, send)


class AccessLog:
    """Log method, path (ids only), status and duration of each request when enabled: never
    the query string, which can carry secret names and paths (access by path, filters)."""

    def __init__(self, app: ASGIApp, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, send_and_note)
        _access_log.info(
            "%s %s %d %.1fms",
            scope["method"],
            Request(scope).url.path,
            status,
            (time.perf_counter() - started) * 1000,
        )
