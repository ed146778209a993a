"""The main screen: Projects, Secrets, Snapshots and Activity tabs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static, TabbedContent, TabPane

from core.scaleway.errors import PermissionDeniedError
from core.store import SnapshotHeader
from tui.actions import Section, Where, bindings
from tui.format import human_bytes, short_time
from tui.glyphs import ICON, NONE
from tui.messages import ActivityEntry, ActivityLogged, ProjectChanged, RunFinished, StoreChanged
from tui.screens.dialogs import PromptDialog
from tui.screens.jobs import JobsPane
from tui.screens.snapshot import DiffScreen, SnapshotScreen
from tui.session import Session
from tui.sources import LiveSource
from tui.widgets.browser import SecretsBrowser
from tui.widgets.snapshot_table import SNAPSHOT_COLUMNS, snapshot_row
from tui.widgets.vtable import Column, Row, VirtualTable
from tui.workers import ReportsFailures

__all__ = ["ActivityPane", "MainScreen", "ProjectsPane", "SecretsPane", "SnapshotsPane"]


class ProjectsPane(ReportsFailures, Vertical):
    """The organization's projects; the highlighted one's secret count and last snapshot."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.PROJECTS)

    def __init__(self, session: Session) -> None:
        super().__init__(id="projects-pane")
        self.session = session
        self._info_timer: Timer | None = None
        self.listed = False
        self.denied = False
        self.secret_counts: dict[tuple[str, str], int] = {}
        self.deleting_counts: dict[tuple[str, str], int] = {}
        self._browsing: tuple[str, str] | None = None  # what the secrets tab lists
        self._counting: tuple[str, str] | None = None  # what _load_info is listing

    def compose(self) -> ComposeResult:
        yield Static("", id="projects-banner")
        with Horizontal():
            yield VirtualTable(
                (Column("Project", 12, grow=1), Column("Id", 36), Column("Created", 16)),
                empty_text="Loading projects…",
                id="projects",
            )
            yield Static("", id="project-info")

    def on_mount(self) -> None:
        self.query_one("#projects-banner").display = False
        if self.session.context.has_credentials:
            self.load()

    def load(self) -> None:
        self._load_projects()

    @work(exclusive=True, group="projects", exit_on_error=False)
    async def _load_projects(self) -> None:
        session = self.session
        client = await session.get_client()
        table = self.query_one("#projects", VirtualTable)
        banner = self.query_one("#projects-banner", Static)
        rows: list[Row] = []
        try:
            async for p in client.list_projects(organization_id=session.context.organization_id):
                session.project_names[p.id] = p.name
                rows.append(Row(p.id, (p.name, p.id, short_time(p.created_at))))
            self.denied = False
            banner.display = False
        except PermissionDeniedError as err:
            self.denied = True
            needed = err.permission_set or "ProjectReadOnly"
            banner.update(
                Text.assemble(
                    ("This API key cannot list projects ", "bold"),
                    f"(it lacks {needed}). Showing the profile's default project; "
                    "press i to enter another project id.",
                )
            )
            banner.display = True
            default = session.context.default_project_id
            if default:
                rows.append(Row(default, ("(default project)", default, NONE)))
            session.log_activity("list projects", "organization", "denied", f"needs {needed}")
        for pid in list(session.project_names):
            if pid not in {r.key for r in rows} and session.project_names[pid] == "":
                rows.append(Row(pid, ("(entered id)", pid, NONE)))
        rows.sort(key=lambda r: r.cells[0].lower())
        table.empty_text = "No projects."
        table.set_rows(rows)
        self.listed = True
        if session.project_id is None and rows:
            session.project_id = rows[0].key
        if session.project_id is not None:
            table.move_to_key(session.project_id)
            if not session.project_name:
                session.project_name = session.project_names.get(session.project_id, "")
        self._show_info()

    @on(VirtualTable.Highlighted, "#projects")
    def _highlighted(self, event: VirtualTable.Highlighted) -> None:
        self._show_info()
        if self._info_timer is not None:
            self._info_timer.stop()
        if event.key is not None:
            key = event.key
            self._info_timer = self.set_timer(0.3, lambda: self._load_info(key))

    @on(VirtualTable.Selected, "#projects")
    def _selected(self, event: VirtualTable.Selected) -> None:
        session = self.session
        session.set_project(event.key, session.project_names.get(event.key, ""))
        screen = self.screen
        if isinstance(screen, MainScreen):
            screen.show_tab("secrets")

    def refresh_info(self) -> None:
        key = self.query_one("#projects", VirtualTable).cursor_key
        self._show_info()
        if key is not None:
            self._load_info(key)

    @work(exclusive=True, group="project-info", exit_on_error=False)
    async def _load_info(self, project_id: str) -> None:
        session = self.session
        region = session.region
        last: datetime | None = None
        target = (project_id, region)
        if target not in self.secret_counts:  # counted once (ctrl+r recounts)
            # The secrets tab listing the same project counts it too (take_counts): a second
            # listing of 50,000 secrets beside it would only halve its speed. It says so when
            # it starts (browsing, which cancels this worker); checked here too.
            if self._listed_by_browser(project_id, region):
                return
            client = await session.get_client()
            count = 0
            deleting = 0
            self._counting = target
            try:
                async for _ in client.list_secrets(region, project_id=project_id):
                    count += 1
                    if count % 100 == 0 and self._listed_by_browser(project_id, region):
                        return
                async for _ in client.list_secrets(
                    region, project_id=project_id, scheduled_for_deletion=True
                ):
                    deleting += 1
            finally:
                self._counting = None
            self.secret_counts[target] = count
            self.deleting_counts[target] = deleting
        if session.store is not None:
            snaps = await session.store.list_snapshots(project=project_id, region=region)
            if snaps:
                last = max(s.time for s in snaps)
        self._show_info(project_id, last, loaded=True)

    def _listed_by_browser(self, project_id: str, region: str) -> bool:
        """Whether the secrets tab is listing (or listed) this project in this region."""
        return self._browsing == (project_id, region)

    def browsing(self, project_id: str, region: str) -> None:
        """The secrets tab starts listing this project: a count of it here stops at once."""
        self._browsing = (project_id, region)
        if self._counting == self._browsing:
            self.workers.cancel_group(self, "project-info")

    def take_counts(self, project_id: str, region: str, count: int, deleting: int) -> None:
        """Counts the secrets tab found by listing the project (no second listing needed)."""
        self.secret_counts[(project_id, region)] = count
        self.deleting_counts[(project_id, region)] = deleting
        if self.query_one("#projects", VirtualTable).cursor_key == project_id:
            self.refresh_info()

    def _show_info(
        self, project_id: str | None = None, last: datetime | None = None, *, loaded: bool = False
    ) -> None:
        session = self.session
        key = self.query_one("#projects", VirtualTable).cursor_key
        panel = self.query_one("#project-info", Static)
        if key is None:
            panel.update(Text("No project highlighted.", style="italic"))
            return
        t = Text()
        t.append((session.project_names.get(key) or "(name unknown)") + "\n", style="bold")
        t.append(f"{key}\n\n", style="dim")
        t.append("region   ", style="bold")
        t.append(f"{session.region}   (g switches)\n")
        count = self.secret_counts.get((key, session.region))
        t.append("secrets  ", style="bold")
        t.append("…" if count is None else str(count))
        deleting = self.deleting_counts.get((key, session.region))
        if deleting:
            t.append(" ")
            t.append(f"+ {deleting} deleting", style="yellow")
        t.append("\n")
        t.append("last     ", style="bold")
        if session.store is None:
            t.append("no store open\n", style="dim")
        elif loaded and project_id == key:
            t.append((short_time(last) if last else "never backed up") + "\n")
        else:
            t.append("…\n")
        t.append("\nenter  browse its secrets\nb      back it up\nC      copy it\n", style="dim")
        panel.update(t)

    def action_reload(self) -> None:
        self.secret_counts.clear()
        self.deleting_counts.clear()
        self.load()

    def action_enter_project_id(self) -> None:
        def answered(value: str | None) -> None:
            if not value:
                return
            pid = value.strip().lower()
            try:
                uuid.UUID(pid)
            except ValueError:
                self.notify("A project id is a UUID (xxxxxxxx-xxxx-…).", severity="error")
                return
            session = self.session
            session.project_names.setdefault(pid, "")
            table = self.query_one("#projects", VirtualTable)
            if table.get_row(pid) is None:
                table.set_rows([*table.rows, Row(pid, ("(entered id)", pid, NONE))])
            table.move_to_key(pid)
            session.set_project(pid)

        self.app.push_screen(
            PromptDialog(
                "Open a project by id",
                "Project id (UUID):",
                placeholder="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            ),
            answered,
        )


class SecretsPane(ReportsFailures, Vertical):
    """The current project's secrets (live, from the API)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.SECRETS)

    def __init__(self, session: Session) -> None:
        super().__init__(id="secrets-pane")
        self.session = session
        self.loaded_for: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield SecretsBrowser(session=self.session, markable=True, id="live-browser")

    @property
    def browser(self) -> SecretsBrowser:
        return self.query_one("#live-browser", SecretsBrowser)

    def ensure_loaded(self, force: bool = False) -> None:
        session = self.session
        if session.project_id is None:
            return
        target = (session.project_id, session.region)
        if target == self.loaded_for and not force:
            return
        self.loaded_for = target
        for pane in self.screen.query(ProjectsPane):
            pane.browsing(*target)
        self._open(session.project_id, session.region, session.project_name)

    @work(exclusive=True, group="secrets-open", exit_on_error=False)
    async def _open(self, project_id: str, region: str, name: str) -> None:
        session = self.session
        client = await session.get_client()
        self.browser.load(LiveSource(client, region, project_id, name))

    def action_reload(self) -> None:
        self.ensure_loaded(force=True)

    @on(SecretsBrowser.Loaded, "#live-browser")
    def _listed(self, event: SecretsBrowser.Loaded) -> None:
        source = event.browser.source
        if not isinstance(source, LiveSource):
            return
        deleting = sum(1 for e in event.browser.entries.values() if e.scheduled_for_deletion)
        for pane in self.screen.query(ProjectsPane):
            pane.take_counts(source.project_id, source.region, event.count - deleting, deleting)

    def action_mark_all(self) -> None:
        t = self.browser.table
        t.mark_all(not (t.marked and len(t.marked) >= t.row_count))


class SnapshotsPane(ReportsFailures, Vertical):
    """The store's snapshots; open one, or mark two and diff them."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.SNAPSHOTS)

    def __init__(self, session: Session) -> None:
        super().__init__(id="snapshots-pane")
        self.session = session
        self.headers: dict[str, SnapshotHeader] = {}

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="/ filter: project, region, tag, environment, id…", id="snapshot-filter"
        )
        yield VirtualTable(
            SNAPSHOT_COLUMNS, markable=True, empty_text="No store open.", id="snapshots"
        )
        yield Static("", id="snapshot-info")

    def on_mount(self) -> None:
        session = self.session
        if session.store is not None:
            self.load()

    def load(self) -> None:
        self._load()

    @work(exclusive=True, group="snapshots", exit_on_error=False)
    async def _load(self) -> None:
        session = self.session
        store = session.require_store()
        headers = await store.list_snapshots()
        headers = sorted(headers, key=lambda h: h.time, reverse=True)
        self.headers = {h.id: h for h in headers}
        table = self.query_one("#snapshots", VirtualTable)
        table.empty_text = "No snapshots yet: press b to back up the current project."
        table.set_rows([snapshot_row(h) for h in headers])

    @on(VirtualTable.Highlighted, "#snapshots")
    def _highlighted(self, event: VirtualTable.Highlighted) -> None:
        info = self.query_one("#snapshot-info", Static)
        h = self.headers.get(event.key or "")
        if h is None:
            info.update("")
            return
        s = h.summary
        t = Text()
        t.append(f"{h.id}\n", style="bold")
        t.append(
            f"{short_time(h.time)} · {h.host or '?'} · secret-kloset {h.tool_version or '?'}"
            f" · parent {h.parent[:8] if h.parent else NONE}\n"
        )
        t.append(
            f"{s.secrets} secrets, {s.versions} versions ({s.versions_read} read, "
            f"{s.versions_reused} reused) · {human_bytes(s.payload_bytes)} of data · "
            f"{human_bytes(s.bytes_added)} added\n"
        )
        if h.errors:
            t.append(f"{len(h.errors)} secrets failed: ", style="yellow")
            t.append(
                ", ".join(f"{e.secret_id[:8]} ({e.message})" for e in h.errors[:3]) + "\n",
                style="yellow",
            )
        t.append("enter browse · space mark · d diff two marked · R restore", style="dim")
        info.update(t)

    @on(VirtualTable.Selected, "#snapshots")
    def _selected(self, event: VirtualTable.Selected) -> None:
        h = self.headers.get(event.key)
        if h is not None:
            self.app.push_screen(SnapshotScreen(h, self.session))

    @on(Input.Changed, "#snapshot-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.query_one("#snapshots", VirtualTable).set_filter(event.value)

    @on(Input.Submitted, "#snapshot-filter")
    def _filter_done(self) -> None:
        self.query_one("#snapshots", VirtualTable).focus()

    def action_filter(self) -> None:
        self.query_one("#snapshot-filter", Input).focus()

    def action_clear_filter(self) -> None:
        inp = self.query_one("#snapshot-filter", Input)
        inp.value = ""
        self.query_one("#snapshots", VirtualTable).focus()

    def action_reload(self) -> None:
        self.load()

    def action_diff(self) -> None:
        table = self.query_one("#snapshots", VirtualTable)
        marked = [k for k in table.visible_keys() if k in table.marked] or sorted(table.marked)
        if len(marked) != 2:
            self.notify("Mark exactly two snapshots (space), then press d.", severity="warning")
            return
        a, b = (self.headers[k] for k in marked)
        older, newer = sorted((a, b), key=lambda h: h.time)
        self.app.push_screen(DiffScreen(self.session, older, newer))

    def highlighted(self) -> str | None:
        return self.query_one("#snapshots", VirtualTable).cursor_key


class ActivityPane(Vertical):
    """Operations run in this session and their outcomes (names and ids only)."""

    def __init__(self, session: Session) -> None:
        super().__init__(id="activity-pane")
        self.session = session

    def compose(self) -> ComposeResult:
        yield VirtualTable(
            (
                Column("Time", 8),
                Column("Operation", 14),
                Column("Target", 12, grow=2),
                Column("Outcome", 9),
                Column("Detail", 10, grow=3),
            ),
            empty_text="Nothing done yet in this session.",
            id="activity",
        )

    def on_mount(self) -> None:
        session = self.session
        self.refresh_rows(session.activity)

    def refresh_rows(self, entries: list[ActivityEntry]) -> None:
        rows: list[Row] = []
        for i, e in enumerate(reversed(entries)):
            style = {"failed": "bad", "denied": "bad", "partial": "warn", "cancelled": "warn"}.get(
                e.outcome, ""
            )
            rows.append(
                Row(
                    str(len(entries) - i),
                    (e.time.strftime("%H:%M:%S"), e.operation, e.target, e.outcome, e.detail),
                    style=style,
                )
            )
        self.query_one("#activity", VirtualTable).set_rows(rows, keep_cursor=False)


class MainScreen(Screen[None]):
    """Tabs for the four places of the console."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        with TabbedContent(initial="tab-projects", id="tabs"):
            with TabPane("1 Projects", id="tab-projects"):
                yield ProjectsPane(self.session)
            with TabPane("2 Secrets", id="tab-secrets"):
                yield SecretsPane(self.session)
            with TabPane("3 Snapshots", id="tab-snapshots"):
                yield SnapshotsPane(self.session)
            with TabPane("4 Activity", id="tab-activity"):
                yield ActivityPane(self.session)
            with TabPane("5 Jobs", id="tab-jobs"):
                yield JobsPane(self.session)
        yield Footer(show_command_palette=False)

    def show_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = f"tab-{tab}"
        self._focus_tab(tab)

    def _focus_tab(self, tab: str) -> None:
        target = {
            "projects": "#projects",
            "secrets": "#live-browser #secrets",
            "snapshots": "#snapshots",
            "activity": "#activity",
            "jobs": "#job-policies",
        }[tab]
        if tab == "secrets":
            self.query_one(SecretsPane).ensure_loaded()
        tabs = self.query_one("#tabs", TabbedContent)

        def focus_if_still_there() -> None:
            # A quick 3-then-4 must not let the first tab's deferred focus pull it back.
            if tabs.active == f"tab-{tab}":
                self.query_one(target).focus()

        self.call_after_refresh(focus_if_still_there)

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tab = (event.pane.id or "tab-projects").removeprefix("tab-")
        self._focus_tab(tab)

    def on_mount(self) -> None:
        self.call_after_refresh(lambda: self.query_one("#projects").focus())

    @on(ProjectChanged)
    def _project_changed(self) -> None:
        pane = self.query_one(ProjectsPane)
        if not pane.listed:
            pane.load()
        else:
            pane.refresh_info()
        if self.query_one("#tabs", TabbedContent).active == "tab-secrets":
            self.query_one(SecretsPane).ensure_loaded()

    @on(RunFinished)
    def _run_finished(self, event: RunFinished) -> None:
        if event.store_changed:
            self._store_changed()

    @on(StoreChanged)
    def _store_changed(self) -> None:
        self.query_one(SnapshotsPane).load()
        projects = self.query_one(ProjectsPane)
        projects.secret_counts.clear()  # a restore or a copy may have added secrets
        projects.deleting_counts.clear()
        projects.refresh_info()

    @on(ActivityLogged)
    def _activity(self) -> None:
        session = self.session
        self.query_one(ActivityPane).refresh_rows(session.activity)

    def picked_secret_ids(self) -> list[str]:
        session = self.session
        pane = self.query_one(SecretsPane)
        if pane.loaded_for != (session.project_id, session.region):
            return []
        return pane.browser.marked_ids

    def help_place(self) -> Section | None:
        """The help section of the tab in front."""
        return {
            "tab-projects": Section.PROJECTS,
            "tab-secrets": Section.BROWSER,
            "tab-snapshots": Section.SNAPSHOTS,
        }.get(str(self.query_one("#tabs", TabbedContent).active))

    def highlighted_live_version(self) -> tuple[str, int] | None:
        """(secret id, revision) of the live version row under the cursor, when the Secrets
        tab is in front and its versions table has the focus."""
        if self.query_one("#tabs", TabbedContent).active != "tab-secrets":
            return None
        browser = self.query_one(SecretsPane).browser
        version, entry = browser.highlighted_version(), browser.current
        if version is None or entry is None:
            return None
        return entry.id, version.revision

    def highlighted_snapshot_id(self) -> str | None:
        """The snapshot under the cursor, when the Snapshots tab is the one in front."""
        if self.query_one("#tabs", TabbedContent).active != "tab-snapshots":
            return None
        return self.query_one(SnapshotsPane).highlighted()
