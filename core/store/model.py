"""The snapshot data model: what a snapshot holds, as frozen dataclasses.

Each class only declares its fields; :mod:`core.store.codec` encodes them all the same way
(docs/FORMAT.md, "Canonical JSON"), so equal records give equal bytes and therefore equal blob
ids: an unchanged secret costs nothing in the next snapshot.

Names, paths, tags, descriptions and project names are secret-bearing: no ``repr`` here shows
them (ids and counts only). They only ever leave memory encrypted (see ``docs/FORMAT.md``).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

from core.scaleway.models import format_time, join_path
from core.store import codec

if TYPE_CHECKING:  # the API's models, only read here (a store command never loads them)
    from core.scaleway.models import Secret, SecretVersion

__all__ = [
    "MODEL_VERSION",
    "STATUS_COMPLETE",
    "STATUS_PARTIAL",
    "PayloadRef",
    "SecretRecord",
    "SnapshotError",
    "SnapshotHeader",
    "SnapshotSummary",
    "SourceInfo",
    "VersionRecord",
    "decode_tree",
    "encode_tree",
    "sort_records",
]

MODEL_VERSION = 1

STATUS_COMPLETE = "complete"
STATUS_PARTIAL = "partial"


class _Codec:
    """The one codec's methods on every model class (:mod:`core.store.codec`)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (what :meth:`to_bytes` encodes)."""
        return codec.encode(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return codec.decode(cls, data)

    def to_bytes(self) -> bytes:
        """The canonical JSON bytes (a record's blob id is a MAC of these)."""
        return codec.to_bytes(self)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        return codec.from_bytes(cls, raw)


@dataclass(frozen=True, slots=True)
class PayloadRef:
    """Where one version's data went: its blob id, CRC32 and size."""

    blob_id: str
    crc32: int | None
    size: int

    def __repr__(self) -> str:
        return f"PayloadRef(blob_id={self.blob_id[:12]!r}, size={self.size})"


@dataclass(frozen=True, slots=True)
class VersionRecord(_Codec):
    """One version of a secret: its metadata, and a reference to its data (never the data)."""

    revision: int
    status: str = codec.fallback("unknown_status")
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
class SecretRecord(_Codec):
    """One secret in a snapshot: every metadata field and every version.

    Records are keyed by ``(region, project_id, path, name)``; each is its own blob.
    """

    RECORD_VERSION: ClassVar[int] = MODEL_VERSION
    RECORD_LABEL: ClassVar[str] = "secret record"

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
        return cls(*listed_metadata(secret), versions=vrecs, error=error)

    def listed_metadata(self) -> ListedMetadata:
        """What :func:`listed_metadata` makes of the secret this record was built from."""
        listed: ListedMetadata = _LISTED(self)
        return listed

    def __repr__(self) -> str:  # names, paths, tags and descriptions are secret-bearing
        return (
            f"SecretRecord(secret_id={self.secret_id!r}, region={self.region!r}, "
            f"project_id={self.project_id!r}, versions={len(self.versions)}, "
            f"error={self.error is not None})"
        )


# The fields a listing tells, in SecretRecord's field order (mypy checks the splat in from_api).
ListedMetadata = tuple[
    str,  # region
    str,  # project_id
    str,  # secret_id
    str,  # name
    str,  # path
    str,  # type
    str,  # status
    tuple[str, ...],  # tags
    str,  # description
    bool,  # protected
    bool,  # managed
    dict[str, Any] | None,  # ephemeral_policy
    str | None,  # key_id
    tuple[str, ...],  # used_by
    datetime | None,  # created_at
    datetime | None,  # updated_at
    datetime | None,  # deletion_requested_at
    int,  # version_count
]


def listed_metadata(secret: Secret) -> ListedMetadata:
    """A record's fields that a secret's listing tells, in field order (every field but
    ``versions`` and ``error``): :meth:`SecretRecord.from_api` builds a record from them, and a
    backup compares them with a parent's (:meth:`SecretRecord.listed_metadata`) without
    building a record per listed secret."""
    policy = secret.ephemeral_policy
    return (
        secret.region,
        secret.project_id,
        secret.id,
        secret.name,
        secret.path or "/",
        str(secret.type),
        str(secret.status),
        tuple(secret.tags),
        secret.description,
        secret.protected,
        secret.managed,
        policy.to_api() if policy is not None else None,
        secret.key_id,
        tuple(map(str, secret.used_by)),
        secret.created_at,
        secret.updated_at,
        secret.deletion_requested_at,
        secret.version_count,
    )


_LISTED = operator.attrgetter(
    *(f.name for f in fields(SecretRecord) if f.name not in ("versions", "error"))
)


@dataclass(frozen=True, slots=True)
class SourceInfo(_Codec):
    """Where a snapshot's secrets came from (one project in one region)."""

    provider: str = codec.fallback("scaleway", default="scaleway")
    region: str = ""
    organization_id: str = ""
    project_id: str = ""
    project_name: str = ""

    def __repr__(self) -> str:  # project names are secret-bearing
        return f"SourceInfo(provider={self.provider!r}, region={self.region!r}, project_id={self.project_id!r})"


@dataclass(frozen=True, slots=True)
class SnapshotError(_Codec):
    """One secret that could not be fully backed up (message carries ids only)."""

    secret_id: str
    region: str
    project_id: str
    message: str


@dataclass(frozen=True, slots=True)
class SnapshotSummary(_Codec):
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


@dataclass(frozen=True, slots=True)
class SnapshotHeader(_Codec):
    """A snapshot: who, when, from where, how it went, and its tree (a blob of record ids)."""

    RECORD_VERSION: ClassVar[int] = MODEL_VERSION
    RECORD_LABEL: ClassVar[str] = "snapshot"

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
    status: str = codec.fallback(STATUS_COMPLETE, default=STATUS_COMPLETE)
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
