"""Text from the API or the store made safe to show: control characters escaped visibly.

Names, paths, tags and descriptions are the API's (or a store's) text: a ``\\x1b[31m`` in a
secret name must show as the eight characters ``\\x1b[31m``, never colour the terminal, move
the cursor or break a table's layout. :func:`visible` is the one escaping for every human
output (the console's; the CLI's ``cli.output.clean`` escapes the same set the same way);
JSON output is never escaped (JSON escapes them itself).
"""

from __future__ import annotations

# C0 and C1 controls, DEL, and the invisible characters that reorder or break lines.
_INVISIBLE = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    *(0x061C, 0x200E, 0x200F, 0x2028, 0x2029),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
_ESCAPES = {cp: (f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}") for cp in _INVISIBLE}
_ESCAPES_KEEP_LINES = {cp: text for cp, text in _ESCAPES.items() if cp not in (0x09, 0x0A)}


def visible(text: object, *, keep_lines: bool = False) -> str:
    """``text`` with every control character escaped visibly (tabs and newlines kept with
    ``keep_lines``)."""
    return str(text).translate(_ESCAPES_KEEP_LINES if keep_lines else _ESCAPES)
