"""The Jobs tab (issue 11): the policy file's jobs with their next due time, the job history
with each step's log, coverage with late and uncovered sources highlighted, and "run a job
now" with the same :class:`core.engine.jobs.runner.Runner` as ``secret-kloset run``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Static
from textual.worker import Worker, WorkerState

from core.engine.jobs.clock import clock_from_env, parse_rfc3339
from core.engine.jobs.coverage import LATE, UNCOVERED, CoverageReport
from core.engine.jobs.history import FAILED, PARTIAL, SKIPPED, History
from core.engine.jobs.policies import PolicyFile, PolicyFileError, format_duration, load_policies
from core.engine.jobs.runner import RunReport
from core.errors import KlosetError
from tui.actions import Where, bindings
from tui.format import short_time
from tui.glyphs import NONE
from tui.session import Session
from tui.widgets.vtable import Column, Row, VirtualTable
from tui.workers import ReportsFailures

__all__ = ["JobsPane", "job_key"]

Record = dict[str, Any]  # a job record, as the store keeps it (ids, counts, times, names)

POLICY_COLUMNS = (
    Column("Policy", 10, grow=1),
    Column("Source", 10, grow=1),
    Column("Store", 8),
    Column("Every", 6),
    Column("Last success", 16),
    Column("Next due", 16),
)
HISTORY_COLUMNS = (
    Column("Started", 11),
    Column("Job", 10, grow=1),
    Column("Status", 7),
    Column("Steps", 10, grow=2),
)
COVERAGE_COLUMNS = (
    Column("Project", 12, grow=1),
    Column("Region", 7),
    Column("Status", 9),
    Column("Policies", 10, grow=1),
    Column("Last success", 16),
)
_STYLE = {FAILED: "bad", PARTIAL: "warn", SKIPPED: "dim", UNCOVERED: "bad", LATE: "warn"}


def job_key(policy: str, source: str) -> str:
    return f"{policy}/{source}"


def _time(value: object, *, short: bool = False) -> str:
    if not value:
        return NONE
    try:
        text = short_time(parse_rfc3339(str(value)))
    except ValueError:
        return NONE
    return text[5:] if short else text  # "12-01 15:17": the year is the table's noise


def _detail(value: object) -> str:
    """A step detail as the log shows it: ids shortened (details are ids and counts)."""
    text = str(value)
    return text[:8] if len(text) > 16 and " " not in text else text


def history_row(record: Record) -> Row:
    steps = ", ".join(f"{s.get('name')} {s.get('status')}" for s in record.get("steps") or [])
    status = str(record.get("status") or "")
    return Row(
        str(record.get("id")),
        (
            _time(record.get("started_at"), short=True),
            job_key(str(record.get("policy")), str(record.get("source"))),
            status,
            steps or "no step",
        ),
        style=_STYLE.get(status, ""),
    )


def steps_text(record: Record | None) -> Text:
    """The log of one job: each step's status, times, details (ids, counts) and errors."""
    if record is None:
        return Text("Highlight a job of the history to see its steps.", style="italic")
    t = Text()
    t.append(f"job {str(record.get('id'))[:8]} ", style="bold")
    t.append(f"{record.get('policy')}/{record.get('source')}: {record.get('status')}")
    t.append(f" · snapshot {str(record.get('snapshot_id') or NONE)[:8]}\n", style="dim")
    for step in record.get("steps") or []:
        style = _STYLE.get(str(step.get("status")), "")
        t.append(f"{step.get('name'):<7} {step.get('status'):<8}", style=style or "bold")
        t.append(f" {_time(step.get('started_at'), short=True)}")
        details = step.get("details") or {}
        if details:
            t.append("\n  " + ", ".join(f"{k} {_detail(v)}" for k, v in details.items()), "dim")
        t.append("\n")
        for err in step.get("errors") or []:
            t.append(f"  {err}\n", style="red")
    for err in record.get("errors") or []:
        if not any(
            err.endswith(e) for s in record.get("steps") or [] for e in s.get("errors") or []
        ):
            t.append(f"error: {err}\n", style="red")
    for warning in record.get("warnings") or []:
        t.append(f"warning: {warning}\n", style="yellow")
    return t


