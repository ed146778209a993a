"""The async Scaleway API client: Secret Manager v1beta1 and Account v3 projects.

One :class:`httpx.AsyncClient` carries every call. Around it the client adds what a backup
tool needs from a remote API it does not control:

* **typed errors** built from Scaleway's error bodies (:mod:`core.scaleway.errors`), with
  messages that name argument names, ids and permission sets, never values or names;
* **retries** with exponential backoff and full jitter on 429, 5xx and transport errors, for
  calls that are safe to repeat, bounded by a retry count and a total deadline
  (:mod:`core.scaleway.retry`);
* **no duplicates** from non-idempotent creates: after an ambiguous failure (a 5xx, a timeout
  or a reset after the request was sent) a create first looks for what it may already have
  created, and only creates again when it finds nothing;
* **adaptive concurrency**: an AIMD limit on requests in flight that halves on 429/503 and
  grows back on success (:mod:`core.scaleway.limiter`);
* **stats** (requests, retries, 429s, per operation) for benchmarks and progress displays;
* **cheap requests**: small sharded connection pools (httpcore's pool bookkeeping grows with
  the square of its size) and one TLS context per process.

The secret key is sent only as the ``X-Auth-Token`` header (through an :class:`httpx.Auth`
that hides it) and never appears in a ``repr``, a log record or an error.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import os
import re
import ssl
import zlib
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from core import __version__
from core.errors import ConfigError
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
    TransportError,
)
from core.scaleway.limiter import AdaptiveLimiter
from core.scaleway.models import (
    REGIONS,
    AccessedVersion,
    BrowseItem,
    EphemeralPolicy,
    EphemeralProperties,
    Project,
    Secret,
    SecretVersion,
    b64encode,
    normalize_path,
)
from core.scaleway.permissions import ORGANIZATION_SCOPED, REQUIRED_SET, Operation
from core.scaleway.retry import (
    THROTTLE_STATUSES,
    RetryBudget,
    RetryPolicy,
    is_retryable_status,
    parse_retry_after,
)

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_PAGE_SIZE",
    "ClientStats",
    "ScalewayClient",
    "error_from_response",
]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.scaleway.com"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100  # Scaleway's list endpoints accept 1 to 100
# A list that has not ended after this many pages is a server bug, not data.
MAX_PAGES = 100_000
PAGES_AHEAD = 16  # list pages requested ahead of the one being read, once the count is known
# Highest revision seen per secret, remembered to de-duplicate ambiguous version creates.
_REVISION_CACHE_SIZE = 50_000

_REGION_SHAPE = re.compile(r"^[a-z]{2}-[a-z]{3}$")
_SM = "/secret-manager/v1beta1/regions/{region}"

Revision = int | str
JsonDict = dict[str, Any]
Query = list[tuple[str, str]]


# --------------------------------------------------------------------------- secrecy


class _TokenAuth(httpx.Auth):
    """Adds ``X-Auth-Token`` to each request; its repr never shows the key."""

    def __init__(self, secret_key: str) -> None:
        self.__key = secret_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Auth-Token"] = self.__key
        yield request

    def __repr__(self) -> str:
        return "_TokenAuth(secret_key=<hidden>)"


class _StripQuery(logging.Filter):
    """Drops query strings from httpx's own "HTTP Request: …" log lines.

    Secret names and paths travel in query strings (list filters, access by path); httpx logs
    the full URL at INFO, so an application that turns INFO logging on would otherwise write
    them to its logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(
                a.copy_with(query=None) if isinstance(a, httpx.URL) and a.query else a for a in args
            )
        return True


def _install_log_filter() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _StripQuery) for f in logger.filters):
            logger.addFilter(_StripQuery())


@lru_cache(maxsize=2)
def _shared_ssl_context(plain_http: bool) -> ssl.SSLContext:
    """One TLS context per process: building one (loading the CA bundle) costs 50-100 ms,
    and the CLI, the console and the tests create many short-lived clients.

    An ``http://`` API URL (the emulator) never does TLS (redirects are not followed), so
    it gets an empty, still-verifying context instead of paying for the CA bundle at all.
    """
    if plain_http:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return httpx.create_ssl_context()


# --------------------------------------------------------------------------- transport

# Connections per pool shard. httpcore scans every connection of its pool (with a socket
# poll for each idle one) when a request starts and ends, a cost that grows with the square
# of the pool size: 32 connections in one pool cost 3-4x more CPU per request than 4 pools
# of 8 (measured against the emulator: 4.9 vs 1.35 ms of client CPU per request).
SHARD_SIZE = 8


