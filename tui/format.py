"""How the console writes times, sizes and the API's text (one formatter each, shared by every
screen). :func:`visible` escapes control characters in names, paths, tags and descriptions
(``\x1b`` shows as ``\x1b``): every place the console shows them goes through it."""

from __future__ import annotations

from datetime import datetime

from core.text import visible
from tui.glyphs import NONE

__all__ = ["exact_time", "human_bytes", "short_time", "visible"]


def short_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else NONE


def exact_time(value: datetime | None) -> str:
    """To the second: two snapshots a minute apart stay distinguishable."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else NONE


def human_bytes(n: float | None) -> str:
    """``512 B``, ``1.5 KiB``, … ``2.0 GiB``; ``—`` when unknown."""
    if n is None:
        return NONE
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
