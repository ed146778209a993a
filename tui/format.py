"""How the console writes times and sizes (one formatter each, shared by every screen)."""

from __future__ import annotations

from datetime import datetime

from tui.glyphs import NONE


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
