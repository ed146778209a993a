"""Browse one snapshot (the same browser as a live project) and diff two snapshots."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from core.store import SnapshotHeader
from core.store.ops.diff import SnapshotDiff, diff_snapshots
from tui.actions import Where, bindings
from tui.format import short_time, visible
from tui.glyphs import ICON
from tui.screens.restore import RestoreScreen, no_data_text
from tui.session import Session, session_of
from tui.sources import SnapshotSource, snapshot_source_text
from tui.widgets.browser import SecretsBrowser
from tui.widgets.vtable import Column, Row, VirtualTable
from tui.workers import ReportsFailures


class SnapshotScreen(Screen[None]):
    """A snapshot's tree, browsed exactly like a live project; values masked the same way."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.SNAPSHOT)

    def __init__(self, header: SnapshotHeader, session: Session | None = None) -> None:
        """``session``: the console's (None: the session of the app it is pushed on)."""
        super().__init__()
        self.header = header
        self._session = session

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = session_of(self)
        return self._session

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        h = self.header
        s = h.summary
        info = Text()
        info.append(f"Snapshot {h.id[:8]}", style="bold")
        info.append(f" · {short_time(h.time)} · {snapshot_source_text(h)} · {h.status}")
        info.append(f" · {s.secrets} secrets, {s.versions} versions", style="dim")
        if h.tags:
            info.append(f" · tags {visible(', '.join(h.tags))}", style="dim")
        yield Static(info, classes="step-title")
        session = self.session
        yield SecretsBrowser(
            SnapshotSource(session.require_store(), h),
            session=session,
            markable=True,
            id="snapshot-browser",
        )
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#snapshot-browser #secrets").focus()

    def action_back(self) -> None:
        browser = self.query_one("#snapshot-browser", SecretsBrowser)
        if browser.table.filter_text:
            browser.action_clear_filter()
            return
        self.dismiss(None)

    def action_restore(self) -> None:
        """On a version row: restore just that revision of that secret (the wizard opens at
        the destination); elsewhere: the marked secrets."""
        browser = self.query_one("#snapshot-browser", SecretsBrowser)
        version, entry = browser.highlighted_version(), browser.current
        if version is not None and entry is not None:
            if not version.has_data:
                self.notify(no_data_text(version), severity="warning")
                return
            self.app.push_screen(
                RestoreScreen(self.session, self.header.id, [entry.id], revision=version.revision)
            )
            return
        self.app.push_screen(
            RestoreScreen(self.session, self.header.id, preselected=browser.marked_ids)
        )


class DiffScreen(ReportsFailures, Screen[None]):
    """What changed from an older snapshot to a newer one: secrets and versions."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.DIFF)

    def __init__(self, session: Session, older: SnapshotHeader, newer: SnapshotHeader) -> None:
        super().__init__()
        self.session = session
        self.older = older
        self.newer = newer
        self.diff: SnapshotDiff | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        yield Static(
            f"Diff {self.older.id[:8]} ({short_time(self.older.time)}) → "
            f"{self.newer.id[:8]} ({short_time(self.newer.time)})",
            classes="step-title",
        )
        yield Static("Reading both trees…", id="diff-counts")
        yield VirtualTable(
            (
                Column("Change", 8),
                Column("Secret", 16, grow=2),
                Column("Where", 10, grow=1),
                Column("Details", 16, grow=3),
            ),
            empty_text="The two snapshots hold the same secrets and versions.",
            id="diff",
        )
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#diff").focus()
        self._load()

    @work(exclusive=True, group="diff", exit_on_error=False)
    async def _load(self) -> None:
        store = self.session.require_store()
        tree_a = await store.read_tree(self.older.id)
        tree_b = await store.read_tree(self.newer.id)
        diff = diff_snapshots(tree_a, tree_b)
        self.diff = diff
        rows: list[Row] = []
        for n, change in enumerate(diff.changes):
            rec = change.record
            where = f"{rec.region} · {rec.project_id[:8]}"
            details = []
            for f in change.fields:
                details.append(f"{f.field} changed")
            for v in change.versions:
                what = f"rev {v.revision} {v.kind}"
                if v.kind == "changed":
                    changed = [f.field for f in v.fields]
                    what += f" ({', '.join(changed)})" if changed else ""
                details.append(what)
            if change.kind == "added":
                details.append(f"{len(rec.versions)} versions")
            if change.kind == "removed":
                details.append(f"had {len(rec.versions)} versions")
            style = {"added": "", "removed": "bad", "changed": "warn"}.get(change.kind, "")
            rows.append(
                Row(f"{n}", (change.kind, rec.full_path, where, "; ".join(details)), style=style)
            )
        self.query_one("#diff", VirtualTable).set_rows(rows)
        c = diff.counts()
        self.query_one("#diff-counts", Static).update(
            Text.assemble(
                ("secrets ", "bold"),
                (f"+{c['secrets_added']} added  ", "green"),
                (f"-{c['secrets_removed']} removed  ", "red"),
                (f"~{c['secrets_changed']} changed  ", "yellow"),
                (f"{c['secrets_unchanged']} unchanged   ", "dim"),
                ("versions ", "bold"),
                (f"+{c['versions_added']} ", "green"),
                (f"-{c['versions_removed']} ", "red"),
                (f"~{c['versions_changed']}", "yellow"),
            )
        )

    def action_back(self) -> None:
        self.dismiss(None)
