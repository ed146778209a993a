"""A virtual table: renders only the visible rows, so 50,000 rows cost little to open or filter.

Textual's ``DataTable`` measures every cell as it is added (about 1.3 s for 10,000 rows), which
is far from "immediate". This widget keeps one small :class:`Row` per row (no widget), keeps a
view (a list of row indices after filtering) and renders one line at a time through the Line
API. A row may leave its cells empty and the table ask ``cells_of(key)`` when the row is drawn
(the secrets browser does: 50,000 rows then hold a key and a search text each, and only the
fifty lines on screen are ever formatted). Filtering is a substring test over a pre-lowered
haystack per row: about 15 ms over 50,000 rows.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.format import visible
from tui.widgets.value_view import RowScreen


@dataclass(frozen=True, slots=True)
class Column:
    """A column: ``width`` is its minimum; ``grow`` columns share the spare width; a
    ``keep`` column is never cut when the table is too narrow (a time must stay readable)."""

    label: str
    width: int
    grow: int = 0
    align: str = "left"
    keep: bool = False


@dataclass(slots=True)
class Row:
    """One row: ``key`` identifies it (a secret id, a snapshot id), ``cells`` are its texts."""

    key: str
    cells: tuple[str, ...]
    search: str = field(default="")
    style: str = ""  # a component class name suffix ("dim", "warn", "bad") or ""

    def __post_init__(self) -> None:
        if not self.search:
            self.search = " ".join(self.cells).lower()


def fit(text: str, width: int, align: str = "left") -> str:
    """Cut or pad ``text`` to exactly ``width`` cells (an ellipsis marks a cut)."""
    if width <= 0:
        return ""
    if len(text) > width:
        return text[: width - 1] + "…" if width > 1 else text[:width]
    return text.rjust(width) if align == "right" else text.ljust(width)


class VirtualTable(ScrollView, can_focus=True):
    """A keyboard-driven table over any number of rows, with a filter and row marking."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
        Binding("space", "toggle_mark", "Mark", show=False),
        Binding("f", "row_detail", "Full row", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header",
        "vtable--cursor",
        "vtable--marked",
        "vtable--dim",
        "vtable--warn",
        "vtable--bad",
        "vtable--empty",
    }

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        height: 1fr;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    VirtualTable > .vtable--header { text-style: bold; color: $text-accent; background: $panel; }
    VirtualTable > .vtable--cursor { background: $block-cursor-blurred-background; }
    VirtualTable:focus > .vtable--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    VirtualTable > .vtable--marked { color: $text-success; text-style: bold; }
    VirtualTable > .vtable--dim { color: $text-muted; }
    VirtualTable > .vtable--warn { color: $text-warning; }
    VirtualTable > .vtable--bad { color: $text-error; }
    VirtualTable > .vtable--empty { color: $text-muted; text-style: italic; }
    """

    class Highlighted(Message):
        """The cursor moved to another row (``key`` is None when the view is empty)."""

        def __init__(self, table: VirtualTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Selected(Message):
        """Enter was pressed on a row."""

        def __init__(self, table: VirtualTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class MarksChanged(Message):
        """The set of marked rows changed."""

        def __init__(self, table: VirtualTable, marked: frozenset[str]) -> None:
            super().__init__()
            self.table = table
            self.marked = marked

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        markable: bool = False,
        empty_text: str = "Nothing to show.",
        cells_of: Callable[[str], tuple[str, ...]] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns: list[Column] = list(columns)
        self.markable = markable
        self.empty_text = empty_text
        self.cells_of = cells_of  # the cells of a row that holds none, by key (drawn lazily)
        self._rows: list[Row] = []
        self._index: dict[str, int] = {}
        self._view: list[int] = []
        self._filter_text = ""
        self._scope: Callable[[Row], bool] | None = None
        self.marked: set[str] = set()
        self.cursor = 0
        self._last_key: str | None = None
        self._widths: list[int] = []
        self._widths_for = -1

    # ------------------------------------------------------------------ data

    @property
    def row_count(self) -> int:
        """Rows in the current view (after filter and scope)."""
        return len(self._view)

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> list[Row]:
        return self._rows

    def visible_keys(self) -> list[str]:
        return [self._rows[i].key for i in self._view]

    def set_rows(self, rows: Iterable[Row], *, keep_cursor: bool = True) -> None:
        """Replace every row; the filter and the marks (of keys still present) are kept."""
        old_key = self.cursor_key if keep_cursor else None
        self._rows = list(rows)
        self._index = {row.key: i for i, row in enumerate(self._rows)}
        self.marked &= set(self._index)
        self._refilter(old_key)

    def release(self) -> None:
        """Let go of every row without drawing anything (the table is being removed)."""
        self._rows = []
        self._index = {}
        self._view = []
        self.marked = set()

    def append_rows(self, rows: Iterable[Row]) -> None:
        """Add rows at the end (progressive loading); cursor, filter and marks are kept."""
        start = len(self._rows)
        new = list(rows)
        self._rows.extend(new)
        for i, row in enumerate(new, start):
            self._index[row.key] = i
        if not self._filter_text and self._scope is None:
            first_new = len(self._view)
            self._view.extend(range(start, len(self._rows)))
            self._set_lines(len(self._view) + 1)
            # Rows added below the last visible line change only the scrollbar (repainted by
            # _set_lines): the lines on screen are not drawn again for them.
            if first_new < int(self.scroll_y) + self.size.height:
                self.refresh()
            if self._last_key is None:
                self._announce()
        else:
            self._refilter(self.cursor_key)

    def cells(self, row: Row) -> tuple[str, ...]:
        """A row's cells: its own, or (a lazy row) what ``cells_of`` gives for its key."""
        if row.cells or self.cells_of is None:
            return row.cells
        return self.cells_of(row.key)

    def get_row(self, key: str) -> Row | None:
        i = self._index.get(key)
        return None if i is None else self._rows[i]

    def update_row(self, row: Row) -> None:
        i = self._index.get(row.key)
        if i is None:
            return
        self._rows[i] = row
        self.refresh()

    def set_filter(self, text: str) -> None:
        """Show only rows whose cells contain every word of ``text`` (case-insensitive)."""
        text = text.strip().lower()
        if text == self._filter_text:
            return
        self._filter_text = text
        self._refilter(self.cursor_key)

    def set_scope(self, scope: Callable[[Row], bool] | None) -> None:
        """Restrict the view to rows for which ``scope`` is true (a folder, say)."""
        self._scope = scope
        self._refilter(self.cursor_key)

    @property
    def filter_text(self) -> str:
        return self._filter_text

    def _refilter(self, keep_key: str | None) -> None:
        words = self._filter_text.split()
        scope = self._scope
        rows = self._rows
        if not words and scope is None:
            view = list(range(len(rows)))
        elif scope is None:
            if len(words) == 1:
                w = words[0]
                view = [i for i, r in enumerate(rows) if w in r.search]
            else:
                view = [i for i, r in enumerate(rows) if all(w in r.search for w in words)]
        else:
            view = [i for i, r in enumerate(rows) if scope(r) and all(w in r.search for w in words)]
        self._view = view
        new_cursor = 0
        if keep_key is not None and keep_key in self._index:
            target = self._index[keep_key]
            # The view is sorted by row index: bisect for the kept row.
            pos = bisect_left(view, target)
            if pos < len(view) and view[pos] == target:
                new_cursor = pos
        self.cursor = new_cursor
        self._set_lines(len(view) + 1)
        self._scroll_cursor_into_view(center=True)
        self.refresh()
        self._announce()

    def _set_lines(self, lines: int) -> None:
        """Set the scrollable height. Assigning ``virtual_size`` asks for a layout of the whole
        screen (~30-60 ms at 160x50, and a repaint of every widget): while a 50,000-row list
        arrives that is paid at every flush for nothing, since the table's own size does not
        change. So a layout is asked only when the vertical scrollbar may appear or go (the
        content region changes); otherwise the scrollbar is updated in place."""
        size = Size(self._content_width(), lines)
        old = self.virtual_size
        if size == old:
            return
        # Both heights well past the table's: the scrollbar shows before and after.
        if (
            not self.is_mounted
            or size.width != old.width
            or min(old.height, lines) <= (self.size.height + 1)
        ):
            self.virtual_size = size
            return
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)

    # ------------------------------------------------------------------ cursor

    @property
    def cursor_key(self) -> str | None:
        if 0 <= self.cursor < len(self._view):
            return self._rows[self._view[self.cursor]].key
        return None

    def move_to_key(self, key: str) -> bool:
        i = self._index.get(key)
        if i is None:
            return False
        try:
            pos = self._view.index(i)
        except ValueError:
            return False
        self._move(pos)
        return True

    def _move(self, pos: int) -> None:
        if not self._view:
            self.cursor = 0
            self._announce()
            return
        pos = max(0, min(pos, len(self._view) - 1))
        if pos != self.cursor:
            self.cursor = pos
            self.refresh()
        self._scroll_cursor_into_view()
        self._announce()

    def _announce(self) -> None:
        key = self.cursor_key
        if key != self._last_key:
            self._last_key = key
            self.post_message(self.Highlighted(self, key))

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _scroll_cursor_into_view(self, center: bool = False) -> None:
        height = self.scrollable_content_region.height - 1  # minus the header line
        if height <= 0:
            return
        top = int(self.scroll_y)
        if center and not (top <= self.cursor < top + height):
            self.scroll_to(y=max(0, self.cursor - height // 2), animate=False, immediate=True)
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_page_up(self) -> None:
        self._move(self.cursor - self._page())

    def action_page_down(self) -> None:
        self._move(self.cursor + self._page())

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(len(self._view) - 1)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def action_row_detail(self) -> None:
        """The highlighted row in full (any cell the width cut, wrapped)."""
        if 0 <= self.cursor < len(self._view):
            row = self._rows[self._view[self.cursor]]
            self.app.push_screen(RowScreen([c.label for c in self.columns], self.cells(row)))

    def action_toggle_mark(self) -> None:
        if not self.markable:
            return
        key = self.cursor_key
        if key is None:
            return
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        self.post_message(self.MarksChanged(self, frozenset(self.marked)))
        self._move(self.cursor + 1)
        self.refresh()

    def mark_all(self, on: bool = True) -> None:
        """Mark (or unmark) every row of the current view."""
        keys = {self._rows[i].key for i in self._view}
        if on:
            self.marked |= keys
        else:
            self.marked -= keys
        self.post_message(self.MarksChanged(self, frozenset(self.marked)))
        self.refresh()

    def set_marked(self, keys: Iterable[str]) -> None:
        self.marked = {k for k in keys if k in self._index}
        self.post_message(self.MarksChanged(self, frozenset(self.marked)))
        self.refresh()

    async def _on_click(self, event: events.Click) -> None:
        line = event.y
        if line <= 0:
            return
        pos = int(self.scroll_y) + line - 1
        if 0 <= pos < len(self._view):
            if pos == self.cursor and event.chain >= 2:
                self.action_select()
            self._move(pos)

    def _on_resize(self, event: events.Resize) -> None:
        self._widths_for = -1
        self.virtual_size = Size(self._content_width(), len(self._view) + 1)
        self._scroll_cursor_into_view()

    # ------------------------------------------------------------------ rendering

    def _content_width(self) -> int:
        return max(1, self.scrollable_content_region.width)

    def _column_widths(self, width: int) -> list[int]:
        if width == self._widths_for:
            return self._widths
        gaps = len(self.columns) - 1 + (2 if self.markable else 0)
        fixed = sum(c.width for c in self.columns) + gaps
        spare = max(0, width - fixed)
        grow_total = sum(c.grow for c in self.columns) or 1
        widths = []
        given = 0
        growers = [i for i, c in enumerate(self.columns) if c.grow]
        for c in self.columns:
            extra = spare * c.grow // grow_total if c.grow else 0
            given += extra
            widths.append(c.width + extra)
        if growers and spare - given > 0:
            widths[growers[0]] += spare - given
        deficit = fixed - width
        cuttable = [j for j, c in enumerate(self.columns) if not c.keep] or list(range(len(widths)))
        while deficit > 0:
            i = max(cuttable, key=lambda j: widths[j])
            if widths[i] <= 4:
                break
            widths[i] -= 1
            deficit -= 1
        self._widths = widths
        self._widths_for = width
        return widths

    def _line_text(self, cells: Sequence[str], widths: list[int], mark: str) -> str:
        parts = [
            fit(visible(cell), w, col.align)
            for cell, w, col in zip(cells, widths, self.columns, strict=False)
        ]
        text = " ".join(parts)
        if self.markable:
            text = f"{mark} {text}"
        return text

    def render_line(self, y: int) -> Strip:
        width = self._content_width()
        widths = self._column_widths(width)
        if y == 0:
            header = self.get_component_rich_style("vtable--header")
            text = self._line_text([c.label for c in self.columns], widths, " ")
            return Strip([Segment(fit(text, width), header)], width)
        pos = int(self.scroll_y) + y - 1
        base = self.rich_style
        if not self._view:
            if y == 1:
                msg = self.empty_text
                if self._rows and self._filter_text:
                    msg = f"No row matches “{self._filter_text}”."
                empty = self.get_component_rich_style("vtable--empty")
                return Strip([Segment(fit(" " + msg, width), empty)], width)
            return Strip([Segment(" " * width, base)], width)
        if pos >= len(self._view):
            return Strip([Segment(" " * width, base)], width)
        row = self._rows[self._view[pos]]
        is_marked = row.key in self.marked
        text = self._line_text(self.cells(row), widths, "●" if is_marked else "·")
        style: Style = base
        if row.style:
            style = style + self.get_component_rich_style(f"vtable--{row.style}")
        if is_marked:
            style = style + self.get_component_rich_style("vtable--marked")
        if pos == self.cursor:
            style = style + self.get_component_rich_style("vtable--cursor")
        return Strip([Segment(fit(text, width), style)], width)

    def refresh_row_region(self, pos: int) -> None:
        self.refresh(Region(0, pos - int(self.scroll_y) + 1, self.size.width, 1))