class JobsPane(ReportsFailures, Vertical):
    """Tab 5: policies, job history, coverage; run the highlighted job now."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.JOBS)

    DEFAULT_CSS = """
    JobsPane #jobs-banner { height: auto; padding: 0 1; background: $boost; }
    JobsPane #jobs-banner.-empty { padding: 1 2; border-left: thick $accent; }
    JobsPane .jobs-title { height: 1; padding: 0 1; text-style: bold; color: $text-accent; }
    JobsPane #job-policies { height: 1fr; max-height: 8; }
    JobsPane #jobs-middle { height: 3fr; }
    JobsPane #jobs-middle > Vertical { width: 3fr; }
    JobsPane #job-steps-box {
        width: 2fr; border-left: vkey $border-blurred; background: $surface; height: 1fr;
    }
    JobsPane #job-steps { padding: 0 1; }
    JobsPane #job-coverage { height: 2fr; }
    JobsPane #job-progress { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, session: Session) -> None:
        super().__init__(id="jobs-pane")
        self.session = session
        self.policies: PolicyFile | None = None
        self.histories: dict[str, History] = {}
        self.records: dict[str, Record] = {}
        self.coverage: CoverageReport | None = None
        self.missing = False  # no policy file
        self.last_report: RunReport | None = None
        self.progress_lines: list[str] = []
        self._run_worker: Worker[RunReport] | None = None
        self.running_job = ""  # the job running now ("policy/source")

    def compose(self) -> ComposeResult:
        yield Static("", id="jobs-banner")
        yield Label("Policies", classes="jobs-title")
        yield VirtualTable(POLICY_COLUMNS, empty_text="Loading the policy file…", id="job-policies")
        with Horizontal(id="jobs-middle"):
            with Vertical():
                yield Label("Job history", classes="jobs-title")
                yield VirtualTable(HISTORY_COLUMNS, empty_text="Loading…", id="job-history")
            with VerticalScroll(id="job-steps-box"):
                yield Static(steps_text(None), id="job-steps")
        yield Label("Coverage", classes="jobs-title")
        yield VirtualTable(COVERAGE_COLUMNS, empty_text="Loading…", id="job-coverage")
        yield Static("", id="job-progress")

    def on_mount(self) -> None:
        self.query_one("#job-progress").display = False
        self.load()

    @property
    def running(self) -> bool:
        w = self._run_worker
        return (
            w is not None
            and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            and not w.is_cancelled
        )

    # ------------------------------------------------------------------ loading

    def load(self) -> None:
        self._load()

    def _banner(self, text: Text, *, empty: bool = False) -> None:
        banner = self.query_one("#jobs-banner", Static)
        banner.set_class(empty, "-empty")
        banner.update(text)

    @work(exclusive=True, group="jobs-load", exit_on_error=False)
    async def _load(self) -> None:
        session = self.session
        path = session.policy_path
        tables = [self.query_one(f"#job-{n}", VirtualTable) for n in ("policies", "history")]
        try:
            policies = load_policies(path)
        except PolicyFileError as err:
            self.policies = None
            self.missing = err.line is None and not path.exists()
            for table in (*tables, self.query_one("#job-coverage", VirtualTable)):
                table.empty_text = (
                    "No policy file." if self.missing else "The policy file is invalid."
                )
                table.set_rows([])
            if self.missing:
                self._banner(
                    Text.assemble(
                        ("No policy file yet. ", "bold"),
                        f"Put one at {path} (or set SECRET_KLOSET_POLICIES): stores, sources "
                        "and policies, as docs/OPERATIONS.md explains with a complete example.",
                    ),
                    empty=True,
                )
            else:
                self._banner(
                    Text.assemble(("The policy file is invalid: ", "bold red"), err.message)
                )
            return
        self.missing = False
        self.policies = policies
        runner = session.job_runner(policies, lambda _line: None)
        histories, warnings = await runner.histories()
        self.histories = histories
        self._show_policies()
        records = sorted(
            (r for h in histories.values() for r in h.records),
            key=lambda r: (str(r.get("started_at") or ""), str(r.get("id"))),
            reverse=True,
        )
        self.records = {str(r.get("id")): r for r in records}
        history = self.query_one("#job-history", VirtualTable)
        history.empty_text = "No job has run yet: n runs the highlighted policy's job now."
        history.set_rows([history_row(r) for r in records])
        self._show_steps()
        banner = Text()
        banner.append(f"{path}", style="bold")
        banner.append(
            f" · {len(policies.pairs())} jobs · {len(records)} records · n runs one now",
            style="dim",
        )
        for w in warnings:
            banner.append(f"\nwarning: {w}", style="yellow")
        self._banner(banner)
        self._load_coverage(policies)

    def _show_policies(self) -> None:
        policies = self.policies
        if policies is None:
            return
        now = clock_from_env().now()
        rows = []
        for p, s in policies.pairs():
            history = self.histories.get(p.store)
            last = history.last_success(p.name, s.name) if history is not None else None
            due: datetime | None = last + p.every if last is not None else None
            due_text = "due now" if due is None or due <= now else short_time(due)
            rows.append(
                Row(
                    job_key(p.name, s.name),
                    (p.name, s.name, p.store, format_duration(p.every), short_time(last), due_text),
                    style="warn" if due is None or due <= now else "",
                )
            )
        table = self.query_one("#job-policies", VirtualTable)
        table.empty_text = "The policy file matches no source to any policy."
        table.set_rows(rows)

    @work(exclusive=True, group="jobs-coverage", exit_on_error=False)
    async def _load_coverage(self, policies: PolicyFile) -> None:
        table = self.query_one("#job-coverage", VirtualTable)
        table.empty_text = "Loading coverage…"
        table.set_rows([])
        try:
            report = await self.session.job_runner(policies, lambda _line: None).coverage()
        except KlosetError as err:  # coverage needs the API: say so in place, keep the rest
            table.empty_text = f"Coverage unavailable: {err.message}"
            table.set_rows([])
            return
        self.coverage = report
        rows = [
            Row(
                f"{c.project_id}/{c.region}",
                (
                    c.project_name or c.project_id,
                    c.region,
                    c.status,
                    ", ".join(c.policies) or NONE,
                    short_time(c.last_success),
                ),
                style=_STYLE.get(c.status, ""),
            )
            for c in report.items
        ]
        table.empty_text = "No project visible to the sources' credentials."
        table.set_rows(rows)

    # ------------------------------------------------------------------ steps of a job

    @on(VirtualTable.Highlighted, "#job-history")
    def _job_highlighted(self) -> None:
        self._show_steps()

    def _show_steps(self) -> None:
        key = self.query_one("#job-history", VirtualTable).cursor_key
        self.query_one("#job-steps", Static).update(steps_text(self.records.get(key or "")))

    # ------------------------------------------------------------------ run now

    def action_run_job(self) -> None:
        if self.policies is None:
            self.notify("No policy file: see the banner.", severity="warning")
            return
        if self.running:
            self.notify("A job is running (x cancels it).", severity="warning")
            return
        key = self.query_one("#job-policies", VirtualTable).cursor_key
        if key is None:
            self.notify("Highlight a job in Policies first.", severity="warning")
            return
        policy, _, source = key.partition("/")
        self.running_job = key
        self.progress_lines = [f"running {key}…"]
        progress = self.query_one("#job-progress", Static)
        progress.display = True
        progress.update("\n".join(self.progress_lines))
        self._run_worker = self._run(self.policies, policy, source)

    def _progress(self, line: str) -> None:
        self.progress_lines = [*self.progress_lines, line]
        self.query_one("#job-progress", Static).update("\n".join(self.progress_lines[-2:]))

    @work(exclusive=True, group="jobs-run", exit_on_error=False)
    async def _run(self, policies: PolicyFile, policy: str, source: str) -> RunReport:
        runner = self.session.job_runner(policies, self._progress)
        report = await runner.run(policy=policy, source=source)
        self.last_report = report
        return report

    @on(Worker.StateChanged)
    def _run_state(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._run_worker:
            return
        target = self.running_job
        if event.state == WorkerState.SUCCESS:
            report = event.worker.result
            assert isinstance(report, RunReport)
            statuses = [j.status for j in report.jobs]
            outcome = next((s for s in (FAILED, PARTIAL) if s in statuses), "ok")
            detail = ", ".join(f"{j.policy}/{j.source} {j.status}" for j in report.jobs)
            self._progress(f"done: {detail or 'no job'}")
            self.session.run_finished("job", target, outcome, detail, store_changed=True)
            self.load()
        elif event.state == WorkerState.ERROR:
            self._progress("failed (see the error)")
            self.session.log_activity("job", target, "failed")

    def action_cancel_job(self) -> None:
        if not self.running or self._run_worker is None:
            self.notify("No job is running.", severity="information")
            return
        # Said here, not on the worker's CANCELLED state: a worker cancelled before its task
        # ran never reports one. The runner's stores and job lock are released on the way out.
        self._run_worker.cancel()
        self._progress("cancelled")
        self.session.run_finished("job", self.running_job, "cancelled", store_changed=True)
        self.load()

    def action_reload(self) -> None:
        self.load()
