"""The secret-kloset console: a Textual app over the same engines as the CLI.

Layering follows harlequin: the app owns the :class:`tui.session.Session` (client, store,
activity log) that it hands to every screen it opens; screens talk back with the typed
messages of :mod:`tui.messages`; keys come from the one registry, :mod:`tui.actions`. Every
I/O call runs in a worker; one ``Worker.StateChanged`` handler turns any worker failure into an
error dialog that says what went wrong and what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.actions import parse
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from core.scaleway.models import REGIONS
from core.store import Store
from core.store.errors import StoreNotFoundError, WrongPassphraseError
from tui.actions import (
    MAIN_ONLY,
    Section,
    Where,
    bindings,
    help_sections,
    key_of,
    key_text,
    load_keymap,
    palette,
)
from tui.context import ConsoleContext
from tui.errors import ErrorReport, describe
from tui.messages import ActivityEntry, HistoryRequested, ShowError
from tui.screens.backup import BackupScreen
from tui.screens.care import StoreCareScreen
from tui.screens.copy import CopyScreen
from tui.screens.dialogs import ConfirmDialog, ErrorDialog, HelpScreen, PromptDialog
from tui.screens.history import HistoryScreen
from tui.screens.main import MainScreen
from tui.screens.restore import RestoreScreen
from tui.screens.run import RunScreen
from tui.screens.setup import ProfileScreen, StoreSetupScreen, store_exists
from tui.screens.snapshot import SnapshotScreen
from tui.session import Session
from tui.state import ConsoleState, load_state, save_state, state_path


class SecretKlosetApp(App[None]):
    """The operator console."""

    TITLE = "secret-kloset"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.APP)

    def __init__(
        self,
        context: ConsoleContext,
        *,
        keymap: Path | None = None,
        state_file: Path | None = None,
    ) -> None:
        """``keymap``: the user's keymap file (default: ``keymap.toml`` in the config dir);
        ``state_file``: where theme, profile, store and region are remembered (None: nothing
        is remembered, as in tests and the demo)."""
        super().__init__()
        self.context = context
        self.state_file = state_file
        self.remembered = load_state(state_file) if state_file is not None else ConsoleState()
        if state_file is not None and not context.demo:
            if self.remembered.store and not context.store_location:
                context.store_location = self.remembered.store
            if self.remembered.region in REGIONS:
                context.default_region = self.remembered.region
        self.session = Session(context, self._broadcast)
        self.ready = context.startup is None
        self.error_reports: list[ErrorReport] = []  # what the error dialogs said (tests read it)
        self.keymap, self.keymap_problems = load_keymap(keymap)
        self.set_keymap(self.keymap)
        self.sub_title = self.session.title

    # What tests and the screenshots read (the session holds it).

    @property
    def store(self) -> Store | None:
        return self.session.store

    @property
    def activity(self) -> list[ActivityEntry]:
        return self.session.activity

    def _broadcast(self, make: Callable[[], Message]) -> None:
        """Tell every screen on the stack (each gets its own message)."""
        self.sub_title = self.session.title
        for screen in self.screen_stack:
            screen.post_message(make())

    def show_error(self, error: BaseException, then: Callable[[], None] | None = None) -> None:
        """The error dialog: what went wrong and what to do; ``then`` runs once it is closed."""
        report = describe(error)
        self.error_reports.append(report)
        self.push_screen(ErrorDialog(report), (lambda _: then()) if then is not None else None)

    @on(ShowError)
    def _show_error(self, event: ShowError) -> None:
        self.show_error(event.error)

    @on(HistoryRequested)
    def _show_history(self, event: HistoryRequested) -> None:
        if self.session.store is None:
            self.notify("Open or create a store first.", severity="warning")
            return
        self.push_screen(
            HistoryScreen(
                self.session, event.secret_id, event.region, event.project_id, event.label
            )
        )

    # ------------------------------------------------------------------ lifecycle

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(self.session)

    def on_mount(self) -> None:
        self.title = "secret-kloset"
        if self.remembered.theme and self.remembered.theme in self.available_themes:
            self.theme = self.remembered.theme
        for problem in self.keymap_problems:
            self.notify(f"keymap: {problem}", severity="warning", timeout=8)
        if self.context.startup is not None:
            self.notify("Preparing the demo: emulator, throw-away store, two backups…", timeout=3)
            self._startup()
            return
        if not self.context.has_credentials:
            self.push_screen(ProfileScreen(self.session, first_run=True), self._after_first_profile)
        elif self.session.store is None:
            self.call_after_refresh(self._start_store)

    @work(exclusive=True, group="startup", exit_on_error=False)
    async def _startup(self) -> None:
        assert self.context.startup is not None
        store = await self.context.startup()
        self.ready = True
        self.session.set_store(store)
        self.session.log_activity("open store", "demo store", "ok", "throw-away, two snapshots")

    def _after_first_profile(self, saved: bool | None) -> None:
        self._after_profile(saved)
        if self.session.store is None:
            self.call_after_refresh(self._start_store)

    def _after_profile(self, saved: bool | None) -> None:
        if saved:
            self.session.profile_changed()

    def _start_store(self) -> None:
        location = self.context.store_location
        if location and store_exists(location):
            if self.context.store_passphrase is not None:
                self.open_store(location, self.context.store_passphrase)
            else:
                self.ask_passphrase(location)
        else:
            self.push_screen(StoreSetupScreen(self.session, location))

    def ask_passphrase(self, location: str) -> None:
        def answered(passphrase: str | None) -> None:
            if passphrase:
                self.open_store(location, passphrase)

        self.push_screen(
            PromptDialog("Open the store", f"Passphrase of the store at {location}", password=True),
            answered,
        )

    @work(exclusive=True, group="store-open", exit_on_error=False)
    async def open_store(self, location: str, passphrase: str) -> None:
        store = await Store.open(location, passphrase, cache_dir=self.context.store_cache_dir)
        self.context.store_passphrase = passphrase  # the Jobs tab's runner opens it again
        self.session.set_store(store)
        self.session.log_activity("open store", location, "ok")

    def remember(self) -> None:
        """Theme, profile, store and region for the next session (never a secret)."""
        if self.state_file is None or self.context.demo:
            return
        ctx = self.context
        state = ConsoleState(
            theme=self.theme,
            profile=ctx.profile_name or self.remembered.profile,
            store=ctx.store_location or self.remembered.store,
            region=self.session.region,
        )
        try:
            save_state(state, self.state_file)
        except OSError:
            pass  # remembering is a convenience: never a reason to fail on quit

    async def on_unmount(self) -> None:
        self.remember()
        await self.session.close()
        if self.context.on_close is not None:
            await self.context.on_close()

    # ------------------------------------------------------------------ failures

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        self.report_worker_failure(event)

    def report_worker_failure(self, event: Worker.StateChanged) -> None:
        """Every worker failure ends here (``Worker.StateChanged`` does not bubble, so each
        node that runs workers forwards it, see :class:`tui.workers.ReportsFailures`): one
        dialog saying what happened and what to do."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if error is None:
            return
        node = event.worker.node
        if isinstance(node, RunScreen) and node.stop_requested and event.worker is node.worker:
            return  # the user stopped the run: its report says what was done, no error dialog
        if event.worker.group == "store-open":
            if isinstance(error, StoreNotFoundError):
                self.push_screen(StoreSetupScreen(self.session, self.context.store_location))
                return
            location = self.context.store_location
            if isinstance(error, WrongPassphraseError) and location:
                self.session.log_activity("open store", location, "failed", "wrong passphrase")
                self.show_error(error, then=lambda: self.ask_passphrase(location))
                return
        self.show_error(error)

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Global actions apply on the main screen; wizards and dialogs keep their own keys."""
        if action in MAIN_ONLY:
            return isinstance(self.screen, MainScreen)
        return True

    def _main(self) -> MainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def _running_run(self) -> RunScreen[object] | None:
        return next(
            (s for s in reversed(self.screen_stack) if isinstance(s, RunScreen) and s.running),
            None,
        )

    def action_show_tab(self, tab: str) -> None:
        """Works on every screen: the screens above the main one close (never a run in
        progress: that asks first, with esc)."""
        if self._running_run() is not None:
            self.notify("A run is in progress: esc stops it first (it asks).", severity="warning")
            return
        main = self._main()
        if main is not None:
            while self.screen is not main and len(self.screen_stack) > 1:
                self.pop_screen()
            main.show_tab(tab)

    def action_next_region(self) -> None:
        region = self.session.region
        i = REGIONS.index(region) if region in REGIONS else -1
        self.session.set_region(REGIONS[(i + 1) % len(REGIONS)])
        self.notify(f"Region: {self.session.region}", timeout=2)

    def action_set_region(self, region: str) -> None:
        self.session.set_region(region)

    def _help_place(self) -> Section | None:
        """Which help section is this screen's (its keys first)."""
        screen = self.screen
        if isinstance(screen, RunScreen):
            return Section.WIZARDS
        if isinstance(screen, StoreCareScreen):
            return Section.CARE
        if isinstance(screen, SnapshotScreen):
            return Section.BROWSER
        if isinstance(screen, MainScreen):
            return screen.help_place()
        return None

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_sections(self.keymap, self._help_place())))

    def action_profile(self) -> None:
        self.push_screen(ProfileScreen(self.session, first_run=False), self._after_profile)

    def _picked(self) -> list[str]:
        main = self._main()
        return main.picked_secret_ids() if main is not None else []

    def action_backup(self) -> None:
        session = self.session
        if session.project_id is None:
            self.notify("Pick a project first (Projects tab).", severity="warning")
            return
        self.push_screen(BackupScreen(session, session.project_id, session.region, self._picked()))

    def action_restore(self, snapshot_id: str | None = None) -> None:
        if self.session.store is None:
            self.notify("Open or create a store first.", severity="warning")
            return
        main = self._main()
        live = main.highlighted_live_version() if main is not None and snapshot_id is None else None
        if live is not None:
            self._restore_live_version(*live)
            return
        if snapshot_id is None:
            snapshot_id = main.highlighted_snapshot_id() if main is not None else None
        self.push_screen(RestoreScreen(self.session, snapshot_id))

    @work(exclusive=True, group="restore-live-version", exit_on_error=False)
    async def _restore_live_version(self, secret_id: str, revision: int) -> None:
        """A live version row's restore key: the newest snapshot that holds that revision's
        data opens the wizard with the secret and the revision chosen."""
        store = self.session.require_store()
        headers = sorted(await store.list_snapshots(), key=lambda h: h.time, reverse=True)
        for header in headers:
            for record in await store.read_tree(header.id):
                if record.secret_id != secret_id:
                    continue
                version = record.version(revision)
                if version is not None and version.payload is not None:
                    self.push_screen(
                        RestoreScreen(self.session, header.id, [secret_id], revision=revision)
                    )
                    return
        self.notify(
            f"No snapshot holds the data of revision {revision} of this secret: back it up "
            f"first ({key_text(key_of('backup'))}).",
            severity="warning",
            timeout=8,
        )

    def action_copy_project(self) -> None:
        session = self.session
        if session.project_id is None:
            self.notify("Pick a project first (Projects tab).", severity="warning")
            return
        self.push_screen(CopyScreen(session, session.project_id, session.region, self._picked()))

    def action_store_care(self, tab: str = "check") -> None:
        if self.session.store is None:
            self.action_new_store()
            return
        self.push_screen(StoreCareScreen(self.session, tab))

    async def action_quit(self) -> None:
        """``q`` asks first during a run (as Esc does) and, in the demo, before the
        throw-away store is discarded."""
        running = self._running_run()
        if running is not None:
            running.ask_cancel(self.exit, quitting=True)
            return
        if self.context.demo and not isinstance(self.screen, ConfirmDialog):

            def answered(yes: bool | None) -> None:
                if yes:
                    self.exit()

            self.push_screen(
                ConfirmDialog(
                    "Quit the demo?",
                    "The demo's emulator and its throw-away store (and every snapshot made "
                    "in it) are discarded.",
                    yes="Quit",
                    no="Stay",
                ),
                answered,
            )
            return
        self.exit()

    def action_new_store(self) -> None:
        self.push_screen(StoreSetupScreen(self.session, self.context.store_location))

    # ------------------------------------------------------------------ command palette

    def _palette_callback(self, action: str) -> Callable[[], object]:
        """Run ``action`` directly (as a palette choice, not a key: no ``check_action``)."""
        _, name, params = parse(action)
        method = getattr(self, f"action_{name}")
        return lambda: method(*params)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for entry in palette(self.keymap):
            yield SystemCommand(entry.title, entry.help, self._palette_callback(entry.action))


def run(context: ConsoleContext) -> None:
    """Open the console (blocks until it quits); it remembers theme, profile, store and
    region in the XDG state directory."""
    SecretKlosetApp(context, state_file=state_path()).run()


__all__ = ["SecretKlosetApp", "run"]
