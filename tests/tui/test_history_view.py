"""The History view of a secret (issue 12): every version across the demo store's snapshots,
the one the source no longer has marked, restore from a row; opened with h from a live
project and from a snapshot."""

from __future__ import annotations

from dataclasses import replace

from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID, DEMO_STAGING_PROJECT_ID
from core.engine.backup import BackupOptions, run_backup
from tests.tui.conftest import make_app, peer_client, ready, settle, wait_for
from tui.context import ConsoleContext
from tui.screens.dialogs import ConfirmDialog
from tui.screens.history import HistoryScreen, no_data_anywhere_text
from tui.screens.restore import RestoreScreen
from tui.screens.snapshot import SnapshotScreen
from tui.widgets.browser import SecretsBrowser
from tui.widgets.vtable import VirtualTable


async def _rotated_secret(ctx: ConsoleContext) -> str:
    """The secret the demo rotated between its two snapshots (the prefill's rule)."""
    async with peer_client(ctx) as client:
        async for s in client.list_secrets("fr-par", project_id=DEMO_PRODUCTION_PROJECT_ID):
            if s.version_count and not s.protected and s.type == "opaque":
                return s.id
    raise AssertionError("the demo has no rotated secret")


async def test_history_lists_versions_across_snapshots_and_marks_one_deleted_at_the_source(
    demo_ctx: ConsoleContext,
) -> None:
    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        store = app.store
        assert store is not None
        secret_id = await _rotated_secret(demo_ctx)
        # The source deletes revision 1 (kept by both demo snapshots); a third backup sees it.
        async with peer_client(demo_ctx) as client:
            await client.delete_version("fr-par", secret_id, 1)
            await run_backup(
                client,
                store,
                BackupOptions(
                    regions=("fr-par",), projects=(DEMO_PRODUCTION_PROJECT_ID,), rescan=True
                ),
                organization_id=client.organization_id,
            )
        headers = sorted(await store.list_snapshots(), key=lambda h: h.time)
        assert len(headers) == 3

        # h on the secret in the live project opens its History.
        await pilot.press("2")
        await settle(pilot)
        browser = app.screen.query_one("#live-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done)
        assert browser.table.move_to_key(secret_id)
        browser.table.focus()
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: screen.secret is not None)
        table = screen.query_one("#history", VirtualTable)
        keys = table.visible_keys()
        assert keys[:2] == ["2", "1"]  # newest first
        one, two = table.get_row("1"), table.get_row("2")
        assert one is not None and two is not None
        assert one.cells[4] == "deleted" and one.style == "warn"
        assert two.cells[4] == "yes"
        # Revision 1 is held by both demo snapshots (and the third lists it as deleted),
        # revision 2 (the rotation) by the second and the third.
        v1, v2 = screen.version("1"), screen.version("2")
        assert v1 is not None and v2 is not None
        assert v1.snapshots[:2] == (headers[0].id, headers[1].id) and not v1.in_source
        assert v2.snapshots == (headers[1].id, headers[2].id) and v2.in_source
        assert "rotated" not in str(screen.query_one("#history-info").render())  # no values

        # Enter on revision 1: the restore wizard on the newest snapshot holding its data,
        # at the destination step, that secret and that revision chosen.
        assert table.move_to_key("1")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RestoreScreen))
        wizard = app.screen
        assert isinstance(wizard, RestoreScreen)
        assert wizard.snapshot_id == v1.data_snapshots[-1]
        assert wizard.preselected == [secret_id]
        await wait_for(pilot, lambda: wizard.step == "dest", limit=30)
        assert (wizard.selection_ids, wizard.versions_mode, wizard.revision) == (
            [secret_id],
            "revision",
            1,
        )
        # Staging in nl-ams (production highlighted, staging below; the region beside it).
        for key in ("down", "tab", "down", "enter"):
            await pilot.press(key)
            await settle(pilot)
        await wait_for(pilot, lambda: wizard.plan is not None and not wizard.busy, limit=30)
        assert wizard.destination is not None
        assert wizard.destination[:2] == (DEMO_STAGING_PROJECT_ID, "nl-ams")
        assert wizard.plan is not None
        assert [v.revision for a in wizard.plan.actions for v in a.versions] == [1]
        await pilot.press("enter")  # Apply…
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_for(pilot, lambda: wizard.result is not None, limit=30)
        await settle(pilot)
        # Through a second client: the destination holds revision 1's bytes.
        tree = await store.read_tree(v1.data_snapshots[-1])
        record = next(r for r in tree if r.secret_id == secret_id)
        version = record.version(1)
        assert version is not None and version.payload is not None
        async with peer_client(demo_ctx) as client:
            restored = None
            async for s in client.list_secrets("nl-ams", project_id=DEMO_STAGING_PROJECT_ID):
                if s.full_path == record.full_path:
                    restored = s
            assert restored is not None
            got = await client.access_version("nl-ams", restored.id, "latest")
        assert got.data == await store.read_payload(version.payload)
        assert app.error_reports == []


async def test_history_opens_from_a_snapshot_browse(demo_ctx: ConsoleContext) -> None:
    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        store = app.store
        assert store is not None
        secret_id = await _rotated_secret(demo_ctx)
        newest = max(await store.list_snapshots(), key=lambda h: h.time)
        app.push_screen(SnapshotScreen(newest, app.session))
        await settle(pilot)
        browser = app.screen.query_one("#snapshot-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done)
        assert browser.table.move_to_key(secret_id)
        browser.table.focus()
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: screen.secret is not None)
        rows = [screen.query_one("#history", VirtualTable).get_row(k) for k in ("1", "2")]
        assert all(r is not None and r.cells[4] == "yes" for r in rows)  # nothing deleted yet
        # A revision no snapshot holds the data of cannot be chosen, and says why.
        secret = screen.secret
        assert secret is not None
        screen.secret = replace(
            secret,
            versions=tuple(
                replace(v, status="disabled", has_data=False, data_snapshots=())
                if v.revision == 1
                else v
                for v in secret.versions
            ),
        )
        v1 = screen.version("1")
        assert v1 is not None
        assert screen.restore_row("1") is None
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        why = no_data_anywhere_text(v1)
        assert "no data in any snapshot" in why and "disabled" in why
        assert any(why == n.message for n in app._notifications)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SnapshotScreen)
