"""The secrets browser: a folder tree beside a virtual table, a filter, and a detail pane.

The same widget shows a live project (values read from the API) and a snapshot (values read
from the store): it only knows a :class:`tui.sources.SecretSource`. Values are masked; ``r``
opens the highlighted version's full-value view (masked until asked), ``c`` copies it to the
clipboard without showing it. Version metadata is read when a secret is highlighted (after a short pause, so
scrolling through 10,000 rows sends nothing); a value only when asked.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static, Tree
from textual.widgets.tree import TreeNode

from core._gc import collector_paused, freeze_survivors, sweep, thaw
from core.scaleway.models import normalize_path
from tui.actions import Where, bindings
from tui.errors import failure_text
from tui.format import short_time, visible
from tui.glyphs import MASK, NONE
from tui.messages import HistoryRequested
from tui.session import Session
from tui.sources import SecretEntry, SecretSource, VersionEntry
from tui.widgets.value_view import ValueScreen
from tui.widgets.vtable import Column, Row, VirtualTable
from tui.workers import ReportsFailures

TYPE_SHORT = {
    "opaque": "opaque",
    "certificate": "cert",
    "key_value": "key/value",
    "basic_credentials": "basic",
    "database_credentials": "database",
    "ssh_key": "ssh key",
    "unknown_type": "?",
}


FLUSH_SECONDS = 0.5  # while listing: how often new rows reach the table (and the screen)
SWEEP_EVERY = 2000  # while listing: entries between two sweeps of the young generations


def secret_status(entry: SecretEntry) -> str:
    if entry.scheduled_for_deletion:
        return "deleting"
    return entry.status


def entry_cells(entry: SecretEntry) -> tuple[str, ...]:
    """The table's cells for one secret (formatted only when its line is drawn)."""
    return (
        entry.name,
        TYPE_SHORT.get(entry.type, entry.type),
        str(entry.version_count),
        ",".join(entry.tags),
        secret_status(entry),
        "yes" if entry.protected else "",
        short_time(entry.updated_at)[:10],
    )


# (path, type, tags, status) -> the lower-cased text before and after the name in a row's
# search text: a few hundred distinct ones in a 50,000-secret project, so a row costs a lookup
# and the lower-casing of its name instead of the whole text's (bounded: unique tags miss).
_SEARCH_PARTS: dict[tuple[str, str, tuple[str, ...], str], tuple[str, str]] = {}
_SEARCH_PARTS_KEPT = 4096


def _search_parts(entry: SecretEntry) -> tuple[str, str]:
    key = (entry.path, entry.type, entry.tags, entry.status)
    parts = _SEARCH_PARTS.get(key)
    if parts is None:
        base = normalize_path(entry.path)
        prefix = "/" if base == "/" else base + "/"  # join_path's: the text before the name
        parts = (prefix.lower(), f" {entry.type} {','.join(entry.tags)} {entry.status} ".lower())
        if len(_SEARCH_PARTS) < _SEARCH_PARTS_KEPT:
            _SEARCH_PARTS[key] = parts
    return parts


def entry_row(entry: SecretEntry) -> Row:
    """A lazy row: the key, the filter's haystack and the style; no cells (see
    :attr:`VirtualTable.cells_of`), so 50,000 rows hold one string each beside the entry.

    The haystack is ``"{full path} {type} {tags} {status} {id}"`` lower-cased; its pieces
    are lower-cased apart (they meet at a space or a slash, so the text is the same)."""
    style = "warn" if entry.scheduled_for_deletion else ("bad" if entry.status == "locked" else "")
    before, after = _search_parts(entry)
    search = before + entry.name.lower() + after + entry.id.lower()
    return Row(entry.id, (), search, style)


def folder_counts(entries: Iterable[SecretEntry], counts: dict[str, int]) -> None:
    """Add each entry to the count of its folder and of every folder above it ("/" too).

    Counted per distinct path, then carried up the path once: 50,000 secrets in a few hundred
    folders cost one dictionary step each, not one per level."""
    per_path: dict[str, int] = {}
    for e in entries:
        per_path[e.path] = per_path.get(e.path, 0) + 1
    for path, n in per_path.items():
        counts["/"] = counts.get("/", 0) + n
        if path in ("", "/"):
            continue
        if not path.startswith("/"):
            path = "/" + path
        prefix = ""
        for part in path.split("/"):
            if part:
                prefix = f"{prefix}/{part}"
                counts[prefix] = counts.get(prefix, 0) + n


