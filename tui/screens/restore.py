"""The restore wizard: snapshot, secrets and versions, destination and policy, the plan, then
(after a confirmation) progress and a per-secret report."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    ContentSwitcher,
    Footer,
    Header,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
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
from tui.glyphs import ICON
from tui.screens.run import WizardScreen
from tui.session import Session
from tui.sources import SnapshotSource
from tui.widgets.browser import SecretsBrowser
from tui.widgets.destination import Destination, DestinationForm
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

    def __init__(
        self, session: Session, snapshot_id: str | None, preselected: list[str] | None = None
    ) -> None:
        super().__init__(session)
        self.snapshot_id = snapshot_id
        self.preselected = list(preselected or [])
        self.header: SnapshotHeader | None = None
        self.headers: dict[str, SnapshotHeader] = {}
        self.selection_ids: list[str] = []
        self.versions_mode = "all"
        self.revision: int | None = None
        self.destination: Destination | None = None

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
            yield DestinationForm(self.session.project_names, "", "fr-par", id="step-dest")
            with Vertical(id="step-plan"):
                yield Static("", id="plan-counts")
                yield VirtualTable(PLAN_COLUMNS, empty_text="Planning…", id="plan")
            with Vertical(id="step-run"):
                yield RunPanel(id="run")
                yield Static("", id="report-summary")
                yield VirtualTable(REPORT_COLUMNS, empty_text="Running…", id="report")
        yield from self.buttons()
        yield Footer()

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
        if src is not None:
            form.query_one("#dest-region", Select).value = src.region
            pselect = form.query_one("#dest-project", Select)
            known = set(self.session.project_names) | {form.default_project}
            if src.project_id in known:
                pselect.value = src.project_id
            else:
                form.query_one("#dest-project-id", Input).value = src.project_id
        self.go("secrets")
        browser.table.focus()

    @on(SecretsBrowser.Loaded, "#restore-browser")
    def _browser_loaded(self) -> None:
        if self.preselected:
            self.query_one("#restore-browser", SecretsBrowser).table.set_marked(self.preselected)

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
            self.query_one("#dest-project", Select).focus()
        elif self.step == "dest":
            self.destination = self.query_one("#step-dest", DestinationForm).values()
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
            project, region, _, _ = self.destination or ("", "", "", False)
            self.confirm_apply(f"project {project} ({region})", self._start_apply)

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
            self.selection_ids = [entry.id]
            self.revision = revision
        else:
            self.selection_ids = browser.marked_ids
        return True

    def selection_text(self) -> str:
        if self.versions_mode == "revision":
            return f"revision {self.revision} of secret {self.selection_ids[0]}"
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
            )
        except BaseException:
            self.busy = False
            self.query_one("#plan-counts", Static).update(
                Text("Planning failed (see the message).", style="red")
            )
            raise
        self.busy = False
        self.plan = plan
        self.query_one("#plan", VirtualTable).set_rows(plan_rows(plan))
        counts = plan_counts_text(plan)
        counts.append(f"\nSelection: {self.selection_text()}", style="dim")
        self.query_one("#plan-counts", Static).update(counts)
        self.query_one("#next", Button).focus()

    def _start_apply(self) -> None:
        assert self.plan is not None
        self.query_one("#run", RunPanel).expected_actions = sum(
            1 for a in self.plan.actions if a.changes
        )
        self.go("run")
        self.running = True
        self.worker = self._apply()

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
        if event.worker is not self.worker or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        self.running = False
        session = self.session
        project, region, _, _ = self.destination or ("", "", "", False)
        target = (
            f"snapshot {self.header.id[:8] if self.header else ''} → project {project} ({region})"
        )
        panel = self.query_one("#run", RunPanel)
        panel.finish()
        result = self.result
        error = event.worker.error
        if result is None and isinstance(error, (RestoreInterrupted, RestoreConflict)):
            result = error.result  # what was done (or the plan, its conflicts marked)
        report = self.query_one("#report", VirtualTable)
        if result is not None:
            report.set_rows(report_rows(result.plan))
            report.display = True
            panel.finish(collapse=True)
            self.query_one("#report-summary", Static).update(result_summary(result, "Restore"))
            session.run_finished("restore", target, result.status, self.selection_text())
        elif event.state == WorkerState.CANCELLED and self.plan is not None:
            report.set_rows(report_rows(self.plan))
            report.display = True
            self.query_one("#report-summary", Static).update(
                Text(
                    "Restore cancelled: the report shows each secret's state.", style="bold yellow"
                )
            )
            session.run_finished("restore", target, "cancelled", self.selection_text())
        else:
            self.query_one("#report-summary", Static).update(
                Text("Restore failed (see the message).", style="bold red")
            )
            session.run_finished("restore", target, "failed", type(error).__name__)
        self.query_one("#close", Button).focus()