class _CountedStream(httpx.AsyncByteStream):
    """A response body that tells its shard when it is done (the connection is free)."""

    def __init__(self, inner: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._inner = inner
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()
        await self._inner.aclose()


class _ShardedTransport(httpx.AsyncBaseTransport):
    """Several small connection pools instead of one big one, least-busy first.

    Same behaviour as one ``httpx.AsyncHTTPTransport`` (same exceptions, same TLS), with a
    per-request cost that no longer grows with the concurrency.
    """

    def __init__(self, max_concurrency: int, verify: ssl.SSLContext) -> None:
        count = max(1, -(-max_concurrency // SHARD_SIZE))
        per_shard = -(-max_concurrency // count)
        self.shards = [
            httpx.AsyncHTTPTransport(
                verify=verify,
                limits=httpx.Limits(
                    max_connections=per_shard + 2, max_keepalive_connections=per_shard
                ),
            )
            for _ in range(count)
        ]
        self.active = [0] * count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self.shards)), key=self.active.__getitem__)
        self.active[index] += 1

        def done() -> None:
            self.active[index] -= 1

        try:
            response = await self.shards[index].handle_async_request(request)
        except BaseException:
            done()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CountedStream(response.stream, done),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for shard in self.shards:
            await shard.aclose()

    def __repr__(self) -> str:
        return f"_ShardedTransport(shards={len(self.shards)}, active={sum(self.active)})"


# --------------------------------------------------------------------------- stats


@dataclass(slots=True)
class ClientStats:
    """Counters of one client's traffic (benchmarks and progress displays print them)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    deduplicated: int = 0
    waited_seconds: float = 0.0
    per_operation: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "server_errors": self.server_errors,
            "transport_errors": self.transport_errors,
            "deduplicated": self.deduplicated,
            "waited_seconds": round(self.waited_seconds, 3),
            "per_operation": dict(sorted(self.per_operation.items())),
        }

    def reset(self) -> None:
        self.requests = self.retries = self.rate_limited = 0
        self.server_errors = self.transport_errors = self.deduplicated = 0
        self.waited_seconds = 0.0
        self.per_operation.clear()


# --------------------------------------------------------------------------- errors


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
                **common,
            )
        return PermissionDeniedError(
            f"{op}: permission denied",
            hint="check the IAM policy of the API key in the Scaleway console",
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
            hint="lower the concurrency (--concurrency) or try again in a moment",
            **common,
        )
    if 500 <= status <= 599:
        return ServerError(
            f"{op}: the Scaleway API failed (HTTP {status}){tried}",
            hint="this is on Scaleway's side; try again later (status.scaleway.com)",
            **common,
        )
    return ScalewayError(
        f"{op}: unexpected answer from the Scaleway API (HTTP {status}, {kind or 'no type'})",
        **common,
    )


# --------------------------------------------------------------------------- retries


class _Mode(Enum):
    """What may be repeated after a failure."""

    IDEMPOTENT = "idempotent"  # GET, PATCH, state-setting actions: repeat freely
    DELETE = "delete"  # repeat; a 404 after an ambiguous attempt means it was done
    CREATE = "create"  # repeat only when the request surely did not take effect


class _Ambiguous(Exception):
    """A create failed in a way that may or may not have created the resource."""

    def __init__(self, error: ScalewayError) -> None:
        super().__init__(error.message)
        self.error = error


# Transport failures raised before the request left this machine: always safe to repeat.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
)
# Transport failures that repeating cannot fix (a malformed URL, an unsupported scheme).
_FATAL: tuple[type[Exception], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)

_TRANSPORT_WHAT: dict[type[Exception], str] = {
    httpx.ConnectTimeout: "the connection timed out",
    httpx.ConnectError: "the connection failed",
    httpx.ReadTimeout: "timed out waiting for the answer",
    httpx.WriteTimeout: "timed out sending the request",
    httpx.PoolTimeout: "no connection became free in time",
    httpx.ReadError: "the connection broke while reading the answer",
    httpx.WriteError: "the connection broke while sending the request",
    httpx.RemoteProtocolError: "the server closed the connection or broke the protocol",
    httpx.UnsupportedProtocol: "the API URL's scheme is not supported",
    httpx.ProxyError: "the proxy failed",
}


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _present(**fields: Any) -> JsonDict:
    """The request body fields that were given: ``None`` means absent (unchanged, or the
    server's default). Models become their JSON objects and sequences become lists."""
    body: JsonDict = {}
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, EphemeralPolicy | EphemeralProperties):
            value = value.to_api()
        elif isinstance(value, dict):
            value = dict(value)
        elif isinstance(value, list | tuple):
            value = list(value)
        body[key] = value
    return body


def _revision(value: Revision, operation: Operation) -> str:
    """``1``, ``"2"``, ``"latest"`` or ``"latest_enabled"``, checked before it goes in a URL."""
    if isinstance(value, bool):
        raise _local_invalid(operation, "revision", "format")
    if isinstance(value, int):
        if value < 1:
            raise _local_invalid(operation, "revision", "constraint")
        return str(value)
    text = str(value).strip()
    if text in ("latest", "latest_enabled") or (text.isdigit() and int(text) >= 1):
        return text
    raise _local_invalid(operation, "revision", "format")


def _local_invalid(operation: Operation, argument: str, reason: str) -> InvalidArgumentsError:
    """An argument refused before sending (never sent to the API, so no status code)."""
    hints = {
        "region": f"use one of {', '.join(REGIONS)}",
        "revision": "a revision is a positive number, 'latest' or 'latest_enabled'",
    }
    return InvalidArgumentsError(
        f"{operation}: invalid argument(s): {argument} ({reason})",
        hint=hints.get(argument, f"check the {argument} argument"),
        body={"details": [{"argument_name": argument, "reason": reason}]},
        operation=operation,
    )


def _segment(value: str, operation: Operation, argument: str) -> str:
    """An id made safe as one URL path segment."""
    text = str(value)
    if not text or text in (".", "..") or text != text.strip():
        raise _local_invalid(operation, argument, "format")
    return quote(text, safe="")


def _region(region: str, operation: Operation) -> str:
    if not isinstance(region, str) or not _REGION_SHAPE.match(region):
        raise _local_invalid(operation, "region", "format")
    return region


# --------------------------------------------------------------------------- the client


class ScalewayClient:
    """Async client of Scaleway Secret Manager v1beta1 and Account v3 (projects).

    Use it as ``async with ScalewayClient(...) as client:`` (or call :meth:`aclose`).
    Regional methods take ``region`` first, then ids positionally; everything else is a
    keyword. List methods are async iterators that follow pagination to the end.
    """

    def __init__(
        self,
        secret_key: str,
        api_url: str | None = None,
        organization_id: str | None = None,
        default_project_id: str | None = None,
        default_region: str = "fr-par",
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 5,
        max_concurrency: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        initial_concurrency: int | None = None,
        retry_deadline: float = 120.0,
        backoff_base: float = 0.25,
        backoff_max: float = 20.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
        rng: Any = None,
        user_agent: str | None = None,
    ) -> None:
        if (
            not isinstance(secret_key, str)
            or not secret_key.isascii()
            or any(c.isspace() or not c.isprintable() for c in secret_key)
        ):
            raise ConfigError(
                "the Scaleway secret key is malformed (it must be printable ASCII, no spaces)",
                hint="re-enter it with `secret-kloset profile add`, or fix SCW_SECRET_KEY",
            )
        base = api_url or os.environ.get("SCW_API_URL") or DEFAULT_API_URL
        base = base.strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigError(
                f"the Scaleway API URL {base!r} is not an http(s) URL",
                hint="set SCW_API_URL (or the profile's api_url) to e.g. https://api.scaleway.com",
            )
        self.api_url = base
        self.organization_id = organization_id or None
        self.default_project_id = default_project_id or None
        self.default_region = default_region
        self.max_retries = max_retries

        policy_kwargs: dict[str, Any] = {
            "max_retries": max_retries,
            "deadline": retry_deadline,
            "base_delay": backoff_base,
            "max_delay": backoff_max,
        }
        if sleep is not None:
            policy_kwargs["sleep"] = sleep
        if clock is not None:
            policy_kwargs["clock"] = clock
        if rng is not None:
            policy_kwargs["rng"] = rng
        self._retry = RetryPolicy(**policy_kwargs)

        limiter_kwargs: dict[str, Any] = {"initial": initial_concurrency}
        if sleep is not None:
            limiter_kwargs["sleep"] = sleep
        if clock is not None:
            limiter_kwargs["clock"] = clock
        self.limiter = AdaptiveLimiter(max_concurrency, **limiter_kwargs)

        self.stats = ClientStats()
        self._latest_revision: OrderedDict[tuple[str, str], int] = OrderedDict()
        _install_log_filter()
        verify = _shared_ssl_context(self.api_url.startswith("http://"))
        self._http = httpx.AsyncClient(
            base_url=self.api_url,
            auth=_TokenAuth(secret_key),
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            transport=transport or _ShardedTransport(max_concurrency, verify),
            verify=verify,
            headers={
                "Accept": "application/json",
                "User-Agent": user_agent or f"secret-kloset/{__version__}",
            },
            # For proxy transports httpx builds from the environment; ours is sharded.
            limits=httpx.Limits(
                max_connections=max_concurrency + 2,
                max_keepalive_connections=max_concurrency,
            ),
            follow_redirects=False,
        )

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> ScalewayClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    @property
    def concurrency_limit(self) -> int:
        """The adaptive limit on requests in flight right now."""
        return self.limiter.limit

    def __repr__(self) -> str:
        return (
            f"ScalewayClient(api_url={self.api_url!r}, organization_id={self.organization_id!r}, "
            f"default_project_id={self.default_project_id!r}, "
            f"default_region={self.default_region!r}, secret_key=<hidden>)"
        )

    __str__ = __repr__

    # ------------------------------------------------------------------ transport core

    def _transport_error(
        self, operation: Operation, exc: Exception, attempts: int
    ) -> TransportError:
        what = next(
            (text for cls, text in _TRANSPORT_WHAT.items() if isinstance(exc, cls)),
            "the request failed",
        )
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        timeout_hint = " or raise the timeout" if isinstance(exc, httpx.TimeoutException) else ""
        return TransportError(
            f"{operation}: could not reach the Scaleway API at {self.api_url}: {what}"
            f" ({type(exc).__name__}){tried}",
            hint=(
                "check the network connection and the API URL (SCW_API_URL or the profile's "
                f"api_url){timeout_hint}"
            ),
            operation=operation,
        )

    async def _call(
        self,
        operation: Operation,
        method: str,
        path: str,
        *,
        params: Query | None = None,
        body: JsonDict | None = None,
        mode: _Mode = _Mode.IDEMPOTENT,
        budget: RetryBudget | None = None,
    ) -> httpx.Response:
        """Send one logical request, retrying what the mode allows, and map errors.

        Returns the response for 2xx (and, in DELETE mode, for a 404 that follows an
        ambiguous attempt: the earlier attempt did the deletion). Raises a typed
        :class:`ScalewayError`, or :class:`_Ambiguous` in CREATE mode when the caller must
        check whether the resource exists before trying again.
        """
        budget = budget or self._retry.budget()
        ambiguous_before = False
        # Bounded: every pass either returns, raises, or consumes one retry of the budget.
        for attempts in range(1, self._retry.max_retries + 2):
            retry_after: float | None = None
            ambiguous = False
            async with self.limiter.slot() as ticket:
                self.stats.requests += 1
                self.stats.per_operation[str(operation)] += 1
                try:
                    response = await self._http.request(
                        method,
                        path,
                        params=tuple(params) if params else None,
                        json=body,
                    )
                except httpx.TransportError as exc:
                    self.stats.transport_errors += 1
                    error: ScalewayError = self._transport_error(operation, exc, attempts)
                    if isinstance(exc, _FATAL):
                        raise error from exc
                    ambiguous = not isinstance(exc, _NOT_SENT)
                    if isinstance(exc, httpx.TimeoutException) and not isinstance(
                        exc, httpx.ConnectTimeout
                    ):
                        # An answer that does not come in time is congestion too (TCP treats
                        # a timeout as loss): fewer requests in flight give it room.
                        self.limiter.on_throttle(ticket)
                    log.debug(
                        "%s %s failed: %s (attempt %d)",
                        method,
                        operation,
                        type(exc).__name__,
                        attempts,
                    )
                else:
                    status = response.status_code
                    log.debug("%s %s -> %d (attempt %d)", method, operation, status, attempts)
                    if status < 300:
                        self.limiter.on_success(ticket)
                        return response
                    if status < 400:
                        raise self._redirect_error(operation, response)
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    if status == 429:
                        self.stats.rate_limited += 1
                    elif status >= 500:
                        self.stats.server_errors += 1
                    if status in THROTTLE_STATUSES:
                        self.limiter.on_throttle(ticket, retry_after=retry_after)
                    if mode is _Mode.DELETE and status == 404 and ambiguous_before:
                        return response
                    error = error_from_response(
                        operation, status, response.content, attempts=attempts
                    )
                    if not is_retryable_status(status):
                        raise error
                    ambiguous = status >= 500
            if mode is _Mode.CREATE and ambiguous:
                raise _Ambiguous(error)
            ambiguous_before = ambiguous_before or ambiguous
            delay = budget.next_delay(retry_after)
            if delay is None:
                raise error
            self.stats.retries += 1
            log.info(
                "retrying %s after %s (retry %d of at most %d, in %.2fs)",
                operation,
                f"HTTP {error.status_code}" if error.status_code else "a transport error",
                budget.retries + 1,
                self._retry.max_retries,
                delay,
            )
            self.stats.waited_seconds += delay
            await budget.wait(delay)
        raise error  # pragma: no cover - the budget ends the loop first

    def _redirect_error(self, operation: Operation, response: httpx.Response) -> ScalewayError:
        """The Scaleway API never redirects: a 3xx means the API URL points elsewhere."""
        location = response.headers.get("Location", "")
        try:
            target = httpx.URL(location).copy_with(query=None, fragment=None) if location else None
        except httpx.InvalidURL:
            target = None
        where = f" to {target}" if target else ""
        return ScalewayError(
            f"{operation}: {self.api_url} answered HTTP {response.status_code} (a redirect{where}), "
            "not the Scaleway API",
            hint="set SCW_API_URL (or the profile's api_url) to the API's address, e.g. "
            "https://api.scaleway.com",
            status_code=response.status_code,
            operation=operation,
        )

    @staticmethod
    def _json(operation: Operation, response: httpx.Response) -> JsonDict:
        """The JSON object of a success answer (a non-JSON success is a server fault)."""
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise ServerError(
                f"{operation}: the Scaleway API answered HTTP {response.status_code} with a body that is not JSON",
                hint="check that SCW_API_URL points at the Scaleway API",
                status_code=response.status_code,
                operation=operation,
            ) from exc
        if not isinstance(data, dict):
            raise ServerError(
                f"{operation}: the Scaleway API answered with JSON that is not an object",
                status_code=response.status_code,
                operation=operation,
            )
        return data

    async def _paginate(
        self,
        operation: Operation,
        path: str,
        key: str,
        params: Query,
        page_size: int,
    ) -> AsyncIterator[Any]:
        """Yield every item of a paginated list, page after page, in order.

        Stops on an empty page; stops once ``total_count`` items were seen when the server
        gives a count (so a server that caps ``page_size`` below ours loses nothing); without
        a count, stops on a page shorter than asked. When a full first page gives a count, the
        pages it implies are requested ahead, up to ``PAGES_AHEAD`` at a time (the adaptive
        limiter bounds what is in flight), and still yielded in order: a 2,000-secret list
        costs two round trips instead of twenty.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise _local_invalid(operation, "page_size", "constraint")

        async def fetch(number: int) -> tuple[list[Any], int | None, int]:
            query = [*params, ("page", str(number)), ("page_size", str(page_size))]
            response = await self._call(operation, "GET", path, params=query)
            data = self._json(operation, response)
            found = data.get(key) or []
            if not isinstance(found, list):
                raise ServerError(
                    f"{operation}: the answer's {key!r} is not a list",
                    status_code=response.status_code,
                    operation=operation,
                )
            return found, _as_int(data.get("total_count")), response.status_code

        ahead: dict[int, asyncio.Future[tuple[list[Any], int | None, int]]] = {}
        seen = 0
        page = 1
        last = 1  # the last page to request ahead of time (none until the count is known)
        items, total, _ = await fetch(page)
        try:
            while True:
                for item in items:
                    yield item
                seen += len(items)
                if not items:
                    return
                if total is not None:
                    if seen >= total:
                        return
                elif len(items) < page_size:
                    return
                if page >= MAX_PAGES:
                    raise ServerError(
                        f"{operation}: the list did not end after {MAX_PAGES} pages",
                        operation=operation,
                    )
                if page == 1 and total is not None and len(items) == page_size:
                    last = min(-(-total // page_size), MAX_PAGES)
                page += 1
                # Keep up to PAGES_AHEAD of the pages the count implies in flight; a count
                # that overstates costs at most that many empty pages.
                for number in range(page, min(page + PAGES_AHEAD, last + 1)):
                    if number not in ahead:
                        ahead[number] = asyncio.ensure_future(fetch(number))
                pending = ahead.pop(page, None)
                items, total, _ = await (pending if pending is not None else fetch(page))
        finally:
            for future in ahead.values():
                if future.done() and not future.cancelled():
                    future.exception()  # retrieved: no "never retrieved" warning
                else:
                    future.cancel()

    # ------------------------------------------------------------------ helpers

    def _project(self, project_id: str | None, operation: Operation) -> str:
        pid = project_id or self.default_project_id
        if not pid:
            raise ConfigError(
                f"{operation}: no project id given and no default project configured",
                hint="pass a project id (--project) or set a default project in the profile "
                "(SCW_DEFAULT_PROJECT_ID)",
            )
        return pid

    def _remember_revision(self, region: str, secret_id: str, revision: int) -> None:
        key = (region, secret_id)
        known = self._latest_revision.get(key)
        if known is None or revision > known:
            self._latest_revision[key] = revision
        self._latest_revision.move_to_end(key)
        while len(self._latest_revision) > _REVISION_CACHE_SIZE:
            self._latest_revision.popitem(last=False)

    def _secret_path(self, region: str, secret_id: str, op: Operation, suffix: str = "") -> str:
        return (
            _SM.format(region=_region(region, op))
            + "/secrets/"
            + _segment(secret_id, op, "secret_id")
            + suffix
        )

    def _version_path(
        self, region: str, secret_id: str, revision: Revision, op: Operation, suffix: str = ""
    ) -> str:
        return self._secret_path(
            region, secret_id, op, f"/versions/{_revision(revision, op)}{suffix}"
        )

    # ================================================================== secrets

    async def create_secret(
        self,
        region: str,
        *,
        name: str,
        project_id: str | None = None,
        protected: bool = False,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        type: str | None = None,
        path: str | None = None,
        ephemeral_policy: EphemeralPolicy | JsonDict | None = None,
        key_id: str | None = None,
    ) -> Secret:
        """Create a secret, never twice.

        A create is not idempotent: if the answer is lost (5xx, timeout, reset after
        sending) the secret may exist already. Before creating again, the client looks it
        up by project, path and name and returns it if found.
        """
        op = Operation.CREATE_SECRET
        pid = self._project(project_id, op)
        url = _SM.format(region=_region(region, op)) + "/secrets"
        body: JsonDict = {"project_id": pid, "name": name, "protected": bool(protected)}
        body |= _present(
            tags=None if tags is None else list(tags),
            description=description,
            type=None if type is None else str(type),
            path=path,
            ephemeral_policy=ephemeral_policy,
            key_id=key_id,
        )

        budget = self._retry.budget()
        ambiguous: _Ambiguous | None = None
        for _ in range(self._retry.max_retries + 1):
            try:
                response = await self._call(
                    op, "POST", url, body=body, mode=_Mode.CREATE, budget=budget
                )
            except _Ambiguous as exc:
                ambiguous = exc
            except AlreadyExistsError:
                if ambiguous is None:
                    raise
                # Our earlier, ambiguous attempt did create it (the lookup ran too early).
                found = await self._find_secret(region, pid, name, path, ambiguous.error)
                if found is None or not _is_what_we_asked(found, body):
                    raise
                self.stats.deduplicated += 1
                return found
            else:
                secret = Secret.from_api(self._json(op, response))
                if secret.version_count == 0:
                    self._remember_revision(region, secret.id, 0)
                return secret
            found = await self._find_secret(region, pid, name, path, ambiguous.error)
            if found is not None:
                if not _is_what_we_asked(found, body):
                    # The name was already taken by another secret: what a clean attempt
                    # would have answered.
                    raise AlreadyExistsError(
                        f"{op}: a different secret ({found.id}) already exists at that path "
                        "and name",
                        hint="a secret with the same project, path and name exists; pick "
                        "another name or update it",
                        status_code=409,
                        body={
                            "type": "already_exists",
                            "resource": "secret",
                            "resource_id": found.id,
                        },
                        operation=op,
                    ) from ambiguous.error
                log.info("create_secret: the ambiguous attempt had created %s", found.id)
                self.stats.deduplicated += 1
                return found
            delay = budget.next_delay()
            if delay is None:
                raise ambiguous.error
            self.stats.retries += 1
            self.stats.waited_seconds += delay
            await budget.wait(delay)
        raise (ambiguous.error if ambiguous else ServerError(f"{op}: retries exhausted"))

    async def _find_secret(
        self,
        region: str,
        project_id: str,
        name: str,
        path: str | None,
        original: ScalewayError,
    ) -> Secret | None:
        """The live secret at (project, path, name), or ``None``; errors re-raise ``original``."""
        wanted_path = normalize_path(path or "/")
        try:
            async for secret in self.list_secrets(
                region, project_id=project_id, name=name, path=wanted_path
            ):
                if (
                    secret.name == name
                    and normalize_path(secret.path) == wanted_path
                    and secret.project_id == project_id
                    and secret.deletion_requested_at is None
                ):
                    return secret
        except ScalewayError as lookup_error:
            raise original from lookup_error
        return None

    def list_secrets(
        self,
        region: str,
        *,
        project_id: str | None = None,
        organization_id: str | None = None,
        order_by: str | None = None,
        tags: Iterable[str] | None = None,
        name: str | None = None,
        path: str | None = None,
        ephemeral: bool | None = None,
        type: str | None = None,
        scheduled_for_deletion: bool | None = False,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Secret]:
        """Every secret matching the filters (default: the default project, not scheduled
        for deletion; pass ``scheduled_for_deletion=True`` for those, ``None`` for all)."""
        op = Operation.LIST_SECRETS
        params: Query = []
        if project_id is None and organization_id is None:
            if self.default_project_id:
                project_id = self.default_project_id
            elif self.organization_id:
                organization_id = self.organization_id
        if organization_id:
            params.append(("organization_id", organization_id))
        if project_id:
            params.append(("project_id", project_id))
        if order_by is not None:
            params.append(("order_by", str(order_by)))
        params.extend(("tags", t) for t in tags or ())
        if name is not None:
            params.append(("name", name))
        if path is not None:
            params.append(("path", path))
        if ephemeral is not None:
            params.append(("ephemeral", _bool(ephemeral)))
        if type is not None:
            params.append(("type", str(type)))
        if scheduled_for_deletion is not None:
            params.append(("scheduled_for_deletion", _bool(scheduled_for_deletion)))
        url = _SM.format(region=_region(region, op)) + "/secrets"
        return self._secrets(op, url, params, page_size)

    async def _secrets(
        self, op: Operation, url: str, params: Query, page_size: int
    ) -> AsyncIterator[Secret]:
        async for item in self._paginate(op, url, "secrets", params, page_size):
            yield self._seen_secret(Secret.from_api(item))

    def _seen_secret(self, secret: Secret) -> Secret:
        """Remember that a secret without versions has revision 0 as its latest."""
        if secret.version_count == 0 and secret.region:
            self._remember_revision(secret.region, secret.id, 0)
        return secret

    def browse_secrets(
        self,
        region: str,
        *,
        prefix: str = "/",
        project_id: str | None = None,
        order_by: str | None = None,
        tags: Iterable[str] | None = None,
        type: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[BrowseItem]:
        """The folders and secrets directly under ``prefix`` (one level, like ``ls``)."""
        op = Operation.BROWSE_SECRETS
        params: Query = [("prefix", prefix)]
        pid = project_id or self.default_project_id
        if pid:
            params.append(("project_id", pid))
        if order_by is not None:
            params.append(("order_by", str(order_by)))
        params.extend(("tags", t) for t in tags or ())
        if type is not None:
            params.append(("type", str(type)))
        url = _SM.format(region=_region(region, op)) + "/secrets/browse"
        return self._browse(op, url, params, page_size)

    async def _browse(
        self, op: Operation, url: str, params: Query, page_size: int
    ) -> AsyncIterator[BrowseItem]:
        async for item in self._paginate(op, url, "items", params, page_size):
            yield BrowseItem.from_api(item)

    async def get_secret(self, region: str, secret_id: str) -> Secret:
        op = Operation.GET_SECRET
        response = await self._call(op, "GET", self._secret_path(region, secret_id, op))
        return self._seen_secret(Secret.from_api(self._json(op, response)))

    async def update_secret(
        self,
        region: str,
        secret_id: str,
        *,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        path: str | None = None,
        ephemeral_policy: EphemeralPolicy | JsonDict | None = None,
    ) -> Secret:
        """Change metadata; ``None`` leaves a field unchanged, ``tags=[]`` clears the tags."""
        op = Operation.UPDATE_SECRET
        body = _present(
            name=name,
            tags=None if tags is None else list(tags),
            description=description,
            path=path,
            ephemeral_policy=ephemeral_policy,
        )
        response = await self._call(
            op, "PATCH", self._secret_path(region, secret_id, op), body=body
        )
        return Secret.from_api(self._json(op, response))

    async def delete_secret(self, region: str, secret_id: str) -> None:
        """Delete (soft-delete when it has versions); a protected secret answers 412."""
        op = Operation.DELETE_SECRET
        await self._call(op, "DELETE", self._secret_path(region, secret_id, op), mode=_Mode.DELETE)
        self._latest_revision.pop((region, secret_id), None)

    async def _secret_action(
        self, op: Operation, region: str, secret_id: str, action: str
    ) -> Secret:
        response = await self._call(
            op, "POST", self._secret_path(region, secret_id, op, f"/{action}"), body={}
        )
        return Secret.from_api(self._json(op, response))

    async def protect_secret(self, region: str, secret_id: str) -> Secret:
        return await self._secret_action(Operation.PROTECT_SECRET, region, secret_id, "protect")

    async def unprotect_secret(self, region: str, secret_id: str) -> Secret:
        return await self._secret_action(Operation.UNPROTECT_SECRET, region, secret_id, "unprotect")

    async def restore_secret(self, region: str, secret_id: str) -> Secret:
        """Cancel a scheduled deletion of the secret and of its scheduled versions."""
        return await self._secret_action(Operation.RESTORE_SECRET, region, secret_id, "restore")

    async def add_secret_owner(self, region: str, secret_id: str, *, product: str) -> None:
        """Declare another Scaleway product (``edge_services``, ``s2s_vpn``) as a user."""
        op = Operation.ADD_SECRET_OWNER
        await self._call(
            op,
            "POST",
            self._secret_path(region, secret_id, op, "/add-owner"),
            body={"product": str(product)},
        )

    # ================================================================== versions

    async def create_version(
        self,
        region: str,
        secret_id: str,
        data: bytes,
        *,
        description: str | None = None,
        disable_previous: bool | None = None,
        data_crc32: int | None = None,
        known_latest_revision: int | None = None,
    ) -> SecretVersion:
        """Add a version holding ``data``, never twice.

        ``data_crc32`` (zlib's CRC-32) is computed when not given, so the API checks the
        payload arrived intact. After an ambiguous failure the client lists the versions
        newer than the latest revision known before the call and, if one holds exactly
        ``data``, returns it instead of adding a duplicate. The baseline comes from
        ``known_latest_revision``, else from what this client saw of the secret, else from
        one ``GET …/versions/latest`` before the create.
        """
        op = Operation.CREATE_VERSION
        payload = bytes(data)
        crc = zlib.crc32(payload) & 0xFFFFFFFF if data_crc32 is None else int(data_crc32)
        url = self._secret_path(region, secret_id, op, "/versions")
        body: JsonDict = {"data": b64encode(payload)}
        body |= _present(
            description=description,
            disable_previous=None if disable_previous is None else bool(disable_previous),
        )
        body["data_crc32"] = crc

        baseline = known_latest_revision
        if baseline is None:
            baseline = self._latest_revision.get((region, secret_id))
        if baseline is None:
            baseline = await self._probe_latest_revision(region, secret_id)

        budget = self._retry.budget()
        ambiguous: _Ambiguous | None = None
        for _ in range(self._retry.max_retries + 1):
            try:
                response = await self._call(
                    op, "POST", url, body=body, mode=_Mode.CREATE, budget=budget
                )
            except _Ambiguous as exc:
                ambiguous = exc
            else:
                version = SecretVersion.from_api(self._json(op, response))
                self._remember_revision(region, secret_id, version.revision)
                return version
            if baseline is None:
                # Nothing to compare against: a blind retry could duplicate the version.
                raise ambiguous.error
            found = await self._find_version(
                region, secret_id, baseline, payload, crc, ambiguous.error
            )
            if found is not None:
                log.info(
                    "create_secret_version: the ambiguous attempt had created revision %d of %s",
                    found.revision,
                    secret_id,
                )
                self.stats.deduplicated += 1
                self._remember_revision(region, secret_id, found.revision)
                return found
            delay = budget.next_delay()
            if delay is None:
                raise ambiguous.error
            self.stats.retries += 1
            self.stats.waited_seconds += delay
            await budget.wait(delay)
        raise (ambiguous.error if ambiguous else ServerError(f"{op}: retries exhausted"))

    async def _probe_latest_revision(self, region: str, secret_id: str) -> int | None:
        """The highest revision of a secret now (0 if none); ``None`` if it cannot be read."""
        try:
            version = await self.get_version(region, secret_id, "latest")
        except NotFoundError:
            return 0
        except (PermissionDeniedError, ServerError, TransportError, RateLimitedError):
            return None
        return version.revision

    async def _find_version(
        self,
        region: str,
        secret_id: str,
        baseline: int,
        payload: bytes,
        crc: int,
        original: ScalewayError,
    ) -> SecretVersion | None:
        """A version newer than ``baseline`` holding exactly ``payload``, if one exists.

        ``None`` means "surely not created": every newer version was read and differs. A
        newer version that cannot be read (disabled meanwhile, no access permission) or must
        not be (reading an expires-once version consumes it) leaves the question open, and
        then the original error is raised rather than risking a duplicate.
        """
        try:
            newer = [
                v async for v in self.list_versions(region, secret_id) if v.revision > baseline
            ]
        except ScalewayError as lookup_error:
            raise original from lookup_error
        undecided = 0
        for version in sorted(newer, key=lambda v: v.revision, reverse=True):
            props = version.ephemeral_properties
            if props is not None and props.expires_once_accessed:
                undecided += 1
                continue
            try:
                accessed = await self.access_version(region, secret_id, version.revision)
            except ScalewayError:
                undecided += 1
                continue
            if accessed.data_crc32 not in (None, crc):
                continue
            if accessed.data == payload:
                return version
        if undecided:
            raise original
        return None

    def list_versions(
        self,
        region: str,
        secret_id: str,
        *,
        status: Iterable[str] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[SecretVersion]:
        """Every version of a secret (newest first, as the API orders them)."""
        op = Operation.LIST_VERSIONS
        params: Query = [("status", str(s)) for s in status or ()]
        url = self._secret_path(region, secret_id, op, "/versions")
        return self._versions(op, url, params, page_size, region, secret_id)

    async def _versions(
        self,
        op: Operation,
        url: str,
        params: Query,
        page_size: int,
        region: str,
        secret_id: str,
    ) -> AsyncIterator[SecretVersion]:
        async for item in self._paginate(op, url, "versions", params, page_size):
            version = SecretVersion.from_api(item)
            self._remember_revision(region, secret_id, version.revision)
            yield version

    async def get_version(self, region: str, secret_id: str, revision: Revision) -> SecretVersion:
        op = Operation.GET_VERSION
        response = await self._call(op, "GET", self._version_path(region, secret_id, revision, op))
        version = SecretVersion.from_api(self._json(op, response))
        self._remember_revision(region, secret_id, version.revision)
        return version

    async def update_version(
        self,
        region: str,
        secret_id: str,
        revision: Revision,
        *,
        description: str | None = None,
        ephemeral_properties: EphemeralProperties | JsonDict | None = None,
    ) -> SecretVersion:
        op = Operation.UPDATE_VERSION
        body = _present(description=description, ephemeral_properties=ephemeral_properties)
        response = await self._call(
            op, "PATCH", self._version_path(region, secret_id, revision, op), body=body
        )
        return SecretVersion.from_api(self._json(op, response))

    async def delete_version(self, region: str, secret_id: str, revision: Revision) -> None:
        """Schedule a version for deletion (restorable for 7 days)."""
        op = Operation.DELETE_VERSION
        await self._call(
            op, "DELETE", self._version_path(region, secret_id, revision, op), mode=_Mode.DELETE
        )

    async def _version_action(
        self, op: Operation, region: str, secret_id: str, revision: Revision, action: str
    ) -> SecretVersion:
        response = await self._call(
            op,
            "POST",
            self._version_path(region, secret_id, revision, op, f"/{action}"),
            body={},
        )
        return SecretVersion.from_api(self._json(op, response))

    async def enable_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion:
        return await self._version_action(
            Operation.ENABLE_VERSION, region, secret_id, revision, "enable"
        )

    async def disable_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion:
        return await self._version_action(
            Operation.DISABLE_VERSION, region, secret_id, revision, "disable"
        )

    async def restore_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion:
        """Cancel a version's scheduled deletion."""
        return await self._version_action(
            Operation.RESTORE_VERSION, region, secret_id, revision, "restore"
        )

    async def access_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> AccessedVersion:
        """The data of one version (``revision``: a number, ``latest``, ``latest_enabled``)."""
        op = Operation.ACCESS_VERSION
        response = await self._call(
            op, "GET", self._version_path(region, secret_id, revision, op, "/access")
        )
        return self._accessed(op, response)

    async def access_version_by_path(
        self,
        region: str,
        *,
        secret_path: str,
        secret_name: str,
        revision: Revision = "latest",
        project_id: str | None = None,
    ) -> AccessedVersion:
        """The data of a version, addressing the secret by project, path and name."""
        op = Operation.ACCESS_VERSION_BY_PATH
        url = (
            _SM.format(region=_region(region, op))
            + f"/secrets-by-path/versions/{_revision(revision, op)}/access"
        )
        params: Query = [
            ("secret_path", secret_path),
            ("secret_name", secret_name),
            ("project_id", self._project(project_id, op)),
        ]
        response = await self._call(op, "GET", url, params=params)
        return self._accessed(op, response)

    def _accessed(self, op: Operation, response: httpx.Response) -> AccessedVersion:
        data = self._json(op, response)
        try:
            return AccessedVersion.from_api(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise ServerError(
                f"{op}: the answer's data is not valid base64",
                status_code=response.status_code,
                operation=op,
            ) from exc

    # ================================================================== tags and types

    def list_tags(
        self,
        region: str,
        *,
        project_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[str]:
        """Distinct tags in use in a project."""
        op = Operation.LIST_TAGS
        url = _SM.format(region=_region(region, op)) + "/tags"
        return self._strings(op, url, "tags", project_id, page_size)

    def list_secret_types(
        self,
        region: str,
        *,
        project_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[str]:
        """Distinct secret types in use in a project."""
        op = Operation.LIST_SECRET_TYPES
        url = _SM.format(region=_region(region, op)) + "/secret-types"
        return self._strings(op, url, "types", project_id, page_size)

    async def _strings(
        self, op: Operation, url: str, key: str, project_id: str | None, page_size: int
    ) -> AsyncIterator[str]:
        pid = project_id or self.default_project_id
        params: Query = [("project_id", pid)] if pid else []
        async for item in self._paginate(op, url, key, params, page_size):
            yield str(item)

    # ================================================================== account

    def list_projects(
        self,
        organization_id: str | None = None,
        *,
        name: str | None = None,
        project_ids: Iterable[str] | None = None,
        order_by: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Project]:
        """Every project of the organization (default: the client's organization)."""
        op = Operation.LIST_PROJECTS
        params: Query = []
        org = organization_id or self.organization_id
        if org:
            params.append(("organization_id", org))
        if name is not None:
            params.append(("name", name))
        params.extend(("project_ids", p) for p in project_ids or ())
        if order_by is not None:
            params.append(("order_by", str(order_by)))
        return self._projects(op, "/account/v3/projects", params, page_size)

    async def _projects(
        self, op: Operation, url: str, params: Query, page_size: int
    ) -> AsyncIterator[Project]:
        async for item in self._paginate(op, url, "projects", params, page_size):
            yield Project.from_api(item)

    async def get_project(self, project_id: str) -> Project:
        op = Operation.GET_PROJECT
        url = "/account/v3/projects/" + _segment(project_id, op, "project_id")
        response = await self._call(op, "GET", url)
        return Project.from_api(self._json(op, response))


def _is_what_we_asked(secret: Secret, body: JsonDict) -> bool:
    """Whether a secret found after an ambiguous create has what the create asked for.

    A secret that already existed under the same name with other metadata is not ours;
    returning it as "created" would let a restore believe tags or a type it never set.
    """
    if str(body.get("type") or "opaque") not in (str(secret.type), "unknown_type"):
        return False
    if (body.get("description") or "") != secret.description:
        return False
    if sorted(body.get("tags") or ()) != sorted(secret.tags):
        return False
    return bool(body.get("protected")) == secret.protected


def _as_int(value: Any) -> int | None:
    """``total_count`` as an int; tolerate strings (X-Total-Count copies) and junk."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
