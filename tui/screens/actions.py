"""Backup, restore and copy: forms and wizards over the engines, with progress and reports."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
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

from core.scaleway.models import REGIONS
from tui.screens.dialogs import ConfirmDialog
from tui.widgets.browser import SecretsBrowser
from tui.widgets.progress import RunPanel, human
from tui.widgets.vtable import Column, Row, VirtualTable
from tui.workers import ReportsFailures

ICON = "[K]"


def split_tags(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


class RunScreen(ReportsFailures, Screen[None]):
    """Shared behaviour: a run in a worker, cancellable with Esc (after a confirmation)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back / cancel")]

    def __init__(self) -> None:
        super().__init__()
        self.worker: Worker[Any] | None = None
        self.result: Any = None
        self.running = False

    @property
    def kapp(self) -> Any:
        return self.app

    def action_back(self) -> None:
        if self.running and self.worker is not None:

            def answered(yes: bool | None) -> None:
                if yes and self.worker is not None and self.running:
                    self.worker.cancel()

            self.app.push_screen(
                ConfirmDialog(
                    "Cancel the run?",
                    "The run stops now. A backup commits nothing; a restore stops between "
                    "two actions and reports what it did.",
                    yes="Stop it",
                    no="Keep running",
                ),
                answered,
            )
            return
        self.dismiss(None)


