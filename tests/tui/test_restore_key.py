"""The restore wizard's Key Manager key (issue 14), driven with the pilot and checked on the
emulator through a second client: a secret's own key cannot follow to another project, the
plan says so, and a key typed at the destination step is the created secret's; a malformed
key keeps the wizard at that step."""

from __future__ import annotations

from textual.widgets import Input, Static

from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID, DEMO_STAGING_PROJECT_ID
from core.engine.backup import BackupOptions, run_backup
from tests.tui.conftest import make_app, peer_client, push, ready, settle, wait_for
from tests.tui.test_flows import _apply
from tui.context import ConsoleContext
from tui.screens.restore import RestoreScreen
from tui.widgets.browser import SecretsBrowser
from tui.widgets.destination import DestinationForm

KEY = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
CHOSEN = "7a2e3d4c-5b6f-4071-9b8c-0d1e2f3a4b5c"


async def _key_of(ctx: ConsoleContext, region: str, project: str, name: str) -> str | None:
    async with peer_client(ctx) as client:
        async for s in client.list_secrets(region, project_id=project, name=name):
            return (await client.get_secret(region, s.id)).key_id
    raise AssertionError(f"{name} was not created")


async def test_the_key_field_of_the_restore_wizard(demo_ctx: ConsoleContext) -> None:
    ctx = demo_ctx
    app = make_app(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        # a secret encrypted with a Key Manager key, and a snapshot holding it
        async with peer_client(ctx) as client:
            secret = await client.create_secret(
                "fr-par",
                name="keyed",
                path="/kms",
                project_id=DEMO_PRODUCTION_PROJECT_ID,
                key_id=KEY,
            )
            await client.create_version("fr-par", secret.id, b"encrypted with our key")
            snap = await run_backup(
                client,
                app.store,
                BackupOptions(regions=("fr-par",), projects=(DEMO_PRODUCTION_PROJECT_ID,)),
            )
        assert snap.snapshot_id is not None

        screen = RestoreScreen(app.session, snap.snapshot_id, [secret.id])
        await app.push_screen(screen)
        await settle(pilot)
        browser = screen.query_one("#restore-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done and browser.marked_ids == [secret.id])
        await push(pilot, "#next")
        await settle(pilot)
        assert screen.step == "dest"
        form = screen.query_one(DestinationForm)
        form.choose(DEMO_STAGING_PROJECT_ID, "fr-par")

        # no key: the plan says the secret's own key cannot follow
        await push(pilot, "#next")
        await wait_for(pilot, lambda: screen.plan is not None and not screen.busy)
        action = screen.plan.actions[0]
        assert str(action.action) == "create" and action.key_id_dropped
        counts = str(screen.query_one("#plan-counts", Static).render())
        assert "without their Key Manager key" in counts

        # back to the destination: a malformed key keeps the wizard there
        await push(pilot, "#back")
        await settle(pilot)
        assert screen.step == "dest"
        screen.query_one("#dest-key-id", Input).value = "not-a-key"
        await push(pilot, "#next")
        await settle(pilot)
        assert screen.step == "dest"
        assert any("not a UUID" in n.message for n in app._notifications)

        # a key typed: the created secret gets it
        screen.query_one("#dest-key-id", Input).value = CHOSEN.upper()
        screen.plan = None
        await push(pilot, "#next")
        await wait_for(pilot, lambda: screen.plan is not None and not screen.busy)
        action = screen.plan.actions[0]
        assert action.key_id == CHOSEN and not action.key_id_dropped
        await _apply(pilot, app, screen)
        assert screen.result.status == "ok"
        assert await _key_of(ctx, "fr-par", DEMO_STAGING_PROJECT_ID, "keyed") == CHOSEN
