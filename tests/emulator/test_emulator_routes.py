"""The emulator's routes are the endpoint table's: one route per endpoint, one handler each."""

from __future__ import annotations

from core.emulator import EmulatorApp, demo_state
from core.emulator.asgi import OperationRoute, build_router
from core.emulator.handlers import HANDLERS
from core.scaleway.endpoints import ENDPOINT_LIST, Operation


def test_every_operation_has_a_handler() -> None:
    assert set(HANDLERS) == set(Operation)


def test_routes_are_generated_from_the_table() -> None:
    router = build_router(EmulatorApp(demo_state()))
    routes = [r for r in router.routes if isinstance(r, OperationRoute)]
    assert [(r.path, r.methods) for r in routes] == [(e.path, {e.method}) for e in ENDPOINT_LIST]
    assert not router.redirect_slashes
