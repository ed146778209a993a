"""Progress of an engine run, built from the engine's own events (core/engine/events.py).

The engine calls a plain callback; :class:`RunPanel` queues the events and posts a Textual
message per batch (so the engine never touches a widget), keeps running totals, and redraws
at most ten times a second however fast events come.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import ProgressBar, Static

from core.engine import events as ev
from tui.format import human_bytes
from tui.widgets.vtable import Column, Row, VirtualTable

LOG_COLUMNS = (
    Column("Outcome", 9),
    Column("Action", 12),
    Column("Secret", 16, grow=3),
    Column("Versions", 13),
    Column("Detail", 10, grow=2),
)


class EngineEvents(Message):
    """Engine events are waiting for the panel that started the run (they are drained in
    batches: one message for however many events arrived since the last one)."""


@dataclass
class RunTotals:
    phase: str = "starting"
    detail: str = ""
    secrets_listed: int = 0
    secrets_done: int = 0
    versions_read: int = 0
    versions_skipped: int = 0
    versions_metadata_only: int = 0
    bytes_added: int = 0
    bytes_read: int = 0
    errors: int = 0
    planned: int = 0
    applied: int = 0
    done: int = 0
    total: int = 0
    unit: str = "secrets"
    outcomes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class RunPanel(Vertical):
    """Counters, a progress bar and a per-secret log of one engine run."""

    DEFAULT_CSS = """
    RunPanel { height: 1fr; }
    RunPanel #run-counters { height: auto; padding: 0 1; }
    RunPanel #run-bar { height: 1; padding: 0 1; }
    RunPanel #run-log { height: 1fr; border-top: hkey $border-blurred; background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.totals = RunTotals()
        self.expected_actions = 0  # a restore: how many actions the plan will apply
        self._pending: list[ev.Event] = []
        self._posted = False
        self._log_rows: list[Row] = []
        self._dirty = False
        self.events: list[ev.Event] = []
        self._agreed: dict[str, int] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="run-counters")
        yield ProgressBar(total=None, show_eta=False, id="run-bar")
        yield VirtualTable(LOG_COLUMNS, empty_text="Starting…", id="run-log")

    def on_mount(self) -> None:
        self.set_interval(0.1, self._flush)
        self._render_counters()

    def sink(self) -> ev.EventSink:
        """The callback to hand to an engine. It runs in the app's event loop (engines are
        async and called from async workers), queues the event, and posts one message per
        batch, so 100,000 events cost a few hundred messages."""

        def emit(event: ev.Event) -> None:
            self._pending.append(event)
            if not self._posted:
                self._posted = True
                self.post_message(EngineEvents())

        return emit

    def on_engine_events(self, message: EngineEvents) -> None:
        message.stop()
        self._posted = False
        pending, self._pending = self._pending, []
        for event in pending:
            self.apply(event)

    def _log(
        self, outcome: str, action: str, secret: str, versions: str, detail: str, style: str = ""
    ) -> None:
        n = len(self.query_one("#run-log", VirtualTable).rows) + len(self._log_rows)
        self._log_rows.append(Row(str(n), (outcome, action, secret, versions, detail), style=style))

    def _flush_log(self) -> None:
        """Append the new log lines in one go; the view follows the tail unless moved."""
        if not self._log_rows:
            return
        table = self.query_one("#run-log", VirtualTable)
        following = table.cursor >= table.row_count - 1
        rows, self._log_rows = self._log_rows, []
        table.append_rows(rows)
        if following:
            table.action_last()

    def apply(self, event: ev.Event) -> None:
        t = self.totals
        self.events.append(event)
        if isinstance(event, ev.Phase):
            t.phase = event.name
            t.detail = event.detail
        elif isinstance(event, ev.SecretsListed):
            t.secrets_listed += event.count
        elif isinstance(event, ev.VersionRead):
            if event.skipped:
                t.versions_skipped += 1
            elif event.metadata_only:
                t.versions_metadata_only += 1
            else:
                t.versions_read += 1
                t.bytes_read += event.size
        elif isinstance(event, ev.BlobStored):
            t.bytes_added += event.bytes_added
        elif isinstance(event, ev.SecretDone):
            t.secrets_done += 1
            t.outcomes[event.outcome] = t.outcomes.get(event.outcome, 0) + 1
            if event.outcome == ev.Outcome.FAILED:
                t.errors += 1
            style = {"failed": "bad", "unchanged": "dim"}.get(event.outcome, "")
            self._log(
                event.outcome,
                "backup",
                event.display or event.secret_id,
                f"{event.versions}, {event.versions_read} read",
                event.error or "",
                style,
            )
        elif isinstance(event, ev.ActionPlanned):
            t.planned += 1
        elif isinstance(event, ev.ActionDone):
            t.applied += 1
            t.outcomes[event.outcome] = t.outcomes.get(event.outcome, 0) + 1
            if event.outcome in (ev.Outcome.FAILED, ev.Outcome.CONFLICT):
                t.errors += 1
            style = {"failed": "bad", "conflict": "bad", "unchanged": "dim", "skipped": "dim"}.get(
                event.outcome, ""
            )
            self._log(
                event.outcome,
                event.action,
                event.display or event.secret_id,
                "",
                event.detail,
                style,
            )
        elif isinstance(event, ev.EngineWarning):
            t.warnings.append(event.message)
            self._log("warning", "", event.message, "", "", "warn")
        elif isinstance(event, ev.Progress):
            t.done, t.total, t.unit = event.done, event.total, event.unit
            t.errors = max(t.errors, event.errors)
            if event.bytes:
                t.bytes_added = max(t.bytes_added, event.bytes)
        self._dirty = True

    def _flush(self) -> None:
        """Ten times a second at most: the counters, the bar and the new log lines."""
        if self._dirty:
            self._dirty = False
            self._render_counters()
            self._flush_log()

    def _pending_agree(self) -> None:
        if self._agreed is not None:
            self.agree(**self._agreed)

    def agree_at_finish(self, **counts: int) -> None:
        """Counts to apply after the last events are drained (see :meth:`agree`)."""
        self._agreed = counts

    def agree(
        self,
        *,
        secrets_done: int | None = None,
        versions_read: int | None = None,
        versions_skipped: int | None = None,
        bytes_added: int | None = None,
        applied: int | None = None,
    ) -> None:
        """The result's own counts replace the running ones (events can be coalesced or
        retried): progress and summary then say the same numbers."""
        t = self.totals
        for name, value in (
            ("secrets_done", secrets_done),
            ("versions_read", versions_read),
            ("versions_skipped", versions_skipped),
            ("bytes_added", bytes_added),
            ("applied", applied),
        ):
            if value is not None:
                setattr(t, name, value)

    def finish(self, outcome: str = "finished", collapse: bool = False) -> None:
        """The run is over: the status line ends in ``outcome`` (never in the phase it was
        in, "applying 21 action(s)", after a failure or a cancel); ``collapse`` hides the log
        (a report table replaces it)."""
        pending, self._pending = self._pending, []
        for event in pending:
            self.apply(event)
        self.totals.phase, self.totals.detail = outcome, ""
        self._pending_agree()
        self._flush_log()
        if collapse:
            self.query_one("#run-log").display = False
            self.styles.height = "auto"
        self._dirty = False
        self._render_counters()
        bar = self.query_one("#run-bar", ProgressBar)
        total = max(self.totals.total, self.totals.secrets_done, self.totals.applied, 1)
        bar.update(total=total, progress=total)

    def _render_counters(self) -> None:
        t = self.totals
        text = Text()
        text.append(f"{t.phase}", style="bold")
        if t.detail:
            text.append(" ")
            text.append(f"· {t.detail}", style="dim")
        text.append("\n")
        if t.secrets_listed or t.secrets_done or not self.expected_actions:
            text.append(f"secrets listed {t.secrets_listed}   done {t.secrets_done}   ")
            text.append(f"versions read {t.versions_read}   reused {t.versions_skipped}   ")
            if t.versions_metadata_only:
                text.append(f"metadata only {t.versions_metadata_only}   ")
            text.append(f"bytes added {human_bytes(t.bytes_added)}   ")
        if self.expected_actions or t.applied:
            expected = max(self.expected_actions, t.planned, t.applied)
            text.append(f"actions applied {t.applied} of {expected}   ")
        text.append(f"errors {t.errors}", style="red" if t.errors else "")
        self.query_one("#run-counters", Static).update(text)
        bar = self.query_one("#run-bar", ProgressBar)
        total = t.total or t.secrets_listed or self.expected_actions
        done = t.done or t.secrets_done or t.applied
        if total:
            bar.update(total=total, progress=min(done, total))
