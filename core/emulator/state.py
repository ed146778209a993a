"""The emulator's data: one organization, its projects, API keys and regional secrets.

Everything the emulated API can observe lives in :class:`EmulatorState`. It is plain data
with a re-entrant lock; the ASGI app mutates it from one event loop, tests may read it from
other threads while holding :attr:`EmulatorState.lock`.

Persistence is a versioned JSON document (payloads in base64), written atomically: a
temporary file in the same directory, ``fsync``, ``os.replace``, then ``fsync`` of the
directory, so a crash leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.scaleway.models import (
    REGIONS,
    EphemeralPolicy,
    EphemeralProperties,
    Project,
    Secret,
    SecretStatus,
    SecretType,
    SecretVersion,
    VersionStatus,
    b64decode,
    b64encode,
    format_time,
    parse_time,
    utcnow,
)

STATE_FORMAT = "secret-kloset-emulator-state"
STATE_VERSION = 1

ACCESS_KEY_RE = re.compile(r"^SCW[A-Za-z0-9]{17}$")
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and bool(UUID_RE.match(value))


def new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass
class Settings:
    """Behaviour switches for the points the spec marks [UNVERIFIED]."""

    reject_duplicate_names: bool = True
    """409 already_exists on a second (project, path, name) among live secrets."""
    non_enabled_access_status: int = 412
    """Status answered when accessing a version that is not enabled (412 or 404)."""
    default_page_size: int = 50
    max_page_size: int = 100
    max_versions_per_secret: int = 20
    deletion_grace_days: int = 7
    """Soft-deleted secrets and versions are purged after this many days."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "reject_duplicate_names": self.reject_duplicate_names,
            "non_enabled_access_status": self.non_enabled_access_status,
            "default_page_size": self.default_page_size,
            "max_page_size": self.max_page_size,
            "max_versions_per_secret": self.max_versions_per_secret,
            "deletion_grace_days": self.deletion_grace_days,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "settings") -> Settings:
        out = cls()
        known = set(out.to_dict())
        for key, value in data.items():
            if key not in known:
                raise ConfigError(
                    f"{where}.{key}: unknown setting",
                    hint=f"known settings: {', '.join(sorted(known))}",
                )
            expected = type(getattr(out, key))
            if expected is bool:
                if not isinstance(value, bool):
                    raise ConfigError(f"{where}.{key}: must be true or false")
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{where}.{key}: must be a non-negative integer")
            setattr(out, key, value)
        if out.non_enabled_access_status not in (404, 412):
            raise ConfigError(f"{where}.non_enabled_access_status: must be 404 or 412")
        if not 1 <= out.default_page_size <= out.max_page_size:
            raise ConfigError(f"{where}.default_page_size: must be between 1 and max_page_size")
        return out


