"""The console as operators use it (issue 13): stop means stop, one old version restored
elsewhere in at most 15 keys from launch, each checked on real state through a second client."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.widgets import Static

from core.emulator.demo import DEMO_STAGING_PROJECT_ID
from tests.tui.conftest import make_app, peer_client, ready, settle, wait_for
from tui.context import ConsoleContext
from tui.screens.dialogs import ConfirmDialog
from tui.screens.main import MainScreen
from tui.screens.restore import RestoreScreen
from tui.screens.snapshot import SnapshotScreen
from tui.widgets.browser import SecretsBrowser
from tui.widgets.progress import RunPanel


async def _by_path(ctx: ConsoleContext, region: str, project: str) -> dict[str, Any]:
    out = {}
    async with peer_client(ctx) as client:
        async for s in client.list_secrets(region, project_id=project):
            out[s.full_path] = s
    return out


async def test_one_old_version_restored_elsewhere_in_15_keys(demo_ctx: ConsoleContext) -> None:
    """The keys of docs/CONSOLE.md ("One old version, restored elsewhere"), from launch."""
    ctx = demo_ctx
    app = make_app(ctx)
    keys: list[str] = []

    async def press(*some: str) -> None:
        keys.extend(some)
        for key in some:
            await pilot.press(key)
            await settle(pilot)

    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await press("3", "enter")  # the Snapshots tab; open the newest snapshot
        screen = app.screen
        assert isinstance(screen, SnapshotScreen)
        browser = screen.query_one("#snapshot-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done, limit=30)
        # The demo rotated one secret between its two snapshots: it has two revisions.
        tree = {r.secret_id: r for r in await app.store.read_tree(screen.header.id)}
        rotated = next(r for r in tree.values() if len([v for v in r.versions if v.payload]) >= 2)
        position = browser.table.visible_keys().index(rotated.secret_id)
        await press(*["down"] * (position - browser.table.cursor))
        assert browser.current is not None and browser.current.id == rotated.secret_id
        old = min(v.revision for v in rotated.versions if v.payload)
        newest_first = [v.revision for v in browser.versions_of(browser.current)]
        await press("v", *["down"] * newest_first.index(old))  # the old revision's row
        await press("R")  # restore just that revision: the wizard opens at the destination
        wizard = app.screen
        assert isinstance(wizard, RestoreScreen) and wizard.step == "dest"
        # Projects by name (production highlighted, staging below), the region beside it.
        await press("down", "tab", "down", "enter")
        await wait_for(pilot, lambda: wizard.plan is not None and not wizard.busy, limit=30)
        assert wizard.destination is not None
        assert wizard.destination[:2] == (DEMO_STAGING_PROJECT_ID, "nl-ams")
        assert [str(a.action) for a in wizard.plan.actions] == ["create"]
        assert [v.revision for v in wizard.plan.actions[0].versions] == [old]
        await press("enter")  # Apply…
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert rotated.full_path in dialog.body and "staging (nl-ams)" in dialog.body
        await press("y")
        await wait_for(pilot, lambda: wizard.result is not None, limit=30)
        await settle(pilot)
        assert len(keys) <= 15, keys
        # Through a second client: the destination holds that revision's bytes.
        after = await _by_path(ctx, "nl-ams", DEMO_STAGING_PROJECT_ID)
        restored = after[rotated.full_path]
        version = rotated.version(old)
        assert version is not None and version.payload is not None
        async with peer_client(ctx) as client:
            got = await client.access_version("nl-ams", restored.id, "latest")
        assert got.data == await app.store.read_payload(version.payload)
        summary = str(wizard.query_one("#report-summary", Static).render())
        assert rotated.full_path in summary and "staging (nl-ams)" in summary
        # One key opens the destination project, in that region.
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert (app.session.project_id, app.session.region) == (DEMO_STAGING_PROJECT_ID, "nl-ams")


async def _start_full_restore(pilot: Any, app: Any, latency_ms: float) -> RestoreScreen:
    """Restore the whole newest snapshot into staging (nl-ams), through a slow API."""
    await pilot.press("3")
    await settle(pilot)
    await pilot.press("R")
    await settle(pilot)
    wizard = app.screen
    assert isinstance(wizard, RestoreScreen)
    browser = wizard.query_one("#restore-browser", SecretsBrowser)
    await wait_for(pilot, lambda: browser.loading_done, limit=30)
    wizard.next_step()  # every secret, all versions
    await settle(pilot)
    from tui.widgets.destination import DestinationForm

    wizard.query_one(DestinationForm).choose(DEMO_STAGING_PROJECT_ID, "nl-ams")
    wizard.next_step()
    await wait_for(pilot, lambda: wizard.plan is not None and not wizard.busy, limit=30)
    app.context.emulator.latency_ms = latency_ms
    wizard.next_step()
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), limit=30)
    await pilot.press("y")
    await wait_for(pilot, lambda: wizard.worker is not None, limit=30)
    return wizard


async def test_stop_reaches_the_engine_at_once(demo_ctx: ConsoleContext) -> None:
    """Esc, then "Stop it": the worker running the engine is cancelled; no write arrives
    after that, and the status line and the report end in "cancelled"."""
    ctx = demo_ctx
    app = make_app(ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        wizard = await _start_full_restore(pilot, app, latency_ms=400)
        panel = wizard.query_one("#run", RunPanel)
        planned = sum(len(a.versions) for a in wizard.plan.actions if a.changes)
        await wait_for(pilot, lambda: panel.totals.applied >= 1, limit=30)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), limit=30)
        applied_at_stop = panel.totals.applied
        await pilot.press("y")
        stopped = asyncio.get_running_loop().time()
        await wait_for(pilot, lambda: not wizard.running, limit=5)
        took = asyncio.get_running_loop().time() - stopped
        ctx.emulator.latency_ms = 0

        async def versions_written() -> int:
            found = await _by_path(ctx, "nl-ams", DEMO_STAGING_PROJECT_ID)
            return sum(s.version_count for s in found.values())

        at_stop = await versions_written()
        await asyncio.sleep(1.0)
        assert await versions_written() == at_stop  # no write arrived after the stop
        # The console's part: the engine heard the stop at once (it ends "interrupted", with
        # what it did), the status line and the activity say so, and no error dialog shows.
        assert wizard.stop_requested and applied_at_stop < planned
        assert panel.totals.phase in ("cancelled", "interrupted")
        summary = str(wizard.query_one("#report-summary", Static).render()).lower()
        assert "cancelled" in summary or "interrupted" in summary
        assert app.activity[-1].outcome in ("cancelled", "interrupted")
        assert app.screen is wizard
        STOPS.append((at_stop, planned, took))


STOPS: list[tuple[int, int, float]] = []


async def test_stop_writes_no_more_than_one_request_late(demo_ctx: ConsoleContext) -> None:
    """Through a 400 ms API, nearly every version is still to write when the user stops: it
    must stay unwritten, and the run end within about one request's time."""
    if not STOPS:
        await test_stop_reaches_the_engine_at_once(demo_ctx)
    at_stop, planned, took = STOPS[-1]
    assert at_stop < planned and took < 1.0


