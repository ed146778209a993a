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
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

import msgspec

from core._fs import write_atomic
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
    format_time,
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
    lookup_before_permission: bool = False
    """Look the path's secret and revision up (404) before checking the permission (403):
    the other order an API may use, to test clients that must not assume one."""
    max_secrets: int = 0
    """Organization quota of secrets (live or scheduled, every region); 0: no quota."""

    def __post_init__(self) -> None:
        if self.non_enabled_access_status not in (404, 412):
            raise ConfigError("settings.non_enabled_access_status: must be 404 or 412")
        if not 1 <= self.default_page_size <= self.max_page_size:
            raise ConfigError("settings.default_page_size: must be between 1 and max_page_size")

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, where: str = "settings") -> Settings:
        """Validate a ``[settings]`` table (each mistake names its key)."""
        defaults = {f.name: f.default for f in fields(cls)}
        for key, value in data.items():
            if key not in defaults:
                raise ConfigError(
                    f"{where}.{key}: unknown setting",
                    hint=f"known settings: {', '.join(sorted(defaults))}",
                )
            if type(defaults[key]) is bool:
                if not isinstance(value, bool):
                    raise ConfigError(f"{where}.{key}: must be true or false")
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{where}.{key}: must be a non-negative integer")
        return cls(**data)  # type: ignore[arg-type]


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
    next_revision: int = 1
    """Revisions are never reused, even after versions are purged."""
    versions: list[VersionState] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Revisions are never reused: a state file without next_revision (or a lower one)
        # still continues after the highest revision it holds.
        self.next_revision = max(self.next_revision, (self.latest_revision or 0) + 1)

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
        # Sorted lists per (region, projects, deletion state, order): rebuilt only after a
        # change (``_epoch`` or ``generation`` moved), so a page is a slice, not a sort.
        self._epoch = 0
        self._listings: dict[tuple[str, frozenset[str], bool, str], list[SecretState]] = {}
        self._listings_stamp: tuple[int, int] = (-1, -1)
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
        self._epoch += 1

    def remove_secret(self, secret: SecretState) -> None:
        self.secrets[secret.region].pop(secret.id, None)
        self._epoch += 1
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

    def listing(
        self, region: str, projects: Iterable[str], scheduled: bool, order: str
    ) -> list[SecretState]:
        """The secrets of ``projects`` in ``region`` that are (or are not) scheduled for
        deletion, sorted by ``order`` exactly as ``sort_by`` sorts (ties by id). Do not
        mutate the list: it is shared until the next change."""
        stamp = (self._epoch, self.generation)
        if stamp != self._listings_stamp:
            self._listings.clear()
            self._listings_stamp = stamp
        key = (region, frozenset(projects), scheduled, order)
        found = self._listings.get(key)
        if found is None:
            found = [
                s
                for s in self.secrets[region].values()
                if s.project_id in key[1] and s.scheduled_for_deletion == scheduled
            ]
            sort_by(found, order)
            self._listings[key] = found
        return found

    def secret_count(self) -> int:
        """Secrets of the organization (live or scheduled for deletion, every region)."""
        return sum(len(r) for r in self.secrets.values())

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

    def to_dict(self) -> dict[str, object]:
        """The state document as JSON-ready data (see :func:`encode_state`)."""
        with self.lock:
            return encode_state(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> EmulatorState:
        return decode_state(data)

    def dumps(self) -> bytes:
        return json.dumps(self.to_dict(), indent=1, default=_json_default).encode("utf-8")

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


# --------------------------------------------------------------------------- the state file


@dataclass
class StateDocument:
    """The state file: one declaration, encoded and decoded by msgspec (one codec).

    Payloads are base64, timestamps RFC 3339 with microseconds and ``Z``, permission sets
    sorted; keys in field order. Format version 1 since the first state file.
    """

    format: str
    version: int
    organization_id: str
    settings: Settings = field(default_factory=Settings)
    projects: list[ProjectState] = field(default_factory=list)
    api_keys: list[ApiKey] = field(default_factory=list)
    secrets: list[SecretState] = field(default_factory=list)


class Sortable(Protocol):
    """What ``order_by`` sorts on: secrets, projects and browse entries alike."""

    @property
    def name(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


S = TypeVar("S", bound=Sortable)


def sort_by(items: list[S], order: str) -> None:
    """Sort ``items`` in place by an ``<field>_<asc|desc>`` order, ties broken by creation
    then id (names) or by id: the one order of every list and browse page."""
    field_name, direction = order.rsplit("_", 1)
    reverse = direction == "desc"
    if field_name == "name":
        items.sort(key=lambda s: (s.name, s.created_at, s.id), reverse=reverse)
    elif field_name == "created_at":
        items.sort(key=lambda s: (s.created_at, s.id), reverse=reverse)
    else:
        items.sort(key=lambda s: (s.updated_at, s.id), reverse=reverse)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return format_time(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_state(state: EmulatorState) -> dict[str, object]:
    """The whole world as JSON-ready data (datetimes left for :func:`_json_default`)."""
    doc = StateDocument(
        format=STATE_FORMAT,
        version=STATE_VERSION,
        organization_id=state.organization_id,
        settings=state.settings,
        projects=list(state.projects.values()),
        api_keys=list(state.api_keys.values()),
        secrets=list(state.iter_secrets()),
    )
    out = msgspec.to_builtins(doc, builtin_types=(datetime,), order="deterministic")
    assert isinstance(out, dict)
    return out


def decode_state(data: Mapping[str, object]) -> EmulatorState:
    """A state document back into an :class:`EmulatorState` (any damage: a ConfigError)."""
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
        doc = msgspec.convert(data, StateDocument)
    except msgspec.ValidationError as err:
        raise ConfigError(
            f"the state file is damaged ({err})",
            hint="restore it from a copy or start from a fresh state file",
        ) from None
    return EmulatorState(
        doc.organization_id,
        projects=doc.projects,
        api_keys=doc.api_keys,
        secrets=doc.secrets,
        settings=doc.settings,
    )