@dataclass
class ApiKey:
    """An IAM API key: the secret key authenticates, permission sets authorize."""

    access_key: str
    secret_key: str
    permission_sets: frozenset[str]
    projects: tuple[str, ...] | None = None
    """Project ids the key's policy is scoped to; ``None`` = every project of the org."""
    description: str = ""
    expires_at: datetime | None = None

    @property
    def org_wide(self) -> bool:
        return self.projects is None

    def allows_project(self, project_id: str) -> bool:
        return self.projects is None or project_id in self.projects

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "permission_sets": sorted(self.permission_sets),
            "projects": list(self.projects) if self.projects is not None else None,
            "description": self.description,
            "expires_at": format_time(self.expires_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiKey:
        projects = data.get("projects")
        return cls(
            access_key=data["access_key"],
            secret_key=data["secret_key"],
            permission_sets=frozenset(data.get("permission_sets") or ()),
            projects=tuple(projects) if projects is not None else None,
            description=data.get("description") or "",
            expires_at=parse_time(data.get("expires_at")),
        )

    def __repr__(self) -> str:  # never the secret key
        return f"ApiKey(access_key={self.access_key!r}, sets={sorted(self.permission_sets)})"


@dataclass
class ProjectState:
    id: str
    name: str
    description: str = ""
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def to_model(self, organization_id: str) -> Project:
        return Project(
            id=self.id,
            name=self.name,
            organization_id=organization_id,
            created_at=self.created_at,
            updated_at=self.updated_at,
            description=self.description,
            qualification={"architecture_type": "unknown_architecture_type"},
            status="active",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProjectState:
        return cls(
            id=data["id"],
            name=data["name"],
            description=data.get("description") or "",
            created_at=parse_time(data["created_at"]) or utcnow(),
            updated_at=parse_time(data["updated_at"]) or utcnow(),
        )


@dataclass
class VersionState:
    revision: int
    data: bytes
    status: str = VersionStatus.ENABLED
    data_crc32: int | None = None
    description: str = ""
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    deleted_at: datetime | None = None
    deletion_requested_at: datetime | None = None
    ephemeral_properties: EphemeralProperties | None = None
    status_before_deletion: str | None = None

    def to_model(self, secret_id: str, region: str, latest: bool) -> SecretVersion:
        return SecretVersion(
            revision=self.revision,
            secret_id=secret_id,
            status=self.status,
            created_at=self.created_at,
            updated_at=self.updated_at,
            deleted_at=self.deleted_at,
            description=self.description,
            latest=latest,
            ephemeral_properties=self.ephemeral_properties,
            deletion_requested_at=self.deletion_requested_at,
            region=region,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "data": b64encode(self.data),
            "status": str(self.status),
            "data_crc32": self.data_crc32,
            "description": self.description,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "deleted_at": format_time(self.deleted_at),
            "deletion_requested_at": format_time(self.deletion_requested_at),
            "ephemeral_properties": (
                self.ephemeral_properties.to_api() if self.ephemeral_properties else None
            ),
            "status_before_deletion": self.status_before_deletion,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VersionState:
        return cls(
            revision=int(data["revision"]),
            data=b64decode(data["data"]),
            status=data["status"],
            data_crc32=data.get("data_crc32"),
            description=data.get("description") or "",
            created_at=parse_time(data["created_at"]) or utcnow(),
            updated_at=parse_time(data["updated_at"]) or utcnow(),
            deleted_at=parse_time(data.get("deleted_at")),
            deletion_requested_at=parse_time(data.get("deletion_requested_at")),
            ephemeral_properties=EphemeralProperties.from_api(data.get("ephemeral_properties")),
            status_before_deletion=data.get("status_before_deletion"),
        )

    def __repr__(self) -> str:  # never the data
        return (
            f"VersionState(revision={self.revision}, status={self.status!r}, size={len(self.data)})"
        )


@dataclass
class SecretState:
    id: str
    project_id: str
    region: str
    name: str
    path: str = "/"
    type: str = SecretType.OPAQUE
    status: str = SecretStatus.READY
    tags: list[str] = field(default_factory=list)
    description: str = ""
    managed: bool = False
    protected: bool = False
    ephemeral_policy: EphemeralPolicy | None = None
    used_by: list[str] = field(default_factory=list)
    deletion_requested_at: datetime | None = None
    key_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    versions: list[VersionState] = field(default_factory=list)
    next_revision: int = 1
    """Revisions are never reused, even after versions are purged."""

    @property
    def scheduled_for_deletion(self) -> bool:
        return self.deletion_requested_at is not None

    @property
    def latest_revision(self) -> int | None:
        return max((v.revision for v in self.versions), default=None)

    def version(self, revision: int) -> VersionState | None:
        for v in self.versions:
            if v.revision == revision:
                return v
        return None

    def to_model(self) -> Secret:
        return Secret(
            id=self.id,
            project_id=self.project_id,
            name=self.name,
            status=self.status,
            created_at=self.created_at,
            updated_at=self.updated_at,
            tags=tuple(self.tags),
            version_count=len(self.versions),
            description=self.description,
            managed=self.managed,
            type=self.type,
            protected=self.protected,
            path=self.path,
            ephemeral_policy=self.ephemeral_policy,
            used_by=tuple(self.used_by),
            deletion_requested_at=self.deletion_requested_at,
            key_id=self.key_id,
            region=self.region,
        )

    def version_model(self, v: VersionState) -> SecretVersion:
        return v.to_model(self.id, self.region, v.revision == self.latest_revision)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project_id": self.project_id,
            "region": self.region,
            "name": self.name,
            "path": self.path,
            "type": str(self.type),
            "status": str(self.status),
            "tags": list(self.tags),
            "description": self.description,
            "managed": self.managed,
            "protected": self.protected,
            "ephemeral_policy": self.ephemeral_policy.to_api() if self.ephemeral_policy else None,
            "used_by": list(self.used_by),
            "deletion_requested_at": format_time(self.deletion_requested_at),
            "key_id": self.key_id,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "next_revision": self.next_revision,
            "versions": [v.to_dict() for v in self.versions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SecretState:
        versions = [VersionState.from_dict(v) for v in data.get("versions") or []]
        return cls(
            id=data["id"],
            project_id=data["project_id"],
            region=data["region"],
            name=data["name"],
            path=data.get("path") or "/",
            type=data.get("type") or SecretType.OPAQUE,
            status=data.get("status") or SecretStatus.READY,
            tags=list(data.get("tags") or []),
            description=data.get("description") or "",
            managed=bool(data.get("managed", False)),
            protected=bool(data.get("protected", False)),
            ephemeral_policy=EphemeralPolicy.from_api(data.get("ephemeral_policy")),
            used_by=list(data.get("used_by") or []),
            deletion_requested_at=parse_time(data.get("deletion_requested_at")),
            key_id=data.get("key_id"),
            created_at=parse_time(data["created_at"]) or utcnow(),
            updated_at=parse_time(data["updated_at"]) or utcnow(),
            next_revision=int(
                data.get("next_revision") or max((v.revision for v in versions), default=0) + 1
            ),
            versions=versions,
        )

    def __repr__(self) -> str:  # names and paths are secret-bearing: ids only
        return f"SecretState(id={self.id!r}, region={self.region!r}, versions={len(self.versions)})"


class EmulatorState:
    """The whole emulated world. Mutate only while holding :attr:`lock`."""

    def __init__(
        self,
        organization_id: str,
        *,
        projects: Iterable[ProjectState] = (),
        api_keys: Iterable[ApiKey] = (),
        secrets: Iterable[SecretState] = (),
        settings: Settings | None = None,
    ) -> None:
        self.organization_id = organization_id
        self.projects: dict[str, ProjectState] = {p.id: p for p in projects}
        self.api_keys: dict[str, ApiKey] = {}
        for key in api_keys:
            self.add_api_key(key)
        self.secrets: dict[str, dict[str, SecretState]] = {r: {} for r in REGIONS}
        # (region, project, path, name) -> ids, live or scheduled: duplicate checks and
        # access by path stay O(1) however many secrets a benchmark creates.
        self._by_name: dict[tuple[str, str, str, str], set[str]] = {}
        for secret in secrets:
            self.add_secret(secret)
        self.settings = settings or Settings()
        self.lock = threading.RLock()
        self.generation = 0
        """Bumped on every mutation; persistence writes only when it moved."""

    # ------------------------------------------------------------------ mutation helpers

    def add_api_key(self, key: ApiKey) -> None:
        self.api_keys[key.secret_key.lower()] = key

    def add_secret(self, secret: SecretState) -> None:
        if secret.region not in self.secrets:
            raise ValueError(f"unknown region {secret.region!r}")
        self.secrets[secret.region][secret.id] = secret
        self._by_name.setdefault(_name_key(secret), set()).add(secret.id)

    def remove_secret(self, secret: SecretState) -> None:
        self.secrets[secret.region].pop(secret.id, None)
        ids = self._by_name.get(_name_key(secret))
        if ids is not None:
            ids.discard(secret.id)
            if not ids:
                del self._by_name[_name_key(secret)]

    def rename_secret(self, secret: SecretState, *, name: str, path: str) -> None:
        """Change a secret's name/path, keeping the name index right."""
        self.remove_secret(secret)
        secret.name = name
        secret.path = path
        self.add_secret(secret)

    def secrets_named(
        self, region: str, project_id: str, path: str, name: str
    ) -> list[SecretState]:
        """Secrets (live or scheduled for deletion) at ``path/name`` in a project and region."""
        ids = self._by_name.get((region, project_id, path, name), ())
        found = [self.secrets[region].get(i) for i in ids]
        return sorted((s for s in found if s is not None), key=lambda s: (s.created_at, s.id))

    def touch(self) -> None:
        self.generation += 1

    def key_for_token(self, token: str) -> ApiKey | None:
        return self.api_keys.get(token.strip().lower())

    def find_secret(self, secret_id: str) -> SecretState | None:
        for region in self.secrets.values():
            found = region.get(secret_id)
            if found is not None:
                return found
        return None

    def iter_secrets(self, region: str | None = None) -> Iterator[SecretState]:
        regions = [region] if region else list(self.secrets)
        for r in regions:
            yield from self.secrets.get(r, {}).values()

    def expire(self, now: datetime | None = None) -> bool:
        """Apply time-based transitions (ephemeral TTLs, purge after the grace period).

        Returns whether anything changed.
        """
        now = now or utcnow()
        grace = timedelta(days=self.settings.deletion_grace_days)
        changed = False
        for region in self.secrets.values():
            for secret_id in list(region):
                secret = region[secret_id]
                if secret.deletion_requested_at and now - secret.deletion_requested_at >= grace:
                    self.remove_secret(secret)
                    changed = True
                    continue
                for v in secret.versions:
                    if (
                        v.status == VersionStatus.SCHEDULED_FOR_DELETION
                        and v.deletion_requested_at
                        and now - v.deletion_requested_at >= grace
                    ):
                        mark_version_deleted(v, now)
                        changed = True
                    props = v.ephemeral_properties
                    if (
                        props
                        and props.expires_at
                        and props.expires_at <= now
                        and v.status == VersionStatus.ENABLED
                    ):
                        apply_ephemeral_action(v, props.action, now)
                        changed = True
        if changed:
            self.touch()
        return changed

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "organization_id": self.organization_id,
                "settings": self.settings.to_dict(),
                "projects": [p.to_dict() for p in self.projects.values()],
                "api_keys": [k.to_dict() for k in self.api_keys.values()],
                "secrets": [s.to_dict() for s in self.iter_secrets()],
            }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmulatorState:
        if data.get("format") != STATE_FORMAT:
            raise ConfigError(
                "the state file is not a secret-kloset emulator state",
                hint="point --state at a file written by `secret-kloset emulator --state`",
            )
        if data.get("version") != STATE_VERSION:
            raise ConfigError(
                f"the state file has format version {data.get('version')!r}, expected {STATE_VERSION}",
                hint="start from a fresh state file",
            )
        try:
            return cls(
                data["organization_id"],
                projects=[ProjectState.from_dict(p) for p in data.get("projects") or []],
                api_keys=[ApiKey.from_dict(k) for k in data.get("api_keys") or []],
                secrets=[SecretState.from_dict(s) for s in data.get("secrets") or []],
                settings=Settings.from_dict(data.get("settings") or {}),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(
                f"the state file is damaged ({type(err).__name__}: {err})",
                hint="restore it from a copy or start from a fresh state file",
            ) from None

    def dumps(self) -> bytes:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False).encode("utf-8")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state atomically (tmp + fsync + rename + directory fsync)."""
        write_atomic(Path(path), self.dumps())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EmulatorState:
        p = Path(path)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise ConfigError(
                f"state file {p} does not exist", hint="check the --state path"
            ) from None
        except OSError as err:
            raise ConfigError(
                f"cannot read state file {p}: {err.strerror}", hint="check its permissions"
            ) from None
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ConfigError(
                f"state file {p} is not valid JSON ({err})",
                hint="restore it from a copy or start from a fresh state file",
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(f"state file {p} is not a JSON object")
        return cls.from_dict(data)

    def __repr__(self) -> str:
        count = sum(len(r) for r in self.secrets.values())
        return f"EmulatorState(organization_id={self.organization_id!r}, projects={len(self.projects)}, secrets={count})"


def _name_key(secret: SecretState) -> tuple[str, str, str, str]:
    return (secret.region, secret.project_id, secret.path, secret.name)


def mark_version_deleted(v: VersionState, now: datetime) -> None:
    v.status = VersionStatus.DELETED
    v.deleted_at = now
    v.data = b""
    v.status_before_deletion = None


def apply_ephemeral_action(v: VersionState, action: str, now: datetime) -> None:
    if action == "disable":
        v.status = VersionStatus.DISABLED
        v.updated_at = now
    else:  # delete (and the unset action, which the API refuses anyway)
        mark_version_deleted(v, now)
        v.deletion_requested_at = v.deletion_requested_at or now


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a mix."""
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
