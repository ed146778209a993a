"""What changed between two snapshot trees: secrets added, removed, changed, per version.

Secrets are matched by region, project and secret id; a record without an id (never the case
for records the backup writes, but allowed by the model) falls back to its path and name. A
secret deleted and re-created under the same path/name has a new id, so it shows as one
removal and one addition, which is what happened in Secret Manager.

Pure logic over :class:`core.store.model.SecretRecord` lists; the CLI reads the trees.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.scaleway.models import format_time
from core.store.model import SecretRecord, VersionRecord

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"

# Secret metadata fields compared (the versions are compared one by one).
SECRET_FIELDS: tuple[str, ...] = (
    "name",
    "path",
    "type",
    "status",
    "tags",
    "description",
    "protected",
    "managed",
    "ephemeral_policy",
    "key_id",
    "used_by",
    "created_at",
    "updated_at",
    "deletion_requested_at",
    "version_count",
    "error",
)

# Version fields compared; "payload" is the data (by blob id: equal ids mean equal bytes).
VERSION_FIELDS: tuple[str, ...] = (
    "status",
    "payload",
    "crc32",
    "size",
    "description",
    "latest",
    "ephemeral_properties",
    "created_at",
    "updated_at",
    "deleted_at",
    "deletion_requested_at",
)

DiffKey = tuple[str, str, str]


def record_key(record: SecretRecord) -> DiffKey:
    """Region, project, and the secret id (or ``path/name`` when the record has no id)."""
    ident = record.secret_id or "path:" + record.full_path
    return (record.region, record.project_id, ident)


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: object
    new: object

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": _plain(self.old), "new": _plain(self.new)}


@dataclass(frozen=True, slots=True)
class VersionChange:
    revision: int
    kind: str  # added | removed | changed
    old: VersionRecord | None
    new: VersionRecord | None
    fields: tuple[FieldChange, ...] = ()

    @property
    def data_changed(self) -> bool:
        return any(f.field == "payload" for f in self.fields)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"revision": self.revision, "change": self.kind}
        ref = self.new or self.old
        if ref is not None:
            out["status"] = ref.status
            out["has_data"] = ref.payload is not None
            out["size"] = ref.size
        if self.kind == CHANGED:
            out["fields"] = [f.to_json() for f in self.fields]
        return out


@dataclass(frozen=True, slots=True)
class SecretChange:
    key: DiffKey
    kind: str  # added | removed | changed
    old: SecretRecord | None
    new: SecretRecord | None
    fields: tuple[FieldChange, ...] = ()
    versions: tuple[VersionChange, ...] = ()

    @property
    def record(self) -> SecretRecord:
        record = self.new if self.new is not None else self.old
        assert record is not None
        return record

    def to_json(self) -> dict[str, Any]:
        record = self.record
        out: dict[str, Any] = {
            "change": self.kind,
            "region": record.region,
            "project_id": record.project_id,
            "secret_id": record.secret_id,
            "path": record.path,
            "name": record.name,
            "type": record.type,
        }
        if self.kind == CHANGED:
            out["fields"] = [f.to_json() for f in self.fields]
            out["versions"] = [v.to_json() for v in self.versions]
        else:
            out["versions"] = len(record.versions)
        return out

    def __repr__(self) -> str:  # names are secret-bearing
        return f"SecretChange(key={self.key!r}, kind={self.kind!r}, fields={[f.field for f in self.fields]})"


@dataclass(slots=True)
class SnapshotDiff:
    added: list[SecretChange] = field(default_factory=list)
    removed: list[SecretChange] = field(default_factory=list)
    changed: list[SecretChange] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changes(self) -> list[SecretChange]:
        """All changes in tree order (region, project, path, name)."""
        return sorted(
            [*self.added, *self.removed, *self.changed],
            key=lambda c: (*c.record.key, c.record.secret_id),
        )

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def counts(self) -> dict[str, int]:
        versions = [v for c in self.changed for v in c.versions]
        return {
            "secrets_added": len(self.added),
            "secrets_removed": len(self.removed),
            "secrets_changed": len(self.changed),
            "secrets_unchanged": self.unchanged,
            "versions_added": sum(1 for v in versions if v.kind == ADDED)
            + sum(len(c.record.versions) for c in self.added),
            "versions_removed": sum(1 for v in versions if v.kind == REMOVED)
            + sum(len(c.record.versions) for c in self.removed),
            "versions_changed": sum(1 for v in versions if v.kind == CHANGED),
        }

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.counts(), "changes": [c.to_json() for c in self.changes]}


def _field_changes(old: object, new: object, names: Iterable[str]) -> tuple[FieldChange, ...]:
    out = []
    for name in names:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            out.append(FieldChange(name, a, b))
    return tuple(out)


def diff_versions(
    old: Iterable[VersionRecord], new: Iterable[VersionRecord]
) -> tuple[VersionChange, ...]:
    """Per-revision changes between two version lists."""
    a = {v.revision: v for v in old}
    b = {v.revision: v for v in new}
    out: list[VersionChange] = []
    for revision in sorted(a.keys() | b.keys()):
        va, vb = a.get(revision), b.get(revision)
        if va is None:
            out.append(VersionChange(revision, ADDED, None, vb))
        elif vb is None:
            out.append(VersionChange(revision, REMOVED, va, None))
        else:
            changed = _field_changes(va, vb, VERSION_FIELDS)
            if changed:
                out.append(VersionChange(revision, CHANGED, va, vb, changed))
    return tuple(out)


def _index(tree: Iterable[SecretRecord]) -> Mapping[DiffKey, SecretRecord]:
    out: dict[DiffKey, SecretRecord] = {}
    for record in tree:
        key = record_key(record)
        if key in out:  # duplicate keys cannot come from a backup; keep them distinct
            n = 2
            while (*key[:2], f"{key[2]}#{n}") in out:
                n += 1
            key = (key[0], key[1], f"{key[2]}#{n}")
        out[key] = record
    return out


def diff_snapshots(tree_a: Iterable[SecretRecord], tree_b: Iterable[SecretRecord]) -> SnapshotDiff:
    """Changes from snapshot A (older) to snapshot B (newer)."""
    a = _index(tree_a)
    b = _index(tree_b)
    result = SnapshotDiff()
    for key in sorted(a.keys() | b.keys()):
        ra, rb = a.get(key), b.get(key)
        if ra is None:
            result.added.append(SecretChange(key, ADDED, None, rb))
        elif rb is None:
            result.removed.append(SecretChange(key, REMOVED, ra, None))
        elif ra == rb:
            result.unchanged += 1
        else:
            fields_changed = _field_changes(ra, rb, SECRET_FIELDS)
            versions = diff_versions(ra.versions, rb.versions)
            if fields_changed or versions:
                result.changed.append(SecretChange(key, CHANGED, ra, rb, fields_changed, versions))
            else:  # pragma: no cover - equal fields and versions mean equal records
                result.unchanged += 1
    return result


__all__ = [
    "ADDED",
    "CHANGED",
    "REMOVED",
    "FieldChange",
    "SecretChange",
    "SnapshotDiff",
    "VersionChange",
    "diff_snapshots",
    "diff_versions",
    "record_key",
]
