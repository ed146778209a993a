"""The History view of one secret (issue 12): every version ever seen in the store's
snapshots (:func:`core.engine.history.secret_history`), the snapshots that hold each, which
ones the source no longer has; enter on a row opens the restore wizard with that secret and
that revision chosen, at the destination step.

"The source" is the newest snapshot of the secret's project and region (history works offline,
it asks no API). Values are never read here: rows are revisions, dates, sizes and ids.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from core.engine.history import HistoryResult, SecretHistory, VersionHistory, secret_history
from core.engine.selectors import Selection
from core.store import SnapshotHeader
from tui.actions import Where, bindings
from tui.format import human_bytes, short_time
from tui.glyphs import ICON, NONE
from tui.screens.restore import RestoreScreen
from tui.session import Session
from tui.widgets.vtable import Column, Row, VirtualTable
from tui.workers import ReportsFailures

__all__ = ["HistoryScreen", "no_data_anywhere_text", "version_rows"]

HISTORY_COLUMNS = (
    Column("Rev", 3, align="right"),
    Column("Created", 16),
    Column("Status", 10),
    Column("Size", 7, align="right"),
    Column("In source", 9),
    Column("First seen", 16),
    Column("Snapshots", 12, grow=1),
)


_STATUS = {"scheduled_for_deletion": "deleting"}  # as the browser words it


def no_data_anywhere_text(v: VersionHistory) -> str:
    """Why a revision no snapshot holds the data of cannot be restored."""
    why = {"disabled": "it was disabled when backed up and its data was not kept"}.get(
        v.status, f"it was {v.status} when backed up (expired or destroyed)"
    )
    return f"Revision {v.revision} holds no data in any snapshot: {why}."


def _first_seen(v: VersionHistory, headers: dict[str, SnapshotHeader]) -> str:
    first = headers.get(v.first_snapshot)
    return short_time(first.time) if first else NONE


def version_rows(secret: SecretHistory, headers: dict[str, SnapshotHeader]) -> list[Row]:
    """One row per version, newest first; a version the source no longer has is marked."""
    rows = []
    for v in sorted(secret.versions, key=lambda v: v.revision, reverse=True):
        in_source = "yes" if v.in_source else "deleted"
        rows.append(
            Row(
                str(v.revision),
                (
                    str(v.revision),
                    (v.created_at or NONE)[:16].replace("T", " "),
                    _STATUS.get(v.status, v.status),
                    human_bytes(v.size),
                    in_source,
                    _first_seen(v, headers),
                    f"{len(v.snapshots)}: " + " ".join(s[:8] for s in reversed(v.snapshots)),
                ),
                style="" if v.in_source else "warn",
            )
        )
    return rows


class HistoryScreen(ReportsFailures, Screen[None]):
    """Every version of one secret across the store's snapshots; enter restores from a row."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.HISTORY)

    DEFAULT_CSS = """
    HistoryScreen #history-info {
        height: 5; padding: 0 1; border-top: hkey $border-blurred; background: $surface;
    }
    """

    def __init__(
        self, session: Session, secret_id: str, region: str, project_id: str, label: str = ""
    ) -> None:
        super().__init__()
        self.session = session
        self.secret_id = secret_id
        self.secret_region = region
        self.secret_project = project_id
        self.secret_label = label
        self.result: HistoryResult | None = None
        self.secret: SecretHistory | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        yield Static(
            Text.assemble(("History ", "bold"), self.secret_label or self.secret_id),
            classes="step-title",
        )
        yield VirtualTable(
            HISTORY_COLUMNS, empty_text="Reading the history of the store…", id="history"
        )
        yield Static("", id="history-info")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#history", VirtualTable).focus()
        self._load()

    @work(exclusive=True, group="history", exit_on_error=False)
    async def _load(self) -> None:
        store = self.session.require_store()
        result = await secret_history(
            store,
            Selection.parse([f"id:{self.secret_id}"]),
            project=self.secret_project,
            region=self.secret_region,
        )
        self.result = result
        self.secret = next((s for s in result.secrets if s.secret_id == self.secret_id), None)
        table = self.query_one("#history", VirtualTable)
        table.empty_text = "No snapshot of the store holds this secret."
        rows = version_rows(self.secret, result.headers) if self.secret is not None else []
        table.set_rows(rows)
        self._show_info()

    def version(self, revision: str | None) -> VersionHistory | None:
        if self.secret is None or revision is None:
            return None
        return next((v for v in self.secret.versions if str(v.revision) == revision), None)

    @on(VirtualTable.Highlighted, "#history")
    def _highlighted(self) -> None:
        self._show_info()

    def _show_info(self) -> None:
        info = self.query_one("#history-info", Static)
        secret = self.secret
        if secret is None or self.result is None:
            info.update("")
            return
        t = Text()
        t.append(
            f"{secret.secret_id} · {secret.region} · {len(secret.snapshots)} snapshots", "bold"
        )
        t.append(" · in the source" if secret.in_source else " · gone from the source", "dim")
        if len(secret.names_seen) > 1:
            t.append(f"\nnames seen: {', '.join(secret.names_seen)}", style="dim")
        v = self.version(self.query_one("#history", VirtualTable).cursor_key)
        if v is not None:
            held = v.data_snapshots[-1][:8] if v.data_snapshots else NONE
            t.append(f"\nrevision {v.revision}: in {len(v.snapshots)} snapshots; data in {held}")
            if not v.in_source:
                t.append(" · the source no longer has it", style="yellow")
            if not v.data_snapshots:
                t.append(f" · {no_data_anywhere_text(v)}", style="yellow")
        t.append("\nenter restore from this row · esc back", style="dim")
        info.update(t)

    @on(VirtualTable.Selected, "#history")
    def _selected(self, event: VirtualTable.Selected) -> None:
        self.restore_row(event.key)

    def restore_row(self, revision: str | None) -> RestoreScreen | None:
        """The restore wizard at the destination step: the newest snapshot holding the
        row's data, that secret and that revision chosen (as a version row's ``R``)."""
        v = self.version(revision)
        if v is None:
            return None
        if not v.data_snapshots:
            self.notify(no_data_anywhere_text(v), severity="warning")
            return None
        wizard = RestoreScreen(
            self.session, v.data_snapshots[-1], [self.secret_id], revision=v.revision
        )
        self.app.push_screen(wizard)
        return wizard

    def action_back(self) -> None:
        self.dismiss(None)
