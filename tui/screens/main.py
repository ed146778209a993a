"""The main screen: Projects, Secrets, Snapshots and Activity tabs."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static, TabbedContent, TabPane

from tui.app import ICON, ActivityEntry, SecretKlosetApp
from tui.sources import LiveSource, snapshot_source_text
from tui.widgets.browser import SecretsBrowser, short_time
from tui.widgets.vtable import Column, Row, VirtualTable
from tui.workers import ReportsFailures


def human_bytes(n: int | float | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


class ProjectsPane(ReportsFailures, Vertical):
    """The organization's projects; the highlighted one's secret count and last snapshot."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "enter_project_id", "Project id"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__(id="projects-pane")
        self._info_timer: Timer | None = None
        self.listed = False
        self.denied = False
        self.secret_counts: dict[tuple[str, str], int] = {}
        self.deleting_counts: dict[tuple[str, str], int] = {}

    @property
    def kapp(self) -> SecretKlosetApp:
        app = self.app
        assert isinstance(app, SecretKlosetApp)
        return app

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
        if self.kapp.context.has_credentials:
            self.load()

    def load(self) -> None:
        self._load_projects()

    @work(exclusive=True, group="projects", exit_on_error=False)
    async def _load_projects(self) -> None:
        from core.scaleway.errors import PermissionDeniedError

        app = self.kapp
        client = await app.get_client()
        table = self.query_one("#projects", VirtualTable)
        banner = self.query_one("#projects-banner", Static)
        rows: list[Row] = []
        try:
            async for p in client.list_projects(organization_id=app.context.organization_id):
                app.project_names[p.id] = p.name
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
            default = app.context.default_project_id
            if default:
                rows.append(Row(default, ("(default project)", default, "—")))
            app.log_activity("list projects", "organization", "denied", f"needs {needed}")
        for pid in list(app.project_names):
            if pid not in {r.key for r in rows} and app.project_names[pid] == "":
                rows.append(Row(pid, ("(entered id)", pid, "—")))
        rows.sort(key=lambda r: r.cells[0].lower())
        table.empty_text = "No projects."
        table.set_rows(rows)
        self.listed = True
        if app.project_id is None and rows:
            app.project_id = rows[0].key
        if app.project_id is not None:
            table.move_to_key(app.project_id)
            if not app.project_name:
                app.project_name = app.project_names.get(app.project_id, "")
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
        app = self.kapp
        app.set_project(event.key, app.project_names.get(event.key, ""))
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
        app = self.kapp
        region = app.region
        info: dict[str, Any] = {}
        if (project_id, region) not in self.secret_counts:  # counted once (ctrl+r recounts)
            client = await app.get_client()
            count = 0
            deleting = 0
            async for _ in client.list_secrets(region, project_id=project_id):
                count += 1
            async for _ in client.list_secrets(
                region, project_id=project_id, scheduled_for_deletion=True
            ):
                deleting += 1
            self.secret_counts[(project_id, region)] = count
            self.deleting_counts[(project_id, region)] = deleting
        if app.store is not None:
            snaps = await app.store.list_snapshots(project=project_id, region=region)
            if snaps:
                info["last"] = max(s.time for s in snaps)
        self._show_info(project_id, info)

    def _show_info(self, project_id: str | None = None, info: dict[str, Any] | None = None) -> None:
        app = self.kapp
        key = self.query_one("#projects", VirtualTable).cursor_key
        panel = self.query_one("#project-info", Static)
        if key is None:
            panel.update(Text("No project highlighted.", style="italic"))
            return
        t = Text()
        t.append((app.project_names.get(key) or "(name unknown)") + "\n", style="bold")
        t.append(f"{key}\n\n", style="dim")
        t.append("region   ", style="bold")
        t.append(f"{app.region}   (g switches)\n")
        count = self.secret_counts.get((key, app.region))
        t.append("secrets  ", style="bold")
        t.append("…" if count is None else str(count))
        deleting = self.deleting_counts.get((key, app.region))
        if deleting:
            t.append(" ")
            t.append(f"+ {deleting} deleting", style="yellow")
        t.append("\n")
        t.append("last     ", style="bold")
        if app.store is None:
            t.append("no store open\n", style="dim")
        elif info is not None and project_id == key:
            last = info.get("last")
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
        from tui.screens.dialogs import PromptDialog

        def answered(value: str | None) -> None:
            if not value:
                return
            pid = value.strip().lower()
            import uuid

            try:
                uuid.UUID(pid)
            except ValueError:
                self.notify("A project id is a UUID (xxxxxxxx-xxxx-…).", severity="error")
                return
            app = self.kapp
            app.project_names.setdefault(pid, "")
            table = self.query_one("#projects", VirtualTable)
            if table.get_row(pid) is None:
                table.set_rows([*table.rows, Row(pid, ("(entered id)", pid, "—"))])
            table.move_to_key(pid)
            app.set_project(pid)

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

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reload", "Reload"),
        Binding("a", "mark_all", "Mark all", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="secrets-pane")
        self.loaded_for: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield SecretsBrowser(markable=True, id="live-browser")

    @property
    def browser(self) -> SecretsBrowser:
        return self.query_one("#live-browser", SecretsBrowser)

    def ensure_loaded(self, force: bool = False) -> None:
        app = self.app
        assert isinstance(app, SecretKlosetApp)
        if app.project_id is None:
            return
        target = (app.project_id, app.region)
        if target == self.loaded_for and not force:
            return
        self.loaded_for = target
        self._open(app.project_id, app.region, app.project_name)

    @work(exclusive=True, group="secrets-open", exit_on_error=False)
    async def _open(self, project_id: str, region: str, name: str) -> None:
        app = self.app
        assert isinstance(app, SecretKlosetApp)
        client = await app.get_client()
        self.browser.load(LiveSource(client, region, project_id, name))

    def action_reload(self) -> None:
        self.ensure_loaded(force=True)

    def action_mark_all(self) -> None:
        t = self.browser.table
        t.mark_all(not (t.marked and len(t.marked) >= t.row_count))


