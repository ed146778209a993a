"""The whole of a revealed value, scrollable, closing by itself (the reveal timer)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


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
            yield Label(f"{self.path} · revision {self.revision}", classes="title")
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
