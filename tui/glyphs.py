"""Every icon and glyph the console draws, in one place (so a theme or a plain-ASCII mode
changes one file)."""

from __future__ import annotations

ICON = "[K]"
"""The header's icon (every screen's ``Header(icon=ICON)``)."""

OK = "✓"
WARN = "⚠"
FAIL = "✗"
BULLET = "•"
MASK = "••••••••••••"
"""What a value looks like until it is revealed."""
RETURN = "⏎"
"""Joins the lines of a revealed multi-line value on its one line."""
BAR_ON = "█"
BAR_OFF = "░"
"""The passphrase strength bar."""
NONE = "—"
"""An empty cell: no value, never, not applicable."""
