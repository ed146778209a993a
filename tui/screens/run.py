"""What backup, restore and copy share: a run in a worker that Esc cancels (after asking),
and the wizard's steps with Back and Next."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Static
from textual.worker import Worker, WorkerState

from core.engine.restore import RestorePlan
from tui.actions import Where, bindings
from tui.screens.dialogs import ConfirmDialog
from tui.session import Session
from tui.widgets.progress import RunPanel
from tui.workers import ReportsFailures

FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)

R = TypeVar("R")
"""What the run returns (a backup, restore or copy result)."""


class RunScreen(ReportsFailures, Screen[None], Generic[R]):
    """Shared behaviour: a run in a worker, cancellable with Esc (after a confirmation)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.RUN)

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.worker: Worker[R] | None = None
        self.result: R | None = None
        self.running = False
        self.cancel_dialog: ConfirmDialog | None = None  # open while it asks to stop the run
        self.stop_requested = False  # the user stopped it: an "interrupted" is no surprise

    def ask_cancel(self, then: Callable[[], None] | None = None, *, quitting: bool = False) -> None:
        """Ask before stopping the run; "Stop it" cancels the worker (asyncio cancellation
        reaches the engine at its current await: no further API call starts). ``then`` runs
        after the run was cancelled (the app quits, for ``q``)."""
        if self.cancel_dialog is not None:
            return

        def answered(yes: bool | None) -> None:
            self.cancel_dialog = None
            if yes and self.worker is not None and self.running:
                self.stop_requested = True
                self.worker.cancel()
                if then is not None:
                    then()

        self.cancel_dialog = ConfirmDialog(
            "Quit during the run?" if quitting else "Cancel the run?",
            ("The run is stopped first, then the console quits. " if quitting else "")
            + "It stops now: no new request is sent. A backup commits nothing; a restore or "
            "copy reports what it did (a secret half-restored shows as partial; running it "
            "again completes it).",
            yes="Stop and quit" if quitting else "Stop it",
            no="Keep running",
        )
        self.app.push_screen(self.cancel_dialog, answered)

    def ended(self, event: Worker.StateChanged) -> bool:
        """Whether ``event`` says this screen's run finished (succeeded, failed or cancelled)."""
        return event.worker is self.worker and event.state in FINISHED

    @on(Worker.StateChanged)
    def _run_ended(self, event: Worker.StateChanged) -> None:
        """The run finished (or failed) while the dialog asked whether to stop it: the
        dialog no longer promises what is not true: it closes and says so."""
        if not self.ended(event):
            return
        self.running = False
        dialog, self.cancel_dialog = self.cancel_dialog, None
        if dialog is None or event.state == WorkerState.CANCELLED:
            return
        if self.app.screen is dialog:
            dialog.dismiss(None)
        else:
            dialog.ended("The run has already ended: there is nothing left to stop.")
        self.notify("The run ended before it could be stopped: see the report.", timeout=6)

    def action_back(self) -> None:
        if self.running and self.worker is not None:
            self.ask_cancel()
            return
        self.dismiss(None)


class WizardScreen(RunScreen[R]):
    """Steps in a ContentSwitcher; Back and Next buttons; Esc goes back a step."""

    STEPS: ClassVar[list[str]] = []
    TITLES: ClassVar[dict[str, str]] = {}

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.step = ""
        self.plan: RestorePlan | None = None
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

    def start_run(self, start: Callable[[], Worker[R]]) -> None:
        """Show the run step, expecting the plan's changing actions, and start ``start``'s
        worker (the apply of a restore or a copy)."""
        assert self.plan is not None
        self.query_one("#run", RunPanel).expected_actions = sum(
            1 for a in self.plan.actions if a.changes
        )
        self.go("run")
        self.running = True
        self.worker = start()

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

    def confirm_apply(self, where: str, then: Callable[[], None], what: str = "") -> None:
        if self.plan is None:
            return
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
                f"{changes} secret(s) will be created, recovered or get a new version in {where}."
                + (f"\n\nRestoring: {what}" if what else ""),
                yes="Apply",
            ),
            answered,
        )
