"""Typed messages: how screens tell each other what happened, without importing each other.

The session broadcasts the first four to every screen on the stack (a fresh message per
screen); a screen posts :class:`ShowError` and it bubbles up to the app, which shows the one
error dialog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    """One operation of this session: names and ids only, never values."""

    time: datetime
    operation: str
    target: str
    outcome: str
    detail: str = ""


class ProjectChanged(Message):
    """The current project, region or profile changed."""


class StoreChanged(Message):
    """A store was opened (or created), or its snapshots changed."""


class ActivityLogged(Message):
    """An operation was recorded in the session's activity log."""

    def __init__(self, entry: ActivityEntry) -> None:
        super().__init__()
        self.entry = entry


class RunFinished(Message):
    """A backup, restore, copy or retention run ended (``outcome`` as the Activity log says
    it); ``store_changed``: it added or removed snapshots."""

    def __init__(self, operation: str, outcome: str, *, store_changed: bool) -> None:
        super().__init__()
        self.operation = operation
        self.outcome = outcome
        self.store_changed = store_changed


class ShowError(Message):
    """Show the error dialog for ``error`` (what went wrong, what to do)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class HistoryRequested(Message):
    """Open the History view of one secret (ids; ``label`` is its path as the browser shows
    it); posted by the secrets browser, it bubbles up to the app."""

    def __init__(self, secret_id: str, region: str, project_id: str, label: str) -> None:
        super().__init__()
        self.secret_id = secret_id
        self.region = region
        self.project_id = project_id
        self.label = label


__all__ = [
    "ActivityEntry",
    "ActivityLogged",
    "HistoryRequested",
    "ProjectChanged",
    "RunFinished",
    "ShowError",
    "StoreChanged",
]
