"""Screenshots of every main screen of the console, on the demo data.

    python -m tui.screenshots screenshots        # (make screenshots)

Each scene runs the demo headless (``App.run_test``), drives it with the pilot like a user
would, and saves an SVG (``App.save_screenshot``) and a PNG (``rsvg-convert``, Debian package
``librsvg2-bin``; skipped with a warning when it is missing), at 140x42 and at 80x24.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import keyring
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Input, TabbedContent
from textual.worker import WorkerCancelled, WorkerFailed

from core.credentials.testing import MemoryKeyring
from core.emulator.demo import (
    DEMO_DATA_PROJECT_ID,
    DEMO_ORGANIZATION_ID,
    DEMO_PRODUCTION_PROJECT_ID,
    DEMO_READONLY_SECRET_KEY,
    DEMO_STAGING_PROJECT_ID,
)
from core.store import KdfParams
from tui.app import SecretKlosetApp
from tui.context import ConsoleContext
from tui.demo import build_demo_context, demo_client, demo_transport
from tui.screens.backup import BackupScreen
from tui.screens.care import StoreCareScreen
from tui.screens.copy import CopyScreen
from tui.screens.restore import RestoreScreen
from tui.widgets.browser import SecretsBrowser
from tui.widgets.destination import DestinationForm

SIZES: tuple[tuple[int, int], ...] = ((140, 42), (80, 24))

App = SecretKlosetApp
P = Pilot[None]
Scene = Callable[[App, P], Awaitable[None]]
S = TypeVar("S", bound=Screen[None])


def _front(app: App, kind: type[S]) -> S:
    """The screen in front, which the scene expects to be a ``kind``."""
    screen = app.screen
    assert isinstance(screen, kind), type(screen).__name__
    return screen


def _press(app: App, selector: str) -> None:
    app.screen.query_one(selector, Button).press()


def _type(app: App, selector: str, value: str) -> None:
    app.screen.query_one(selector, Input).value = value


async def _settle(pilot: P, rounds: int = 3) -> None:
    for _ in range(rounds):
        try:
            await pilot.app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            pass
        await pilot.pause()


async def _until(pilot: P, condition: Callable[[], bool], limit: float = 20.0) -> None:
    for _ in range(int(limit / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise RuntimeError("the console did not reach the expected state")


async def _ready(pilot: P) -> None:
    app = pilot.app
    assert isinstance(app, SecretKlosetApp)
    await _until(pilot, lambda: app.store is not None)
    await _settle(pilot)
    await pilot.pause(0.4)  # the project info panel's debounce
    await _settle(pilot)


async def _browser_ready(pilot: P, browser: SecretsBrowser) -> None:
    await _until(pilot, lambda: browser.loading_done)
    await pilot.pause(0.4)
    await _settle(pilot)


async def scene_projects(app: App, pilot: P) -> None:
    await _ready(pilot)


async def scene_secrets(app: App, pilot: P) -> None:
    await _ready(pilot)
    await pilot.press("enter")
    await _settle(pilot)
    browser = app.screen.query_one("#live-browser", SecretsBrowser)
    await _browser_ready(pilot, browser)
    for _ in range(12):
        await pilot.press("down")
    await pilot.pause(0.4)
    await _settle(pilot)


async def scene_secrets_filtered(app: App, pilot: P) -> None:
    await scene_secrets(app, pilot)
    await pilot.press("slash", *"database")
    await pilot.press("enter")
    await pilot.pause(0.4)
    await _settle(pilot)


async def scene_snapshots(app: App, pilot: P) -> None:
    await _ready(pilot)
    await pilot.press("3")
    await _settle(pilot)


async def scene_snapshot_browse(app: App, pilot: P) -> None:
    await scene_snapshots(app, pilot)
    await pilot.press("enter")
    await _settle(pilot)
    browser = app.screen.query_one("#snapshot-browser", SecretsBrowser)
    await _browser_ready(pilot, browser)
    for _ in range(5):
        await pilot.press("down")
    await pilot.press("r")
    await _settle(pilot)


async def scene_diff(app: App, pilot: P) -> None:
    await scene_snapshots(app, pilot)
    await pilot.press("space", "space", "d")
    await _settle(pilot)


async def scene_backup(app: App, pilot: P) -> None:
    await _ready(pilot)
    await pilot.press("b")
    await _settle(pilot)
    _type(app, "#tags", "before-migration")
    _type(app, "#environment", "production")
    _type(app, "#data-class", "confidential")
    await pilot.pause()


async def scene_backup_done(app: App, pilot: P) -> None:
    await scene_backup(app, pilot)
    screen = _front(app, BackupScreen)
    _press(app, "#start")
    await pilot.pause()
    await _until(pilot, lambda: screen.result is not None)
    await _settle(pilot)
    await pilot.pause(0.3)


async def _restore_to_plan(app: App, pilot: P) -> RestoreScreen:
    await scene_snapshots(app, pilot)
    await pilot.press("R")
    await _settle(pilot)
    screen = _front(app, RestoreScreen)
    browser = screen.query_one("#restore-browser", SecretsBrowser)
    await _browser_ready(pilot, browser)
    for _ in range(3):
        await pilot.press("space")
    _press(app, "#next")
    await pilot.pause()
    await _settle(pilot)
    screen.query_one(DestinationForm).choose(DEMO_STAGING_PROJECT_ID, "nl-ams")
    return screen


async def scene_restore_secrets(app: App, pilot: P) -> None:
    await scene_snapshots(app, pilot)
    await pilot.press("R")
    await _settle(pilot)
    browser = app.screen.query_one("#restore-browser", SecretsBrowser)
    await _browser_ready(pilot, browser)
    for _ in range(3):
        await pilot.press("space")
    await pilot.pause(0.3)
    await _settle(pilot)


async def scene_restore_destination(app: App, pilot: P) -> None:
    await _restore_to_plan(app, pilot)
    await pilot.pause()


async def scene_restore_plan(app: App, pilot: P) -> None:
    screen = await _restore_to_plan(app, pilot)
    _press(app, "#next")
    await pilot.pause()
    await _until(pilot, lambda: screen.plan is not None)
    await _settle(pilot)


async def scene_restore_report(app: App, pilot: P) -> None:
    screen = await _restore_to_plan(app, pilot)
    _press(app, "#next")
    await pilot.pause()
    await _until(pilot, lambda: screen.plan is not None and not screen.busy)
    _press(app, "#next")
    await pilot.pause()
    await _until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog")
    await _settle(pilot)
    _press(app, "#yes")
    await pilot.pause()
    await _until(pilot, lambda: screen.result is not None)
    await _settle(pilot)
    await pilot.pause(0.3)


async def scene_copy_plan(app: App, pilot: P) -> None:
    await _ready(pilot)
    await pilot.press("C")
    await _settle(pilot)
    screen = _front(app, CopyScreen)
    screen.query_one(DestinationForm).choose(DEMO_DATA_PROJECT_ID, "nl-ams")
    _press(app, "#next")
    await pilot.pause()
    await _until(pilot, lambda: screen.plan is not None)
    await _settle(pilot)


async def scene_retention(app: App, pilot: P) -> None:
    await _ready(pilot)
    await pilot.press("m")
    await _settle(pilot)
    screen = _front(app, StoreCareScreen)
    screen.query_one("#care-tabs", TabbedContent).active = "retention"
    await pilot.pause()
    _type(app, "#keep-last", "1")
    _press(app, "#preview")
    await pilot.pause()
    await _until(pilot, lambda: screen.preview is not None)
    await _settle(pilot)


async def scene_activity(app: App, pilot: P) -> None:
    await scene_backup_done(app, pilot)
    await pilot.press("escape")
    await _settle(pilot)
    await pilot.press("4")
    await _settle(pilot)


async def scene_help(app: App, pilot: P) -> None:
    await _ready(pilot)
    await pilot.press("question_mark")
    await _settle(pilot)


async def scene_palette(app: App, pilot: P) -> None:
    await _ready(pilot)
    await pilot.press("ctrl+p")
    await _settle(pilot)
    await pilot.press(*"restore")
    await pilot.pause(0.5)
    await _settle(pilot)


async def scene_error_403(app: App, pilot: P) -> None:
    await _ready(pilot)
    await pilot.press("enter")
    await _settle(pilot)
    browser = app.screen.query_one("#live-browser", SecretsBrowser)
    await _browser_ready(pilot, browser)
    await pilot.press("r")
    await _settle(pilot)


async def scene_projects_readonly(app: App, pilot: P) -> None:
    await _ready(pilot)


async def scene_first_run_profile(app: App, pilot: P) -> None:
    await _settle(pilot)
    await pilot.pause(0.3)


async def scene_store_setup(app: App, pilot: P) -> None:
    await _settle(pilot)
    _type(app, "#passphrase", "correct horse battery staple")
    _type(app, "#passphrase2", "correct horse battery staple")
    await pilot.pause(0.2)


SCENES: dict[str, tuple[Scene, str]] = {
    "projects": (scene_projects, "demo"),
    "secrets": (scene_secrets, "demo"),
    "secrets-filtered": (scene_secrets_filtered, "demo"),
    "snapshots": (scene_snapshots, "demo"),
    "snapshot-browse": (scene_snapshot_browse, "demo"),
    "diff": (scene_diff, "demo"),
    "backup": (scene_backup, "demo"),
    "backup-done": (scene_backup_done, "demo"),
    "restore-secrets": (scene_restore_secrets, "demo"),
    "restore-destination": (scene_restore_destination, "demo"),
    "restore-plan": (scene_restore_plan, "demo"),
    "restore-report": (scene_restore_report, "demo"),
    "copy-plan": (scene_copy_plan, "demo"),
    "retention": (scene_retention, "demo"),
    "activity": (scene_activity, "demo"),
    "help": (scene_help, "demo"),
    "palette": (scene_palette, "demo"),
    "error-403": (scene_error_403, "demo-readonly"),
    "projects-readonly": (scene_projects_readonly, "demo-readonly"),
    "first-run-profile": (scene_first_run_profile, "no-profile"),
    "store-setup": (scene_store_setup, "no-store"),
}


def _context(kind: str, workdir: Path) -> ConsoleContext:
    if kind in ("demo", "demo-readonly"):
        ctx = build_demo_context(workdir)
        if kind == "demo-readonly":  # SecretManagerReadOnly only: no values, no project list
            emulator = ctx.emulator
            assert emulator is not None
            ctx.client_factory = lambda: emulator.client(secret_key=DEMO_READONLY_SECRET_KEY)
        return ctx
    if kind == "no-profile":
        # What a real first run has: no credentials, no default project, only the default
        # store location (no demo credentials prefilled).
        return ConsoleContext(
            store_location=str(workdir / "store"),
            store_cache_dir=workdir / "cache",
        )
    _emulator, transport = demo_transport()
    ctx = ConsoleContext(
        default_project_id=DEMO_PRODUCTION_PROJECT_ID,
        organization_id=DEMO_ORGANIZATION_ID,
        store_location=str(workdir / "store"),
        store_cache_dir=workdir / "cache",
        store_init_options={"kdf": KdfParams.for_tests()},
        client_options={"transport": transport},
    )
    if kind == "no-store":
        ctx.client_factory = lambda: demo_client(transport)
        ctx.credentials_source = "demo"
    return ctx


async def shoot(name: str, size: tuple[int, int], out: Path) -> Path:
    scene, kind = SCENES[name]
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())  # never the user's keyring
    try:
        with tempfile.TemporaryDirectory(prefix="sk-shot-") as tmp:
            # The default keys, whatever keymap.toml the user has.
            app = SecretKlosetApp(_context(kind, Path(tmp)), keymap=Path(tmp) / "none.toml")
            async with app.run_test(size=size) as pilot:
                await scene(app, pilot)
                filename = f"{name}-{size[0]}x{size[1]}.svg"
                app.save_screenshot(filename, path=str(out))
    finally:
        keyring.set_keyring(previous)
    return out / filename


def to_png(svg: Path) -> Path | None:
    tool = shutil.which("rsvg-convert")
    if tool is None:
        return None
    png = svg.with_suffix(".png")
    subprocess.run([tool, "-o", str(png), str(svg)], check=True, timeout=120)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="SVG and PNG screenshots of the console (demo data)."
    )
    parser.add_argument("outdir", nargs="?", default="screenshots")
    parser.add_argument("--only", nargs="*", default=None, help="scene names (default: all)")
    parser.add_argument("--small-too", action="store_true", default=True)
    args = parser.parse_args(argv)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(SCENES)
    warned = False
    for name in names:
        for size in SIZES:
            svg = asyncio.run(shoot(name, size, out))
            png = to_png(svg)
            if png is None and not warned:
                print("rsvg-convert not found (Debian: librsvg2-bin): SVG only", file=sys.stderr)
                warned = True
            print(f"{svg}" + (f"  {png.name}" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
