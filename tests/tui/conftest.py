"""Fixtures of the console's functional tests: the demo as it runs (its emulator in a child
process), or in-process for tests that reach into the emulator's state; helpers to wait."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tui.app import SecretKlosetApp
from tui.context import ConsoleContext
from tui.demo import InProcessEmulator, build_demo_context


async def settle(pilot: Any, rounds: int = 2) -> None:
    """Let workers finish and messages drain (bounded)."""
    from textual.worker import WorkerCancelled, WorkerFailed

    for _ in range(rounds):
        try:
            await pilot.app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            pass  # an exclusive worker replaced, or a failure the app shows in a dialog
        await pilot.pause()


async def wait_for(pilot: Any, condition: Callable[[], bool], *, limit: float = 10.0) -> None:
    """Pause until ``condition()`` holds (bounded: fails after ``limit`` seconds)."""
    steps = int(limit / 0.05)
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


async def push(pilot: Any, selector: str) -> None:
    """Press a button of the screen in front (what a click or Enter on it does). Clicking by
    coordinates could land on a toast or a not-yet-laid-out widget under load."""
    from textual.widgets import Button

    pilot.app.screen.query_one(selector, Button).press()
    await pilot.pause()


async def ready(pilot: Any) -> None:
    """Wait until the demo's store is open and the first screens have loaded."""
    app = pilot.app
    await wait_for(pilot, lambda: app.store is not None)
    await settle(pilot)
    app.clear_notifications()  # a toast over a button would take the pilot's click


@pytest.fixture
def demo_ctx(tmp_path: Path) -> ConsoleContext:
    ctx = build_demo_context(tmp_path / "demo")
    ctx.reveal_seconds = 30.0
    copied: list[str] = []
    ctx.clipboard = copied.append
    ctx.copied = copied  # type: ignore[attr-defined]
    return ctx


@pytest.fixture
def inprocess_demo_ctx(tmp_path: Path) -> ConsoleContext:
    """The demo with its emulator in this process: a test may edit the emulator's state."""
    return build_demo_context(tmp_path / "demo", in_process=True)


@pytest.fixture
def empty_demo_ctx(tmp_path: Path) -> ConsoleContext:
    return build_demo_context(tmp_path / "demo", snapshots=False)


def transport_of(ctx: ConsoleContext) -> Any:
    """The in-process emulator's transport (its ``.app`` is the emulator)."""
    assert isinstance(ctx.emulator, InProcessEmulator)
    return ctx.emulator.transport


def peer_client(ctx: ConsoleContext) -> Any:
    """A second client on the same emulator, to check what the console did."""
    assert ctx.emulator is not None
    return ctx.emulator.client()


def make_app(ctx: ConsoleContext) -> SecretKlosetApp:
    return SecretKlosetApp(ctx)
