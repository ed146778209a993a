"""Copy a project (or its marked secrets) to another project or region: a backup of the
source (a snapshot tagged "copy") then a restore of it, with the same plan and report."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import (
    Button,
    ContentSwitcher,
    Footer,
    Header,
    Static,
)
from textual.worker import Worker, WorkerState

from core.engine.copy import CopyResult, run_copy
from core.engine.events import EventSink
from core.engine.selectors import Selection
from core.scaleway.models import REGIONS
from tui.errors import failure_text
from tui.glyphs import ICON
from tui.screens.run import WizardScreen
from tui.session import Session
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
from tui.widgets.vtable import VirtualTable
from tui.widgets.wrapping import Checkbox


class CopyScreen(WizardScreen[CopyResult]):
    """Copy a project (or the marked secrets) to another project or region."""

    STEPS: ClassVar[list[str]] = ["dest", "plan", "run"]
    TITLES: ClassVar[dict[str, str]] = {
        "dest": "Copy 1/3 · destination and conflict policy",
        "plan": "Copy 2/3 · the plan (dry run: nothing has changed yet)",
        "run": "Copy 3/3 · progress and report",
    }

    def __init__(self, session: Session, project_id: str, region: str, picked: list[str]) -> None:
        super().__init__(session)
        self.project_id = project_id
        self.source_region = region
        self.picked = picked
        self.destination: Destination | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        yield Static("", id="step-title", classes="step-title")
        name = self.session.project_names.get(self.project_id) or self.project_id
        with ContentSwitcher(id="steps", initial="step-dest"):
            with Vertical(id="step-dest"):
                yield Static(
                    f"Source: {name} · {self.source_region}. The copy is a backup of the source (a snapshot "
                    "tagged “copy”, kept in the store) then a restore of it into the destination.",
                    classes="step-help",
                )
                if self.picked:
                    yield Checkbox(
                        f"Only the {len(self.picked)} marked secrets", value=True, id="only-marked"
                    )
                other = next((r for r in REGIONS if r != self.source_region), self.source_region)
                yield DestinationForm(
                    self.session.project_names, self.project_id, other, id="copy-dest"
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
        self.go("dest")
        self.query_one("#dest-project").focus()

    @on(DestinationForm.Chosen)
    def _destination_chosen(self) -> None:
        if self.step == "dest":
            self.next_step()

    def _selection(self) -> Selection:
        only = bool(self.picked) and self.query_one("#only-marked", Checkbox).value
        return Selection.parse([f"id:{i}" for i in self.picked]) if only else Selection()

    @on(Button.Pressed, "#next")
    def next_step(self) -> None:
        if self.busy:
            return
        if self.step == "dest":
            destination = self.query_one("#copy-dest", DestinationForm).values()
            if (destination.project, destination.region) == (self.project_id, self.source_region):
                self.notify(
                    "The destination is the source: pick another project or region.",
                    severity="error",
                )
                return
            self.destination = destination
            self.query_one("#plan", VirtualTable).set_rows([])
            self.query_one("#plan-counts", Static).update(
                "Planning: reading the source, comparing with the destination…"
            )
            self.go("plan")
            self.busy = True
            self._plan()
        elif self.step == "plan":
            if self.plan is None:
                return
            project, region, _, _ = self.destination or ("", "", "", False)
            where = f"project {project_label(project, self.session.project_names)} ({region})"
            self.confirm_apply(where, lambda: self.start_run(self._copy))

    async def _run_copy(self, *, dry_run: bool, on_event: EventSink | None = None) -> CopyResult:
        session = self.session
        project, region, policy, verify = self.destination or ("", "", "new-version", False)
        client = await session.get_client()
        return await run_copy(
            client,
            session.require_store(),
            project_id=self.project_id,
            region=self.source_region,
            to_project=project,
            to_region=region,
            selection=self._selection(),
            on_conflict=policy,
            verify=verify,
            dry_run=dry_run,
            on_event=on_event,
            organization_id=session.context.organization_id,
        )

    @work(exclusive=True, group="copy-plan", exit_on_error=False)
    async def _plan(self) -> None:
        try:
            result = await self._run_copy(dry_run=True)
        except BaseException:
            self.busy = False
            self.query_one("#plan-counts", Static).update(
                Text("Planning failed (see the message).", style="red")
            )
            raise
        self.busy = False
        self.plan = result.restore.plan
        self.query_one("#plan", VirtualTable).set_rows(
            plan_rows(self.plan, self.session.project_names)
        )
        self.query_one("#plan-counts", Static).update(plan_counts_text(self.plan))
        self.query_one("#next", Button).focus()

    @work(exclusive=True, group="copy-apply", exit_on_error=False)
    async def _copy(self) -> CopyResult:
        panel = self.query_one("#run", RunPanel)
        result = await self._run_copy(dry_run=False, on_event=panel.sink())
        self.result = result
        return result

    @on(Worker.StateChanged)
    def _state(self, event: Worker.StateChanged) -> None:
        if not self.ended(event):
            return
        self.running = False
        session = self.session
        project, region, _, _ = self.destination or ("", "", "", False)
        target = f"project {self.project_id} ({self.source_region}) → {project} ({region})"
        panel = self.query_one("#run", RunPanel)
        result = self.result
        if result is not None:
            report = self.query_one("#report", VirtualTable)
            report.set_rows(report_rows(result.restore.plan))
            report.display = True
            done = result.restore.plan
            panel.agree_at_finish(applied=sum(1 for a in done.actions if str(a.outcome) == "ok"))
            panel.finish(str(result.status), collapse=True)
            summary = result_summary(result.restore, "Copy")
            if result.backup is not None and result.backup.snapshot_id:
                summary.append(f"source snapshot  {result.backup.snapshot_id[:8]} (tagged copy)\n")
            self.query_one("#report-summary", Static).update(summary)
            session.run_finished(
                "copy",
                target,
                result.status,
                f"{len(result.restore.plan.actions)} secrets",
                store_changed=True,
            )
        elif event.state == WorkerState.CANCELLED:
            panel.finish("cancelled")
            self.query_one("#report-summary", Static).update(
                Text("Copy cancelled.", style="bold yellow")
            )
            session.run_finished("copy", target, "cancelled")
        else:
            panel.finish("failed")
            self.query_one("#report-summary", Static).update(
                Text("Copy failed (see the message).", style="bold red")
            )
            session.run_finished("copy", target, "failed", failure_text(event.worker.error))
        self.query_one("#close", Button).focus()
