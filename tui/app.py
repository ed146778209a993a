"""The secret-kloset console: a Textual app over the same engines as the CLI.

Layering follows harlequin: the app holds the session (client, store, activity log); every
I/O call runs in a worker; one ``Worker.StateChanged`` handler turns any worker failure into
an error dialog that says what went wrong and what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from core.errors import ConfigError
from core.scaleway.models import REGIONS
from tui.context import ConsoleContext
from tui.errors import describe
from tui.screens.dialogs import ErrorDialog, HelpScreen

ICON = "[K]"


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    """One operation of this session: names and ids only, never values."""

    time: datetime
    operation: str
    target: str
    outcome: str
    detail: str = ""


class SecretKlosetApp(App[None]):
    """The operator console."""

    TITLE = "secret-kloset"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_tab('projects')", "Projects", show=False),
        Binding("2", "show_tab('secrets')", "Secrets", show=False),
        Binding("3", "show_tab('snapshots')", "Snapshots", show=False),
        Binding("4", "show_tab('activity')", "Activity", show=False),
        Binding("b", "backup", "Backup"),
        Binding("R", "restore", "Restore"),
        Binding("C", "copy_project", "Copy project"),
        Binding("m", "store_care", "Store care"),
        Binding("g", "next_region", "Region"),
        Binding("p", "profile", "Profile", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    class ProjectChanged(Message):
        """The current project or region changed."""

    class StoreChanged(Message):
        """A store was opened (or created), or its snapshots changed."""

    class ActivityLogged(Message):
        def __init__(self, entry: ActivityEntry) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.region: str = (
            context.default_region if context.default_region in REGIONS else REGIONS[0]
        )
        self.project_id: str | None = context.default_project_id
        self.project_name: str = ""
        self.project_names: dict[str, str] = {}
        self.store: Any | None = context.store
        self.activity: list[ActivityEntry] = []
        self._client: Any | None = None
        self.ready = context.startup is None
        self.error_reports: list[Any] = []  # what the error dialogs said (tests read this)
        self.sub_title = self._sub_title()

    # ------------------------------------------------------------------ session

    def _sub_title(self) -> str:
        ctx = self.context
        who = (
            "demo (built-in emulator)"
            if ctx.demo
            else (ctx.profile_name or ctx.credentials_source or "no profile")
        )
        return f"{who} · {self.region}"

    async def get_client(self) -> Any:
        """The session's API client, opened on first use (in the app's event loop)."""
        if self._client is None:
            if self.context.client_factory is None:
                raise ConfigError(
                    "no credentials: the console has no profile to talk to Scaleway with",
                    hint="add a profile (press p), or set SCW_ACCESS_KEY / SCW_SECRET_KEY",
                )
            client = self.context.client_factory()
            await client.__aenter__()
            self._client = client
        return self._client

    async def reset_client(self) -> None:
        """Close the client (after a profile change); the next call opens a new one."""
        client, self._client = self._client, None
        if client is not None:
            await client.__aexit__(None, None, None)

    def require_store(self) -> Any:
        if self.store is None:
            from core.store.errors import StoreNotFoundError

            raise StoreNotFoundError(
                self.context.store_location or "(none configured)",
                hint="create or open a store first (Snapshots tab, or press m)",
            )
        return self.store

    def set_store(self, store: Any) -> None:
        self.store = store
        self.context.store = store
        self.post_message(self.StoreChanged())
        for screen in self.screen_stack:
            screen.post_message(self.StoreChanged())

    def store_changed(self) -> None:
        for screen in self.screen_stack:
            screen.post_message(self.StoreChanged())

    def set_project(self, project_id: str, name: str = "", region: str | None = None) -> None:
        self.project_id = project_id
        self.project_name = name or self.project_names.get(project_id, "")
        if region:
            self.region = region
        self.sub_title = self._sub_title()
        for screen in self.screen_stack:
            screen.post_message(self.ProjectChanged())

    def set_region(self, region: str) -> None:
        self.region = region
        self.sub_title = self._sub_title()
        for screen in self.screen_stack:
            screen.post_message(self.ProjectChanged())

    def log_activity(self, operation: str, target: str, outcome: str, detail: str = "") -> None:
        """Record an operation of this session (names and ids only, never values)."""
        entry = ActivityEntry(datetime.now(UTC), operation, target, outcome, detail)
        self.activity.append(entry)
        for screen in self.screen_stack:
            screen.post_message(self.ActivityLogged(entry))

    def show_error(self, error: BaseException, then: Callable[[], None] | None = None) -> None:
        """The error dialog: what went wrong and what to do; ``then`` runs once it is closed."""
        report = describe(error)
        self.error_reports.append(report)
        self.push_screen(ErrorDialog(report), (lambda _: then()) if then is not None else None)

    # ------------------------------------------------------------------ lifecycle

    def get_default_screen(self) -> Screen[Any]:
        from tui.screens.main import MainScreen

        return MainScreen()

    def on_mount(self) -> None:
        self.title = "secret-kloset"
        if self.context.startup is not None:
            self.notify("Preparing the demo: emulator, throw-away store, two backups…", timeout=3)
            self._startup()
            return
        if not self.context.has_credentials:
            from tui.screens.setup import ProfileScreen

            self.push_screen(ProfileScreen(first_run=True), self._after_first_profile)
        elif self.store is None:
            self.call_after_refresh(self._start_store)

    @work(exclusive=True, group="startup", exit_on_error=False)
    async def _startup(self) -> None:
        assert self.context.startup is not None
        store = await self.context.startup()
        self.ready = True
        self.set_store(store)
        self.log_activity("open store", "demo store", "ok", "throw-away, two snapshots")

    def _after_first_profile(self, saved: bool | None) -> None:
        self._after_profile(saved)
        if self.store is None:
            self.call_after_refresh(self._start_store)

    def _after_profile(self, saved: bool | None) -> None:
        if saved:
            self.sub_title = self._sub_title()
            for screen in self.screen_stack:
                screen.post_message(self.ProjectChanged())

    def _start_store(self) -> None:
        from tui.screens.setup import store_exists

        location = self.context.store_location
        if location and store_exists(location):
            if self.context.store_passphrase is not None:
                self.open_store(location, self.context.store_passphrase)
            else:
                self.ask_passphrase(location)
        else:
            from tui.screens.setup import StoreSetupScreen

            self.push_screen(StoreSetupScreen(location))

    def ask_passphrase(self, location: str) -> None:
        from tui.screens.dialogs import PromptDialog

        def answered(passphrase: str | None) -> None:
            if passphrase:
                self.open_store(location, passphrase)

        self.push_screen(
            PromptDialog("Open the store", f"Passphrase of the store at {location}", password=True),
            answered,
        )

    @work(exclusive=True, group="store-open", exit_on_error=False)
    async def open_store(self, location: str, passphrase: str) -> None:
        from core.store import Store

        store = await Store.open(location, passphrase, cache_dir=self.context.store_cache_dir)
        self.set_store(store)
        self.log_activity("open store", location, "ok")

    async def on_unmount(self) -> None:
        await self.reset_client()
        store, self.store = self.store, None
        close = getattr(store, "close", None)
        if close is not None:
            result = close()
            if hasattr(result, "__await__"):
                await result
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
        if event.worker.group == "store-open":
            from core.store.errors import StoreNotFoundError, WrongPassphraseError

            if isinstance(error, StoreNotFoundError):
                from tui.screens.setup import StoreSetupScreen

                self.push_screen(StoreSetupScreen(self.context.store_location))
                return

            location = self.context.store_location
            if isinstance(error, WrongPassphraseError) and location:
                self.log_activity("open store", location, "failed", "wrong passphrase")
                self.show_error(error, then=lambda: self.ask_passphrase(location))
                return
        self.show_error(error)

    # ------------------------------------------------------------------ actions

    _MAIN_ONLY = frozenset(
        {"backup", "restore", "copy_project", "store_care", "next_region", "show_tab", "profile"}
    )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Global actions apply on the main screen; wizards and dialogs keep their own keys."""
        if action in self._MAIN_ONLY:
            from tui.screens.main import MainScreen

            return isinstance(self.screen, MainScreen)
        return True

    def _main(self) -> Any:
        from tui.screens.main import MainScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def action_show_tab(self, tab: str) -> None:
        main = self._main()
        if main is not None:
            while self.screen is not main and len(self.screen_stack) > 1:
                self.pop_screen()
            main.show_tab(tab)

    def action_next_region(self) -> None:
        i = REGIONS.index(self.region) if self.region in REGIONS else -1
        self.set_region(REGIONS[(i + 1) % len(REGIONS)])
        self.notify(f"Region: {self.region}", timeout=2)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_sections()))

    def action_profile(self) -> None:
        from tui.screens.setup import ProfileScreen

        self.push_screen(ProfileScreen(first_run=False), self._after_profile)

    def action_backup(self) -> None:
        from tui.screens.actions import BackupScreen

        if self.project_id is None:
            self.notify("Pick a project first (Projects tab).", severity="warning")
            return
        main = self._main()
        picked = main.picked_secret_ids() if main is not None else []
        self.push_screen(BackupScreen(self.project_id, self.region, picked))

    def action_restore(self, snapshot_id: str | None = None) -> None:
        from tui.screens.actions import RestoreScreen

        if self.store is None:
            self.notify("Open or create a store first.", severity="warning")
            return
        if snapshot_id is None:
            main = self._main()
            snapshot_id = main.highlighted_snapshot_id() if main is not None else None
        self.push_screen(RestoreScreen(snapshot_id))

    def action_copy_project(self) -> None:
        from tui.screens.actions import CopyScreen

        if self.project_id is None:
            self.notify("Pick a project first (Projects tab).", severity="warning")
            return
        main = self._main()
        picked = main.picked_secret_ids() if main is not None else []
        self.push_screen(CopyScreen(self.project_id, self.region, picked))

    def action_store_care(self, tab: str = "check") -> None:
        from tui.screens.care import StoreCareScreen

        if self.store is None:
            from tui.screens.setup import StoreSetupScreen

            self.push_screen(StoreSetupScreen(self.context.store_location))
            return
        self.push_screen(StoreCareScreen(tab))

    def action_new_store(self) -> None:
        from tui.screens.setup import StoreSetupScreen

        self.push_screen(StoreSetupScreen(self.context.store_location))

    # ------------------------------------------------------------------ command palette

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Go to Projects",
            "The organization's projects (1)",
            lambda: self.action_show_tab("projects"),
        )
        yield SystemCommand(
            "Go to Secrets",
            "Secrets of the current project (2)",
            lambda: self.action_show_tab("secrets"),
        )
        yield SystemCommand(
            "Go to Snapshots",
            "The store's snapshots (3)",
            lambda: self.action_show_tab("snapshots"),
        )
        yield SystemCommand(
            "Go to Activity",
            "Operations of this session (4)",
            lambda: self.action_show_tab("activity"),
        )
        yield SystemCommand("Backup", "Back up the current project (b)", self.action_backup)
        yield SystemCommand(
            "Restore", "Restore from a snapshot: wizard with a plan (R)", self.action_restore
        )
        yield SystemCommand(
            "Copy project",
            "Copy a project to another project or region (C)",
            self.action_copy_project,
        )
        yield SystemCommand(
            "Store: check",
            "Verify the store's structure and data (m)",
            lambda: self.action_store_care("check"),
        )
        yield SystemCommand(
            "Store: retention",
            "Preview and apply forget + prune",
            lambda: self.action_store_care("retention"),
        )
        yield SystemCommand(
            "Store: passphrases",
            "Add or change a passphrase",
            lambda: self.action_store_care("keys"),
        )
        yield SystemCommand(
            "Store: locks", "List and remove stale locks", lambda: self.action_store_care("locks")
        )
        yield SystemCommand(
            "Store: create or open", "Create a new store or open another one", self.action_new_store
        )
        yield SystemCommand(
            "Profile", "Add or test a profile (credentials in the keyring) (p)", self.action_profile
        )
        for region in REGIONS:
            yield SystemCommand(
                f"Region: {region}",
                f"Switch the console to {region}",
                lambda r=region: self.set_region(r),
            )
        yield SystemCommand("Help", "Every key binding (?)", self.action_help)


