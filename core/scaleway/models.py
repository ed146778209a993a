"""Typed models of Scaleway Secret Manager v1beta1 and Account v3 objects.

One definition serves the client (parsing responses), the emulator (rendering them in the
real API's key order) and the engines. Enum-valued fields are plain ``str`` so that values a
newer API adds are tolerated; the ``StrEnum`` classes name the values known today and compare
equal to those strings. Unknown response keys are kept in ``extra`` and never dropped.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

REGIONS: tuple[str, ...] = ("fr-par", "nl-ams", "pl-waw")
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_VERSIONS_PER_SECRET = 20


class SecretType(StrEnum):
    UNKNOWN = "unknown_type"
    OPAQUE = "opaque"
    CERTIFICATE = "certificate"
    KEY_VALUE = "key_value"
    BASIC_CREDENTIALS = "basic_credentials"
    DATABASE_CREDENTIALS = "database_credentials"
    SSH_KEY = "ssh_key"


class SecretStatus(StrEnum):
    UNKNOWN = "unknown_status"
    READY = "ready"
    LOCKED = "locked"


class VersionStatus(StrEnum):
    UNKNOWN = "unknown_status"
    ENABLED = "enabled"
    DISABLED = "disabled"
    DELETED = "deleted"
    SCHEDULED_FOR_DELETION = "scheduled_for_deletion"


class EphemeralAction(StrEnum):
    UNKNOWN = "unknown_action"
    DELETE = "delete"
    DISABLE = "disable"


class Product(StrEnum):
    UNKNOWN = "unknown_product"
    EDGE_SERVICES = "edge_services"
    S2S_VPN = "s2s_vpn"


class OrderBy(StrEnum):
    NAME_ASC = "name_asc"
    NAME_DESC = "name_desc"
    CREATED_AT_ASC = "created_at_asc"
    CREATED_AT_DESC = "created_at_desc"
    UPDATED_AT_ASC = "updated_at_asc"
    UPDATED_AT_DESC = "updated_at_desc"


# --------------------------------------------------------------------------- wire helpers

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: str | None) -> datetime | None:
    """Parse an RFC 3339 timestamp (``Z`` or offset, any number of fraction digits)."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:  # fast path (Python 3.11 reads "Z", offsets and 1-9 fraction digits itself)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python accepts at most 6 fraction digits; Scaleway may send up to 9.
        text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    """Render a timestamp the way Scaleway does: UTC, microseconds, ``Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utcnow() -> datetime:
    return datetime.now(UTC)


_DURATION = re.compile(r"^(-?\d+)(?:\.(\d{1,9}))?s$")


def parse_duration(value: str) -> float:
    """Parse a protobuf-JSON duration (``"1800s"``, ``"1800.000000000s"``) into seconds."""
    match = _DURATION.match(value.strip())
    if not match:
        raise ValueError("duration must look like '3600s'")
    whole, frac = match.groups()
    seconds = float(int(whole))
    if frac:
        seconds += int(frac) / 10 ** len(frac) * (-1 if whole.startswith("-") else 1)
    return seconds


def format_duration(seconds: float) -> str:
    """Render a duration as the server does (``"1800s"``; fractions only when present)."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{seconds:.9f}".rstrip("0") + "s"


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict standard base64 with padding (raises ``ValueError`` otherwise)."""
    return base64.b64decode(text.encode("ascii"), validate=True)


def _known(cls: type, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    names = {f.name for f in fields(cls)} - {"extra"}
    known = {k: v for k, v in data.items() if k in names}
    extra = {k: v for k, v in data.items() if k not in names}
    return known, extra


# --------------------------------------------------------------------------- models


@dataclass(frozen=True, slots=True)
class EphemeralPolicy:
    """Expiry policy of a secret; Scaleway only accepts it at creation time."""

    time_to_live: str | None = None
    expires_once_accessed: bool | None = None
    action: str = EphemeralAction.UNKNOWN

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> EphemeralPolicy | None:
        if data is None:
            return None
        return cls(
            time_to_live=data.get("time_to_live"),
            expires_once_accessed=data.get("expires_once_accessed"),
            action=str(data.get("action") or EphemeralAction.UNKNOWN),
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "time_to_live": self.time_to_live,
            "expires_once_accessed": self.expires_once_accessed,
            "action": str(self.action),
        }


@dataclass(frozen=True, slots=True)
class EphemeralProperties:
    """Expiry of one version, derived from its secret's policy."""

    expires_at: datetime | None = None
    expires_once_accessed: bool | None = None
    action: str = EphemeralAction.UNKNOWN

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> EphemeralProperties | None:
        if data is None:
            return None
        return cls(
            expires_at=parse_time(data.get("expires_at")),
            expires_once_accessed=data.get("expires_once_accessed"),
            action=str(data.get("action") or EphemeralAction.UNKNOWN),
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "expires_at": format_time(self.expires_at),
            "expires_once_accessed": self.expires_once_accessed,
            "action": str(self.action),
        }


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret's metadata (never its data)."""

    id: str
    project_id: str
    name: str
    status: str = SecretStatus.READY
    created_at: datetime | None = None
    updated_at: datetime | None = None
    tags: tuple[str, ...] = ()
    version_count: int = 0
    description: str = ""
    managed: bool = False
    type: str = SecretType.OPAQUE
    protected: bool = False
    path: str = "/"
    ephemeral_policy: EphemeralPolicy | None = None
    used_by: tuple[str, ...] = ()
    deletion_requested_at: datetime | None = None
    key_id: str | None = None
    region: str = "fr-par"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def full_path(self) -> str:
        """``path/name`` as secret selectors match it (``/prod/db/password``)."""
        return join_path(self.path, self.name)

    @property
    def scheduled_for_deletion(self) -> bool:
        return self.deletion_requested_at is not None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Secret:
        known, extra = _known(cls, data)
        return cls(
            id=known["id"],
            project_id=known.get("project_id", ""),
            name=known.get("name", ""),
            status=str(known.get("status") or SecretStatus.UNKNOWN),
            created_at=parse_time(known.get("created_at")),
            updated_at=parse_time(known.get("updated_at")),
            tags=tuple(known.get("tags") or ()),
            version_count=int(known.get("version_count") or 0),
            description=known.get("description") or "",
            managed=bool(known.get("managed", False)),
            type=str(known.get("type") or SecretType.OPAQUE),
            protected=bool(known.get("protected", False)),
            path=known.get("path") or "/",
            ephemeral_policy=EphemeralPolicy.from_api(known.get("ephemeral_policy")),
            used_by=tuple(known.get("used_by") or ()),
            deletion_requested_at=parse_time(known.get("deletion_requested_at")),
            key_id=known.get("key_id"),
            region=known.get("region", ""),
            extra=extra,
        )

    def to_api(self) -> dict[str, Any]:
        """The JSON object in the real API's key order."""
        return {
            "id": self.id,
            "project_id": self.project_id,
            "name": self.name,
            "status": str(self.status),
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "tags": list(self.tags),
            "version_count": self.version_count,
            "description": self.description,
            "managed": self.managed,
            "type": str(self.type),
            "protected": self.protected,
            "path": self.path,
            "ephemeral_policy": self.ephemeral_policy.to_api() if self.ephemeral_policy else None,
            "used_by": [str(p) for p in self.used_by],
            "deletion_requested_at": format_time(self.deletion_requested_at),
            "key_id": self.key_id,
            "region": self.region,
        }

    def __repr__(self) -> str:  # names and paths are secret-bearing: ids only
        return f"Secret(id={self.id!r}, region={self.region!r}, versions={self.version_count})"