async def test_the_cancel_dialog_closes_when_the_run_ends_first(
    demo_ctx: ConsoleContext,
) -> None:
    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        wizard = await _start_full_restore(pilot, app, latency_ms=300)
        await wait_for(pilot, lambda: wizard.running, limit=30)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), limit=30)
        # The run finishes while the question is open: the dialog closes by itself.
        await wait_for(pilot, lambda: not wizard.running, limit=30)
        await settle(pilot)
        assert app.screen is wizard
        assert wizard.result is not None and wizard.result.status == "ok"
        assert wizard.query_one("#run", RunPanel).totals.phase == "ok"


async def test_q_asks_during_a_run_and_in_the_demo(demo_ctx: ConsoleContext) -> None:
    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)  # the demo's store would be discarded
        assert "Quit the demo" in app.screen.title_text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen) and app.is_running
        wizard = await _start_full_restore(pilot, app, latency_ms=400)
        await wait_for(pilot, lambda: wizard.running, limit=30)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), limit=30)
        assert "during the run" in app.screen.title_text
        await pilot.press("escape")  # keep running
        await settle(pilot, 1)
        assert app.screen is wizard and app.is_running


async def test_theme_store_and_region_are_remembered(tmp_path: Any, demo_ctx: Any) -> None:
    """The state file (no secret in it) brings back theme, store and region."""
    from tui.app import SecretKlosetApp
    from tui.context import ConsoleContext
    from tui.state import ConsoleState, load_state, save_state

    state_file = tmp_path / "state" / "state.json"
    save_state(ConsoleState(theme="nord", region="nl-ams", store=str(tmp_path / "s")), state_file)
    ctx = ConsoleContext()
    app = SecretKlosetApp(ctx, state_file=state_file)
    assert ctx.default_region == "nl-ams" and ctx.store_location == str(tmp_path / "s")
    app.theme = "gruvbox"
    app.session.region = "pl-waw"
    app.remember()
    again = load_state(state_file)
    assert (again.theme, again.region, again.store) == ("gruvbox", "pl-waw", str(tmp_path / "s"))
    assert b"passphrase" not in state_file.read_bytes()