class BackupScreen(RunScreen):
    """Back up the current project (all secrets or the marked ones)."""

    def __init__(self, project_id: str, region: str, picked: list[str]) -> None:
        super().__init__()
        self.project_id = project_id
        self.source_region = region
        self.picked = picked

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        name = self.kapp.project_names.get(self.project_id) or self.project_id
        yield Static(f"Back up {name} · {self.source_region}", classes="step-title")
        with VerticalScroll(id="backup-form", classes="form"):
            if self.picked:
                yield Checkbox(
                    f"Only the {len(self.picked)} marked secrets", value=True, id="only-marked"
                )
            else:
                yield Static(
                    "Every secret of the project in this region (mark secrets with space in the "
                    "Secrets tab to back up only those).",
                    classes="step-help",
                )
            yield Label("Snapshot tags (comma-separated)")
            yield Input(compact=True, placeholder="nightly, before-migration", id="tags")
            yield Label("Environment (SLA)")
            yield Input(compact=True, placeholder="production", id="environment")
            yield Label("Data class")
            yield Input(compact=True, placeholder="confidential", id="data-class")
            yield Checkbox(
                "Include the data of disabled versions (enables, reads, disables again: changes the source)",
                value=False,
                id="include-disabled",
            )
            with Horizontal(classes="buttons"):
                yield Button("Start backup", variant="primary", id="start", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield RunPanel(id="run")
        yield Static("", id="summary")
        with Horizontal(classes="wizard-buttons", id="after"):
            yield Button("Close", id="close", compact=True)
            yield Button("Browse the snapshot", variant="primary", id="browse", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#run").display = False
        self.query_one("#summary").display = False
        self.query_one("#after").display = False
        self.query_one("#tags", Input).focus()

    @on(Button.Pressed, "#cancel")
    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#start")
    def start(self) -> None:
        from core.engine.backup import BackupOptions
        from core.engine.selectors import Selection

        only = self.picked and self.query_one("#only-marked", Checkbox).value
        selection = Selection.parse([f"id:{sid}" for sid in self.picked]) if only else Selection()
        options = BackupOptions(
            regions=(self.source_region,),
            projects=(self.project_id,),
            selection=selection,
            snapshot_tags=split_tags(self.query_one("#tags", Input).value),
            environment=self.query_one("#environment", Input).value.strip() or None,
            data_class=self.query_one("#data-class", Input).value.strip() or None,
            include_disabled=self.query_one("#include-disabled", Checkbox).value,
        )
        self.query_one("#backup-form").display = False
        self.query_one("#run").display = True
        self.running = True
        self.worker = self._run(options)

    @work(exclusive=True, group="backup", exit_on_error=False)
    async def _run(self, options: Any) -> Any:
        from core.engine.backup import run_backup

        app = self.kapp
        panel = self.query_one("#run", RunPanel)
        client = await app.get_client()
        store = app.require_store()
        ctx = app.context
        result = await run_backup(
            client,
            store,
            options,
            organization_id=ctx.organization_id,
            default_project_id=self.project_id,
            default_region=self.source_region,
            on_event=panel.sink(),
        )
        self.result = result
        return result

    @on(Worker.StateChanged)
    def _state(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker:
            return
        app = self.kapp
        target = f"project {self.project_id} ({self.source_region})"
        panel = self.query_one("#run", RunPanel)
        if event.state == WorkerState.SUCCESS:
            self.running = False
            r = self.result
            panel.finish()
            ok = r.status == "complete"
            title = (
                f"✓ Backup complete: snapshot {r.snapshot_id}"
                if ok
                else f"⚠ Backup partial (snapshot {r.snapshot_id}): some secrets failed, see the log"
            )
            summary = Text(title + "\n", style="bold green" if ok else "bold yellow")
            summary.append(
                f"{r.secrets} secrets ({r.secrets_unchanged} unchanged) · {r.versions} versions "
                f"({r.versions_read} read, {r.versions_reused} reused) · {human(r.bytes_added)} "
                f"added · {len(r.errors)} errors · {r.duration_seconds:.1f} s\n"
            )
            for e in r.errors[:5]:
                summary.append(f"  {e.message}\n", style="yellow")
            self._show_summary(summary)
            app.log_activity(
                "backup",
                target,
                "ok" if ok else "partial",
                f"snapshot {r.snapshot_id[:8]}, {r.secrets} secrets, {r.versions_read} read",
            )
            app.store_changed()
        elif event.state == WorkerState.CANCELLED:
            self.running = False
            self._show_summary(
                Text("Backup cancelled: nothing was committed.", style="bold yellow")
            )
            app.log_activity("backup", target, "cancelled", "nothing committed")
        elif event.state == WorkerState.ERROR:
            self.running = False
            self._show_summary(Text("Backup failed: nothing was committed.", style="bold red"))
            app.log_activity("backup", target, "failed", type(event.worker.error).__name__)

    def _show_summary(self, text: Text) -> None:
        summary = self.query_one("#summary", Static)
        summary.update(text)
        summary.display = True
        self.query_one("#after").display = True
        self.query_one("#browse", Button).display = self.result is not None
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#browse")
    def _browse(self) -> None:
        if self.result is None or self.result.header is None:
            return
        from tui.screens.snapshot import SnapshotScreen

        header = self.result.header
        self.dismiss(None)
        self.app.push_screen(SnapshotScreen(header))


# --------------------------------------------------------------------------- plans and reports

PLAN_COLUMNS = (
    Column("Action", 14),
    Column("Secret", 14, grow=3),
    Column("Revisions", 9),
    Column("Destination", 12, grow=1),
    Column("Detail", 10, grow=2),
)
REPORT_COLUMNS = (
    Column("Outcome", 9),
    Column("Action", 14),
    Column("Secret", 14, grow=3),
    Column("Revisions", 9),
    Column("Verified", 8),
    Column("Detail", 10, grow=2),
)
ACTION_TEXT = {
    "create": "create secret",
    "recover": "recover",
    "add_version": "add version",
    "skip_identical": "identical",
    "skip": "skip",
    "conflict": "CONFLICT",
}


def _revisions(action: Any) -> str:
    revs = [v.revision for v in action.versions]
    if not revs:
        return "—"
    if len(revs) > 3:
        return f"{revs[0]}…{revs[-1]} ({len(revs)})"
    return ",".join(str(r) for r in revs)


def plan_rows(plan: Any) -> list[Row]:
    rows = []
    for n, a in enumerate(plan.actions):
        style = "bad" if a.action == "conflict" else ("dim" if not a.changes else "")
        rows.append(
            Row(
                str(n),
                (
                    ACTION_TEXT.get(str(a.action), str(a.action)),
                    a.record.full_path,
                    _revisions(a),
                    f"{a.region} · {a.project_id[:8]}",
                    a.detail,
                ),
                style=style,
            )
        )
    return rows


def report_rows(plan: Any) -> list[Row]:
    rows = []
    for n, a in enumerate(plan.actions):
        outcome = str(a.outcome)
        style = {"failed": "bad", "conflict": "bad", "skipped": "dim", "unchanged": "dim"}.get(
            outcome, ""
        )
        verified = "—" if a.verified is None else ("yes" if a.verified else "NO")
        if a.verified is False:
            style = "bad"
        restored = ",".join(str(r) for r in a.restored_revisions) or _revisions(a)
        rows.append(
            Row(
                str(n),
                (
                    outcome,
                    ACTION_TEXT.get(str(a.action), str(a.action)),
                    a.record.full_path,
                    restored,
                    verified,
                    a.error or a.detail,
                ),
                style=style,
            )
        )
    return rows


def plan_counts_text(plan: Any) -> Text:
    counts = plan.counts()
    changes = sum(1 for a in plan.actions if a.changes)
    text = Text()
    text.append(f"{len(plan.actions)} secrets: ", style="bold")
    parts = [
        ("create", "green"),
        ("recover", "green"),
        ("add_version", "green"),
        ("skip_identical", "dim"),
        ("skip", "dim"),
        ("conflict", "red"),
    ]
    for key, style in parts:
        if counts.get(key):
            text.append(f"{ACTION_TEXT[key]} {counts[key]}   ", style=style)
    text.append("\n")
    if plan.conflicts:
        text.append(
            f"{len(plan.conflicts)} conflict(s): with “fail” nothing will be changed. Go back and pick "
            "“new version” or “skip”.",
            style="bold red",
        )
    elif changes:
        text.append(
            f"{changes} secret(s) will change. Nothing happens until you confirm.",
            style="bold yellow",
        )
    else:
        text.append("Nothing to do: the destination already matches.", style="bold green")
    return text


def result_summary(result: Any, what: str) -> Text:
    """Two or three lines: the outcome, then the counts (the table below has the details)."""
    s = result.summary()
    status = result.status
    ok = status == "ok"
    title = {
        "ok": f"✓ {what} done",
        "partial": f"⚠ {what} finished with failures",
        "failed": f"✗ {what} failed",
        "interrupted": f"⚠ {what} interrupted: the report shows what was done",
    }.get(status, f"{what}: {status}")
    text = Text(title + "\n", style="bold green" if ok else "bold yellow")
    parts = [
        f"{s['secrets']} secrets",
        f"{s.get('ok', 0)} applied",
        f"{s.get('unchanged', 0)} unchanged",
        f"{s.get('skipped', 0)} skipped",
        f"{s.get('failed', 0)} failed",
        f"{s['versions_added']} versions added",
    ]
    if result.verify:
        parts.append(f"verified {s['verified']} ok, {s['verify_failed']} mismatched")
    parts.append(f"{result.duration_seconds:.1f} s")
    text.append(" · ".join(parts) + "\n")
    return text


class DestinationForm(VerticalScroll):
    """Destination project and region, conflict policy, verify."""

    def __init__(self, project_id: str, region: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="form")
        self.default_project = project_id
        self.default_region = region

    def compose(self) -> ComposeResult:
        app: Any = self.app
        names = dict(app.project_names)
        names.setdefault(self.default_project, "")
        options = [
            (f"{n or '(name unknown)'} · {pid[:8]}…", pid)
            for pid, n in sorted(names.items(), key=lambda kv: kv[1])
        ]
        yield Label("Destination project")
        yield Select(
            options,
            value=self.default_project
            if self.default_project in names and self.default_project
            else Select.NULL,
            allow_blank=not self.default_project,
            compact=True,
            id="dest-project",
        )
        yield Label("…or another project id")
        yield Input(
            compact=True, placeholder="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", id="dest-project-id"
        )
        yield Label("Destination region")
        yield Select(
            [(r, r) for r in REGIONS],
            value=self.default_region,
            allow_blank=False,
            compact=True,
            id="dest-region",
        )
        yield Label("When the secret already exists at the destination")
        with RadioSet(id="conflict"):
            yield RadioButton(
                "new version: add a version only if the data differs", value=True, id="new-version"
            )
            yield RadioButton("skip: leave it as it is", id="skip")
            yield RadioButton("fail: change nothing if any secret differs", id="fail")
        yield Checkbox(
            "Verify: read every restored version back and compare its CRC", value=True, id="verify"
        )

    def values(self) -> tuple[str, str, str, bool]:
        typed = self.query_one("#dest-project-id", Input).value.strip().lower()
        if typed:
            import uuid

            try:
                uuid.UUID(typed)
            except ValueError:
                from core.errors import UsageError

                raise UsageError(
                    "the destination project id is not a UUID", hint="copy it from the Projects tab"
                ) from None
            project = typed
        else:
            project = str(self.query_one("#dest-project", Select).value)
        region = str(self.query_one("#dest-region", Select).value)
        pressed = self.query_one("#conflict", RadioSet).pressed_button
        policy = pressed.id if pressed is not None and pressed.id else "new-version"
        verify = self.query_one("#verify", Checkbox).value
        return project, region, policy, verify


class WizardScreen(RunScreen):
    """Steps in a ContentSwitcher; Back and Next buttons; Esc goes back a step."""

    STEPS: ClassVar[list[str]] = []
    TITLES: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        super().__init__()
        self.step = ""
        self.plan: Any = None
        self.busy = False

    def go(self, step: str) -> None:
        self.step = step
        self.query_one("#steps", ContentSwitcher).current = f"step-{step}"
        self.query_one("#step-title", Static).update(self.TITLES.get(step, step))
        back = self.query_one("#back", Button)
        nxt = self.query_one("#next", Button)
        back.display = step != self.STEPS[0] and step != "run"
        nxt.display = step != "run"
        nxt.label = {"plan": "Apply…"}.get(step, "Next")
        nxt.variant = "warning" if step == "plan" else "primary"
        self.query_one("#close", Button).label = "Close" if step == "run" else "Cancel"
        self.on_step(step)

    def on_step(self, step: str) -> None:
        pass

    def action_back(self) -> None:
        if self.running or self.busy:
            super().action_back()
            return
        if self.step in self.STEPS and self.STEPS.index(self.step) > 0 and self.step != "run":
            self.go(self.STEPS[self.STEPS.index(self.step) - 1])
            return
        self.dismiss(None)

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#close")
    def _close_button(self) -> None:
        if self.running:
            super().action_back()
            return
        self.dismiss(None)

    def buttons(self) -> ComposeResult:
        with Horizontal(classes="wizard-buttons"):
            yield Button("Back", id="back", compact=True)
            yield Button("Next", variant="primary", id="next", compact=True)
            yield Button("Cancel", id="close", compact=True)

    def confirm_apply(self, where: str, then: Any) -> None:
        changes = sum(1 for a in self.plan.actions if a.changes)
        if self.plan.conflicts:
            self.notify(
                "The plan has conflicts: go back and choose another policy.", severity="error"
            )
            return
        if not changes:
            self.notify(
                "Nothing to change: the destination already matches.", severity="information"
            )
            return

        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.app.push_screen(
            ConfirmDialog(
                "Apply the plan?",
                f"{changes} secret(s) will be created, recovered or get a new version in {where}.",
                yes="Apply",
            ),
            answered,
        )


class RestoreScreen(WizardScreen):
    """Snapshot → secrets → destination and policy → plan → confirm → progress and report."""

    STEPS: ClassVar[list[str]] = ["snapshot", "secrets", "dest", "plan", "run"]
    TITLES: ClassVar[dict[str, str]] = {
        "snapshot": "Restore 1/5 · pick the snapshot (enter)",
        "secrets": "Restore 2/5 · pick secrets (space marks; none marked = all) and versions",
        "dest": "Restore 3/5 · destination and conflict policy",
        "plan": "Restore 4/5 · the plan: nothing has changed yet",
        "run": "Restore 5/5 · progress and report",
    }

    def __init__(self, snapshot_id: str | None, preselected: list[str] | None = None) -> None:
        super().__init__()
        self.snapshot_id = snapshot_id
        self.preselected = list(preselected or [])
        self.header: Any = None
        self.headers: dict[str, Any] = {}
        self.selection_ids: list[str] = []
        self.versions_mode = "all"
        self.revision: int | None = None
        self.destination: tuple[str, str, str, bool] | None = None

    def compose(self) -> ComposeResult:
        from tui.screens.main import SNAPSHOT_COLUMNS

        yield Header(icon=ICON)
        yield Static("", id="step-title", classes="step-title")
        with ContentSwitcher(id="steps", initial="step-snapshot"):
            with Vertical(id="step-snapshot"):
                yield VirtualTable(
                    SNAPSHOT_COLUMNS, empty_text="Loading snapshots…", id="pick-snapshot"
                )
            with Vertical(id="step-secrets"):
                yield SecretsBrowser(markable=True, id="restore-browser")
                with Horizontal(id="versions-mode-bar"):
                    yield Label("Versions: ")
                    with RadioSet(id="versions-mode"):
                        yield RadioButton("all", value=True, id="mode-all")
                        yield RadioButton("latest only", id="mode-latest")
                        yield RadioButton(
                            "one revision (highlighted secret; v picks it)", id="mode-revision"
                        )
            yield DestinationForm("", "fr-par", id="step-dest")
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
        from tui.screens.main import snapshot_row

        app = self.kapp
        store = app.require_store()
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

    def use_snapshot(self, header: Any) -> None:
        from tui.sources import SnapshotSource

        self.header = header
        browser = self.query_one("#restore-browser", SecretsBrowser)
        browser.load(SnapshotSource(self.kapp.require_store(), header))
        src = header.sources[0] if header.sources else None
        form = self.query_one("#step-dest", DestinationForm)
        if src is not None:
            form.query_one("#dest-region", Select).value = src.region
            pselect = form.query_one("#dest-project", Select)
            known = set(self.kapp.project_names) | {form.default_project}
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
        from core.engine.restore import plan_restore
        from core.engine.selectors import Selection

        app = self.kapp
        try:
            client = await app.get_client()
            store = app.require_store()
            project, region, policy, _ = self.destination or ("", "", "new-version", False)
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
                organization_id=app.context.organization_id,
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
        self.query_one("#run", RunPanel).expected_actions = sum(
            1 for a in self.plan.actions if a.changes
        )
        self.go("run")
        self.running = True
        self.worker = self._apply()

    @work(exclusive=True, group="restore-apply", exit_on_error=False)
    async def _apply(self) -> Any:
        from core.engine.restore import apply_plan

        app = self.kapp
        panel = self.query_one("#run", RunPanel)
        client = await app.get_client()
        _, _, _, verify = self.destination or ("", "", "", False)
        result = await apply_plan(
            client, app.require_store(), self.plan, verify=verify, on_event=panel.sink()
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
        app = self.kapp
        project, region, _, _ = self.destination or ("", "", "", False)
        target = f"snapshot {self.header.id[:8]} → project {project} ({region})"
        panel = self.query_one("#run", RunPanel)
        panel.finish()
        result = self.result
        error = event.worker.error
        if result is None and error is not None and hasattr(error, "result"):
            result = error.result  # RestoreInterrupted carries what was done
        report = self.query_one("#report", VirtualTable)
        if result is not None:
            report.set_rows(report_rows(result.plan))
            report.display = True
            panel.finish(collapse=True)
            self.query_one("#report-summary", Static).update(result_summary(result, "Restore"))
            app.log_activity("restore", target, result.status, self.selection_text())
        elif event.state == WorkerState.CANCELLED:
            report.set_rows(report_rows(self.plan))
            report.display = True
            self.query_one("#report-summary", Static).update(
                Text(
                    "Restore cancelled: the report shows each secret's state.", style="bold yellow"
                )
            )
            app.log_activity("restore", target, "cancelled", self.selection_text())
        else:
            self.query_one("#report-summary", Static).update(
                Text("Restore failed (see the message).", style="bold red")
            )
            app.log_activity("restore", target, "failed", type(error).__name__)
        self.query_one("#close", Button).focus()


class CopyScreen(WizardScreen):
    """Copy a project (or the marked secrets) to another project or region."""

    STEPS: ClassVar[list[str]] = ["dest", "plan", "run"]
    TITLES: ClassVar[dict[str, str]] = {
        "dest": "Copy 1/3 · destination and conflict policy",
        "plan": "Copy 2/3 · the plan (dry run: nothing has changed yet)",
        "run": "Copy 3/3 · progress and report",
    }

    def __init__(self, project_id: str, region: str, picked: list[str]) -> None:
        super().__init__()
        self.project_id = project_id
        self.source_region = region
        self.picked = picked
        self.destination: tuple[str, str, str, bool] | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        yield Static("", id="step-title", classes="step-title")
        name = self.kapp.project_names.get(self.project_id) or self.project_id
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
                yield DestinationForm(self.project_id, other, id="copy-dest")
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
        self.go("dest")
        self.query_one("#dest-project", Select).focus()

    def _selection(self) -> Any:
        from core.engine.selectors import Selection

        only = bool(self.picked) and self.query_one("#only-marked", Checkbox).value
        return Selection.parse([f"id:{i}" for i in self.picked]) if only else Selection()

    @on(Button.Pressed, "#next")
    def next_step(self) -> None:
        if self.busy:
            return
        if self.step == "dest":
            project, region, policy, verify = self.query_one("#copy-dest", DestinationForm).values()
            if (project, region) == (self.project_id, self.source_region):
                self.notify(
                    "The destination is the source: pick another project or region.",
                    severity="error",
                )
                return
            self.destination = (project, region, policy, verify)
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
            self.confirm_apply(f"project {project} ({region})", self._start_copy)

    def _kwargs(self) -> dict[str, Any]:
        project, region, policy, verify = self.destination or ("", "", "new-version", False)
        return {
            "project_id": self.project_id,
            "region": self.source_region,
            "to_project": project,
            "to_region": region,
            "selection": self._selection(),
            "on_conflict": policy,
            "verify": verify,
            "organization_id": self.kapp.context.organization_id,
        }

    @work(exclusive=True, group="copy-plan", exit_on_error=False)
    async def _plan(self) -> None:
        from core.engine.copy import run_copy

        app = self.kapp
        try:
            client = await app.get_client()
            result = await run_copy(client, app.require_store(), dry_run=True, **self._kwargs())
        except BaseException:
            self.busy = False
            self.query_one("#plan-counts", Static).update(
                Text("Planning failed (see the message).", style="red")
            )
            raise
        self.busy = False
        self.plan = result.restore.plan
        self.query_one("#plan", VirtualTable).set_rows(plan_rows(self.plan))
        self.query_one("#plan-counts", Static).update(plan_counts_text(self.plan))
        self.query_one("#next", Button).focus()

    def _start_copy(self) -> None:
        self.query_one("#run", RunPanel).expected_actions = sum(
            1 for a in self.plan.actions if a.changes
        )
        self.go("run")
        self.running = True
        self.worker = self._copy()

    @work(exclusive=True, group="copy-apply", exit_on_error=False)
    async def _copy(self) -> Any:
        from core.engine.copy import run_copy

        app = self.kapp
        panel = self.query_one("#run", RunPanel)
        client = await app.get_client()
        result = await run_copy(
            client, app.require_store(), dry_run=False, on_event=panel.sink(), **self._kwargs()
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
        app = self.kapp
        project, region, _, _ = self.destination or ("", "", "", False)
        target = f"project {self.project_id} ({self.source_region}) → {project} ({region})"
        panel = self.query_one("#run", RunPanel)
        panel.finish()
        result = self.result
        if result is not None:
            report = self.query_one("#report", VirtualTable)
            report.set_rows(report_rows(result.restore.plan))
            report.display = True
            panel.finish(collapse=True)
            summary = result_summary(result.restore, "Copy")
            if result.backup is not None and result.backup.snapshot_id:
                summary.append(f"source snapshot  {result.backup.snapshot_id[:8]} (tagged copy)\n")
            self.query_one("#report-summary", Static).update(summary)
            app.log_activity(
                "copy", target, result.status, f"{len(result.restore.plan.actions)} secrets"
            )
            app.store_changed()
        elif event.state == WorkerState.CANCELLED:
            self.query_one("#report-summary", Static).update(
                Text("Copy cancelled.", style="bold yellow")
            )
            app.log_activity("copy", target, "cancelled")
        else:
            self.query_one("#report-summary", Static).update(
                Text("Copy failed (see the message).", style="bold red")
            )
            app.log_activity("copy", target, "failed", type(event.worker.error).__name__)
        self.query_one("#close", Button).focus()
