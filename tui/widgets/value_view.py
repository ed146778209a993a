"""Full views over a screen (dimmed behind): the whole of a revealed value, scrollable,
closing by itself (the reveal timer); the whole of a table row whose cells were cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.format import visible


class ValueScreen(ModalScreen[None]):
    """A revealed value in full (long or several lines), over its screen (dimmed behind);
    Esc closes it, and it closes by itself after ``seconds`` (the value is masked again)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("r", "close", "Close", show=False),
    ]
    DEFAULT_CSS = """
    ValueScreen { align: center middle; background: $background 60%; }
    ValueScreen > Vertical {
        width: 90%; height: 80%; border: thick $warning; background: $surface; padding: 0 1;
    }
    ValueScreen .title { text-style: bold; color: $warning; }
    ValueScreen VerticalScroll { height: 1fr; }
    ValueScreen .hint { color: $text-muted; }
    """

    def __init__(self, path: str, revision: int, text: str, seconds: float) -> None:
        super().__init__()
        self.path = path
        self.revision = revision
        self.text = text
        self.seconds = seconds

    def __repr__(self) -> str:  # never the value
        return f"ValueScreen(revision={self.revision})"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"{visible(self.path)} · revision {self.revision}"), classes="title")
            with VerticalScroll(id="value-scroll"):
                yield Static(Text(self.text), id="full-value")
            yield Label(
                f"closes by itself in {self.seconds:.0f} s · ↑ ↓ scroll · esc closes",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one("#value-scroll").focus()
        self.set_timer(self.seconds, self.action_close)

    def action_close(self) -> None:
        if self.is_attached and self.app.screen is self:
            self.dismiss(None)


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
