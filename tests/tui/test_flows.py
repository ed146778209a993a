"""Functional tests of the console: each flow driven with the pilot, checked on real state
(the emulator's secrets through a second client, the store's snapshots)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, Static

from core.emulator.demo import (
    DEMO_DATA_PROJECT_ID,
    DEMO_PRODUCTION_PROJECT_ID,
    DEMO_STAGING_PROJECT_ID,
)
from tests.tui.conftest import make_app, peer_client, push, ready, settle, wait_for
from tui.context import ConsoleContext
from tui.screens.backup import BackupScreen
from tui.screens.care import StoreCareScreen
from tui.screens.copy import CopyScreen
from tui.screens.dialogs import ConfirmDialog
from tui.screens.restore import RestoreScreen
from tui.screens.snapshot import DiffScreen, SnapshotScreen
from tui.widgets.browser import SecretsBrowser
from tui.widgets.destination import DestinationForm
from tui.widgets.value_view import ValueScreen
from tui.widgets.vtable import VirtualTable


async def _secrets(ctx: ConsoleContext, region: str, project: str) -> dict[str, Any]:
    out = {}
    async with peer_client(ctx) as client:
        async for s in client.list_secrets(region, project_id=project):
            out[s.full_path] = s
    return out


async def _latest_data(
    ctx: ConsoleContext, region: str, secret_id: str, revision: str = "latest"
) -> bytes | None:
    from core.scaleway.errors import NotFoundError, PreconditionFailedError

    async with peer_client(ctx) as client:
        try:
            return (await client.access_version(region, secret_id, revision)).data
        except (NotFoundError, PreconditionFailedError):
            return None


async def test_projects_and_live_secrets(demo_ctx: ConsoleContext) -> None:
    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        projects = app.screen.query_one("#projects", VirtualTable)
        assert DEMO_PRODUCTION_PROJECT_ID in projects.visible_keys()
        assert projects.cursor_key == DEMO_PRODUCTION_PROJECT_ID
        await pilot.press("enter")
        await settle(pilot)
        browser = app.screen.query_one("#live-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done)
        live = await _secrets(demo_ctx, "fr-par", DEMO_PRODUCTION_PROJECT_ID)
        assert browser.table.total_count >= len(live)
        # Filtering as you type narrows the list; Esc clears it.
        await pilot.press("slash", *"postgres")
        assert 0 < browser.table.row_count < browser.table.total_count
        assert all("postgres" in browser.entries[k].full_path for k in browser.table.visible_keys())
        await pilot.press("escape")
        assert browser.table.row_count == browser.table.total_count
        # Nothing revealed until asked; r reveals the highlighted secret's latest value.
        entry = browser.current
        assert entry is not None
        await settle(pilot)
        await wait_for(pilot, lambda: entry.id in browser._versions)
        value = app.screen.query_one("#value", Static)
        assert "••••" in str(value.render())
        demo_ctx.reveal_seconds = 1.0
        expected = (await _latest_data(demo_ctx, "fr-par", entry.id)).decode()
        # r opens the full-value view, masked until asked; r there shows it.
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ValueScreen))
        view = app.screen
        assert isinstance(view, ValueScreen)
        full = view.query_one("#full-value", Static)
        await settle(pilot)
        assert "••••" in str(full.render()) and not view.shown
        assert expected.splitlines()[0][:20] not in str(full.render())
        await pilot.press("r")
        await wait_for(pilot, lambda: view.shown)
        assert expected.splitlines()[0][:20] in str(full.render())
        assert expected.splitlines()[0][:20] not in str(value.render())  # never inline
        await wait_for(pilot, lambda: not isinstance(app.screen, ValueScreen))  # by itself
        assert not view.shown and expected.splitlines()[0][:20] not in str(full.render())
        # c copies without showing.
        await pilot.press("c")
        await settle(pilot)
        assert demo_ctx.copied == [expected]  # type: ignore[attr-defined]
        assert expected.splitlines()[0][:20] not in str(value.render())
        assert [a.operation for a in app.activity][-2:] == ["reveal value", "copy value"]
        assert all(expected not in (a.target + a.detail) for a in app.activity)


async def test_back_up_a_project(empty_demo_ctx: ConsoleContext) -> None:
    ctx = empty_demo_ctx
    app = make_app(ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        assert await app.store.list_snapshots() == []
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackupScreen)
        screen.query_one("#tags", Input).value = "before-migration, manual"
        screen.query_one("#environment", Input).value = "production"
        screen.query_one("#data-class", Input).value = "confidential"
        await push(pilot, "#start")
        await settle(pilot)
        await wait_for(pilot, lambda: screen.result is not None)
        await settle(pilot)
        snaps = await app.store.list_snapshots()
        assert len(snaps) == 1
        header = snaps[0]
        assert set(header.tags) == {"before-migration", "manual"}
        assert header.environment == "production" and header.data_class == "confidential"
        live = await _secrets(ctx, "fr-par", DEMO_PRODUCTION_PROJECT_ID)
        tree = await app.store.read_tree(header.id)
        assert {r.full_path for r in tree} >= set(live)
        assert "Backup complete" in str(screen.query_one("#summary", Static).render())
        assert app.activity[-1].operation == "backup" and app.activity[-1].outcome == "ok"


async def test_browse_a_snapshot_and_diff(demo_ctx: ConsoleContext) -> None:
    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one("#snapshots", VirtualTable)
        assert table.row_count == 2
        newest = table.cursor_key
        assert newest is not None
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SnapshotScreen)
        browser = app.screen.query_one("#snapshot-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done)
        tree = await app.store.read_tree(newest)
        assert browser.table.total_count == len(tree)
        # Reveal reads the value from the store (never the API), masked again after a while.
        record = next(r for r in tree if r.latest_version is not None and r.latest_version.payload)
        assert browser.table.move_to_key(record.secret_id)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ValueScreen))
        view = app.screen
        assert isinstance(view, ValueScreen)
        await pilot.press("space")
        await wait_for(pilot, lambda: view.shown)
        data = await app.store.read_payload(record.latest_version.payload)
        shown = str(view.query_one("#full-value", Static).render())
        assert data.decode().splitlines()[0][:20] in shown
        await pilot.press("escape")  # closes the view
        await settle(pilot)
        assert isinstance(app.screen, SnapshotScreen)
        await pilot.press("escape")
        await settle(pilot)
        # Mark both snapshots and diff them: the demo rotated one secret in between.
        await pilot.press("space", "space", "d")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)
        diff = app.screen.diff
        assert diff is not None and len(diff.changed) == 1
        assert app.screen.query_one("#diff", VirtualTable).row_count == 1


async def _restore_wizard(pilot: Any, app: Any) -> RestoreScreen:
    await pilot.press("3")
    await settle(pilot)
    await pilot.press("R")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, RestoreScreen)
    browser = screen.query_one("#restore-browser", SecretsBrowser)
    await wait_for(pilot, lambda: browser.loading_done)
    return screen


async def _apply(pilot: Any, app: Any, screen: Any) -> None:
    await wait_for(pilot, lambda: screen.plan is not None and not screen.busy)
    await push(pilot, "#next")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
    await settle(pilot)
    await push(pilot, "#yes")
    await settle(pilot)
    await wait_for(pilot, lambda: screen.result is not None)
    await settle(pilot)


async def test_restore_one_secret_into_another_project_and_region(demo_ctx: ConsoleContext) -> None:
    ctx = demo_ctx
    app = make_app(ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = await _restore_wizard(pilot, app)
        browser = screen.query_one("#restore-browser", SecretsBrowser)
        entry = next(e for e in browser.entries.values() if e.type == "database_credentials")
        assert browser.table.move_to_key(entry.id)
        browser.table.focus()
        await pilot.press("space")
        assert browser.marked_ids == [entry.id]
        await push(pilot, "#next")
        await settle(pilot)
        assert screen.step == "dest"
        screen.query_one(DestinationForm).choose(DEMO_STAGING_PROJECT_ID, "nl-ams")
        before = await _secrets(ctx, "nl-ams", DEMO_STAGING_PROJECT_ID)
        assert entry.full_path not in before
        await push(pilot, "#next")
        await settle(pilot)
        assert screen.step == "plan"
        await wait_for(pilot, lambda: screen.plan is not None)
        assert [str(a.action) for a in screen.plan.actions] == ["create"]
        # Nothing happened yet.
        assert entry.full_path not in await _secrets(ctx, "nl-ams", DEMO_STAGING_PROJECT_ID)
        await _apply(pilot, app, screen)
        after = await _secrets(ctx, "nl-ams", DEMO_STAGING_PROJECT_ID)
        assert entry.full_path in after
        restored = after[entry.full_path]
        assert restored.type == "database_credentials"
        assert restored.tags == entry.tags
        tree = {r.secret_id: r for r in await app.store.read_tree(screen.header.id)}
        record = tree[entry.id]
        latest = record.latest_version
        assert latest is not None and latest.payload is not None
        assert await _latest_data(ctx, "nl-ams", restored.id) == await app.store.read_payload(
            latest.payload
        )
        assert screen.result.status == "ok"
        assert app.activity[-1].operation == "restore"


async def test_restore_one_old_version(demo_ctx: ConsoleContext) -> None:
    ctx = demo_ctx
    app = make_app(ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = await _restore_wizard(pilot, app)
        browser = screen.query_one("#restore-browser", SecretsBrowser)
        tree = {r.secret_id: r for r in await app.store.read_tree(screen.header.id)}

        def old_enabled(r: Any) -> bool:
            with_data = [v for v in r.versions if v.payload is not None and v.status == "enabled"]
            return len(with_data) >= 2 and not r.protected and r.deletion_requested_at is None

        record = next(r for r in tree.values() if old_enabled(r))
        oldest = min(
            v.revision for v in record.versions if v.payload is not None and v.status == "enabled"
        )
        assert browser.table.move_to_key(record.secret_id)
        await settle(pilot)
        versions = screen.query_one("#versions")
        versions.focus()
        await pilot.pause()
        # Walk the versions table down to the old revision (rows are newest first).
        for _ in range(25):
            if browser.version_cursor == oldest:
                break
            await pilot.press("down")
        assert browser.version_cursor == oldest
        screen.query_one("#mode-revision").value = True
        await push(pilot, "#next")
        await settle(pilot)
        assert screen.step == "dest" and screen.revision == oldest
        await push(pilot, "#next")  # same project and region as the source
        await settle(pilot)
        await wait_for(pilot, lambda: screen.plan is not None)
        assert [str(a.action) for a in screen.plan.actions] == ["add_version"]
        await _apply(pilot, app, screen)
        old_data = await app.store.read_payload(record.version(oldest).payload)
        assert await _latest_data(ctx, record.region, record.secret_id) == old_data


async def test_copy_a_project(empty_demo_ctx: ConsoleContext) -> None:
    ctx = empty_demo_ctx
    app = make_app(ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        source = await _secrets(ctx, "fr-par", DEMO_PRODUCTION_PROJECT_ID)
        assert not await _secrets(ctx, "nl-ams", DEMO_DATA_PROJECT_ID)
        await pilot.press("C")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CopyScreen)
        screen.query_one(DestinationForm).choose(DEMO_DATA_PROJECT_ID, "nl-ams")
        await push(pilot, "#next")
        await settle(pilot)
        await wait_for(pilot, lambda: screen.plan is not None)
        creates = {a.record.full_path for a in screen.plan.actions if str(a.action) == "create"}
        assert creates == set(source)
        # The rest is skipped with a reason (a secret scheduled for deletion at the source).
        others = [a for a in screen.plan.actions if str(a.action) != "create"]
        assert all(str(a.action) == "skip" and a.detail for a in others)
        assert not await _secrets(ctx, "nl-ams", DEMO_DATA_PROJECT_ID)  # the plan changed nothing
        await _apply(pilot, app, screen)
        copied = await _secrets(ctx, "nl-ams", DEMO_DATA_PROJECT_ID)
        assert set(copied) == set(source)
        for path, secret in source.items():
            policy = secret.ephemeral_policy
            if policy is not None and policy.expires_once_accessed:
                continue  # never read by a backup: reading would make it expire
            want = await _latest_data(ctx, "fr-par", secret.id, "latest_enabled")
            got = await _latest_data(ctx, "nl-ams", copied[path].id, "latest_enabled")
            assert got == want
        snaps = await app.store.list_snapshots()
        assert [s.tags for s in snaps] == [("copy",)]


async def test_retention_preview_removes_nothing(demo_ctx: ConsoleContext) -> None:
    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        before = {s.id for s in await app.store.list_snapshots()}
        assert len(before) == 2
        await pilot.press("m")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StoreCareScreen)
        screen.query_one("#care-tabs").active = "retention"
        await pilot.pause()
        screen.query_one("#keep-last", Input).value = "1"
        await push(pilot, "#preview")
        await settle(pilot)
        assert screen.preview is not None
        assert len(screen.preview.kept) == 1 and len(screen.preview.removed) == 1
        table = screen.query_one("#retention-table", VirtualTable)
        assert [r.cells[0] for r in table.rows] == ["keep", "REMOVE"]
        assert {s.id for s in await app.store.list_snapshots()} == before


async def test_store_care_check_apply_retention_and_add_a_passphrase(
    demo_ctx: ConsoleContext,
) -> None:
    from core.store import Store

    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("m")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StoreCareScreen)
        await push(pilot, "#run-check")
        await wait_for(pilot, lambda: screen.check_report is not None)
        assert screen.check_report.ok
        # Retention: preview, then apply (forget + prune) after a confirmation.
        screen.query_one("#care-tabs").active = "retention"
        await pilot.pause()
        screen.query_one("#keep-last", Input).value = "1"
        await push(pilot, "#preview")
        await wait_for(pilot, lambda: screen.preview is not None)
        kept = screen.preview.kept[0].snapshot_id
        await push(pilot, "#apply")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await push(pilot, "#yes")
        await wait_for(pilot, lambda: screen.preview is None)
        await settle(pilot)
        assert [s.id for s in await app.store.list_snapshots()] == [kept]
        assert app.activity[-1].operation == "forget + prune"
        # A second passphrase opens the same store.
        screen.query_one("#care-tabs").active = "keys"
        await pilot.pause()
        screen.query_one("#new-pass", Input).value = "a second passphrase for the team"
        screen.query_one("#new-pass2", Input).value = "a second passphrase for the team"
        screen.query_one("#add-key").press()
        await wait_for(
            pilot, lambda: app.activity[-1].operation == "add passphrase" or bool(app.error_reports)
        )
        assert not app.error_reports, app.error_reports
        await settle(pilot)
        assert screen.query_one("#keys-table", VirtualTable).total_count == 2
        other = await Store.open(
            demo_ctx.store_location or "",
            "a second passphrase for the team",
            cache_dir=demo_ctx.store_cache_dir,
        )
        assert [s.id for s in await other.list_snapshots()] == [kept]
        await other.close()


async def test_a_running_backup_can_be_cancelled(empty_demo_ctx: ConsoleContext) -> None:
    ctx = empty_demo_ctx
    app = make_app(ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        assert ctx.emulator is not None
        ctx.emulator.latency_ms = 400  # slow enough to stop it half-way (under load too)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackupScreen)
        await push(pilot, "#start")
        await wait_for(pilot, lambda: screen.running)
        await pilot.pause(0.3)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await push(pilot, "#yes")
        await wait_for(pilot, lambda: not screen.running)
        ctx.emulator.latency_ms = 0
        await settle(pilot)
        assert screen.result is None
        assert await app.store.list_snapshots() == []  # nothing committed
        assert app.activity[-1].operation == "backup" and app.activity[-1].outcome == "cancelled"


async def test_tab_keys_switch_places_even_when_pressed_quickly(
    empty_demo_ctx: ConsoleContext,
) -> None:
    app = make_app(empty_demo_ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        tabs = app.screen.query_one("#tabs")
        await pilot.press("2", "3", "4", "3", "4")
        await settle(pilot)
        assert tabs.active == "tab-activity"
        assert app.focused is not None and app.focused.id == "activity"
        await pilot.press("1")
        await settle(pilot)
        assert tabs.active == "tab-projects"
