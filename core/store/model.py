"""The snapshot data model: what a snapshot holds, as frozen dataclasses.

Every class serializes deterministically (``to_dict`` gives plain JSON types; ``canonical_json``
sorts keys and uses compact separators), so equal records give equal bytes and therefore
equal blob ids: an unchanged secret costs nothing in the next snapshot.

Names, paths, tags, descriptions and project names are secret-bearing: no ``repr`` here shows
them (ids and counts only). They only ever leave memory encrypted (see ``docs/FORMAT.md``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from core.scaleway.models import Secret, SecretVersion, format_time, join_path, parse_time

MODEL_VERSION = 1

STATUS_COMPLETE = "complete"
STATUS_PARTIAL = "partial"


class NewerVersionError(ValueError):
    """A record or header written by a newer program (a reader must not guess)."""


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 (not ASCII-escaped)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _t(value: datetime | None) -> str | None:
    return format_time(value)


def _pt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value)
    if len(text) == 27 and text[-1] == "Z":  # our own format_time output: the fast path
        try:
            return datetime.fromisoformat(text)  # Python 3.11 reads the "Z" itself
        except ValueError:
            pass
    return parse_time(text)


def _opt_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return dict(value)


@dataclass(frozen=True, slots=True)
class PayloadRef:
    """Where one version's data went: its blob id, CRC32 and size."""

    blob_id: str
    crc32: int | None
    size: int

    def __repr__(self) -> str:
        return f"PayloadRef(blob_id={self.blob_id[:12]!r}, size={self.size})"


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One version of a secret: its metadata, and a reference to its data (never the data)."""

    revision: int
    status: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    deletion_requested_at: datetime | None = None
    description: str = ""
    latest: bool = False
    ephemeral_properties: dict[str, Any] | None = None
    payload: str | None = None  # blob id (hex) of the data, or None when it was not read
    crc32: int | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "status": self.status,
            "created_at": _t(self.created_at),
            "updated_at": _t(self.updated_at),
            "deleted_at": _t(self.deleted_at),
            "deletion_requested_at": _t(self.deletion_requested_at),
            "description": self.description,
            "latest": self.latest,
            "ephemeral_properties": self.ephemeral_properties,
            "payload": self.payload,
            "crc32": self.crc32,
            "size": self.size,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VersionRecord:
        return cls(
            revision=int(data["revision"]),
            status=str(data.get("status") or "unknown_status"),
            created_at=_pt(data.get("created_at")),
            updated_at=_pt(data.get("updated_at")),
            deleted_at=_pt(data.get("deleted_at")),
            deletion_requested_at=_pt(data.get("deletion_requested_at")),
            description=str(data.get("description") or ""),
            latest=bool(data.get("latest", False)),
            ephemeral_properties=_opt_dict(data.get("ephemeral_properties")),
            payload=data.get("payload"),
            crc32=None if data.get("crc32") is None else int(data["crc32"]),
            size=None if data.get("size") is None else int(data["size"]),
        )

    @classmethod
    def from_api(cls, version: SecretVersion, payload: PayloadRef | None = None) -> VersionRecord:
        props = version.ephemeral_properties
        return cls(
            revision=version.revision,
            status=str(version.status),
            created_at=version.created_at,
            updated_at=version.updated_at,
            deleted_at=version.deleted_at,
            deletion_requested_at=version.deletion_requested_at,
            description=version.description,
            latest=version.latest,
            ephemeral_properties=props.to_api() if props is not None else None,
            payload=payload.blob_id if payload is not None else None,
            crc32=payload.crc32 if payload is not None else None,
            size=payload.size if payload is not None else None,
        )

    @property
    def has_data(self) -> bool:
        return self.payload is not None

    def __repr__(self) -> str:
        return (
            f"VersionRecord(revision={self.revision}, status={self.status!r}, "
            f"has_data={self.payload is not None}, size={self.size})"
        )


@dataclass(frozen=True, slots=True)
class SecretRecord:
    """One secret in a snapshot: every metadata field and every version.

    Records are keyed by ``(region, project_id, path, name)``; each is its own blob.
    """

    region: str
    project_id: str
    secret_id: str
    name: str
    path: str = "/"
    type: str = "opaque"
    status: str = "ready"
    tags: tuple[str, ...] = ()
    description: str = ""
    protected: bool = False
    managed: bool = False
    ephemeral_policy: dict[str, Any] | None = None
    key_id: str | None = None
    used_by: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deletion_requested_at: datetime | None = None
    version_count: int = 0
    versions: tuple[VersionRecord, ...] = ()
    error: str | None = None  # why this secret is incomplete in the snapshot (ids only)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The record's key in a snapshot tree: region, project, path, name."""
        return (self.region, self.project_id, self.path, self.name)

    @property
    def full_path(self) -> str:
        return join_path(self.path, self.name)

    def version(self, revision: int) -> VersionRecord | None:
        for v in self.versions:
            if v.revision == revision:
                return v
        return None

    @property
    def latest_version(self) -> VersionRecord | None:
        for v in self.versions:
            if v.latest:
                return v
        return max(self.versions, key=lambda v: v.revision, default=None)

    def payload_ids(self) -> list[str]:
        return [v.payload for v in self.versions if v.payload is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": MODEL_VERSION,
            "region": self.region,
            "project_id": self.project_id,
            "secret_id": self.secret_id,
            "name": self.name,
            "path": self.path,
            "type": self.type,
            "status": self.status,
            "tags": list(self.tags),
            "description": self.description,
            "protected": self.protected,
            "managed": self.managed,
            "ephemeral_policy": self.ephemeral_policy,
            "key_id": self.key_id,
            "used_by": list(self.used_by),
            "created_at": _t(self.created_at),
            "updated_at": _t(self.updated_at),
            "deletion_requested_at": _t(self.deletion_requested_at),
            "version_count": self.version_count,
            "versions": [v.to_dict() for v in self.versions],
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SecretRecord:
        return cls(
            region=str(data["region"]),
            project_id=str(data["project_id"]),
            secret_id=str(data["secret_id"]),
            name=str(data["name"]),
            path=str(data.get("path", "/")),
            type=str(data.get("type", "opaque")),
            status=str(data.get("status", "ready")),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            description=str(data.get("description") or ""),
            protected=bool(data.get("protected", False)),
            managed=bool(data.get("managed", False)),
            ephemeral_policy=_opt_dict(data.get("ephemeral_policy")),
            key_id=data.get("key_id"),
            used_by=tuple(str(u) for u in data.get("used_by") or ()),
            created_at=_pt(data.get("created_at")),
            updated_at=_pt(data.get("updated_at")),
            deletion_requested_at=_pt(data.get("deletion_requested_at")),
            version_count=int(data.get("version_count") or 0),
            versions=tuple(VersionRecord.from_dict(v) for v in data.get("versions") or ()),
            error=data.get("error"),
        )

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_bytes(cls, raw: bytes) -> SecretRecord:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("a secret record must be a JSON object")
        if int(data.get("v", 1)) > MODEL_VERSION:
            raise NewerVersionError(
                f"secret record version {data.get('v')} is newer than this program"
            )
        return cls.from_dict(data)

    @classmethod
    def from_api(
        cls,
        secret: Secret,
        versions: Iterable[SecretVersion],
        payloads: Mapping[int, PayloadRef] | None = None,
        *,
        error: str | None = None,
    ) -> SecretRecord:
        """Build a record from API models; ``payloads`` maps revision -> stored data reference."""
        payloads = payloads or {}
        vrecs = tuple(
            sorted(
                (VersionRecord.from_api(v, payloads.get(v.revision)) for v in versions),
                key=lambda v: v.revision,
            )
        )
        policy = secret.ephemeral_policy
        return cls(
            region=secret.region,
            project_id=secret.project_id,
            secret_id=secret.id,
            name=secret.name,
            path=secret.path or "/",
            type=str(secret.type),
            status=str(secret.status),
            tags=tuple(secret.tags),
            description=secret.description,
            protected=secret.protected,
            managed=secret.managed,
            ephemeral_policy=policy.to_api() if policy is not None else None,
            key_id=secret.key_id,
            used_by=tuple(str(u) for u in secret.used_by),
            created_at=secret.created_at,
            updated_at=secret.updated_at,
            deletion_requested_at=secret.deletion_requested_at,
            version_count=secret.version_count,
            versions=vrecs,
            error=error,
        )

    def __repr__(self) -> str:  # names, paths, tags and descriptions are secret-bearing
        return (
            f"SecretRecord(secret_id={self.secret_id!r}, region={self.region!r}, "
            f"project_id={self.project_id!r}, versions={len(self.versions)}, "
            f"error={self.error is not None})"
        )


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where a snapshot's secrets came from (one project in one region)."""

    provider: str = "scaleway"
    region: str = ""
    organization_id: str = ""
    project_id: str = ""
    project_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "region": self.region,
            "organization_id": self.organization_id,
            "project_id": self.project_id,
            "project_name": self.project_name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceInfo:
        return cls(
            provider=str(data.get("provider") or "scaleway"),
            region=str(data.get("region") or ""),
            organization_id=str(data.get("organization_id") or ""),
            project_id=str(data.get("project_id") or ""),
            project_name=str(data.get("project_name") or ""),
        )

    def __repr__(self) -> str:  # project names are secret-bearing
        return f"SourceInfo(provider={self.provider!r}, region={self.region!r}, project_id={self.project_id!r})"


@dataclass(frozen=True, slots=True)
class SnapshotError:
    """One secret that could not be fully backed up (message carries ids only)."""

    secret_id: str
    region: str
    project_id: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "secret_id": self.secret_id,
            "region": self.region,
            "project_id": self.project_id,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SnapshotError:
        return cls(
            secret_id=str(data.get("secret_id") or ""),
            region=str(data.get("region") or ""),
            project_id=str(data.get("project_id") or ""),
            message=str(data.get("message") or ""),
        )


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    """Counts and sizes of one snapshot; the store fills the ``*_added`` fields at commit."""

    secrets: int = 0
    versions: int = 0
    versions_read: int = 0  # versions whose data was fetched from the API in this run
    versions_reused: int = 0  # versions whose data reference came from the parent snapshot
    payload_bytes: int = 0  # plaintext bytes of all version data the snapshot references
    bytes_added: int = 0  # bytes written to the backend by this snapshot (packs + index + header)
    blobs_added: int = 0  # new blobs (data and metadata) written
    blobs_reused: int = 0  # blobs the store already had (deduplicated)
    records_reused: int = 0  # secret records identical to ones already stored
    errors: int = 0
    duration_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SnapshotSummary:
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data and data[f.name] is not None:
                kwargs[f.name] = float(data[f.name]) if f.type == "float" else int(data[f.name])
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    """A snapshot: who, when, from where, how it went, and its tree (a blob of record ids)."""

    id: str  # 64 hex chars, random
    time: datetime
    tree: str  # blob id of the tree blob (the ordered list of secret record blob ids)
    sources: tuple[SourceInfo, ...] = ()
    parent: str | None = None
    tags: tuple[str, ...] = ()
    environment: str | None = None  # SLA environment (production, staging, ...)
    data_class: str | None = None  # data classification (confidential, ...)
    host: str = ""
    username: str = ""
    tool_version: str = ""
    status: str = STATUS_COMPLETE
    errors: tuple[SnapshotError, ...] = ()
    summary: SnapshotSummary = field(default_factory=SnapshotSummary)
    pinned: bool = False
    description: str = ""

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def complete(self) -> bool:
        return self.status == STATUS_COMPLETE

    @property
    def project_ids(self) -> tuple[str, ...]:
        return tuple(sorted({s.project_id for s in self.sources}))

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({s.region for s in self.sources}))

    def covers(self, *, project: str | None = None, region: str | None = None) -> bool:
        """True when some source matches the given project id and/or region."""
        for s in self.sources:
            if project is not None and s.project_id != project:
                continue
            if region is not None and s.region != region:
                continue
            return True
        return project is None and region is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": MODEL_VERSION,
            "id": self.id,
            "time": format_time(self.time),
            "tree": self.tree,
            "sources": [s.to_dict() for s in self.sources],
            "parent": self.parent,
            "tags": list(self.tags),
            "environment": self.environment,
            "data_class": self.data_class,
            "host": self.host,
            "username": self.username,
            "tool_version": self.tool_version,
            "status": self.status,
            "errors": [e.to_dict() for e in self.errors],
            "summary": self.summary.to_dict(),
            "pinned": self.pinned,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SnapshotHeader:
        time = _pt(data.get("time"))
        if time is None:
            raise ValueError("snapshot header without a time")
        return cls(
            id=str(data["id"]),
            time=time,
            tree=str(data["tree"]),
            sources=tuple(SourceInfo.from_dict(s) for s in data.get("sources") or ()),
            parent=data.get("parent"),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            environment=data.get("environment"),
            data_class=data.get("data_class"),
            host=str(data.get("host") or ""),
            username=str(data.get("username") or ""),
            tool_version=str(data.get("tool_version") or ""),
            status=str(data.get("status") or STATUS_COMPLETE),
            errors=tuple(SnapshotError.from_dict(e) for e in data.get("errors") or ()),
            summary=SnapshotSummary.from_dict(data.get("summary") or {}),
            pinned=bool(data.get("pinned", False)),
            description=str(data.get("description") or ""),
        )

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_bytes(cls, raw: bytes) -> SnapshotHeader:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("a snapshot header must be a JSON object")
        if int(data.get("v", 1)) > MODEL_VERSION:
            raise NewerVersionError(f"snapshot version {data.get('v')} is newer than this program")
        return cls.from_dict(data)

    def __repr__(self) -> str:  # tags and project names are secret-bearing
        return (
            f"SnapshotHeader(id={self.short_id!r}, time={format_time(self.time)!r}, "
            f"status={self.status!r}, sources={len(self.sources)}, "
            f"secrets={self.summary.secrets}, pinned={self.pinned})"
        )


# --------------------------------------------------------------------------- tree blobs

TREE_MAGIC = b"SKTR"
TREE_VERSION = 1


def encode_tree(record_ids: Iterable[str]) -> bytes:
    """A tree blob: ``SKTR`` ‖ version byte ‖ the 32-byte record ids, in tree order."""
    parts = [TREE_MAGIC, bytes([TREE_VERSION])]
    parts.extend(bytes.fromhex(r) for r in record_ids)
    return b"".join(parts)


def decode_tree(raw: bytes) -> list[str]:
    if raw[:4] != TREE_MAGIC or len(raw) < 5:
        raise ValueError("not a tree blob")
    if raw[4] != TREE_VERSION:
        raise ValueError(f"tree version {raw[4]} is not supported")
    body = raw[5:]
    if len(body) % 32:
        raise ValueError("truncated tree blob")
    return [body[i : i + 32].hex() for i in range(0, len(body), 32)]


def sort_records(records: Iterable[SecretRecord]) -> list[SecretRecord]:
    """Tree order: by region, project, path, name, then secret id (names may repeat)."""
    return sorted(records, key=lambda r: (*r.key, r.secret_id))
