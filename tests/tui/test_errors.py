"""The console's error paths: each failure ends in a dialog saying what went wrong and what to
do, and the console keeps working."""

from __future__ import annotations

import socket
from pathlib import Path

from textual.widgets import Input, Static

from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID, DEMO_READONLY_SECRET_KEY
from core.errors import KlosetError, Remedy
from core.scaleway.client import ScalewayClient
from core.store import Store
from core.store.crypto import KdfParams
from tests.tui.conftest import make_app, push, ready, settle, wait_for
from tui.context import ConsoleContext
from tui.demo import build_demo_context
from tui.errors import REMEDIES, describe
from tui.screens.backup import BackupScreen
from tui.screens.dialogs import ErrorDialog, PromptDialog
from tui.screens.main import MainScreen
from tui.widgets.browser import SecretsBrowser
from tui.widgets.vtable import VirtualTable


async def test_read_only_key_403_names_the_missing_permission_set(tmp_path: Path) -> None:
    ctx = build_demo_context(tmp_path / "demo")
    emulator = ctx.emulator
    assert emulator is not None
    ctx.client_factory = lambda: emulator.client(secret_key=DEMO_READONLY_SECRET_KEY)
    app = make_app(ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        # No ProjectReadOnly: said on screen, and the profile's default project is offered.
        banner = app.screen.query_one("#projects-banner", Static)
        assert banner.display
        assert "ProjectReadOnly" in str(banner.render())
        projects = app.screen.query_one("#projects", VirtualTable)
        assert projects.visible_keys() == [DEMO_PRODUCTION_PROJECT_ID]
        assert any(a.operation == "list projects" and a.outcome == "denied" for a in app.activity)
        # Metadata is readable; a value is not: the dialog names SecretManagerSecretAccess.
        await pilot.press("enter")
        await settle(pilot)
        browser = app.screen.query_one("#live-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done)
        assert browser.table.total_count > 0
        entry = browser.current
        assert entry is not None
        await wait_for(pilot, lambda: entry.id in browser._versions)
        await pilot.press("r")  # the value view opens, masked
        await settle(pilot)
        await pilot.press("r")  # asked: only now is the value read
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        report = app.error_reports[-1]
        assert report.title == "Permission denied"
        assert "SecretManagerSecretAccess" in report.message + report.hint
        await pilot.press("escape")
        await settle(pilot)
        if not isinstance(app.screen, MainScreen):
            await pilot.press("escape")  # and the value view
            await settle(pilot)
        # A backup stops at the preflight, naming the set, and commits nothing.
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BackupScreen)
        backup = app.screen
        await push(pilot, "#start")
        await settle(pilot)
        await wait_for(pilot, lambda: len(app.error_reports) == 2)
        assert "SecretManagerSecretAccess" in app.error_reports[-1].message
        assert not backup.running
        assert len(await app.store.list_snapshots()) == 2  # the demo's two, nothing new


async def test_wrong_passphrase_says_so_and_asks_again(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    store = await Store.init(
        location, "the right one", kdf=KdfParams.for_tests(), cache_dir=tmp_path / "c"
    )
    await store.close()
    demo = build_demo_context(tmp_path / "demo", snapshots=False)
    ctx = ConsoleContext(
        client_factory=demo.client_factory,
        organization_id=demo.organization_id,
        default_project_id=demo.default_project_id,
        store_location=location,
        store_passphrase="not the right one",
        store_cache_dir=tmp_path / "c",
        client_options=demo.client_options,
    )
    app = make_app(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        assert app.error_reports[-1].title == "Wrong passphrase"
        assert app.store is None
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptDialog))
        app.screen.query_one("#answer", Input).value = "the right one"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.store is not None)
        assert [a.outcome for a in app.activity if a.operation == "open store"] == ["failed", "ok"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_emulator_down_says_the_api_cannot_be_reached(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    ctx = build_demo_context(tmp_path / "demo", snapshots=False)
    ctx.client_factory = lambda: ScalewayClient(
        secret_key="3c1e9a52-7d4b-4f6e-a8c2-5b9d0e1f2a3b",
        api_url=url,
        default_project_id=DEMO_PRODUCTION_PROJECT_ID,
        max_retries=0,
        timeout=2.0,
    )
    app = make_app(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        report = app.error_reports[-1]
        assert report.title == "Cannot reach the API"
        assert report.hint
        await pilot.press("escape")
        await settle(pilot)
        # The console is still alive: Help opens, the Activity tab answers.
        await pilot.press("question_mark")
        await settle(pilot)
        assert type(app.screen).__name__ == "HelpScreen"


def test_every_remedy_has_console_wording_and_it_wins_over_the_hint() -> None:
    assert set(REMEDIES) == set(Remedy), "a new remedy needs the console's wording too"
    for remedy in Remedy:
        assert describe(KlosetError("boom", remedy=remedy)).hint
    error = KlosetError("no store there", hint="create a store first", remedy=Remedy.INIT_STORE)
    assert describe(error).hint == "Create or open a store (Snapshots tab, or press m)."
    granted = KlosetError(
        "denied", remedy=Remedy.GRANT_PERMISSION, details={"permission_set": "ProjectReadOnly"}
    )
    assert "ProjectReadOnly" in describe(granted).hint
    assert describe(KlosetError("plain", hint="a flag-free hint")).hint == "a flag-free hint"