async def test_reveal_opens_the_whole_value_and_closes_by_itself(demo_ctx: Any) -> None:
    from tui.widgets.value_view import ValueScreen

    demo_ctx.reveal_seconds = 1.5
    app = make_app(demo_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("3", "enter")
        await settle(pilot)
        browser = app.screen.query_one("#snapshot-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done, limit=30)
        await pilot.press("r")  # the full-value view, at once, masked
        await wait_for(pilot, lambda: isinstance(app.screen, ValueScreen), limit=30)
        view = app.screen
        assert isinstance(view, ValueScreen) and not view.shown
        await pilot.press("r")  # show it
        await wait_for(pilot, lambda: view.shown, limit=30)
        await wait_for(pilot, lambda: not isinstance(app.screen, ValueScreen), limit=5)
        assert not view.shown  # masked again, closed by itself


async def test_a_failed_reveal_is_recorded_in_activity(demo_ctx: Any) -> None:
    from core.errors import KlosetError
    from tui.widgets.value_view import ValueScreen

    app = make_app(demo_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("3", "enter")
        await settle(pilot)
        browser = app.screen.query_one("#snapshot-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done, limit=30)
        reading = asyncio.Event()

        async def broken(entry: Any, revision: int) -> bytes:
            await reading.wait()  # "reading the value…" stays visible while it loads
            raise KlosetError("the store could not be read")

        browser.source.reveal = broken  # type: ignore[method-assign, union-attr]
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ValueScreen), limit=30)
        view = app.screen
        await pilot.press("r")
        await wait_for(
            pilot, lambda: "reading the value…" in str(view.query_one("#full-value").render())
        )
        reading.set()
        await wait_for(pilot, lambda: bool(app.error_reports), limit=30)
        last = app.activity[-1]
        assert (last.operation, last.outcome) == ("reveal value", "failed")
        app.error_reports.clear()


async def test_a_live_version_row_starts_the_wizard_with_that_revision(demo_ctx: Any) -> None:
    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        snapshots = sorted(await app.store.list_snapshots(), key=lambda h: h.time)
        tree = {r.secret_id: r for r in await app.store.read_tree(snapshots[-1].id)}
        rotated = next(r for r in tree.values() if len([v for v in r.versions if v.payload]) >= 2)
        old = min(v.revision for v in rotated.versions if v.payload)
        await pilot.press("2")
        await settle(pilot)
        browser = app.screen.query_one("#live-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done, limit=30)
        assert browser.table.move_to_key(rotated.secret_id)
        await wait_for(pilot, lambda: bool(browser.versions_of(browser.current)), limit=30)
        await settle(pilot)
        newest_first = [v.revision for v in browser.versions_of(browser.current)]
        await pilot.press("v", *["down"] * newest_first.index(old), "R")
        await wait_for(pilot, lambda: isinstance(app.screen, RestoreScreen), limit=30)
        wizard = app.screen
        await wait_for(pilot, lambda: wizard.step == "dest", limit=30)
        assert (wizard.selection_ids, wizard.revision) == ([rotated.secret_id], old)
        assert wizard.header is not None and wizard.header.id == snapshots[-1].id


def test_help_is_per_screen() -> None:
    from tui.actions import Section, help_sections

    wizard = help_sections(here=Section.WIZARDS)
    assert wizard[0][0] == "Wizards and progress (this screen)"
    care = dict(help_sections(here=Section.CARE))
    assert "Store care (this screen)" in care
    assert help_sections()[0][0] == "Everywhere"


async def test_progress_and_summary_counts_agree(empty_demo_ctx: Any) -> None:
    from tests.tui.conftest import push
    from tui.screens.backup import BackupScreen

    app = make_app(empty_demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackupScreen)
        await push(pilot, "#start")
        await wait_for(pilot, lambda: screen.result is not None and not screen.running, limit=30)
        await settle(pilot)
        r, t = screen.result, screen.query_one("#run", RunPanel).totals
        assert (t.secrets_done, t.versions_read, t.versions_skipped, t.bytes_added) == (
            r.secrets,
            r.versions_read,
            r.versions_reused,
            r.bytes_added,
        )
        assert t.phase == "complete"


async def test_any_table_row_opens_in_full(demo_ctx: Any) -> None:
    from tui.widgets.value_view import RowScreen

    app = make_app(demo_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, RowScreen)
        assert len(app.screen.cells[1]) == 8 and app.screen.cells[0].count(":") == 2
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