@dataclass(frozen=True, slots=True)
class SecretVersion:
    """One version's metadata (never its data)."""

    revision: int
    secret_id: str
    status: str = VersionStatus.ENABLED
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    description: str = ""
    latest: bool = False
    ephemeral_properties: EphemeralProperties | None = None
    deletion_requested_at: datetime | None = None
    region: str = "fr-par"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SecretVersion:
        known, extra = _known(cls, data)
        return cls(
            revision=int(known["revision"]),
            secret_id=known.get("secret_id", ""),
            status=str(known.get("status") or VersionStatus.UNKNOWN),
            created_at=parse_time(known.get("created_at")),
            updated_at=parse_time(known.get("updated_at")),
            deleted_at=parse_time(known.get("deleted_at")),
            description=known.get("description") or "",
            latest=bool(known.get("latest", False)),
            ephemeral_properties=EphemeralProperties.from_api(known.get("ephemeral_properties")),
            deletion_requested_at=parse_time(known.get("deletion_requested_at")),
            region=known.get("region", ""),
            extra=extra,
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "secret_id": self.secret_id,
            "status": str(self.status),
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "deleted_at": format_time(self.deleted_at),
            "description": self.description,
            "latest": self.latest,
            "ephemeral_properties": (
                self.ephemeral_properties.to_api() if self.ephemeral_properties else None
            ),
            "deletion_requested_at": format_time(self.deletion_requested_at),
            "region": self.region,
        }

    def __repr__(self) -> str:
        return f"SecretVersion(secret_id={self.secret_id!r}, revision={self.revision}, status={self.status!r})"


