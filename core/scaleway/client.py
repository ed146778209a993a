"""The async Scaleway API client: Secret Manager v1beta1, Account v3 projects, IAM keys.

:class:`ScalewayClient` is the facade; the work is split by concern, as httpx splits its own:

* :mod:`core.scaleway.endpoints` — the one table of operations (method, path, retry mode,
  permission set) requests are built from;
* :mod:`core.scaleway.transport` — the sending layer under httpx (small sharded connection
  pools, one TLS context per process) and what a transport failure means;
* :mod:`core.scaleway.auth` — the secret key as a hidden ``X-Auth-Token`` header, and logs
  without query strings;
* :mod:`core.scaleway.errors` — typed errors and the one answer → error mapping, with
  messages that name argument names, ids and permission sets, never values or names;
* :mod:`core.scaleway._calls` — retries (exponential backoff, full jitter, on 429, 5xx and
  transport errors, bounded by a count and a deadline), the adaptive AIMD concurrency limit
  (:mod:`core.scaleway.limiter`), pagination, stats, and the create-once loop that keeps
  non-idempotent creates from creating twice after an ambiguous failure;
* :mod:`core.scaleway.secrets`, :mod:`~core.scaleway.versions`,
  :mod:`~core.scaleway.projects`, :mod:`~core.scaleway.iam` — the methods, by resource.

The secret key never appears in a ``repr``, a log record or an error.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

import httpx

from core import __version__
from core.errors import ConfigError, Remedy
from core.scaleway._calls import (
    DEFAULT_ATTEMPT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_PAGE_SIZE,
    Calls,
    ClientStats,
)
from core.scaleway.auth import TokenAuth, install_log_filter
from core.scaleway.errors import error_from_response
from core.scaleway.iam import IamMixin
from core.scaleway.limiter import AdaptiveLimiter
from core.scaleway.projects import ProjectsMixin
from core.scaleway.retry import RetryPolicy
from core.scaleway.secrets import SecretsMixin
from core.scaleway.transport import make_transport, shared_ssl_context
from core.scaleway.versions import VersionsMixin

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_PAGE_SIZE",
    "ClientStats",
    "ScalewayClient",
    "error_from_response",
]

DEFAULT_API_URL = "https://api.scaleway.com"
# How far the adaptive limit may grow past ``max_concurrency`` while answers are clean.
DEFAULT_CONCURRENCY_CEILING = 256


class _NoCookies(httpx.Cookies):
    """A cookie store that keeps nothing: the API sets no cookies, and reading every
    answer's headers for them cost httpx ~10 % of its CPU per request."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _CookielessClient(httpx.AsyncClient):
    """httpx's client without a cookie jar (a ``Set-Cookie`` answer is never replayed)."""

    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        pass


class ScalewayClient(SecretsMixin, VersionsMixin, ProjectsMixin, IamMixin):
    """Async client of Scaleway Secret Manager v1beta1, Account v3 (projects) and IAM keys.

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
        concurrency_ceiling: int | None = DEFAULT_CONCURRENCY_CEILING,
        retry_deadline: float = 120.0,
        attempt_deadline: float = DEFAULT_ATTEMPT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        backoff_base: float = 0.25,
        backoff_max: float = 20.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
        user_agent: str | None = None,
    ) -> None:
        if (
            not isinstance(secret_key, str)
            or not secret_key.isascii()
            or any(c.isspace() or not c.isprintable() for c in secret_key)
        ):
            raise ConfigError(
                "the Scaleway secret key is malformed (it must be printable ASCII, no spaces)",
                hint="re-enter it in the profile, or fix SCW_SECRET_KEY",
                remedy=Remedy.CONFIGURE_CREDENTIALS,
                details={"case": "secret_key"},
            )
        base = api_url or os.environ.get("SCW_API_URL") or DEFAULT_API_URL
        base = base.strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigError(
                f"the Scaleway API URL {base!r} is not an http(s) URL",
                hint="set SCW_API_URL (or the profile's api_url) to e.g. https://api.scaleway.com",
                remedy=Remedy.CONFIGURE_CREDENTIALS,
                details={"case": "api_url"},
            )
        self.api_url = base
        self.organization_id = organization_id or None
        self.default_project_id = default_project_id or None
        self.default_region = default_region
        self.max_retries = max_retries

        policy = RetryPolicy(
            max_retries=max_retries,
            deadline=retry_deadline,
            base_delay=backoff_base,
            max_delay=backoff_max,
            sleep=sleep or asyncio.sleep,
            clock=clock or time.monotonic,
            rng=rng or random.Random(),
        )
        # ``max_concurrency`` is where the limit settles without evidence; clean answers
        # with requests waiting take it up to the ceiling (None: no growth past it).
        ceiling = max(max_concurrency, concurrency_ceiling or max_concurrency)
        self.limiter = AdaptiveLimiter(
            ceiling,
            initial=max_concurrency if initial_concurrency is None else initial_concurrency,
            probe_from=max_concurrency,
            sleep=sleep or asyncio.sleep,
            clock=clock or time.monotonic,
        )
        self.stats = ClientStats()

        install_log_filter()
        verify = shared_ssl_context(self.api_url.startswith("http://"))
        http = _CookielessClient(
            base_url=self.api_url,
            auth=TokenAuth(secret_key),
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            transport=transport or make_transport(ceiling + 2, verify, max_response_bytes),
            verify=verify,
            headers={
                "Accept": "application/json",
                "User-Agent": user_agent or f"secret-kloset/{__version__}",
            },
            # For proxy transports httpx builds from the environment; ours is sharded.
            limits=httpx.Limits(max_connections=ceiling + 2, max_keepalive_connections=ceiling),
            follow_redirects=False,
        )
        self._calls = Calls(
            http,
            api_url=self.api_url,
            retry=policy,
            limiter=self.limiter,
            stats=self.stats,
            attempt_deadline=attempt_deadline,
            max_response_bytes=max_response_bytes,
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
    def _http(self) -> httpx.AsyncClient:
        return self._calls.http

    @property
    def _retry(self) -> RetryPolicy:
        return self._calls.retry

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    @property
    def concurrency_limit(self) -> int:
        """The adaptive limit on requests in flight right now."""
        return self.limiter.limit

    @property
    def concurrency_ceiling(self) -> int:
        """How far the adaptive limit may grow (``concurrency_ceiling``): work that waits on
        the client anyway (a restore's secrets) can be started this many at a time."""
        return self.limiter.max_concurrency

    def __repr__(self) -> str:
        return (
            f"ScalewayClient(api_url={self.api_url!r}, organization_id={self.organization_id!r}, "
            f"default_project_id={self.default_project_id!r}, "
            f"default_region={self.default_region!r}, secret_key=<hidden>)"
        )

    __str__ = __repr__
