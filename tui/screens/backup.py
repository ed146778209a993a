"""Back up the current project (every secret, or the marked ones): form, progress, summary."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    Static,
)
from textual.worker import Worker, WorkerState

from core.engine.backup import BackupOptions, BackupResult, run_backup
from core.engine.selectors import Selection
from tui.errors import failure_text
from tui.format import human_bytes
from tui.glyphs import ICON, OK, WARN
from tui.screens.run import RunScreen
from tui.screens.snapshot import SnapshotScreen
from tui.session import Session
from tui.widgets.progress import RunPanel
from tui.widgets.wrapping import Checkbox


def split_tags(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


class BackupScreen(RunScreen[BackupResult]):
    """Back up the current project (all secrets or the marked ones)."""

    def __init__(self, session: Session, project_id: str, region: str, picked: list[str]) -> None:
        super().__init__(session)
        self.project_id = project_id
        self.source_region = region
        self.picked = picked

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        name = self.session.project_names.get(self.project_id) or self.project_id
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
        yield Footer(show_command_palette=False)

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
    async def _run(self, options: BackupOptions) -> BackupResult:
        session = self.session
        panel = self.query_one("#run", RunPanel)
        client = await session.get_client()
        store = session.require_store()
        ctx = session.context
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
        session = self.session
        target = f"project {self.project_id} ({self.source_region})"
        panel = self.query_one("#run", RunPanel)
        if event.state == WorkerState.SUCCESS:
            self.running = False
            r = self.result
            assert r is not None
            ok = r.status == "complete"
            panel.agree_at_finish(
                secrets_done=r.secrets,
                versions_read=r.versions_read,
                versions_skipped=r.versions_reused,
                bytes_added=r.bytes_added,
            )
            panel.finish("complete" if ok else "partial")
            title = (
                f"{OK} Backup complete: snapshot {r.snapshot_id}"
                if ok
                else f"{WARN} Backup partial (snapshot {r.snapshot_id}): some secrets failed, see the log"
            )
            summary = Text(title + "\n", style="bold green" if ok else "bold yellow")
            summary.append(
                f"{r.secrets} secrets ({r.secrets_unchanged} unchanged) · {r.versions} versions "
                f"({r.versions_read} read, {r.versions_reused} reused) · {human_bytes(r.bytes_added)} "
                f"added · {len(r.errors)} errors · {r.duration_seconds:.1f} s\n"
            )
            for e in r.errors[:5]:
                summary.append(f"  {e.message}\n", style="yellow")
            self._show_summary(summary)
            session.run_finished(
                "backup",
                target,
                "ok" if ok else "partial",
                f"snapshot {(r.snapshot_id or '')[:8]}, {r.secrets} secrets, {r.versions_read} read",
                store_changed=True,
            )
        elif event.state == WorkerState.CANCELLED:
            self.running = False
            panel.finish("cancelled: nothing committed")
            self._show_summary(
                Text("Backup cancelled: nothing was committed.", style="bold yellow")
            )
            session.run_finished("backup", target, "cancelled", "nothing committed")
        elif event.state == WorkerState.ERROR:
            self.running = False
            panel.finish("failed: nothing committed")
            self._show_summary(Text("Backup failed: nothing was committed.", style="bold red"))
            session.run_finished("backup", target, "failed", failure_text(event.worker.error))

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
        header = self.result.header
        self.dismiss(None)
        self.app.push_screen(SnapshotScreen(header, self.session))
