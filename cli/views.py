"""JSON documents and short texts of store objects that several commands print."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.store.model import SecretRecord, SnapshotHeader, VersionRecord


def header_json(header: SnapshotHeader) -> dict[str, object]:
    """A snapshot header as ``snapshots --json`` and ``ls --json`` print it."""
    doc: dict[str, object] = dict(header.to_dict())
    doc.pop("v", None)
    doc["short_id"] = header.short_id
    first = header.sources[0] if header.sources else None
    doc["project_id"] = first.project_id if first else None
    doc["region"] = first.region if first else None
    return doc


def version_json(v: VersionRecord) -> dict[str, object]:
    from core.scaleway.models import format_time

    return {
        "revision": v.revision,
        "status": v.status,
        "created_at": format_time(v.created_at),
        "description": v.description,
        "latest": v.latest,
        "has_data": v.payload is not None,
        "size": v.size,
        "crc32": v.crc32,
        "ephemeral_properties": v.ephemeral_properties,
    }


def record_json(r: SecretRecord) -> dict[str, object]:
    doc: dict[str, object] = dict(r.to_dict())
    doc.pop("v", None)
    doc["full_path"] = r.full_path
    doc["versions"] = [version_json(v) for v in r.versions]
    return doc


def source_text(header: SnapshotHeader) -> str:
    return ", ".join(f"{s.region}/{s.project_id}" for s in header.sources) or "-"
