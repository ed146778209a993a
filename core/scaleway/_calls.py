"""The client's call core: requests built from the endpoint table, retries, pagination,
and the create-once loop.

Every API call goes through :class:`Calls`: :meth:`Calls.path` checks and fills the
operation's path template (:mod:`core.scaleway.endpoints`), :meth:`Calls.send` sends it with
the retry mode the table gives (bounded by :class:`core.scaleway.retry.RetryBudget`, through
the adaptive limiter, counted in :class:`ClientStats`) and maps failures to typed errors,
:meth:`Calls.paginate` follows a list to its end, and :meth:`Calls.create_once` is the one
loop that keeps a non-idempotent create from creating twice. Resource modules
(``secrets``, ``versions``, ``projects``, ``iam``) say only what is specific to them.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import msgspec

from core._json import json_bytes
from core.errors import ConfigError, Remedy
from core.scaleway.endpoints import Body, Mode, endpoint
from core.scaleway.errors import (
    AlreadyExistsError,
    ScalewayError,
    ServerError,
    UnexpectedAnswerError,
    error_from_response,
    local_invalid,
    redirect_error,
)
from core.scaleway.limiter import AdaptiveLimiter
from core.scaleway.models import EphemeralPolicy, EphemeralProperties, WireError, decode
from core.scaleway.models import _Wire as Model
from core.scaleway.permissions import Operation
from core.scaleway.retry import (
    THROTTLE_STATUSES,
    RetryBudget,
    RetryPolicy,
    is_retryable_status,
    parse_retry_after,
)
from core.scaleway.transport import (
    FATAL,
    NOT_SENT,
    AttemptDeadlineExceeded,
    is_congestion,
    transport_error,
)
from core.scaleway.urls import ApiUrls

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGES",
    "MAX_PAGE_SIZE",
    "PAGES_AHEAD",
    "Ambiguous",
    "Calls",
    "ClientBase",
    "ClientStats",
    "JsonDict",
    "LatestRevisions",
    "Query",
    "Revision",
    "as_bool",
    "present",
]

log = logging.getLogger("core.scaleway.client")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100  # Scaleway's list endpoints accept 1 to 100
# A list that has not ended after this many pages is a server bug, not data.
MAX_PAGES = 100_000
PAGES_AHEAD = 16  # list pages requested ahead of the one being read, once the count is known
# Every attempt (sending, waiting, reading the whole answer) ends within this many seconds.
DEFAULT_ATTEMPT_DEADLINE = 60.0
# No API answer is this large (a list page of 100 secrets is ~60 KiB).
DEFAULT_MAX_RESPONSE_BYTES = 16 << 20
# Highest revision seen per secret, remembered to de-duplicate ambiguous version creates.
_REVISION_CACHE_SIZE = 50_000

_REGION_SHAPE = re.compile(r"^[a-z]{2}-[a-z]{3}$")

Revision = int | str
JsonDict = dict[str, Any]
Query = list[tuple[str, str]]
T = TypeVar("T")
M = TypeVar("M", bound=Model)


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

    def as_dict(self) -> dict[str, int | float | dict[str, int]]:
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


class LatestRevisions:
    """The highest revision this client saw per (region, secret), bounded LRU.

    A version create that fails ambiguously compares against it to find what it may have
    created; a secret seen without versions has 0.
    """

    def __init__(self, size: int = _REVISION_CACHE_SIZE) -> None:
        self._size = size
        self._known: OrderedDict[tuple[str, str], int] = OrderedDict()

    def get(self, region: str, secret_id: str) -> int | None:
        return self._known.get((region, secret_id))

    def remember(self, region: str, secret_id: str, revision: int) -> None:
        key = (region, secret_id)
        known = self._known.get(key)
        if known is None or revision > known:
            self._known[key] = revision
        self._known.move_to_end(key)
        while len(self._known) > self._size:
            self._known.popitem(last=False)

    def forget(self, region: str, secret_id: str) -> None:
        self._known.pop((region, secret_id), None)


# --------------------------------------------------------------------------- arguments


class Ambiguous(Exception):
    """A create failed in a way that may or may not have created the resource."""

    def __init__(self, error: ScalewayError) -> None:
        super().__init__(error.message)
        self.error = error


def as_bool(value: bool) -> str:
    return "true" if value else "false"


def present(**fields: object) -> JsonDict:
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
        raise local_invalid(operation, "revision", "format")
    if isinstance(value, int):
        if value < 1:
            raise local_invalid(operation, "revision", "constraint")
        return str(value)
    text = str(value).strip()
    if text in ("latest", "latest_enabled") or (text.isdigit() and int(text) >= 1):
        return text
    raise local_invalid(operation, "revision", "format")


def _segment(value: object, operation: Operation, argument: str) -> str:
    """An id checked to be usable as one URL path segment (the table's ``url`` encodes it)."""
    text = str(value)
    if not text or text in (".", "..") or text != text.strip():
        raise local_invalid(operation, argument, "format")
    return text


def _region(region: object, operation: Operation) -> str:
    if not isinstance(region, str) or not _REGION_SHAPE.match(region):
        raise local_invalid(operation, "region", "format")
    return region


def _checked(operation: Operation, name: str, value: object) -> str:
    if name == "region":
        return _region(value, operation)
    if name == "revision":
        return _revision(value, operation)  # type: ignore[arg-type]
    return _segment(value, operation, name)


# --------------------------------------------------------------------------- the core


def build_request(
    http: httpx.AsyncClient, method: str, url: httpx.URL, body: JsonDict | None
) -> httpx.Request:
    """The request ``http.build_request(method, url, json=body)`` builds, its body written by
    msgspec (:mod:`core._json`): the same bytes and headers, in the same order."""
    if body is None:
        return http.build_request(method, url)
    content = json_bytes(body)
    return http.build_request(
        method,
        url,
        content=content,
        headers={"Content-Length": str(len(content)), "Content-Type": "application/json"},
    )


class Calls:
    """Sends the client's requests: one per logical call, retried as its endpoint allows."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        retry: RetryPolicy,
        limiter: AdaptiveLimiter,
        stats: ClientStats,
        attempt_deadline: float = DEFAULT_ATTEMPT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if attempt_deadline <= 0:
            raise ValueError("attempt_deadline must be positive")
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be at least 1")
        self.http = http
        self.api_url = api_url
        self.urls = ApiUrls(api_url)
        self.retry = retry
        self.limiter = limiter
        self.stats = stats
        self.attempt_deadline = attempt_deadline
        self.max_response_bytes = max_response_bytes
        self.revisions = LatestRevisions()

    # ------------------------------------------------------------------ requests

    @staticmethod
    def path(operation: Operation, **params: object) -> str:
        """The operation's path with each parameter checked (raises before anything is sent).

        Parameters are checked in template order; a region must look like ``fr-par``, a
        revision be a positive number, ``latest`` or ``latest_enabled``, any id be one
        non-empty path segment.
        """
        ep = endpoint(operation)
        checked = {name: _checked(operation, name, params[name]) for name in ep.path_params}
        return ep.url(**checked)

    async def backoff(self, budget: RetryBudget, delay: float) -> None:
        """Wait ``delay`` before a retry, counted in the stats."""
        self.stats.retries += 1
        self.stats.waited_seconds += delay
        await budget.wait(delay)

    async def send(
        self,
        operation: Operation,
        path: str,
        *,
        params: Query | None = None,
        body: JsonDict | None = None,
        budget: RetryBudget | None = None,
    ) -> httpx.Response:
        """Send one logical request, retrying what the endpoint's mode allows, and map errors.

        Returns the response for 2xx (and, in DELETE mode, for a 404 that follows an
        ambiguous attempt: the earlier attempt did the deletion). Raises a typed
        :class:`ScalewayError`, or :class:`Ambiguous` in CREATE mode when the caller must
        check whether the resource exists before trying again.
        """
        ep = endpoint(operation)
        mode = ep.mode
        if ep.body is Body.EMPTY:
            body = {}
        method = ep.method
        budget = budget or self.retry.budget()
        ambiguous_before = False
        # Bounded: every pass either returns, raises, or consumes one retry of the budget.
        for attempts in range(1, self.retry.max_retries + 2):
            retry_after: float | None = None
            ambiguous = False
            async with self.limiter.slot() as ticket:
                self.stats.requests += 1
                self.stats.per_operation[str(operation)] += 1
                try:
                    response = await self._attempt(operation, method, path, params, body)
                except httpx.TransportError as exc:
                    self.stats.transport_errors += 1
                    error: ScalewayError = transport_error(operation, exc, attempts, self.api_url)
                    if isinstance(exc, FATAL):
                        raise error from exc
                    ambiguous = not isinstance(exc, NOT_SENT)
                    if is_congestion(exc):
                        # Fewer requests in flight give a slow answer room.
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
                    if mode is Mode.DELETE and status == 404 and ambiguous_before:
                        return response
                    error = error_from_response(
                        operation, status, response.content, attempts=attempts
                    )
                    if not is_retryable_status(status):
                        raise error
                    ambiguous = status >= 500
            if mode is Mode.CREATE and ambiguous:
                raise Ambiguous(error)
            ambiguous_before = ambiguous_before or ambiguous
            delay = budget.next_delay(retry_after)
            if delay is None:
                raise error
            log.info(
                "retrying %s after %s (retry %d of at most %d, in %.2fs)",
                operation,
                f"HTTP {error.status_code}" if error.status_code else "a transport error",
                budget.retries + 1,
                self.retry.max_retries,
                delay,
            )
            await self.backoff(budget, delay)
        raise error  # pragma: no cover - the budget ends the loop first

    async def _attempt(
        self,
        operation: Operation,
        method: str,
        path: str,
        params: Query | None,
        body: JsonDict | None,
    ) -> httpx.Response:
        """One request and its whole answer, read within the deadline per attempt and the
        size bound (a server trickling one byte every few seconds defeats per-read
        timeouts; a 300 MB answer must not be held in memory)."""
        # The absolute URL, built once (:mod:`core.scaleway.urls`): httpx's own merge with
        # ``base_url`` and its params parse it three times (a third of its CPU per
        # request); same bytes.
        query = str(httpx.QueryParams(params)) if params else None  # type: ignore[arg-type]
        request = build_request(self.http, method, self.urls.url(path, query), body)
        try:
            async with asyncio.timeout(self.attempt_deadline):
                response = await self.http.send(request, stream=True)
                try:
                    limit = self.max_response_bytes
                    length = response.headers.get("Content-Length")
                    if length is not None and length.isdigit() and int(length) > limit:
                        raise self._too_large(operation)
                    if response.is_stream_consumed:  # the sender read it whole (aiohttp's)
                        if len(response.content) > limit:
                            raise self._too_large(operation)
                    else:
                        chunks = []
                        size = 0
                        async for chunk in response.aiter_bytes():
                            size += len(chunk)
                            if size > limit:
                                raise self._too_large(operation)
                            chunks.append(chunk)
                        response._content = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise AttemptDeadlineExceeded(
                f"the answer did not complete within {self.attempt_deadline:g} s"
                " (the client's deadline per attempt)",
                request=request,
            ) from None
        return response

    def _too_large(self, operation: Operation) -> UnexpectedAnswerError:
        limit = self.max_response_bytes
        size = f"{limit // (1 << 20)} MiB" if limit % (1 << 20) == 0 else f"{limit} bytes"
        return UnexpectedAnswerError(
            f"{operation}: unexpected answer from the API: the answer is larger than {size}"
            " (the client's bound on an answer)",
            hint="check that SCW_API_URL points at the Scaleway API",
            operation=operation,
        )

    def _redirect_error(self, operation: Operation, response: httpx.Response) -> ScalewayError:
        location = response.headers.get("Location", "")
        try:
            target = httpx.URL(location).copy_with(query=None, fragment=None) if location else None
        except httpx.InvalidURL:
            target = None
        return redirect_error(
            operation, self.api_url, response.status_code, str(target) if target else None
        )

    @staticmethod
    def json(operation: Operation, response: httpx.Response) -> JsonDict:
        """The JSON object of a success answer (a non-JSON success is a server fault)."""
        try:
            data = msgspec.json.decode(response.content)
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

    @staticmethod
    def decode(operation: Operation, cls: type[M], data: object) -> M:
        """A model from an answer's JSON object; one the codec cannot read (a field of the
        wrong JSON type, bad base64, a required key absent) is the API's fault, said so."""
        try:
            return decode(cls, data)  # type: ignore[arg-type]
        except WireError as exc:
            raise UnexpectedAnswerError(
                f"{operation}: unexpected answer from the API: {exc}",
                hint="check that SCW_API_URL points at the Scaleway API",
                operation=operation,
            ) from exc

    async def fetch(
        self,
        operation: Operation,
        path: str,
        *,
        params: Query | None = None,
        body: JsonDict | None = None,
    ) -> JsonDict:
        """:meth:`send`, then the answer's JSON object."""
        response = await self.send(operation, path, params=params, body=body)
        return self.json(operation, response)

    # ------------------------------------------------------------------ pagination

    async def paginate(
        self,
        operation: Operation,
        path: str,
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
            raise local_invalid(operation, "page_size", "constraint")
        key = endpoint(operation).items
        assert key is not None, f"{operation} is not a list"

        async def fetch(number: int) -> tuple[list[Any], int | None]:
            query = [*params, ("page", str(number)), ("page_size", str(page_size))]
            response = await self.send(operation, path, params=query)
            data = self.json(operation, response)
            found = data.get(key) or []
            if not isinstance(found, list):
                raise ServerError(
                    f"{operation}: the answer's {key!r} is not a list",
                    status_code=response.status_code,
                    operation=operation,
                )
            return found, _as_int(data.get("total_count"))

        ahead: dict[int, asyncio.Future[tuple[list[Any], int | None]]] = {}
        seen = 0
        page = 1
        last = 1  # the last page to request ahead of time (none until the count is known)
        items, total = await fetch(page)
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
                items, total = await (pending if pending is not None else fetch(page))
        finally:
            for future in ahead.values():
                if future.done() and not future.cancelled():
                    future.exception()  # retrieved: no "never retrieved" warning
                else:
                    future.cancel()

    # ------------------------------------------------------------------ create once

    async def create_once(
        self,
        operation: Operation,
        attempt: Callable[[RetryBudget], Awaitable[T]],
        lookup: Callable[[ScalewayError], Awaitable[T | None]],
        *,
        conflict_may_be_ours: bool = False,
    ) -> T:
        """Create something at most once, retrying only when it surely was not created.

        ``attempt`` sends the create (in CREATE mode, so an ambiguous failure — a 5xx, a
        timeout, a reset after sending — raises :class:`Ambiguous` instead of being
        retried blindly). After one, ``lookup`` is asked whether the resource exists now:
        it returns it (the earlier attempt did create it: no duplicate), ``None`` (surely
        not created: wait and try again), or raises (cannot tell, or something else is
        there). With ``conflict_may_be_ours``, a 409 ``already_exists`` that follows an
        ambiguous attempt is also looked up: that attempt may be what exists.
        """
        budget = self.retry.budget()
        ambiguous: ScalewayError | None = None
        for _ in range(self.retry.max_retries + 1):
            try:
                return await attempt(budget)
            except Ambiguous as exc:
                ambiguous = exc.error
            except AlreadyExistsError as conflict:
                if ambiguous is None or not conflict_may_be_ours:
                    raise
                # Our earlier, ambiguous attempt did create it (the lookup ran too early).
                try:
                    mine = await lookup(ambiguous)
                except AlreadyExistsError:
                    mine = None
                if mine is None:
                    raise conflict from None
                self.stats.deduplicated += 1
                return mine
            found = await lookup(ambiguous)
            if found is not None:
                self.stats.deduplicated += 1
                return found
            delay = budget.next_delay()
            if delay is None:
                raise ambiguous
            await self.backoff(budget, delay)
        raise (ambiguous if ambiguous else ServerError(f"{operation}: retries exhausted"))


class ClientBase:
    """What the resource mixins of :class:`core.scaleway.client.ScalewayClient` share."""

    _calls: Calls
    organization_id: str | None
    default_project_id: str | None

    def _project(self, project_id: str | None, operation: Operation) -> str:
        pid = project_id or self.default_project_id
        if not pid:
            raise ConfigError(
                f"{operation}: no project id given and no default project configured",
                hint="pass a project id or set a default project in the profile "
                "(SCW_DEFAULT_PROJECT_ID)",
                remedy=Remedy.CHOOSE_PROJECT,
            )
        return pid


def _as_int(value: object) -> int | None:
    """``total_count`` as an int; tolerate strings (X-Total-Count copies) and junk."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
