"""Serving the emulator over real HTTP with uvicorn.

:class:`ThreadedServer` runs it in a background thread (tests, the demo, the official SDK,
which blocks, as a peer client); :func:`serve` runs it in the foreground for the CLI, with
Ctrl-C handled by uvicorn as a clean shutdown.
"""

from __future__ import annotations

import errno
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType

import uvicorn
from starlette.types import ASGIApp

from core.errors import ConfigError

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket, turning "address in use" into a clear error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP,
    # and without it Nagle + delayed ACK add ~40 ms to every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is already in use",
                hint="stop the other process or pick another port with --port (0 = any free port)",
            ) from None
        if err.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(
            err, socket.gaierror
        ):
            raise ConfigError(
                f"cannot listen on {host}: {err.strerror or err}",
                hint="use an address of this machine, e.g. --host 127.0.0.1",
            ) from None
        if err.errno == errno.EACCES:
            raise ConfigError(
                f"not allowed to listen on port {port}",
                hint="ports below 1024 need privileges; pick another with --port",
            ) from None
        raise
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _config(app: ASGIApp, log_level: str, access_log: bool) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        # httptools (C) parses the requests, not h11 (pure Python): the emulator shares the
        # machine with the clients it serves, and its CPU per request is 20 % lower. Named, not
        # left to "auto", so the wire behaviour does not depend on what happens to be installed.
        http="httptools",
        log_level=log_level,
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=2,
        server_header=False,
        date_header=True,
    )


class ThreadedServer:
    """uvicorn serving ``app`` from a daemon thread on ``host:port`` (0 = a free port)."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
    ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.port = 0
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the server is not started")
        return _url(self.host, self.port)

    def start(self, timeout: float = START_TIMEOUT_S) -> ThreadedServer:
        if self._thread is not None:
            raise RuntimeError("the server is already started")
        self._sock = bind_socket(self.host, self.requested_port)
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(_config(self.app, self.log_level, access_log=False))
        self._thread = threading.Thread(target=self._run, name=f"emulator:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                self._cleanup()
                raise RuntimeError(f"the emulator failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start within {timeout:.0f}s")
            time.sleep(0.01)
        return self

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as err:  # reported by start()
            self._error = err

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._thread = None
        self._server = None

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ThreadedServer(host={self.host!r}, port={self.port})"


def serve(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 8421,
    *,
    log_level: str = "info",
    access_log: bool = False,
    on_listening: Callable[[str], object] | None = None,
) -> None:
    """Serve ``app`` in the foreground until SIGTERM (then return normally) or Ctrl-C
    (uvicorn re-raises it as ``KeyboardInterrupt`` once shut down).

    ``on_listening(url)`` is called once the socket is bound, before serving starts.
    Raises :class:`core.errors.ConfigError` if the port is taken.
    """
    sock = bind_socket(host, port)
    actual = sock.getsockname()[1]
    # SIGTERM (a service manager's stop) ends the run like Ctrl-C: uvicorn shuts down
    # gracefully, then re-raises the signal to the handler it found, this one, which unwinds
    # to here; one arriving before uvicorn took over unwinds the same way.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        if on_listening is not None:
            on_listening(_url(host, actual))
        server = uvicorn.Server(_config(app, log_level, access_log))
        server.run(sockets=[sock])
    except _Terminated:
        pass
    finally:
        sock.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class _Terminated(BaseException):
    """Raised by the SIGTERM handler of :func:`serve` (a BaseException, like KeyboardInterrupt)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated()
