"""First-run screens: add a profile (credentials in the OS keyring), create or open a store."""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    Select,
    Static,
)
from textual.worker import Worker, WorkerState

from core.credentials import (
    BackendStatus,
    Credentials,
    ProfileStore,
    check_backend,
    resolve_credentials,
)
from core.credentials.keyring_store import get_secret_key_async, set_store_passphrase_async
from core.credentials.profiles import Profile, add_profile
from core.credentials.scw_config import import_scw_profile
from core.engine.preflight import PreflightReport, preflight
from core.scaleway.models import REGIONS
from core.store import Store
from tui.actions import Where, bindings
from tui.errors import failure_text
from tui.glyphs import BAR_OFF, BAR_ON, FAIL, ICON, OK
from tui.screens.dialogs import ConfirmDialog
from tui.session import Session
from tui.widgets.wrapping import Checkbox
from tui.workers import ReportsFailures


def store_exists(location: str) -> bool:
    """Whether something that looks like a store is at ``location`` (local paths only; remote
    locations are tried, and a missing store is reported by the open itself)."""
    if "://" in location:
        return True
    path = Path(location).expanduser()
    return path.is_dir() and any(path.iterdir())


def passphrase_strength(passphrase: str) -> tuple[int, str]:
    """A rough entropy estimate in bits and a word for it (length times alphabet size)."""
    if not passphrase:
        return 0, "empty"
    pools = 0
    if any(c in string.ascii_lowercase for c in passphrase):
        pools += 26
    if any(c in string.ascii_uppercase for c in passphrase):
        pools += 26
    if any(c in string.digits for c in passphrase):
        pools += 10
    if any(c in string.punctuation or c == " " for c in passphrase):
        pools += 33
    if any(ord(c) > 127 for c in passphrase):
        pools += 100
    distinct = len(set(passphrase))
    # Repeated characters add little: count at most the distinct ones twice.
    effective = min(len(passphrase), distinct * 2)
    bits = int(effective * math.log2(max(pools, 2)))
    if bits < 40:
        word = "weak"
    elif bits < 60:
        word = "fair"
    elif bits < 80:
        word = "good"
    else:
        word = "strong"
    return bits, word


@dataclass(frozen=True, slots=True)
class ProfileFields:
    """What the profile form holds (the secret key never leaves this screen but to the
    keyring or a test client)."""

    name: str
    access_key: str | None
    secret_key: str
    organization_id: str | None
    default_project_id: str | None
    default_region: str
    api_url: str | None

    def __repr__(self) -> str:  # never the secret key
        return f"ProfileFields(name={self.name!r})"

    def profile(self) -> Profile:
        return Profile(
            name=self.name,
            access_key=self.access_key,
            organization_id=self.organization_id,
            default_project_id=self.default_project_id,
            default_region=self.default_region,
            api_url=self.api_url,
        )


