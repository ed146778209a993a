"""Full views over a screen (dimmed behind): one revision's value, masked until asked, then
whole and scrollable, closing by itself (the reveal timer); the whole of a table row whose
cells were cut."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Label, Static

from tui.errors import failure_text
from tui.format import visible
from tui.glyphs import MASK
from tui.workers import ReportsFailures

ReadValue = Callable[[], Awaitable[str]]
"""Reads one revision's value, rendered as text (only when the user asks to see it)."""

LogActivity = Callable[[str, str, str, str], None]
"""``Session.log_activity``: operation, target, outcome, detail (never the value)."""


class ValueScreen(ReportsFailures, ModalScreen[None]):
    """One revision's value in full (long or several lines), scrollable, over its screen
    (dimmed behind). It opens masked: the value is read and shown only when asked (``r`` or
    space), then the view closes by itself after ``seconds``; esc closes it at any time."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("r,space", "show", "Show"),
    ]
    DEFAULT_CSS = """
    ValueScreen { align: center middle; background: $background 60%; }
    ValueScreen > Vertical {
        width: 90%; height: 80%; border: thick $warning; background: $surface; padding: 0 1;
    }
    ValueScreen .title { text-style: bold; color: $warning; }
    ValueScreen VerticalScroll { height: 1fr; }
    ValueScreen #full-value.-revealed { color: $text-warning; }
    ValueScreen .hint { color: $text-muted; }
    """

    def __init__(
        self,
        path: str,
        revision: int,
        read: ReadValue,
        seconds: float,
        *,
        log: LogActivity | None = None,
        target: str = "",
    ) -> None:
        super().__init__()
        self.path = path
        self.revision = revision
        self.read = read
        self.seconds = seconds
        self.record = log
        self.target = target or f"rev {revision}"
        self.shown = False  # the value is on screen right now
        self.asked = False  # the user asked to see it (it is read once)
        self._timer: Timer | None = None

    def __repr__(self) -> str:  # never the value
        return f"ValueScreen(revision={self.revision}, shown={self.shown})"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"{visible(self.path)} · revision {self.revision}"), classes="title")
            with VerticalScroll(id="value-scroll"):
                yield Static(f"value {MASK}", id="full-value")
            yield Label(f"{_keys('show')} show the value · esc closes", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#value-scroll").focus()

    def action_show(self) -> None:
        if not self.asked:
            self.asked = True
            self.query_one("#full-value", Static).update("reading the value…")
            self._read()

    @work(exclusive=True, group="value-view", exit_on_error=False)
    async def _read(self) -> None:
        value = self.query_one("#full-value", Static)
        try:
            text = await self.read()
        except Exception as err:
            value.update("could not read the value (see the message)")
            if self.record is not None:  # failures are activity too
                self.record("reveal value", self.target, "failed", failure_text(err))
            raise
        value.add_class("-revealed")
        value.update(Text(text or "(empty)"))
        self.shown = True
        self.query_one(".hint", Label).update(
            f"closes by itself in {self.seconds:.0f} s · ↑ ↓ scroll · esc closes"
        )
        self._timer = self.set_timer(self.seconds, self.action_close)
        if self.record is not None:
            self.record("reveal value", self.target, "ok", "")

    def action_close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self.is_attached and self.app.screen is self:
            self.shown = False
            self.query_one("#full-value", Static).update(f"value {MASK}")  # masked again
            self.dismiss(None)


def _keys(action: str) -> str:
    return " / ".join(
        b.key for b in ValueScreen.BINDINGS if isinstance(b, Binding) and b.action == action
    ).replace(",", " / ")


class RowScreen(ModalScreen[None]):
    """Every cell of one table row in full, wrapped (a cut cell ends in "…" in the table)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("f", "close", "Close", show=False),
        Binding("enter", "close", "Close", show=False),
    ]
    DEFAULT_CSS = """
    RowScreen { align: center middle; background: $background 60%; }
    RowScreen > VerticalScroll {
        width: 90%; height: auto; max-height: 90%; border: thick $accent;
        background: $surface; padding: 0 1;
    }
    """

    def __init__(self, labels: Sequence[str], cells: Sequence[str]) -> None:
        super().__init__()
        self.labels = list(labels)
        self.cells = list(cells)

    def compose(self) -> ComposeResult:
        table = Table(show_header=False, box=None, expand=True)
        table.add_column("column", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        for label, cell in zip(self.labels, self.cells, strict=False):
            table.add_row(label, Text(visible(cell)))
        with VerticalScroll():
            yield Static(table, id="row-cells")
            yield Label("esc closes", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