SNAPSHOT_COLUMNS = (
    Column("Time", 16),
    Column("Id", 8),
    Column("Source", 10, grow=2),
    Column("Env", 6, grow=1),
    Column("Class", 6, grow=1),
    Column("Tags", 4, grow=1),
    Column("Secrets", 7, align="right"),
    Column("Vers", 5, align="right"),
    Column("Status", 8),
    Column("Added", 9, align="right"),
)


def snapshot_row(h: Any) -> Row:
    s = h.summary
    cells = (
        short_time(h.time),
        h.id[:8],
        snapshot_source_text(h),
        h.environment or "",
        h.data_class or "",
        ",".join(h.tags),
        str(s.secrets),
        str(s.versions),
        h.status,
        human_bytes(s.bytes_added),
    )
    search = " ".join(cells).lower() + " " + h.id + " " + " ".join(h.project_ids)
    return Row(h.id, cells, search=search, style="" if h.status == "complete" else "warn")


class SnapshotsPane(ReportsFailures, Vertical):
    """The store's snapshots; open one, or mark two and diff them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("d", "diff", "Diff marked"),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="snapshots-pane")
        self.headers: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="/ filter: project, region, tag, environment, id…", id="snapshot-filter"
        )
        yield VirtualTable(
            SNAPSHOT_COLUMNS, markable=True, empty_text="No store open.", id="snapshots"
        )
        yield Static("", id="snapshot-info")

    def on_mount(self) -> None:
        app = self.app
        assert isinstance(app, SecretKlosetApp)
        if app.store is not None:
            self.load()

    def load(self) -> None:
        self._load()

    @work(exclusive=True, group="snapshots", exit_on_error=False)
    async def _load(self) -> None:
        app = self.app
        assert isinstance(app, SecretKlosetApp)
        store = app.require_store()
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
            f" · parent {h.parent[:8] if h.parent else '—'}\n"
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
        from tui.screens.snapshot import SnapshotScreen

        h = self.headers.get(event.key)
        if h is not None:
            self.app.push_screen(SnapshotScreen(h))

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
        from tui.screens.snapshot import DiffScreen

        table = self.query_one("#snapshots", VirtualTable)
        marked = [k for k in table.visible_keys() if k in table.marked] or sorted(table.marked)
        if len(marked) != 2:
            self.notify("Mark exactly two snapshots (space), then press d.", severity="warning")
            return
        a, b = (self.headers[k] for k in marked)
        older, newer = sorted((a, b), key=lambda h: h.time)
        self.app.push_screen(DiffScreen(older, newer))

    def highlighted(self) -> str | None:
        return self.query_one("#snapshots", VirtualTable).cursor_key


class ActivityPane(Vertical):
    """Operations run in this session and their outcomes (names and ids only)."""

    def __init__(self) -> None:
        super().__init__(id="activity-pane")

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
        app = self.app
        assert isinstance(app, SecretKlosetApp)
        self.refresh_rows(app.activity)

    def refresh_rows(self, entries: list[ActivityEntry]) -> None:
        rows = []
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

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        with TabbedContent(initial="tab-projects", id="tabs"):
            with TabPane("1 Projects", id="tab-projects"):
                yield ProjectsPane()
            with TabPane("2 Secrets", id="tab-secrets"):
                yield SecretsPane()
            with TabPane("3 Snapshots", id="tab-snapshots"):
                yield SnapshotsPane()
            with TabPane("4 Activity", id="tab-activity"):
                yield ActivityPane()
        yield Footer()

    def show_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = f"tab-{tab}"
        self._focus_tab(tab)

    def _focus_tab(self, tab: str) -> None:
        target = {
            "projects": "#projects",
            "secrets": "#live-browser #secrets",
            "snapshots": "#snapshots",
            "activity": "#activity",
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

    @on(SecretKlosetApp.ProjectChanged)
    def _project_changed(self) -> None:
        pane = self.query_one(ProjectsPane)
        if not pane.listed:
            pane.load()
        else:
            pane.refresh_info()
        if self.query_one("#tabs", TabbedContent).active == "tab-secrets":
            self.query_one(SecretsPane).ensure_loaded()

    @on(SecretKlosetApp.StoreChanged)
    def _store_changed(self) -> None:
        self.query_one(SnapshotsPane).load()
        projects = self.query_one(ProjectsPane)
        projects.secret_counts.clear()  # a restore or a copy may have added secrets
        projects.deleting_counts.clear()
        projects.refresh_info()

    @on(SecretKlosetApp.ActivityLogged)
    def _activity(self) -> None:
        app = self.app
        assert isinstance(app, SecretKlosetApp)
        self.query_one(ActivityPane).refresh_rows(app.activity)

    def picked_secret_ids(self) -> list[str]:
        app = self.app
        assert isinstance(app, SecretKlosetApp)
        pane = self.query_one(SecretsPane)
        if pane.loaded_for != (app.project_id, app.region):
            return []
        return pane.browser.marked_ids

    def highlighted_snapshot_id(self) -> str | None:
        """The snapshot under the cursor, when the Snapshots tab is the one in front."""
        if self.query_one("#tabs", TabbedContent).active != "tab-snapshots":
            return None
        return self.query_one(SnapshotsPane).highlighted()