class ProfileScreen(ReportsFailures, Screen[bool]):
    """Add a profile: fields, keyring status, import from the scw config, test connection."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.PROFILE)

    def __init__(self, session: Session, first_run: bool = False) -> None:
        super().__init__()
        self.session = session
        self.first_run = first_run
        self.keyring_ok: bool | None = None
        self.saved = False
        self.last_report: PreflightReport | None = None
        self.existing: str | None = None  # the profile being edited (its key is in the keyring)

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        with VerticalScroll(id="profile-form", classes="form"):
            if self.first_run:
                yield Static(
                    Text.assemble(
                        ("Welcome to secret-kloset. ", "bold"),
                        "No credentials were found: add a profile. The secret key goes to the OS "
                        "keyring, the other fields to a config file. Or import a profile from the "
                        "scw CLI's config file.",
                    ),
                    classes="intro",
                )
            yield Static("Checking the OS keyring…", id="keyring-status")
            yield Label("Profile name")
            yield Input(compact=True, value="default", id="profile-name")
            yield Label("Access key (SCW…)")
            yield Input(compact=True, placeholder="SCWXXXXXXXXXXXXXXXXX", id="access-key")
            yield Label("Secret key (hidden)")
            yield Input(
                compact=True,
                password=True,
                placeholder="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                id="secret-key",
            )
            yield Label("Organization id")
            yield Input(
                compact=True,
                placeholder="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                id="organization-id",
            )
            yield Label("Default project id")
            yield Input(
                compact=True, placeholder="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", id="project-id"
            )
            yield Label("Default region")
            yield Select(
                [(r, r) for r in REGIONS],
                compact=True,
                value=REGIONS[0],
                allow_blank=False,
                id="region",
            )
            yield Label("API URL (empty: https://api.scaleway.com)")
            yield Input(compact=True, id="api-url")
            with Horizontal(classes="buttons"):
                yield Button("Test connection", id="test", compact=True)
                yield Button("Import from scw config", id="import", compact=True)
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static("", id="test-result")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self._check_keyring()
        ctx = self.session.context
        if ctx.profile_name:
            self._prefill(ctx.profile_name)
        elif ctx.demo_api_url or ctx.client_options.get("transport") is not None:
            # The demo: prefill the emulator's demo credentials so "test" works at once.
            # Lazy: the emulator's demo world is loaded only in the demo.
            from core.emulator.demo import (
                DEMO_ACCESS_KEY,
                DEMO_ORGANIZATION_ID,
                DEMO_SECRET_KEY,
            )

            self.query_one("#access-key", Input).value = DEMO_ACCESS_KEY
            self.query_one("#secret-key", Input).value = DEMO_SECRET_KEY
            self.query_one("#organization-id", Input).value = DEMO_ORGANIZATION_ID
            self.query_one("#project-id", Input).value = ctx.default_project_id or ""
            # The demo's emulator process; an in-process one answers any URL.
            self.query_one("#api-url", Input).value = ctx.demo_api_url or "http://emulator.invalid"
        self.query_one("#access-key", Input).focus()

    @work(thread=True, exclusive=True, group="profile-prefill", exit_on_error=False)
    def _prefill(self, name: str) -> None:
        """Editing the current profile: its fields; its secret key stays in the keyring."""
        profile = ProfileStore().find(name)
        if profile is not None:
            self.app.call_from_thread(self._show_profile, profile)

    def _show_profile(self, profile: Profile) -> None:
        self.existing = profile.name
        self.query_one("#profile-name", Input).value = profile.name
        for wid, value in (
            ("access-key", profile.access_key),
            ("organization-id", profile.organization_id),
            ("project-id", profile.default_project_id),
            ("api-url", profile.api_url),
        ):
            self.query_one(f"#{wid}", Input).value = value or ""
        if profile.default_region in REGIONS:
            self.query_one("#region", Select).value = profile.default_region
        self.query_one(
            "#secret-key", Input
        ).placeholder = "kept in the keyring (type a new one to replace it)"

    @work(thread=True, exclusive=True, group="keyring-check", exit_on_error=False)
    def _check_keyring(self) -> None:
        status = check_backend()
        self.app.call_from_thread(self._show_keyring, status)

    def _show_keyring(self, status: BackendStatus) -> None:
        widget = self.query_one("#keyring-status", Static)
        self.keyring_ok = bool(status.usable)
        if status.usable:
            widget.update(Text(f"{OK} OS keyring: {status.description}", style="green"))
            widget.set_class(False, "-bad")
        else:
            widget.update(
                Text.assemble(
                    (f"{FAIL} No safe OS keyring: ", "bold red"),
                    (f"{status.reason}.\n", "red"),
                    ("Fix: ", "bold"),
                    f"{status.hint}.\n",
                    (
                        "Saving is disabled until then; secrets are never written in clear text.",
                        "italic",
                    ),
                )
            )
            widget.set_class(True, "-bad")
            self.query_one("#save", Button).disabled = True
            self.query_one("#import", Button).disabled = True

    def _fields(self) -> ProfileFields:
        def value(wid: str) -> str | None:
            text = self.query_one(f"#{wid}", Input).value.strip()
            return text or None

        region = self.query_one("#region", Select).value
        return ProfileFields(
            name=value("profile-name") or "default",
            access_key=value("access-key"),
            secret_key=self.query_one("#secret-key", Input).value.strip(),
            organization_id=value("organization-id"),
            default_project_id=value("project-id"),
            default_region=str(region) if isinstance(region, str) else REGIONS[0],
            api_url=value("api-url"),
        )

    # -------------------------------------------------------------- test connection

    @on(Button.Pressed, "#test")
    def action_test(self) -> None:
        f = self._fields()
        if not f.secret_key and f.name != self.existing:
            self.notify("Enter the secret key first.", severity="warning")
            return
        if not f.default_project_id:
            self.notify(
                "Enter the default project id: the test checks that project.", severity="warning"
            )
            return
        self.query_one("#test-result", Static).update(Text("Testing…", style="italic"))
        self._test(f)

    def _test(self, f: ProfileFields) -> None:
        self._test_worker(f)

    @on(Worker.StateChanged)
    def _test_ended(self, event: Worker.StateChanged) -> None:
        """A failed or cancelled test ends its status line in the outcome (not "Testing…")."""
        if event.worker.group != "profile-test":
            return
        if event.state == WorkerState.ERROR:
            self.query_one("#test-result", Static).update(
                Text(f"{FAIL} Test failed: {failure_text(event.worker.error)}", style="bold red")
            )
        elif event.state == WorkerState.CANCELLED:
            self.query_one("#test-result", Static).update(Text("Test cancelled.", style="yellow"))

    @work(exclusive=True, group="profile-test", exit_on_error=False)
    async def _test_worker(self, f: ProfileFields) -> None:
        profile = f.profile().validated()
        ctx = self.session.context
        secret_key = f.secret_key
        if not secret_key:  # the edited profile's key, from the keyring
            secret_key = await get_secret_key_async(profile.name) or ""
        client = ctx.make_client(
            secret_key,
            api_url=profile.api_url,
            organization_id=profile.organization_id,
            default_project_id=profile.default_project_id,
            default_region=profile.default_region or REGIONS[0],
        )
        async with client:
            report = await preflight(
                client,
                operation="restore",
                region=profile.default_region or REGIONS[0],
                project_id=profile.default_project_id or "",
                organization_id=profile.organization_id,
            )
        self.last_report = report
        self._show_report(report)

    def _show_report(self, report: PreflightReport) -> None:
        table = Table(title="Permission sets", title_justify="left", box=None, expand=False)
        table.add_column("set")
        table.add_column("status")
        table.add_column("needed for")
        for name in report.required:
            state = report.results.get(name, "unknown")
            style = {"present": "green", "missing": "red"}.get(state, "yellow")
            needed = (
                "backup, restore"
                if name in ("SecretManagerReadOnly", "SecretManagerSecretAccess")
                else "restore, copy"
            )
            table.add_row(name, Text(state, style=style), needed)
        table.add_row(
            "ProjectReadOnly",
            Text(
                "present" if report.project_names else "missing",
                style="green" if report.project_names else "yellow",
            ),
            "project names (optional)",
        )
        summary = Text(
            f"{OK} Connection works: every permission set is present."
            if report.ok and report.project_names
            else (
                f"{OK} Connection works."
                if report.ok
                else f"Connection works, but {len(report.missing)} permission set(s) are missing."
            ),
            style="bold green" if report.ok else "bold yellow",
        )
        notes = Text("\n".join(report.notes), style="dim")
        self.query_one("#test-result", Static).update(Group(summary, table, notes))

    # -------------------------------------------------------------- save / import

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.keyring_ok is False:
            self.notify("No safe keyring: see the message at the top.", severity="error")
            return
        f = self._fields()
        if not f.secret_key and f.name != self.existing:
            self.notify("The secret key is required.", severity="warning")
            return
        self._save(f)

    @work(thread=True, exclusive=True, group="profile-save", exit_on_error=False)
    def _save(self, f: ProfileFields) -> None:
        profile = add_profile(
            f.profile(),
            f.secret_key or None,  # None: keep the key already in the keyring
            make_default=True,
            replace_existing=True,
        )
        creds = resolve_credentials(profile.name)
        self.app.call_from_thread(self._use, creds, f"profile {profile.name!r} saved")

    @on(Button.Pressed, "#import")
    def _import(self) -> None:
        self._import_worker(self.query_one("#profile-name", Input).value.strip() or None)

    @work(thread=True, exclusive=True, group="profile-save", exit_on_error=False)
    def _import_worker(self, name: str | None) -> None:
        profile = import_scw_profile(name=name, make_default=True, replace_existing=True)
        creds = resolve_credentials(profile.name)
        self.app.call_from_thread(
            self._use, creds, f"profile {profile.name!r} imported from the scw config"
        )

    def _use(self, creds: Credentials, message: str) -> None:
        session = self.session
        session.use_credentials(creds)
        self.saved = True
        session.log_activity("profile", creds.profile or "?", "ok", message)
        self.notify(message)
        self._reset_and_close()

    @work(exclusive=True, group="profile-reset", exit_on_error=False)
    async def _reset_and_close(self) -> None:
        await self.session.reset_client()
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(self.saved)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()


class StoreSetupScreen(ReportsFailures, Screen[bool]):
    """Create a store (location, passphrase twice, strength) or open an existing one."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.STORE_SETUP)

    def __init__(self, session: Session, location: str | None) -> None:
        super().__init__()
        self.session = session
        self.location = location

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        with VerticalScroll(id="store-form", classes="form"):
            yield Static(
                Text.assemble(
                    ("The snapshot store ", "bold"),
                    "keeps your backups, encrypted with a passphrase (a key slot: you can add "
                    "and change passphrases later). Create a new store, or open an existing one. "
                    "A location is a directory, s3://bucket/prefix, or memory://name.",
                ),
                classes="intro",
            )
            yield Label("Location")
            yield Input(compact=True, value=self.location or "", id="location")
            yield Label("Passphrase")
            yield Input(compact=True, password=True, id="passphrase")
            yield Static("", id="strength")
            yield Label("Passphrase again (only to create)")
            yield Input(compact=True, password=True, id="passphrase2")
            yield Checkbox(
                "Remember the passphrase in the OS keyring (this profile)",
                value=False,
                id="remember",
            )
            with Horizontal(classes="buttons"):
                yield Button("Create store", variant="primary", id="create", compact=True)
                yield Button("Open store", id="open", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static("", id="store-result")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        if not self.session.context.profile_name:
            self.query_one("#remember", Checkbox).display = False
        self.query_one("#passphrase" if self.location else "#location", Input).focus()

    @on(Input.Changed, "#passphrase")
    def _strength(self, event: Input.Changed) -> None:
        bits, word = passphrase_strength(event.value)
        style = {"weak": "red", "fair": "yellow", "good": "green", "strong": "bold green"}.get(
            word, "dim"
        )
        bar = BAR_ON * min(10, bits // 10) + BAR_OFF * max(0, 10 - bits // 10)
        self.query_one("#strength", Static).update(
            Text.assemble(
                "strength ", (f"{bar} {word}", style), f"  (~{bits} bits)" if bits else ""
            )
        )

    def _values(self) -> tuple[str, str, str]:
        return (
            self.query_one("#location", Input).value.strip(),
            self.query_one("#passphrase", Input).value,
            self.query_one("#passphrase2", Input).value,
        )

    @on(Button.Pressed, "#create")
    def _create(self) -> None:
        location, p1, p2 = self._values()
        if not location:
            self.notify("Enter a location.", severity="warning")
            return
        if not p1:
            self.notify("Enter a passphrase.", severity="warning")
            return
        if p1 != p2:
            self.notify("The two passphrases differ.", severity="error")
            return
        bits, word = passphrase_strength(p1)
        if word == "weak":

            def answered(yes: bool | None) -> None:
                if yes:
                    self._start_create(location, p1)

            self.app.push_screen(
                ConfirmDialog(
                    "Use a weak passphrase?",
                    f"The passphrase is weak (~{bits} bits): anyone who gets the store's files "
                    "could guess it. A longer one (four or more random words) is far safer, "
                    "and the passphrase cannot be recovered if lost.",
                    yes="Use it anyway",
                    no="Choose another",
                ),
                answered,
            )
            return
        self._start_create(location, p1)

    def _start_create(self, location: str, passphrase: str) -> None:
        self.query_one("#store-result", Static).update(Text("Creating the store…", style="italic"))
        self._run(location, passphrase, create=True)

    @on(Button.Pressed, "#open")
    def _open(self) -> None:
        location, p1, _ = self._values()
        if not location or not p1:
            self.notify("Enter the location and the passphrase.", severity="warning")
            return
        self.query_one("#store-result", Static).update(Text("Opening the store…", style="italic"))
        self._run(location, p1, create=False)

    @work(exclusive=True, group="store-setup", exit_on_error=False)
    async def _run(self, location: str, passphrase: str, create: bool) -> None:
        session = self.session
        ctx = session.context
        try:
            if create:
                store = await Store.init(
                    location, passphrase, cache_dir=ctx.store_cache_dir, **ctx.store_init_options
                )
            else:
                store = await Store.open(location, passphrase, cache_dir=ctx.store_cache_dir)
        except Exception:
            self.query_one("#store-result", Static).update("")
            raise
        if self.query_one("#remember", Checkbox).value and ctx.profile_name:
            await set_store_passphrase_async(ctx.profile_name, passphrase)
        ctx.store_location = location
        session.set_store(store)
        session.log_activity("create store" if create else "open store", location, "ok")
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()


__all__ = [
    "ProfileFields",
    "ProfileScreen",
    "StoreSetupScreen",
    "passphrase_strength",
    "store_exists",
]
