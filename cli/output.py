"""What the CLI prints: the one JSON printer, tables, and human text made safe to show.

- :func:`print_json` prints exactly one JSON document on stdout (indented, key order kept,
  ASCII-only so that any terminal encoding can carry it; the values are exact).
- :func:`error_document` is the document a failing command prints with ``--json``.
- :func:`clean` escapes control characters visibly (``\\x1b`` becomes the four characters
  ``\\x1b``): names, paths, tags and descriptions come from the API or the store and must not
  drive the terminal. Tables and :func:`say` / :func:`line` clean every cell and line;
  ``--json`` output is never cleaned (JSON escapes them itself).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING

from core.text import visible

if TYPE_CHECKING:
    from rich.console import Console

JsonValue = object  # what json.dumps accepts, plus the types _json_default converts

_document_printed = False


def clean(text: object, *, keep_lines: bool = False) -> str:
    """``text`` with every control character escaped visibly (tabs and newlines kept with
    ``keep_lines``): core's one escaping, :func:`core.text.visible`."""
    return visible(text, keep_lines=keep_lines)


# --------------------------------------------------------------------------- JSON


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_text(document: JsonValue) -> str:
    """The document as ``json.dumps(indent=2)`` writes it (ASCII, key order kept).

    json.dumps writes indented text in Python (its C encoder is for compact text only): a
    restore's document of 1,000 secrets took ~40 ms. The compact text from the C encoder,
    indented by msgspec, is the same text, byte for byte (tests/e2e/test_cli_json_text.py).
    """
    import msgspec

    compact = json.dumps(document, default=_json_default).encode("ascii")
    return msgspec.json.format(compact, indent=2).decode("ascii")


def print_json(document: JsonValue) -> None:
    """Print exactly one JSON document (indented, key order kept) on stdout."""
    global _document_printed
    sys.stdout.write(json_text(document))
    sys.stdout.write("\n")
    sys.stdout.flush()
    _document_printed = True


def document_printed() -> bool:
    """Whether this run already printed its JSON document (then an error adds none)."""
    return _document_printed


def reset() -> None:
    """Forget the documents printed so far (``main`` calls it once per run)."""
    global _document_printed
    _document_printed = False


def error_document(
    message: str,
    *,
    hint: str | None,
    exit_code: int,
    remedy: str | None = None,
    details: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """``{"error", "hint", "exit_code"}``, plus ``remedy`` (a stable code scripts can test,
    or null) and ``details``."""
    return {
        "error": message,
        "hint": hint,
        "exit_code": int(exit_code),
        "remedy": remedy,
        "details": dict(details or {}),
    }


# --------------------------------------------------------------------------- human text


def say(text: str) -> None:
    """A message for the user on stderr (cleaned, lines kept)."""
    print(clean(text, keep_lines=True), file=sys.stderr)


def line(text: str) -> None:
    """A line of human output on stdout (cleaned, lines kept)."""
    print(clean(text, keep_lines=True))


def print_error(message: str, hint: str | None) -> None:
    """``secret-kloset: error: ...`` then ``hint: ...`` on stderr."""
    say(f"secret-kloset: error: {message}")
    if hint:
        say(f"hint: {hint}")


def human_bytes(count: int | float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def local_time(value: datetime | None) -> str:
    """A timestamp in the local time zone, to the second ('' for none)."""
    if value is None:
        return ""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def console() -> Console:
    from rich.console import Console

    width = None if sys.stdout.isatty() else 200
    return Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False)


def table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None
) -> None:
    """A table on stdout; every cell (and the title) cleaned and shown as plain text (no rich
    markup)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    caption = Text(clean(title)) if title is not None else None
    grid = Table(*columns, box=box.SIMPLE_HEAD, title=caption, show_edge=False, pad_edge=False)
    for row in rows:
        grid.add_row(*(Text(clean(cell)) for cell in row))
    console().print(grid)


__all__ = [
    "clean",
    "console",
    "document_printed",
    "error_document",
    "human_bytes",
    "line",
    "local_time",
    "print_error",
    "print_json",
    "reset",
    "say",
    "table",
]
