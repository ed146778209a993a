"""First run: add a profile (keyring, test connection), create a store; the keyring refusal."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from textual.widgets import Button, Input, Static

from core.credentials import ProfileStore
from core.credentials.testing import MemoryKeyring
from core.emulator.demo import (
    DEMO_ACCESS_KEY,
    DEMO_ORGANIZATION_ID,
    DEMO_PRODUCTION_PROJECT_ID,
    DEMO_SECRET_KEY,
)
from core.store import Store
from core.store.crypto import KdfParams
from tests.tui.conftest import make_app, push, settle, wait_for
from tui.context import ConsoleContext
from tui.demo import DEMO_API_URL, demo_client, demo_transport
from tui.screens.setup import ProfileScreen, StoreSetupScreen, passphrase_strength
from tui.widgets.vtable import VirtualTable


def _first_run_context(tmp_path: Path) -> ConsoleContext:
    _emulator, transport = demo_transport()
    return ConsoleContext(
        default_project_id=DEMO_PRODUCTION_PROJECT_ID,
        store_location=str(tmp_path / "store"),
        store_cache_dir=tmp_path / "cache",
        store_init_options={"kdf": KdfParams.for_tests()},
        client_options={"transport": transport},
    )


async def test_add_a_profile_then_create_a_store(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    ctx = _first_run_context(tmp_path)
    app = make_app(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen))
        screen = app.screen
        assert isinstance(screen, ProfileScreen)
        await settle(pilot)
        assert screen.keyring_ok is True
        screen.query_one("#profile-name", Input).value = "work"
        screen.query_one("#access-key", Input).value = DEMO_ACCESS_KEY
        screen.query_one("#secret-key", Input).value = DEMO_SECRET_KEY
        assert screen.query_one("#secret-key", Input).password  # masked
        screen.query_one("#organization-id", Input).value = DEMO_ORGANIZATION_ID
        screen.query_one("#project-id", Input).value = DEMO_PRODUCTION_PROJECT_ID
        screen.query_one("#api-url", Input).value = DEMO_API_URL
        # Test connection: the preflight reports every permission set present.
        await push(pilot, "#test")
        await wait_for(pilot, lambda: screen.last_report is not None)
        report = screen.last_report
        assert report.ok and not report.missing and report.project_names
        # Save: the secret key goes to the keyring, the rest to the profiles file.
        await push(pilot, "#save")
        await wait_for(pilot, lambda: isinstance(app.screen, StoreSetupScreen))
        assert DEMO_SECRET_KEY in memory_keyring.values()
        profile = ProfileStore().get("work")
        assert profile.access_key == DEMO_ACCESS_KEY
        assert profile.default_project_id == DEMO_PRODUCTION_PROJECT_ID
        files = "".join(p.read_text(errors="replace") for p in (tmp_path.parent).rglob("*.toml"))
        assert DEMO_SECRET_KEY not in files
        assert ctx.has_credentials and ctx.profile_name == "work"
        # No store yet: create one (passphrase twice, strength shown).
        setup = app.screen
        setup.query_one("#passphrase", Input).value = "correct horse battery staple"
        setup.query_one("#passphrase2", Input).value = "correct horse battery staple"
        await pilot.pause()
        assert "strong" in str(setup.query_one("#strength", Static).render()) or "good" in str(
            setup.query_one("#strength", Static).render()
        )
        await push(pilot, "#create")
        await wait_for(pilot, lambda: app.store is not None)
        await settle(pilot)
        reopened = await Store.open(
            ctx.store_location or "", "correct horse battery staple", cache_dir=tmp_path / "c2"
        )
        await reopened.close()
        # The projects of the new profile are listed.
        projects = app.screen.query_one("#projects", VirtualTable)
        await wait_for(pilot, lambda: DEMO_PRODUCTION_PROJECT_ID in projects.visible_keys())


async def test_mismatched_passphrases_create_nothing(tmp_path: Path) -> None:
    ctx = _first_run_context(tmp_path)
    transport = ctx.client_options["transport"]
    ctx.client_factory = lambda: demo_client(transport)
    app = make_app(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        # Credentials but no store: the console opens the store set-up by itself.
        await wait_for(pilot, lambda: isinstance(app.screen, StoreSetupScreen))
        await settle(pilot)
        setup = app.screen
        setup.query_one("#passphrase", Input).value = "one passphrase"
        setup.query_one("#passphrase2", Input).value = "another one"
        setup.query_one("#create", Button).press()
        await settle(pilot)
        assert app.store is None
        assert not await asyncio.to_thread(os.path.exists, ctx.store_location or "")
        assert app.error_reports == []


async def test_no_safe_keyring_is_explained_and_saving_refused(
    tmp_path: Path, fail_keyring: object
) -> None:
    ctx = _first_run_context(tmp_path)
    app = make_app(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.keyring_ok is False)
        status = str(screen.query_one("#keyring-status", Static).render())
        assert "No safe OS keyring" in status
        assert "Secret Service" in status  # the fix
        assert screen.query_one("#save", Button).disabled
        assert ProfileStore().profiles() == []


def test_passphrase_strength_grows_with_length_and_variety() -> None:
    weak = passphrase_strength("aaaa")
    fair = passphrase_strength("Tr0ub4dor")
    strong = passphrase_strength("correct horse battery staple 42!")
    assert weak[1] == "weak"
    assert weak[0] < fair[0] < strong[0]
    assert strong[1] == "strong"


async def test_edit_the_current_profile_keeps_its_key(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    from core.credentials import resolve_credentials
    from core.credentials.profiles import Profile, add_profile

    add_profile(
        Profile(
            name="work",
            access_key=DEMO_ACCESS_KEY,
            organization_id=DEMO_ORGANIZATION_ID,
            default_project_id=DEMO_PRODUCTION_PROJECT_ID,
            default_region="fr-par",
            api_url=DEMO_API_URL,
        ),
        DEMO_SECRET_KEY,
        make_default=True,
    )
    ctx = _first_run_context(tmp_path)
    ctx.use_credentials(resolve_credentials())
    store = await Store.init(
        ctx.store_location or "", "pass", kdf=KdfParams.for_tests(), cache_dir=tmp_path / "c"
    )
    ctx.store = store
    app = make_app(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.existing == "work")
        assert screen.query_one("#access-key", Input).value == DEMO_ACCESS_KEY
        assert screen.query_one("#secret-key", Input).value == ""  # never shown back
        screen.query_one("#project-id", Input).value = "b2c3d4e5-2222-4b6c-9d7e-1f2a3b4c5d6e"
        await push(pilot, "#test")  # with the key from the keyring
        await wait_for(pilot, lambda: screen.last_report is not None)
        assert screen.last_report.ok
        screen.query_one("#save", Button).press()
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileScreen))
        assert (
            ProfileStore().get("work").default_project_id == "b2c3d4e5-2222-4b6c-9d7e-1f2a3b4c5d6e"
        )
        assert memory_keyring.values() == [DEMO_SECRET_KEY]
    await store.close()
