"""Worker failures, wherever the worker runs, end in the app's one error dialog."""

from __future__ import annotations

from textual import on
from textual.dom import DOMNode
from textual.worker import Worker


class ReportsFailures(DOMNode):
    """Mix into any widget or screen that starts workers.

    ``Worker.StateChanged`` is posted to the node that started the worker and does not
    bubble, so each such node hands it to ``App.report_worker_failure``.
    """

    @on(Worker.StateChanged)
    def _forward_worker_failure(self, event: Worker.StateChanged) -> None:
        report = getattr(self.app, "report_worker_failure", None)
        if report is not None:
            report(event)
