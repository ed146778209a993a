"""SVG snapshot tests of the main screens on the deterministic demo data (an empty store, so
no snapshot times appear). Regenerate after an intended change with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and review the SVGs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.widgets import Input

from tests.tui.conftest import ready, settle, wait_for
from tui.app import SecretKlosetApp
from tui.demo import build_demo_context

FROZEN = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # the emulator's clock: expiries stay put


def _app(tmp_path: Path) -> SecretKlosetApp:
    ctx = build_demo_context(tmp_path / "demo", snapshots=False, frozen_at=FROZEN)
    return SecretKlosetApp(ctx)


async def _still(pilot: Any) -> None:
    """No blinking cursor, no toast: the same pixels on every run."""
    app = pilot.app
    for inp in app.screen.query(Input):
        inp.cursor_blink = False
    app.clear_notifications()
    await pilot.pause()


async def _main_ready(pilot: Any) -> None:
    await ready(pilot)
    await pilot.pause(0.4)  # the project info's debounce
    await settle(pilot)
    await _still(pilot)


def test_projects_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=(100, 30), run_before=_main_ready)


def test_secrets_screen(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("enter")
        await settle(pilot)
        browser = pilot.app.screen.query_one("#live-browser")
        await wait_for(pilot, lambda: browser.loading_done)
        await pilot.press("down", "down", "down")
        await pilot.pause(0.4)
        await settle(pilot)
        await _still(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=(120, 34), run_before=run_before)


def test_secrets_screen_small_terminal(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("enter")
        await settle(pilot)
        browser = pilot.app.screen.query_one("#live-browser")
        await wait_for(pilot, lambda: browser.loading_done)
        await pilot.press("slash", *"db")
        await pilot.press("enter")
        await pilot.pause(0.4)
        await settle(pilot)
        await _still(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=(80, 24), run_before=run_before)


def test_help_screen(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _main_ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=(100, 36), run_before=run_before)