@dataclass(frozen=True, slots=True)
class AccessedVersion:
    """The data of one version, as returned by the access endpoints."""

    secret_id: str
    revision: int
    data: bytes
    data_crc32: int | None
    type: str = SecretType.OPAQUE

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> AccessedVersion:
        crc = data.get("data_crc32")
        return cls(
            secret_id=data.get("secret_id", ""),
            revision=int(data["revision"]),
            data=b64decode(data.get("data") or ""),
            data_crc32=None if crc is None else int(crc),
            type=str(data.get("type") or SecretType.OPAQUE),
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "secret_id": self.secret_id,
            "revision": self.revision,
            "data": b64encode(self.data),
            "data_crc32": self.data_crc32,
            "type": str(self.type),
        }

    def __repr__(self) -> str:  # never the data
        return f"AccessedVersion(secret_id={self.secret_id!r}, revision={self.revision}, size={len(self.data)})"


@dataclass(frozen=True, slots=True)
class BrowseItem:
    """One entry of ``/secrets/browse``: a folder or a secret directly under the prefix."""

    name: str
    created_at: datetime | None
    updated_at: datetime | None
    secret: dict[str, Any] | None = (
        None  # {id, tags, version_count, protected, type, ephemeral_policy}
    )
    folder: dict[str, Any] | None = None

    @property
    def is_folder(self) -> bool:
        return self.folder is not None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> BrowseItem:
        return cls(
            name=data.get("name", ""),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            secret=data.get("secret"),
            folder=data.get("folder"),
        )

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
        }
        if self.folder is not None:
            out["folder"] = self.folder
        else:
            out["secret"] = self.secret
        return out

    def __repr__(self) -> str:
        return f"BrowseItem(folder={self.is_folder})"


@dataclass(frozen=True, slots=True)
class Project:
    """An Account v3 project."""

    id: str
    name: str
    organization_id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    description: str = ""
    qualification: dict[str, Any] | None = None
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Project:
        known, extra = _known(cls, data)
        return cls(
            id=known["id"],
            name=known.get("name", ""),
            organization_id=known.get("organization_id", ""),
            created_at=parse_time(known.get("created_at")),
            updated_at=parse_time(known.get("updated_at")),
            description=known.get("description") or "",
            qualification=known.get("qualification"),
            status=known.get("status"),
            extra=extra,
        )

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "organization_id": self.organization_id,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "description": self.description,
            "qualification": self.qualification,
        }
        if self.status is not None:
            out["status"] = self.status
        return out

    def __repr__(self) -> str:
        return f"Project(id={self.id!r})"


# --------------------------------------------------------------------------- paths


def normalize_path(path: str) -> str:
    """``/a/b/`` -> ``/a/b``; empty -> ``/``."""
    if not path:
        return "/"
    stripped = "/" + path.strip("/")
    return stripped


def join_path(path: str, name: str) -> str:
    """The ``path/name`` form of a secret (``/`` + ``db`` -> ``/db``)."""
    base = normalize_path(path)
    return f"/{name}" if base == "/" else f"{base}/{name}"
