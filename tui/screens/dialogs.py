"""Modal dialogs: error, confirm, prompt, and the help screen."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.actions import HelpSections
from tui.errors import ErrorReport
from tui.glyphs import FAIL

DIALOG_CSS = """
{name} {{ align: center middle; background: $background 60%; }}
{name} > Vertical {{
    width: 72; max-width: 95%; height: auto; max-height: 90%;
    border: thick {border}; background: $surface; padding: 1 2;
}}
{name} .title {{ text-style: bold; color: {border}; margin-bottom: 1; }}
{name} .buttons {{ height: auto; align-horizontal: right; margin-top: 1; }}
{name} .buttons Button {{ margin-left: 2; }}
{name} .hint {{ color: $text-muted; margin-top: 1; }}
"""


class ErrorDialog(ModalScreen[None]):
    """What went wrong and what to do; Enter or Esc closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_dialog", "Close"),
        Binding("enter", "dismiss_dialog", "Close", show=False),
    ]
    DEFAULT_CSS = DIALOG_CSS.format(name="ErrorDialog", border="$error")

    def __init__(self, report: ErrorReport) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{FAIL} {self.report.title}", classes="title")
            yield Static(Text(self.report.message), id="error-message")
            if self.report.hint:
                yield Static(
                    Text("What to do: " + self.report.hint), classes="hint", id="error-hint"
                )
            with Horizontal(classes="buttons"):
                yield Button("Close", variant="error", id="close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def action_dismiss_dialog(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; the default answer is No."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "no", "Cancel"),
        Binding("y", "yes", "Yes", show=False),
    ]
    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmDialog", border="$warning")

    def __init__(self, title: str, body: str, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title", id="confirm-title")
            yield Static(Text(self.body), id="confirm-body")
            with Horizontal(classes="buttons"):
                yield Button(self.no, id="no", compact=True)
                yield Button(self.yes, variant="warning", id="yes", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def ended(self, text: str) -> None:
        """What it asked about is over: say so; only closing is left."""
        self.is_over = True
        self.query_one("#confirm-body", Static).update(Text(text))
        self.query_one("#yes", Button).display = False
        no = self.query_one("#no", Button)
        no.label = "Close"
        no.focus()

    is_over = False

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        """``y`` answers yes (the focused default stays No)."""
        if not self.is_over:
            self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text (masked for passphrases)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="PromptDialog", border="$accent")

    def __init__(
        self,
        title: str,
        label: str,
        *,
        password: bool = False,
        value: str = "",
        placeholder: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.label = label
        self.password = password
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield Label(self.label)
            yield Input(
                value=self.value, password=self.password, placeholder=self.placeholder, id="answer"
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("OK", variant="primary", id="ok", compact=True)

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    @on(Input.Submitted, "#answer")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#answer", Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key binding of the console, by place."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("f1", "close", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background 60%; }
    HelpScreen > VerticalScroll {
        width: 86; max-width: 98%; height: 90%; border: thick $accent; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, sections: HelpSections) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("secret-kloset console: key bindings", style="bold"))
            for title, rows in self.sections:
                table = Table(
                    title=title, title_justify="left", show_header=False, box=None, expand=True
                )
                table.add_column("key", style="bold cyan", width=16)
                table.add_column("what")
                for key, what in rows:
                    table.add_row(key, what)
                yield Static(table)
            yield Static(
                Text(
                    "Ctrl+P opens the command palette: every action above is there too, and "
                    "“theme” switches the colours.",
                    style="italic",
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)
