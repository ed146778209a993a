"""ThreadedServer: bounded start on a free port, context manager, clean stop, restart, and a
clear error when the port is taken."""

from __future__ import annotations

import socket

import httpx
import pytest

from core.emulator import EmulatorApp, ThreadedServer, demo_state
from core.emulator.demo import DEMO_SECRET_KEY
from core.errors import ConfigError


def test_start_stop_restart() -> None:
    app = EmulatorApp(demo_state())
    server = ThreadedServer(app, host="127.0.0.1", port=0)
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    try:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
        r = httpx.get(
            f"{server.url}/account/v3/projects", headers={"X-Auth-Token": DEMO_SECRET_KEY}
        )
        assert r.status_code == 200
        with pytest.raises(RuntimeError):
            server.start()
    finally:
        server.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{server.port}/account/v3/projects", timeout=2)
    server.stop()  # idempotent
    with server:  # the same object serves again
        r = httpx.get(
            f"{server.url}/account/v3/projects", headers={"X-Auth-Token": DEMO_SECRET_KEY}
        )
        assert r.status_code == 200
    assert app.stats["list_projects"] == 2


def test_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match="already in use"):
            ThreadedServer(EmulatorApp(demo_state()), port=port).start()
