"""``secret-kloset demo``: the console on the demo emulator and a throw-away store.

The emulator (the demo world, ``seed=7``) runs in a **process of its own**
(:class:`EmulatorProcess`: ``python -m core.emulator.child``, real HTTP on ``127.0.0.1``, a
free port): encoding a 50,000-secret listing then uses the other core, not the console's
interpreter (in a thread of the console's process it competed with the console for the GIL).
The child stops when the console quits and cannot outlive it (it watches its stdin and its
parent). The store lives in a temporary directory with cheap KDF parameters and a fixed
passphrase, and both vanish when the console quits. Two snapshots are made with the real
backup engine, through the API, before the console shows (the second after a "rotation" of one
secret), so a new user finds something to browse, diff and restore at once.

Tests that reach into the emulator's state use :class:`InProcessEmulator` (``in_process=True``):
the app behind :class:`ThreadedASGITransport`, on an event loop of its own in a thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

from core.emulator.app import EmulatorApp
from core.emulator.demo import (
    DEMO_ORGANIZATION_ID,
    DEMO_PRODUCTION_PROJECT_ID,
    DEMO_SECRET_KEY,
    demo_state,
)
from core.engine.backup import BackupOptions, run_backup
from core.scaleway.client import ScalewayClient
from core.store import KdfParams, Store
from tui.context import ClientOptions, ConsoleContext

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from core.emulator.state import EmulatorState

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
    transport: httpx.AsyncBaseTransport | None,
    *,
    secret_key: str | None = None,
    project_id: str | None = None,
    api_url: str = DEMO_API_URL,
) -> ScalewayClient:
    """A client of the demo's emulator: through ``transport`` (in-process), or at ``api_url``
    over real HTTP with the client's own transport (``transport`` None)."""
    return ScalewayClient(
        secret_key=secret_key or DEMO_SECRET_KEY,
        api_url=api_url,
        organization_id=DEMO_ORGANIZATION_ID,
        default_project_id=project_id or DEMO_PRODUCTION_PROJECT_ID,
        default_region="fr-par",
        transport=transport,
        backoff_base=0.01,
    )


# --------------------------------------------------------------------------- the emulator


START_TIMEOUT_S = 60.0  # a cold interpreter on a loaded machine: imports, the world, a socket
STOP_TIMEOUT_S = 5.0


def _reap(process: subprocess.Popen[str], timeout: float = STOP_TIMEOUT_S) -> None:
    """Close the child's stdin (it stops by itself), then terminate, then kill; always wait."""
    if process.stdin is not None:
        try:
            process.stdin.close()
        except OSError:
            pass
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


class EmulatorProcess:
    """The emulator in a child process (``python -m core.emulator.child``), serving on
    127.0.0.1, a free port; what ``secret-kloset demo`` runs.

    Started at construction (its start-up runs beside the console's); :attr:`url` waits until
    it listens. :meth:`shutdown` (the demo's ``on_close``), garbage collection and the
    interpreter's exit stop and reap it; if the console is killed, the child sees its stdin
    close (or its parent change) and exits.
    """

    def __init__(
        self,
        *,
        seed: int | None = 7,
        frozen_at: datetime | None = None,
        state_file: Path | None = None,
        log_file: Path | None = None,
    ) -> None:
        cmd = [sys.executable, "-m", "core.emulator.child"]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        if frozen_at is not None:
            cmd += ["--frozen-at", frozen_at.isoformat()]
        if state_file is not None:
            cmd += ["--state", str(state_file)]
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[1])  # this checkout's core, not another one
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        log: IO[bytes] | int = subprocess.DEVNULL
        if log_file is not None:
            log = open(log_file, "ab")  # noqa: SIM115  (the child holds it; closed below)
        try:
            self._process: subprocess.Popen[str] = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,  # never the console's terminal
                text=True,
                env=env,
                start_new_session=True,  # the terminal's Ctrl-C is the console's to handle
            )
        finally:
            if not isinstance(log, int):
                log.close()
        self._lock = threading.Lock()
        self._url: str | None = None
        self._latency_ms = 0.0
        self._finalizer = weakref.finalize(self, _reap, self._process)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, once the child listens (blocks until then)."""
        with self._lock:
            if self._url is None:
                self._url = str(self._read(START_TIMEOUT_S)["url"])
            return self._url

    async def wait_ready(self) -> str:
        """:attr:`url` without holding the event loop while the child starts."""
        return await asyncio.to_thread(lambda: self.url)

    def _read(self, timeout: float) -> dict[str, object]:
        """The child's next line; a child that dies or stays silent is an error."""
        assert self._process.stdout is not None
        timer = threading.Timer(timeout, self._process.kill)
        timer.start()
        try:
            line = self._process.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            code = self._process.poll()
            raise RuntimeError(f"the demo's emulator process stopped (exit status {code})")
        message = json.loads(line)
        assert isinstance(message, dict)
        return message

    def _send(self, command: dict[str, object]) -> None:
        self.url  # noqa: B018  (the first line is the URL: read it before any answer)
        assert self._process.stdin is not None
        with self._lock:
            self._process.stdin.write(json.dumps(command) + "\n")
            self._process.stdin.flush()
            if self._read(STOP_TIMEOUT_S).get("ok") is not True:
                raise RuntimeError("the demo's emulator refused a setting")

    @property
    def latency_ms(self) -> float:
        return self._latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        """Added latency of every request, in the child (tests stop a run half-way)."""
        self._send({"latency_ms": value})
        self._latency_ms = value

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def client(
        self, *, secret_key: str | None = None, project_id: str | None = None
    ) -> ScalewayClient:
        return demo_client(None, secret_key=secret_key, project_id=project_id, api_url=self.url)

    def shutdown(self) -> None:
        """Stop the child and reap it (idempotent)."""
        self._finalizer()