SECRET_COLUMNS = (
    Column("Name", 10, grow=3),
    Column("Type", 8),
    Column("Ver", 3, align="right"),
    Column("Tags", 4, grow=2),
    Column("Status", 8),
    Column("Prot", 4),
    Column("Updated", 10),
)


def render_value(data: bytes) -> str:
    """A value as text: UTF-8 when it is printable, otherwise base64 (said so)."""
    try:
        text = data.decode("utf-8")
        if all(ch.isprintable() or ch in "\n\r\t" for ch in text):
            return text
    except UnicodeDecodeError:
        pass
    return "base64:" + base64.b64encode(data).decode("ascii")


class SecretsBrowser(ReportsFailures, Widget):
    """Browse a :class:`SecretSource`: tree of folders, table of secrets, detail, versions."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.BROWSER)

    DEFAULT_CSS = """
    SecretsBrowser { height: 1fr; layout: vertical; }
    SecretsBrowser #browser-title { height: 1; padding: 0 1; background: $boost; color: $text; }
    SecretsBrowser #browser-body { height: 1fr; }
    SecretsBrowser #folders {
        width: 22; min-width: 16; max-width: 40%; height: 1fr;
        border-right: vkey $border-blurred; background: $surface;
    }
    SecretsBrowser #browser-main { width: 1fr; height: 1fr; }
    SecretsBrowser #filter { height: 1; border: none; padding: 0 1; display: none; background: $boost; }
    SecretsBrowser #filter.-active { display: block; }
    SecretsBrowser #filter:focus { background: $boost; }
    SecretsBrowser #detail { height: 11; border-top: hkey $border-blurred; }
    SecretsBrowser #meta {
        width: 1fr; padding: 0 1; height: 1fr; overflow-y: auto;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    SecretsBrowser #versions-pane { width: 1fr; height: 1fr; }
    SecretsBrowser #versions { height: 1fr; background: $surface; overflow-x: hidden; }
    SecretsBrowser.-narrow #folders { display: none; }
    SecretsBrowser.-narrow.-tree #folders { display: block; width: 20; }
    SecretsBrowser.-short #detail { height: 7; }
    SecretsBrowser #value {
        height: 1; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    class Loaded(Message):
        """The source's secrets were listed (``count`` of them)."""

        def __init__(self, browser: SecretsBrowser, count: int) -> None:
            super().__init__()
            self.browser = browser
            self.count = count

        @property
        def control(self) -> SecretsBrowser:
            return self.browser

    class SecretHighlighted(Message):
        def __init__(self, browser: SecretsBrowser, entry: SecretEntry | None) -> None:
            super().__init__()
            self.browser = browser
            self.entry = entry

        @property
        def control(self) -> SecretsBrowser:
            return self.browser

    def __init__(
        self,
        source: SecretSource | None = None,
        *,
        session: Session | None = None,
        markable: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.source = source
        self.session = session  # None: no activity log, the terminal's clipboard
        self.markable = markable
        self.entries: dict[str, SecretEntry] = {}
        self._versions: dict[str, list[VersionEntry]] = {}
        self._scope_path = "/"
        self._pending_versions: Timer | None = None
        self.version_cursor: int | None = None  # revision highlighted in the versions table
        self.loaded_count = 0
        self.loading_done = False
        self._folder_counts: dict[str, int] = {}
        self._folder_children: dict[str, list[str]] = {}
        self._table = VirtualTable(
            SECRET_COLUMNS,
            markable=markable,
            empty_text="No secrets here.",
            cells_of=self._cells_of,
            id="secrets",
        )

    def compose(self) -> ComposeResult:
        yield Static("", id="browser-title")
        with Horizontal(id="browser-body"):
            tree: Tree[str] = Tree("/", id="folders", data="/")
            tree.show_root = True
            tree.guide_depth = 2
            yield tree
            with Vertical(id="browser-main"):
                yield Input(
                    placeholder="filter: name, path, tag, type, id…  (Esc clears)", id="filter"
                )
                yield self._table
                with Horizontal(id="detail"):
                    yield Static("", id="meta")
                    with Vertical(id="versions-pane"):
                        versions: DataTable[str] = DataTable(
                            id="versions", cursor_type="row", zebra_stripes=False
                        )
                        yield versions
                        yield Static("", id="value")

    def on_resize(self) -> None:
        # Small terminals: the folder tree hides (t shows it), the detail pane shrinks.
        self.set_class(self.size.width < 100, "-narrow")
        self.set_class(self.size.height < 26, "-short")

    def on_mount(self) -> None:
        versions = self.query_one("#versions", DataTable)
        versions.add_columns("Rev", "Status", "Created", "Size", "Description")
        self._show_title()
        if self.source is not None:
            self.load(self.source)

    def on_unmount(self) -> None:
        # A closed screen lingers as a reference cycle until a full collection, which a
        # listing defers (core._gc): its 50,000 entries and rows are let go now, by count.
        self.entries = {}
        self._versions = {}
        self._folder_counts = {}
        self._folder_children = {}
        self._table.release()
        thaw()  # the screen's own cycles (frozen with its rows) go back to the collector

    # ------------------------------------------------------------------ public API

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#secrets", VirtualTable)

    def _cells_of(self, key: str) -> tuple[str, ...]:
        entry = self.entries.get(key)
        return entry_cells(entry) if entry is not None else (key,)

    @property
    def current(self) -> SecretEntry | None:
        key = self.table.cursor_key
        return None if key is None else self.entries.get(key)

    @property
    def marked_ids(self) -> list[str]:
        return sorted(self.table.marked)

    def load(self, source: SecretSource) -> None:
        """Show ``source`` (lists its secrets in a worker)."""
        self.source = source
        self.entries = {}
        self._versions = {}
        self._folder_counts = {}
        self.loading_done = False
        self._hide_value()
        self.table.set_rows([])
        self.table.empty_text = "Loading…"
        self._show_title()
        self._list_worker(source)

    def show_entries(
        self, entries: Iterable[SecretEntry], *, rows_ready: bool = False, keep_cursor: bool = False
    ) -> None:
        """Fill the browser with listed entries (the worker's result, or a test's)."""
        entries = list(entries)
        if not rows_ready or len(self.entries) != len(entries):  # streamed: already there
            self.entries = {e.id: e for e in entries}
        self.loaded_count = len(entries)
        self.table.empty_text = "No secrets here."
        if not rows_ready:
            self.table.set_rows([entry_row(e) for e in entries], keep_cursor=keep_cursor)
            self._folder_counts = {}
            folder_counts(entries, self._folder_counts)
        self._build_tree()
        self.loading_done = True
        self._show_title()
        self.post_message(self.Loaded(self, len(entries)))

    def set_filter(self, text: str) -> None:
        inp = self.query_one("#filter", Input)
        inp.add_class("-active")
        inp.value = text
        self.table.set_filter(text)
        self._show_title()

    # ------------------------------------------------------------------ workers

    @work(exclusive=True, group="browser-list", exit_on_error=False)
    async def _list_worker(self, source: SecretSource) -> None:
        # core._gc: the collector was a third of the time. It resumes as the listing ends.
        with collector_paused():
            await self._list(source)
            # The collector's first full pass after the pause would walk every entry and row
            # just made (0.25 s, the UI frozen, as the list completes) and find no cycle in
            # them: once a sweep has freed the young cycles, the survivors are frozen
            # (core._gc) until this browser unmounts.
            sweep()
            freeze_survivors()

    async def _list(self, source: SecretSource) -> None:
        stream = getattr(source, "stream", None)
        if stream is None:
            entries = await source.list_secrets()
            if source is self.source:
                self.show_entries(entries)
            return
        # Progressive: the first batch is on screen while the rest arrives; each batch costs
        # a row (a key and a search text) per secret and a few folder counts. The table and
        # the title are touched at most every FLUSH_SECONDS (each touch repaints the screen,
        # ~40 ms at 160x50): the rows pile up in between, and keys are handled all along.
        collected: list[SecretEntry] = []
        pending: list[Row] = []
        flushed = 0.0
        swept = 0  # entries listed at the last sweep
        async for batch in stream():
            if len(collected) - swept >= SWEEP_EVERY:
                sweep()  # the cycles the source left while making these batches (core._gc)
                swept = len(collected)
            if source is not self.source:
                return
            first = not collected
            collected.extend(batch)
            for e in batch:
                self.entries[e.id] = e
            folder_counts(batch, self._folder_counts)
            pending.extend(entry_row(e) for e in batch)
            now = time.monotonic()
            if first:
                self.table.empty_text = "No secrets here."
                self.table.set_rows(pending, keep_cursor=False)
            elif now - flushed >= FLUSH_SECONDS:
                self.table.append_rows(pending)
            else:
                await asyncio.sleep(0)  # let keys through between batches
                continue
            pending = []
            flushed = now
            self.loaded_count = len(collected)
            self._show_title()
            await asyncio.sleep(0)  # let the screen paint
        if pending and source is self.source:
            self.table.append_rows(pending)
        if source is self.source:
            if getattr(source, "sort_when_done", False):
                # The rows already made, put in (path, name) order; keep the cursor on its
                # secret only if the operator already moved it. The table's rows are the
                # entries', one for one and in the same order: one sort orders both.
                rows = self.table.rows
                keys = [(e.path, e.name) for e in collected]
                order = sorted(range(len(collected)), key=keys.__getitem__)
                if len(rows) == len(collected):
                    rows = [rows[i] for i in order]
                else:  # not the streamed rows (cannot happen): sort them by their entries
                    by_id = self.entries
                    rows = sorted(rows, key=lambda r: (by_id[r.key].path, by_id[r.key].name))
                collected = [collected[i] for i in order]
                self.table.set_rows(rows, keep_cursor=self.table.cursor != 0)
            self.show_entries(collected, rows_ready=True)

    @work(exclusive=True, group="browser-versions", exit_on_error=False)
    async def _versions_worker(self, entry: SecretEntry) -> None:
        assert self.source is not None
        try:
            versions = await self.source.versions(entry)
        except Exception:
            self._set_value_line("could not load the versions (see the message)")
            raise
        self._versions[entry.id] = versions
        if self.current is not None and self.current.id == entry.id:
            self._show_versions(entry)
            self._hide_value()  # "loading versions…" gives way to the masked value

    @work(exclusive=True, group="browser-value", exit_on_error=False)
    async def _reveal_worker(self, entry: SecretEntry, revision: int, copy: bool) -> None:
        assert self.source is not None
        session = self.session
        what = "copy value" if copy else "reveal value"
        self._set_value_line(f"rev {revision}: reading the value…")  # a fetch can take a second
        try:
            data = await self.source.reveal(entry, revision)
        except Exception as err:
            self._set_value_line(f"rev {revision}: could not read the value")
            if session is not None:  # failures are activity too
                session.log_activity(
                    what, f"secret {entry.id} rev {revision}", "failed", failure_text(err)
                )
            raise
        text = render_value(data)
        if copy:
            clipboard = session.context.clipboard if session is not None else None
            if clipboard is not None:
                clipboard(text)
                where = "copied to the clipboard"
            else:
                self.app.copy_to_clipboard(text)
                where = (
                    "sent to the terminal's clipboard (OSC 52); the terminal cannot confirm "
                    "it arrived: paste to check"
                )
            self._set_value_line(f"revision {revision} {where} (not shown)")
            self.notify(f"Revision {revision}: {where}.", timeout=6)
            if session is not None:
                session.log_activity(what, f"secret {entry.id} rev {revision}", "ok", where)
            return

    def open_full_value(self, entry: SecretEntry, revision: int) -> None:
        """The full-value view, masked until asked, closing by itself (issue 13)."""
        source, session = self.source, self.session
        assert source is not None

        async def read() -> str:
            return render_value(await source.reveal(entry, revision))

        seconds = session.context.reveal_seconds if session is not None else 5.0
        log = session.log_activity if session is not None else None
        target = f"secret {entry.id} rev {revision}"
        view = ValueScreen(entry.full_path, revision, read, seconds, log=log, target=target)
        self.app.push_screen(view)

    # ------------------------------------------------------------------ rendering

    def _show_title(self) -> None:
        title = self.query_one("#browser-title", Static)
        if self.source is None:
            title.update("No source selected.", layout=False)
            return
        t = self.table
        counts = f"{t.total_count} secrets"
        if t.row_count != t.total_count:
            counts = f"{t.row_count} of {t.total_count} secrets"
        extra = []
        if self._scope_path != "/":
            extra.append(f"in {visible(self._scope_path)}")
        if t.filter_text:
            extra.append(f"matching “{t.filter_text}”")
        if self.markable:
            extra.append(f"{len(t.marked)} marked")
        if not self.loading_done:
            counts = f"loading… {self.loaded_count}" if self.loaded_count else "loading…"
        label = Text(self.source.label, style="bold")
        label.append(f"   {counts} {' '.join(extra)}", style="")
        title.update(label, layout=False)  # one line, always: no layout

    def _build_tree(self) -> None:
        """The folder tree from the counts gathered while listing: only the top level is
        made now; a folder's children are added when it is expanded (a project with 10,000
        paths makes 10,000 tree nodes only if every folder is opened)."""
        tree = self.query_one("#folders", Tree)
        tree.clear()
        counts = self._folder_counts
        tree.root.set_label(f"/ ({counts.get('/', 0)})")
        tree.root.data = "/"
        children: dict[str, list[str]] = {}
        for folder in counts:
            if folder != "/":
                parent = folder.rpartition("/")[0] or "/"
                children.setdefault(parent, []).append(folder)
        for kids in children.values():
            kids.sort()
        self._folder_children = children
        self._add_folders(tree.root)
        tree.root.expand()
        self._scope_path = "/"
        self.table.set_scope(None)

    def _add_folders(self, node: TreeNode[str]) -> None:
        """Add the child folders of ``node`` (once); each may in turn be expanded."""
        counts = self._folder_counts
        for folder in self._folder_children.pop(node.data or "/", ()):
            leaf = folder.rpartition("/")[2]
            node.add(
                Text(f"{visible(leaf)} ({counts[folder]})"),
                data=folder,
                expand=False,
                allow_expand=folder in self._folder_children,
            )

    @on(Tree.NodeExpanded, "#folders")
    def _folder_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        event.stop()
        self._add_folders(event.node)

    def _show_versions(self, entry: SecretEntry) -> None:
        table = self.query_one("#versions", DataTable)
        table.clear()
        self.version_cursor = None
        versions = self._versions.get(entry.id)
        if versions is None:
            return
        for v in versions:
            status = v.status + (" (latest)" if v.latest else "")
            size = NONE if v.size is None else f"{v.size} B"
            if not v.has_data:
                size = "no data"
            table.add_row(
                str(v.revision),
                status,
                short_time(v.created_at),
                size,
                Text(visible(v.description)),
                key=str(v.revision),
            )

    def _show_meta(self, entry: SecretEntry | None) -> None:
        meta = self.query_one("#meta", Static)
        if entry is None:
            meta.update("")
            self.query_one("#versions", DataTable).clear()
            return
        lines: list[Text] = []

        def line(label: str, value: str, style: str = "") -> None:
            row = Text(no_wrap=True, overflow="ellipsis")
            row.append(f"{label:<8}", style="bold")
            row.append(visible(value), style=style)
            lines.append(row)

        line("path", entry.full_path)
        line("id", entry.id, "dim")
        line("type", entry.type)
        status = secret_status(entry) + (", protected" if entry.protected else "")
        line("status", status, "yellow" if entry.scheduled_for_deletion else "")
        line("tags", ", ".join(entry.tags) or NONE)
        if entry.description:
            line("about", entry.description)
        if entry.ephemeral:
            line("expiry", entry.ephemeral)
        line("created", short_time(entry.created_at))
        line("updated", short_time(entry.updated_at))
        line("where", f"{entry.region} · project {entry.project_id}", "dim")
        meta.update(Text("\n", no_wrap=True, overflow="ellipsis").join(lines))

    def _set_value_line(self, text: str) -> None:
        self.query_one("#value", Static).update(text, layout=False)

    def _hide_value(self) -> None:
        try:
            self._set_value_line(f"value {MASK}   r reveal · c copy")
        except Exception:  # unmounted
            pass

    # ------------------------------------------------------------------ events

    @on(VirtualTable.Highlighted, "#secrets")
    def _highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        entry = None if event.key is None else self.entries.get(event.key)
        self._hide_value()
        self._show_meta(entry)
        self.query_one("#versions", DataTable).clear()
        if self._pending_versions is not None:
            self._pending_versions.stop()
            self._pending_versions = None
        if entry is not None:
            now = getattr(self.source, "versions_now", None)
            if entry.id not in self._versions and now is not None:
                known = now(entry)  # a snapshot: in memory when its record was read already
                if known is not None:
                    self._versions[entry.id] = known
            if entry.id in self._versions:
                self._show_versions(entry)
            else:
                # Wait until the cursor rests before asking for version metadata (the API,
                # or the store for a snapshot's record: that one is local, so a short wait).
                self._set_value_line("loading versions…")  # a fetch can take a second
                live = self.source is None or self.source.live
                self._pending_versions = self.set_timer(
                    0.25 if live else 0.05, lambda: self._fetch_versions(entry)
                )
        self.post_message(self.SecretHighlighted(self, entry))

    def _fetch_versions(self, entry: SecretEntry) -> None:
        self._pending_versions = None
        current = self.current
        if current is not None and current.id == entry.id and entry.id not in self._versions:
            self._versions_worker(entry)

    @on(DataTable.RowHighlighted, "#versions")
    def _version_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        self.version_cursor = int(key) if key is not None else None

    def versions_of(self, entry: SecretEntry) -> list[VersionEntry]:
        """The versions known for ``entry`` (empty while they load)."""
        return self._versions.get(entry.id) or []

    def highlighted_version(self) -> VersionEntry | None:
        """The version row under the cursor when the versions table has the focus."""
        entry = self.current
        table = self.query_one("#versions", DataTable)
        if entry is None or not table.has_focus or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((v for v in self.versions_of(entry) if str(v.revision) == key), None)

    def chosen_revision(self) -> int | None:
        """The revision highlighted in the versions table, else the newest one with data."""
        entry = self.current
        if entry is None:
            return None
        versions = self._versions.get(entry.id) or []
        if self.version_cursor is not None and any(
            v.revision == self.version_cursor for v in versions
        ):
            return self.version_cursor
        with_data = [v.revision for v in versions if v.has_data]
        return max(with_data) if with_data else None

    @on(VirtualTable.MarksChanged, "#secrets")
    def _marks_changed(self, event: VirtualTable.MarksChanged) -> None:
        self._show_title()

    @on(Tree.NodeHighlighted, "#folders")
    def _folder(self, event: Tree.NodeHighlighted[str]) -> None:
        event.stop()
        folder = event.node.data or "/"
        if folder == self._scope_path:
            return
        self._scope_path = folder
        entries = self.entries
        if folder == "/":
            self.table.set_scope(None)
        else:
            prefix = folder + "/"

            def scope(row: Row) -> bool:
                e = entries.get(row.key)
                return e is not None and (e.path == folder or e.path.startswith(prefix))

            self.table.set_scope(scope)
        self._show_title()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.table.set_filter(event.value)
        self._show_title()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            # Esc only clears an active filter; otherwise it goes up (back, close).
            inp = self.query_one("#filter", Input)
            return bool(inp.value or inp.has_class("-active"))
        return True

    def action_filter(self) -> None:
        inp = self.query_one("#filter", Input)
        inp.add_class("-active")
        inp.focus()

    def action_clear_filter(self) -> None:
        inp = self.query_one("#filter", Input)
        if inp.value or inp.has_class("-active"):
            inp.value = ""
            inp.remove_class("-active")
            self.table.set_filter("")
            self._show_title()
            self.table.focus()

    def action_history(self) -> None:
        """Ask the app for the highlighted secret's History view (tui.screens.history)."""
        entry = self.current
        if entry is None:
            self.notify("Highlight a secret first.", severity="warning")
            return
        self.post_message(
            HistoryRequested(entry.id, entry.region, entry.project_id, entry.full_path)
        )

    def action_focus_versions(self) -> None:
        self.query_one("#versions", DataTable).focus()

    def action_focus_tree(self) -> None:
        if self.has_class("-narrow"):
            self.toggle_class("-tree")
            if not self.has_class("-tree"):
                self.table.focus()
                return
        self.query_one("#folders", Tree).focus()

    def _target(self) -> tuple[SecretEntry, int] | None:
        entry = self.current
        if entry is None:
            self.notify("Highlight a secret first.", severity="warning")
            return None
        versions = self._versions.get(entry.id)
        if not versions:
            self.notify("Its versions are still loading; try again.", severity="warning")
            return None
        table = self.query_one("#versions", DataTable)
        revision: int | None = None
        if table.has_focus and table.row_count:
            revision = int(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))
        else:
            enabled = [v for v in versions if v.status == "enabled" and v.has_data]
            if enabled:
                revision = max(v.revision for v in enabled)
        if revision is None:
            self.notify(
                "No enabled version to read; pick one in the versions table (v).",
                severity="warning",
            )
            return None
        chosen = next((v for v in versions if v.revision == revision), None)
        if chosen is not None and not chosen.has_data:
            self.notify(f"Revision {revision} has no data in this snapshot.", severity="warning")
            return None
        return entry, revision

    def action_reveal(self) -> None:
        target = self._target()
        if target is not None:
            self.open_full_value(*target)

    def action_copy(self) -> None:
        target = self._target()
        if target is not None:
            self._reveal_worker(target[0], target[1], True)
