"""A snapshot as a table row: the Snapshots tab and the restore wizard's first step."""

from __future__ import annotations

from core.store import SnapshotHeader
from tui.format import exact_time, human_bytes
from tui.sources import snapshot_source_text
from tui.widgets.vtable import Column, Row

SNAPSHOT_COLUMNS = (
    Column("Time", 19, keep=True),
    Column("Id", 8, keep=True),
    Column("Source", 10, grow=2),
    Column("Env", 6, grow=1),
    Column("Class", 6, grow=1),
    Column("Tags", 4, grow=1),
    Column("Secrets", 7, align="right"),
    Column("Vers", 5, align="right"),
    Column("Status", 8),
    Column("Added", 9, align="right"),
)


def snapshot_row(h: SnapshotHeader) -> Row:
    s = h.summary
    cells = (
        exact_time(h.time),
        h.id[:8],
        snapshot_source_text(h),
        h.environment or "",
        h.data_class or "",
        ",".join(h.tags),
        str(s.secrets),
        str(s.versions),
        h.status,
        human_bytes(s.bytes_added),
    )
    search = " ".join(cells).lower() + " " + h.id + " " + " ".join(h.project_ids)
    return Row(h.id, cells, search=search, style="" if h.status == "complete" else "warn")