def help_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (
            "Everywhere",
            [
                ("1 2 3 4", "Projects, Secrets, Snapshots, Activity"),
                ("b", "back up the current project (or the marked secrets)"),
                ("R", "restore wizard (from the highlighted snapshot)"),
                ("C", "copy the current project to another project or region"),
                ("m", "store care: check, retention, passphrases, locks"),
                ("g", "next region (fr-par, nl-ams, pl-waw)"),
                ("p", "add or test a profile"),
                ("ctrl+p", "command palette (every action; themes)"),
                ("? / F1", "this help"),
                ("q / ctrl+q", "quit"),
                ("esc", "close a dialog, go back"),
            ],
        ),
        (
            "Projects",
            [
                ("↑ ↓ enter", "highlight a project; enter opens its secrets"),
                ("i", "enter a project id (keys without ProjectReadOnly)"),
                ("ctrl+r", "reload"),
            ],
        ),
        (
            "Secrets browser (live project or snapshot)",
            [
                ("/", "filter as you type (name, path, tag, type, id); esc clears"),
                ("t", "folder tree"),
                ("v", "versions table (pick the revision to reveal or copy)"),
                ("r", "reveal the highlighted version for a few seconds"),
                ("c", "copy the highlighted version to the clipboard, unseen"),
                ("space", "mark a secret (backup, restore and copy take the marked ones)"),
                ("a", "mark or unmark every listed secret (live project)"),
            ],
        ),
        (
            "Snapshots",
            [
                ("enter", "browse the snapshot's tree"),
                ("space", "mark; with two marked, d shows their diff"),
                ("d", "diff the two marked snapshots"),
                ("/", "filter"),
            ],
        ),
        (
            "Wizards and progress",
            [
                ("tab / shift+tab", "next / previous field"),
                ("enter", "next step"),
                ("esc", "back; during a run, cancel (asks first)"),
            ],
        ),
    ]


def run(context: ConsoleContext) -> None:
    """Open the console (blocks until it quits)."""
    SecretKlosetApp(context).run()


__all__ = ["ActivityEntry", "SecretKlosetApp", "help_sections", "run"]