class InProcessEmulator:
    """The emulator in this process, behind :class:`ThreadedASGITransport` (tests that reach
    into its state or swap a handler; the benchmark's in-process comparison)."""

    def __init__(self, state: EmulatorState | None = None, clock: Clock | None = None) -> None:
        self.app, self.transport = demo_transport(state, clock=clock)

    @property
    def latency_ms(self) -> float:
        return self.app.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        self.app.latency_ms = value

    @property
    def url(self) -> str:
        return DEMO_API_URL

    async def wait_ready(self) -> str:
        return DEMO_API_URL

    def client(
        self, *, secret_key: str | None = None, project_id: str | None = None
    ) -> ScalewayClient:
        return demo_client(self.transport, secret_key=secret_key, project_id=project_id)

    def shutdown(self) -> None:
        self.transport.shutdown()


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
    workdir: Path | None = None,
    *,
    snapshots: bool = True,
    clock: Clock | None = None,
    frozen_at: datetime | None = None,
    in_process: bool = False,
) -> ConsoleContext:
    """The demo's context. ``workdir`` (default: a new temporary directory, removed on quit)
    holds the throw-away store and its cache. The emulator runs in a child process
    (``frozen_at`` pins its clock, for pixel-stable snapshot tests), or with ``in_process``
    in this one (``clock`` then pins its time)."""
    if clock is not None and not in_process:
        raise ValueError("clock needs in_process=True (a child process is pinned by frozen_at)")
    owned = workdir is None
    root = Path(tempfile.mkdtemp(prefix="secret-kloset-demo-")) if workdir is None else workdir
    root.mkdir(parents=True, exist_ok=True)
    emulator: EmulatorProcess | InProcessEmulator
    if in_process:
        emulator = InProcessEmulator(clock=clock)
        options = ClientOptions(transport=emulator.transport, backoff_base=0.01)
    else:
        emulator = EmulatorProcess(frozen_at=frozen_at, log_file=root / "emulator.log")
        options = ClientOptions(backoff_base=0.01)
    location = str(root / "store")
    cache = root / "cache"
    ctx = ConsoleContext(
        client_factory=lambda: emulator.client(),
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
        client_options=options,
    )
    ctx.emulator = emulator

    async def startup() -> Store:
        ctx.demo_api_url = await emulator.wait_ready()
        store = await Store.init(
            location, DEMO_PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=cache
        )
        if snapshots:
            async with emulator.client() as client:
                await prefill(client, store, DEMO_PRODUCTION_PROJECT_ID)
        return store

    async def close() -> None:
        await asyncio.to_thread(emulator.shutdown)
        if owned:
            shutil.rmtree(root, ignore_errors=True)

    ctx.startup = startup
    ctx.on_close = close
    return ctx


StartupHook = Callable[[], Awaitable[Store]]
