"""The restore wizard: snapshot, secrets and versions, destination and policy, the plan, then
(after a confirmation) progress and a per-secret report."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    ContentSwitcher,
    DataTable,
    Footer,
    Header,
    Label,
    RadioSet,
    Static,
)
from textual.worker import Worker, WorkerState

from core.engine.restore import (
    RestoreConflict,
    RestoreInterrupted,
    RestoreResult,
    apply_plan,
    plan_restore,
)
from core.engine.selectors import Selection
from core.store import SnapshotHeader
from tui.actions import Where, bindings, key_of, key_text
from tui.errors import failure_text
from tui.format import visible
from tui.glyphs import ICON
from tui.screens.run import WizardScreen
from tui.session import Session
from tui.sources import SnapshotSource, VersionEntry
from tui.widgets.browser import SecretsBrowser
from tui.widgets.destination import Destination, DestinationForm, project_label
from tui.widgets.plan_table import (
    PLAN_COLUMNS,
    REPORT_COLUMNS,
    plan_counts_text,
    plan_rows,
    report_rows,
    result_summary,
)
from tui.widgets.progress import RunPanel
from tui.widgets.snapshot_table import SNAPSHOT_COLUMNS, snapshot_row
from tui.widgets.vtable import VirtualTable
from tui.widgets.wrapping import RadioButton


class RestoreScreen(WizardScreen[RestoreResult]):
    """Snapshot → secrets → destination and policy → plan → confirm → progress and report."""

    STEPS: ClassVar[list[str]] = ["snapshot", "secrets", "dest", "plan", "run"]
    TITLES: ClassVar[dict[str, str]] = {
        "snapshot": "Restore 1/5 · pick the snapshot (enter)",
        "secrets": "Restore 2/5 · pick secrets (space marks; none marked = all) and versions",
        "dest": "Restore 3/5 · destination and conflict policy",
        "plan": "Restore 4/5 · the plan: nothing has changed yet",
        "run": "Restore 5/5 · progress and report",
    }

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.RESTORE)

    def __init__(
        self,
        session: Session,
        snapshot_id: str | None,
        preselected: list[str] | None = None,
        *,
        revision: int | None = None,
    ) -> None:
        """``revision`` (with one ``preselected`` secret): restore just that revision; the
        wizard opens at the destination step (a version row's restore key)."""
        super().__init__(session)
        self.snapshot_id = snapshot_id
        self.preselected = list(preselected or [])
        self.preset_revision = revision if len(self.preselected) == 1 else None
        self.header: SnapshotHeader | None = None
        self.headers: dict[str, SnapshotHeader] = {}
        self.selection_ids: list[str] = []
        self.versions_mode = "all"
        self.revision: int | None = None
        self.destination: Destination | None = None
        self.key_id: str | None = None  # the Key Manager key chosen for created secrets

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        yield Static("", id="step-title", classes="step-title")
        with ContentSwitcher(id="steps", initial="step-snapshot"):
            with Vertical(id="step-snapshot"):
                yield VirtualTable(
                    SNAPSHOT_COLUMNS, empty_text="Loading snapshots…", id="pick-snapshot"
                )
            with Vertical(id="step-secrets"):
                yield SecretsBrowser(session=self.session, markable=True, id="restore-browser")
                with Horizontal(id="versions-mode-bar"):
                    yield Label("Versions: ")
                    with RadioSet(id="versions-mode"):
                        yield RadioButton("all", value=True, id="mode-all")
                        yield RadioButton("latest only", id="mode-latest")
                        yield RadioButton(
                            "one revision (highlighted secret; v picks it)", id="mode-revision"
                        )
            yield DestinationForm(
                self.session.project_names, "", "fr-par", id="step-dest", key_field=True
            )
            with Vertical(id="step-plan"):
                yield Static("", id="plan-counts")
                yield VirtualTable(PLAN_COLUMNS, empty_text="Planning…", id="plan")
            with Vertical(id="step-run"):
                yield RunPanel(id="run")
                yield Static("", id="report-summary")
                yield VirtualTable(REPORT_COLUMNS, empty_text="Running…", id="report")
        yield from self.buttons()
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#report").display = False
        self._load_snapshots()

    @work(exclusive=True, group="restore-snapshots", exit_on_error=False)
    async def _load_snapshots(self) -> None:
        session = self.session
        store = session.require_store()
        headers = sorted(await store.list_snapshots(), key=lambda h: h.time, reverse=True)
        self.headers = {h.id: h for h in headers}
        table = self.query_one("#pick-snapshot", VirtualTable)
        table.empty_text = "No snapshots: back up a project first (b)."
        table.set_rows([snapshot_row(h) for h in headers])
        if self.snapshot_id and self.snapshot_id in self.headers:
            self.use_snapshot(self.headers[self.snapshot_id])
        else:
            self.go("snapshot")
            table.focus()

    def use_snapshot(self, header: SnapshotHeader) -> None:
        self.header = header
        browser = self.query_one("#restore-browser", SecretsBrowser)
        browser.load(SnapshotSource(self.session.require_store(), header))
        src = header.sources[0] if header.sources else None
        form = self.query_one("#step-dest", DestinationForm)
        form.refresh_projects(self.session.project_names)
        if src is not None:
            form.choose(src.project_id, src.region)
        if self.preset_revision is not None:
            return  # the destination step opens once the browser has the secret
        self.go("secrets")
        browser.table.focus()

    @on(SecretsBrowser.Loaded, "#restore-browser")
    def _browser_loaded(self) -> None:
        browser = self.query_one("#restore-browser", SecretsBrowser)
        if self.preselected:
            browser.table.set_marked(self.preselected)
        if self.preset_revision is not None and self.step != "dest":
            secret_id = self.preselected[0]
            browser.table.move_to_key(secret_id)
            self.query_one("#mode-revision", RadioButton).value = True
            self.versions_mode = "revision"
            self.selection_ids = [secret_id]
            self.revision = self.preset_revision
            self.go("dest")
            self.query_one("#dest-project").focus()

    @on(DestinationForm.Chosen)
    def _destination_chosen(self) -> None:
        if self.step == "dest":
            self.next_step()

    @on(DataTable.RowHighlighted, "#restore-browser #versions")
    def _version_row(self, event: DataTable.RowHighlighted) -> None:
        """Highlighting a revision in the versions table chooses it (one gesture)."""
        if self.query_one("#restore-browser #versions").has_focus:
            self.query_one("#mode-revision", RadioButton).value = True

    @on(VirtualTable.Selected, "#pick-snapshot")
    def _picked(self, event: VirtualTable.Selected) -> None:
        self.use_snapshot(self.headers[event.key])

    @on(Button.Pressed, "#next")
    def next_step(self) -> None:
        if self.busy:
            return
        if self.step == "snapshot":
            key = self.query_one("#pick-snapshot", VirtualTable).cursor_key
            if key is None:
                self.notify("No snapshot to pick.", severity="warning")
                return
            self.use_snapshot(self.headers[key])
        elif self.step == "secrets":
            if not self._take_selection():
                return
            self.go("dest")
            self.query_one("#dest-project").focus()
        elif self.step == "dest":
            form = self.query_one("#step-dest", DestinationForm)
            problem = form.key_problem()
            if problem is not None:
                self.notify(problem, severity="error")
                form.query_one("#dest-key-id").focus()
                return
            self.destination = form.values()
            self.key_id = form.key_id
            self.query_one("#plan", VirtualTable).set_rows([])
            self.query_one("#plan-counts", Static).update(
                "Planning: comparing the snapshot with the destination…"
            )
            self.go("plan")
            self.busy = True
            self._plan()
        elif self.step == "plan":
            if self.plan is None:
                return
            self.confirm_apply(
                self.destination_text(),
                lambda: self.start_run(self._apply),
                what=self.selection_text(),
            )

    def _take_selection(self) -> bool:
        browser = self.query_one("#restore-browser", SecretsBrowser)
        pressed = self.query_one("#versions-mode", RadioSet).pressed_button
        mode = (pressed.id or "mode-all").removeprefix("mode-") if pressed is not None else "all"
        self.versions_mode = mode
        self.revision = None
        if mode == "revision":
            entry = browser.current
            revision = browser.chosen_revision()
            if entry is None or revision is None:
                self.notify(
                    "Highlight a secret and, in its versions (v), the revision to restore.",
                    severity="warning",
                )
                return False
            version = next((v for v in browser.versions_of(entry) if v.revision == revision), None)
            if version is not None and not version.has_data:
                self.notify(no_data_text(version), severity="warning")
                return False
            self.selection_ids = [entry.id]
            self.revision = revision
        else:
            self.selection_ids = browser.marked_ids
        return True

    def secret_path(self, secret_id: str) -> str:
        entry = self.query_one("#restore-browser", SecretsBrowser).entries.get(secret_id)
        return visible(entry.full_path) if entry is not None else f"secret {secret_id}"

    def destination_text(self) -> str:
        """The destination by project name (else its whole id) and region."""
        project, region, _, _ = self.destination or ("", "", "", False)
        return f"project {project_label(project, self.session.project_names)} ({region})"

    def selection_text(self) -> str:
        if self.versions_mode == "revision":
            return f"revision {self.revision} of {self.secret_path(self.selection_ids[0])}"
        which = (
            f"{len(self.selection_ids)} marked secrets" if self.selection_ids else "every secret"
        )
        return f"{which}, {'latest version' if self.versions_mode == 'latest' else 'all versions'}"

    @work(exclusive=True, group="restore-plan", exit_on_error=False)
    async def _plan(self) -> None:
        session = self.session
        try:
            client = await session.get_client()
            store = session.require_store()
            project, region, policy, _ = self.destination or ("", "", "new-version", False)
            assert self.header is not None
            plan = await plan_restore(
                client,
                store,
                self.header,
                selection=Selection.parse([f"id:{i}" for i in self.selection_ids]),
                versions="revision" if self.versions_mode == "revision" else self.versions_mode,
                revision=self.revision,
                to_project=project,
                to_region=region,
                on_conflict=policy,
                organization_id=session.context.organization_id,
                key_id=self.key_id,
            )
        except BaseException:
            self.busy = False
            self.query_one("#plan-counts", Static).update(
                Text("Planning failed (see the message).", style="red")
            )
            raise
        self.busy = False
        self.plan = plan
        self.query_one("#plan", VirtualTable).set_rows(plan_rows(plan, self.session.project_names))
        counts = plan_counts_text(plan)
        dropped = sum(1 for a in plan.actions if str(a.action) == "create" and a.key_id_dropped)
        if dropped:
            counts.append(
                f"\n{dropped} secret(s) will be created without their Key Manager key (it "
                "cannot follow to another project or region): type a key at the destination "
                "step to use one",
                style="yellow",
            )
        counts.append(f"\nSelection: {self.selection_text()}", style="dim")
        self.query_one("#plan-counts", Static).update(counts)
        self.query_one("#next", Button).focus()

    @work(exclusive=True, group="restore-apply", exit_on_error=False)
    async def _apply(self) -> RestoreResult:
        session = self.session
        panel = self.query_one("#run", RunPanel)
        client = await session.get_client()
        _, _, _, verify = self.destination or ("", "", "", False)
        assert self.plan is not None
        result = await apply_plan(
            client, session.require_store(), self.plan, verify=verify, on_event=panel.sink()
        )
        self.result = result
        return result

    @on(Worker.StateChanged)
    def _state(self, event: Worker.StateChanged) -> None:
        if not self.ended(event):
            return
        self.running = False
        session = self.session
        target = f"snapshot {self.header.id[:8] if self.header else ''} → {self.destination_text()}"
        panel = self.query_one("#run", RunPanel)
        result = self.result
        error = event.worker.error
        if result is None and isinstance(error, (RestoreInterrupted, RestoreConflict)):
            result = error.result  # what was done (or the plan, its conflicts marked)
        report = self.query_one("#report", VirtualTable)
        if result is not None:
            report.set_rows(report_rows(result.plan))
            report.display = True
            done = result.plan
            panel.agree_at_finish(applied=sum(1 for a in done.actions if str(a.outcome) == "ok"))
            panel.finish(str(result.status), collapse=True)
            summary = result_summary(result, "Restore")
            summary.append(f"{self.selection_text()} → {self.destination_text()}\n", style="dim")
            summary.append(f"{_open_key()} opens the destination project", style="dim italic")
            self.query_one("#report-summary", Static).update(summary)
            session.run_finished("restore", target, result.status, self.selection_text())
        elif event.state == WorkerState.CANCELLED and self.plan is not None:
            panel.finish("cancelled")
            report.set_rows(report_rows(self.plan))
            report.display = True
            self.query_one("#report-summary", Static).update(
                Text(
                    "Restore cancelled: the report shows each secret's state.", style="bold yellow"
                )
            )
            session.run_finished("restore", target, "cancelled", self.selection_text())
        else:
            panel.finish("failed")
            self.query_one("#report-summary", Static).update(
                Text("Restore failed (see the message).", style="bold red")
            )
            session.run_finished("restore", target, "failed", failure_text(error))
        self.query_one("#close", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_destination":
            return self.result is not None and not self.running
        return True

    def action_open_destination(self) -> None:
        """After the run: the destination project, in its region, on the Secrets tab."""
        if self.destination is None or self.result is None:
            return
        project, region, _, _ = self.destination
        session = self.session
        session.set_project(project, session.project_names.get(project, ""), region)
        self.app.call_later(self.app.run_action, "show_tab('secrets')")


def _open_key() -> str:
    return key_text(key_of("open_destination"))


def no_data_text(version: VersionEntry) -> str:
    """Why a revision cannot be restored."""
    why = {"disabled": "it was disabled and its data was not backed up"}.get(
        version.status, f"it was {version.status} when backed up (expired or destroyed)"
    )
    return f"Revision {version.revision} holds no data in this snapshot: {why}."
