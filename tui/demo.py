"""``secret-kloset demo``: the console on the in-process emulator and a throw-away store.

Nothing leaves the process: the emulator (``EmulatorApp(demo_state())``) is reached through
:class:`ThreadedASGITransport` (``httpx.ASGITransport`` driven on an event loop of its own, in a
thread, so a 50,000-secret listing never stalls the console's event loop), the store lives in a temporary directory with cheap KDF parameters
and a fixed passphrase, and both vanish when the console quits. Two snapshots are made with
the real backup engine before the console shows (the second after a "rotation" of one secret
in the emulator), so a new user finds something to browse, diff and restore at once.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import httpx
from starlette.types import ASGIApp

from core.emulator.app import EmulatorApp
from core.emulator.demo import (
    DEMO_ORGANIZATION_ID,
    DEMO_PRODUCTION_PROJECT_ID,
    DEMO_SECRET_KEY,
    demo_state,
)
from core.emulator.state import EmulatorState
from core.engine.backup import BackupOptions, run_backup
from core.scaleway.client import ScalewayClient
from core.store import KdfParams, Store
from tui.context import ConsoleContext

Clock = Callable[[], datetime]

DEMO_PASSPHRASE = "demo passphrase: not for real data"
DEMO_API_URL = "http://emulator.invalid"


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    if loop.is_closed():
        return
    loop.call_soon_threadsafe(loop.stop)
    if thread is not threading.current_thread():
        thread.join(5)
    if not loop.is_running():
        loop.close()


class ThreadedASGITransport(httpx.AsyncBaseTransport):
    """An in-process ASGI app served on its own event loop, in a daemon thread.

    ``httpx.ASGITransport`` runs the app on the caller's loop: the emulator's handlers then
    share the console's event loop, and listing a 50,000-secret project froze the UI. Here
    each request is handed to the emulator's loop (``run_coroutine_threadsafe``) and its whole
    answer comes back as bytes; the console's loop only waits. Several clients may share one
    transport (every client the console builds does), so ``aclose`` leaves it running and
    :meth:`shutdown` (the demo's ``on_close``, or garbage collection) stops the thread.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inner = httpx.ASGITransport(app=app)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._finalizer: weakref.finalize[..., ThreadedASGITransport] | None = None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:  # started on the first request: an unused transport costs no thread
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="emulator", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
                self._finalizer = weakref.finalize(self, _stop_loop, loop, thread)
            return self._loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        future = asyncio.run_coroutine_threadsafe(
            self._send(request.method, str(request.url), list(request.headers.raw), body),
            self._ensure_loop(),
        )
        status, headers, content = await asyncio.wrap_future(future)
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _send(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """On the emulator's loop: the request through the ASGI app, the answer read whole."""
        request = httpx.Request(method, url, headers=headers, content=body)
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        return response.status_code, list(response.headers.raw), content

    async def aclose(self) -> None:
        """Shared by every client of the console: closing one client keeps it serving."""

    def shutdown(self) -> None:
        """Stop the emulator's thread (a later request starts a new one)."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None


def demo_transport(
    state: EmulatorState | None = None, clock: Clock | None = None
) -> tuple[EmulatorApp, ThreadedASGITransport]:
    """A fresh emulator on the demo data and an httpx transport that reaches it in-process,
    on a thread of its own (``clock`` pins the emulator's time, for pixel-stable snapshot
    tests)."""
    app = EmulatorApp(state if state is not None else demo_state(), seed=7, clock=clock)
    return app, ThreadedASGITransport(app)


def demo_client(
    transport: httpx.AsyncBaseTransport,
    *,
    secret_key: str | None = None,
    project_id: str | None = None,
) -> ScalewayClient:
    return ScalewayClient(
        secret_key=secret_key or DEMO_SECRET_KEY,
        api_url=DEMO_API_URL,
        organization_id=DEMO_ORGANIZATION_ID,
        default_project_id=project_id or DEMO_PRODUCTION_PROJECT_ID,
        default_region="fr-par",
        transport=transport,
        backoff_base=0.01,
    )


async def prefill(
    client: ScalewayClient, store: Store, project_id: str, region: str = "fr-par"
) -> list[str | None]:
    """Two real backups of ``project_id``, with a rotated secret in between; their ids."""
    ids: list[str | None] = []
    first = await run_backup(
        client,
        store,
        BackupOptions(
            regions=(region,),
            projects=(project_id,),
            snapshot_tags=("nightly",),
            environment="production",
            data_class="confidential",
        ),
        organization_id=client.organization_id,
    )
    ids.append(first.snapshot_id)
    # A rotation: the first secret with data gets a new version, so the two snapshots differ.
    async for secret in client.list_secrets(region, project_id=project_id):
        if secret.version_count and not secret.protected and secret.type == "opaque":
            await client.create_version(
                region, secret.id, b"rotated-by-the-demo", description="rotation"
            )
            break
    second = await run_backup(
        client,
        store,
        BackupOptions(
            regions=(region,),
            projects=(project_id,),
            snapshot_tags=("nightly",),
            environment="production",
            data_class="confidential",
        ),
        organization_id=client.organization_id,
    )
    ids.append(second.snapshot_id)
    return ids


def build_demo_context(
    workdir: Path | None = None, *, snapshots: bool = True, clock: Clock | None = None
) -> ConsoleContext:
    """The demo's context. ``workdir`` (default: a new temporary directory, removed on quit)
    holds the throw-away store and its cache."""
    owned = workdir is None
    root = Path(tempfile.mkdtemp(prefix="secret-kloset-demo-")) if workdir is None else workdir
    emulator, transport = demo_transport(clock=clock)
    location = str(root / "store")
    cache = root / "cache"
    ctx = ConsoleContext(
        client_factory=lambda: demo_client(transport),
        organization_id=DEMO_ORGANIZATION_ID,
        default_project_id=DEMO_PRODUCTION_PROJECT_ID,
        default_region="fr-par",
        profile_name=None,
        credentials_source="demo",
        store_location=location,
        store_passphrase=DEMO_PASSPHRASE,
        store_cache_dir=cache,
        store_init_options={"kdf": KdfParams.for_tests()},
        demo=True,
        client_options={"transport": transport, "backoff_base": 0.01},
    )
    ctx.emulator = emulator

    async def startup() -> Store:
        store = await Store.init(
            location, DEMO_PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=cache
        )
        if snapshots:
            async with demo_client(transport) as client:
                await prefill(client, store, DEMO_PRODUCTION_PROJECT_ID)
        return store

    async def close() -> None:
        transport.shutdown()
        if owned:
            shutil.rmtree(root, ignore_errors=True)

    ctx.startup = startup
    ctx.on_close = close
    return ctx


StartupHook = Callable[[], Awaitable[Store]]
