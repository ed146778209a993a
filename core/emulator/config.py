"""The emulator's TOML configuration: organization, projects, API keys, seeded secrets.

```toml
organization_id = "11111111-1111-4111-8111-111111111111"

[settings]                                   # optional, see Settings
reject_duplicate_names = true

[[projects]]
id = "11111111-1111-4111-8111-111111111111"  # the default project's id is the org id
name = "default"

[[api_keys]]
access_key = "SCWXXXXXXXXXXXXXXXXX"          # SCW + 17 letters or digits
secret_key = "<uuid>"
permission_sets = ["SecretManagerFullAccess", "ProjectReadOnly"]
projects = ["<uuid>"]                        # optional; absent = every project

[[secrets]]
project_id = "<uuid>"
region = "fr-par"                            # default fr-par
name = "db-password"
path = "/prod/db"                            # default /
type = "database_credentials"                # default opaque
tags = ["prod"]
description = ""
protected = false
scheduled_for_deletion = false
ephemeral_policy = { time_to_live = "3600s", expires_once_accessed = false, action = "delete" }
versions = [
  { data = "text payload", status = "disabled", description = "v1" },
  { data_base64 = "AAEC", data_crc32 = false },
]
```

Seeding extensions (the demo world, ``demo.toml``, uses them): ``project = "<name>"`` instead
of ``project_id``, project names in a key's ``projects``, ``updated_at`` on projects and
versions, ``deletion_requested_at`` on secrets, ``ephemeral_expiry = "renew"``, versions as
``[[secrets.versions]]`` with ``data_json`` (a table, stored as compact JSON) or
``data_material`` (names of the top-level ``[material]`` text blocks, concatenated).

Every mistake is a :class:`core.errors.ConfigError` naming the field (``api_keys[1].access_key``).
"""

from __future__ import annotations

import json
import os
import tomllib
import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from core.emulator.state import (
    ACCESS_KEY_RE,
    ApiKey,
    EmulatorState,
    ProjectState,
    SecretState,
    Settings,
    VersionState,
    is_uuid,
    new_uuid,
)
from core.emulator.validation import (
    normalize_folder_path,
    valid_name,
    valid_ttl,
    validate_payload,
)
from core.errors import ConfigError
from core.scaleway.models import (
    MAX_PAYLOAD_BYTES,
    MAX_VERSIONS_PER_SECRET,
    REGIONS,
    EphemeralAction,
    EphemeralPolicy,
    EphemeralProperties,
    Product,
    SecretStatus,
    SecretType,
    VersionStatus,
    b64decode,
    format_duration,
    parse_duration,
    parse_time,
    utcnow,
)
from core.scaleway.permissions import PermissionSet

_TOP = {"organization_id", "settings", "projects", "api_keys", "secrets", "material"}
_PROJECT = {"id", "name", "description", "created_at", "updated_at"}
_KEY = {"access_key", "secret_key", "permission_sets", "projects", "description", "expires_at"}
_SECRET = {
    "id",
    "project_id",
    "project",
    "region",
    "name",
    "path",
    "type",
    "tags",
    "description",
    "protected",
    "scheduled_for_deletion",
    "deletion_requested_at",
    "locked",
    "managed",
    "used_by",
    "ephemeral_policy",
    "ephemeral_expiry",
    "created_at",
    "versions",
}
_PAYLOADS = ("data", "data_base64", "data_json", "data_material")
_VERSION = {*_PAYLOADS, "status", "description", "data_crc32", "created_at", "updated_at"}
_EXPIRIES = ("fixed", "renew")
_SEED_STATUSES = ("enabled", "disabled", "scheduled_for_deletion")
_PERMISSION_SETS = {str(p) for p in PermissionSet}

Table = Mapping[str, object]
"""A TOML table as ``tomllib`` parses it (every value is checked before use)."""


def _fail(where: str, problem: str, hint: str | None = None) -> ConfigError:
    return ConfigError(f"emulator config: {where}: {problem}", hint=hint)


def _check_keys(table: Table, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _fail(
            f"{where}.{unknown[0]}" if where else unknown[0],
            "unknown field",
            hint=f"allowed fields: {', '.join(sorted(allowed))}",
        )


def _str(table: Table, key: str, where: str, *, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        raise _fail(f"{where}.{key}" if where else key, "is required")
    if not isinstance(value, str):
        raise _fail(f"{where}.{key}" if where else key, "must be a string")
    return value


def _uuid(table: Table, key: str, where: str) -> str:
    value = _str(table, key, where)
    if not is_uuid(value):
        raise _fail(
            f"{where}.{key}" if where else key,
            "must be a UUID (e.g. 11111111-1111-4111-8111-111111111111)",
        )
    return value.lower()


def _bool(table: Table, key: str, where: str, default: bool = False) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise _fail(f"{where}.{key}", "must be true or false")
    return value


def _time(table: Table, key: str, where: str) -> datetime | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _fail(f"{where}.{key}", "must carry a time zone (e.g. 2026-01-05T09:00:00Z)")
        return value
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            pass
    raise _fail(f"{where}.{key}", "must be an RFC 3339 timestamp (e.g. 2026-01-05T09:00:00Z)")


def _list_of(table: Table, key: str, where: str) -> list[Table]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _fail(
            key if not where else f"{where}.{key}", f"must be an array of tables ([[{key}]])"
        )
    return value


def load_config(path: str | os.PathLike[str]) -> EmulatorState:
    """Read a TOML config file into a fresh :class:`EmulatorState`."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"emulator config {p} does not exist", hint="check the --config path"
        ) from None
    except OSError as err:
        raise ConfigError(
            f"cannot read emulator config {p}: {err.strerror}", hint="check its permissions"
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(
            f"emulator config {p} is not valid TOML: {err}",
            hint="see docs/EMULATOR.md for the format",
        ) from None
    return parse_config(data)


def parse_config(data: Table) -> EmulatorState:
    """Validate an already-parsed config document (see the module docstring)."""
    _check_keys(data, _TOP, "")
    organization_id = _uuid(data, "organization_id", "")
    settings_table = data.get("settings", {})
    if not isinstance(settings_table, dict):
        raise _fail("settings", "must be a table ([settings])")
    try:
        settings = Settings.from_dict(settings_table)
    except ConfigError as err:
        raise _fail("settings", err.message.split(": ", 1)[-1], err.hint) from None
    material = _parse_material(data.get("material", {}))

    projects: dict[str, ProjectState] = {}
    names: set[str] = set()
    for i, table in enumerate(_list_of(data, "projects", "")):
        where = f"projects[{i}]"
        _check_keys(table, _PROJECT, where)
        pid = _uuid(table, "id", where)
        name = _str(table, "name", where)
        if not name.strip():
            raise _fail(f"{where}.name", "must not be empty")
        if pid in projects:
            raise _fail(f"{where}.id", "duplicates another project's id")
        if name in names:
            raise _fail(f"{where}.name", "duplicates another project's name")
        names.add(name)
        created = _time(table, "created_at", where) or utcnow()
        projects[pid] = ProjectState(
            id=pid,
            name=name,
            description=_str(table, "description", where, default=""),
            created_at=created,
            updated_at=_time(table, "updated_at", where) or created,
        )
    by_name = {p.name: p.id for p in projects.values()}
    if not projects:
        now = utcnow()
        projects[organization_id] = ProjectState(
            id=organization_id, name="default", created_at=now, updated_at=now
        )

    keys: list[ApiKey] = []
    seen_access: set[str] = set()
    seen_secret: set[str] = set()
    api_key_tables = _list_of(data, "api_keys", "")
    if not api_key_tables:
        raise _fail(
            "api_keys", "at least one [[api_keys]] entry is required", hint="see docs/EMULATOR.md"
        )
    for i, table in enumerate(api_key_tables):
        where = f"api_keys[{i}]"
        _check_keys(table, _KEY, where)
        access = _str(table, "access_key", where)
        if not ACCESS_KEY_RE.match(access):
            raise _fail(f"{where}.access_key", "must be SCW followed by 17 letters or digits")
        secret_key = _uuid(table, "secret_key", where)
        if access.upper() in seen_access:
            raise _fail(f"{where}.access_key", "duplicates another key's access_key")
        if secret_key in seen_secret:
            raise _fail(f"{where}.secret_key", "duplicates another key's secret_key")
        seen_access.add(access.upper())
        seen_secret.add(secret_key)
        sets = table.get("permission_sets", [])
        if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
            raise _fail(f"{where}.permission_sets", "must be an array of strings")
        for s in sets:
            if s not in _PERMISSION_SETS:
                raise _fail(
                    f"{where}.permission_sets",
                    f"unknown permission set {s!r}",
                    hint=f"known sets: {', '.join(sorted(_PERMISSION_SETS))}",
                )
        scoped: tuple[str, ...] | None = None
        if "projects" in table:
            raw_projects = table["projects"]
            if not isinstance(raw_projects, list) or not all(
                isinstance(x, str) for x in raw_projects
            ):
                raise _fail(f"{where}.projects", "must be an array of project ids")
            scoped_list = []
            for pid in raw_projects:
                if pid in by_name:
                    scoped_list.append(by_name[pid])
                    continue
                if not is_uuid(pid) or pid.lower() not in projects:
                    raise _fail(
                        f"{where}.projects",
                        f"{pid!r} is not the id or name of a [[projects]] entry",
                    )
                scoped_list.append(pid.lower())
            scoped = tuple(scoped_list)
        keys.append(
            ApiKey(
                access_key=access,
                secret_key=secret_key,
                permission_sets=frozenset(sets),
                projects=scoped,
                description=_str(table, "description", where, default=""),
                expires_at=_time(table, "expires_at", where),
            )
        )

    secrets: list[SecretState] = []
    taken: set[tuple[str, str, str, str]] = set()
    ids: set[str] = set()
    for i, table in enumerate(_list_of(data, "secrets", "")):
        secret = _parse_secret(table, f"secrets[{i}]", projects, settings, material)
        ident = (secret.region, secret.project_id, secret.path, secret.name)
        if settings.reject_duplicate_names and not secret.scheduled_for_deletion:
            if ident in taken:
                raise _fail(
                    f"secrets[{i}].name",
                    "another secret has the same project, region, path and name",
                )
            taken.add(ident)
        if secret.id in ids:
            raise _fail(f"secrets[{i}].id", "duplicates another secret's id")
        ids.add(secret.id)
        secrets.append(secret)

    return EmulatorState(
        organization_id,
        projects=projects.values(),
        api_keys=keys,
        secrets=secrets,
        settings=settings,
    )


def _parse_material(value: object) -> dict[str, str]:
    """The ``[material]`` table: named text blocks that payloads can reference."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _fail("material", 'must be a table of strings (name = "text")')
    return dict(value)


def _material_text(name: object, material: dict[str, str], where: str) -> str:
    if not isinstance(name, str) or name not in material:
        raise _fail(where, f"{name!r} is not a name of the [material] table")
    return material[name]


def _payload(vt: Table, where: str, material: dict[str, str]) -> bytes:
    """A seeded version's bytes from exactly one of its payload fields."""
    given = [k for k in _PAYLOADS if k in vt]
    if len(given) != 1:
        raise _fail(
            where, "give exactly one of data (text), data_base64, data_json or data_material"
        )
    if "data" in vt:
        return _str(vt, "data", where).encode("utf-8")
    if "data_base64" in vt:
        try:
            return b64decode(_str(vt, "data_base64", where))
        except (ValueError, UnicodeEncodeError):
            raise _fail(f"{where}.data_base64", "is not standard base64 with padding") from None
    if "data_material" in vt:
        names = vt["data_material"]
        if not isinstance(names, list) or not names:
            raise _fail(f"{where}.data_material", "must be a non-empty array of [material] names")
        text = "".join(
            _material_text(n, material, f"{where}.data_material[{k}]") for k, n in enumerate(names)
        )
        return text.encode("utf-8")
    table = vt["data_json"]
    if not isinstance(table, dict):
        raise _fail(f"{where}.data_json", "must be a table of strings")
    obj: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict) and set(value) == {"material"}:
            value = _material_text(value["material"], material, f"{where}.data_json.{key}")
        if not isinstance(value, str):
            raise _fail(f"{where}.data_json.{key}", 'must be a string or { material = "name" }')
        obj[key] = value
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def _seed_expiry(created: datetime, ttl_seconds: float, mode: str) -> datetime:
    """A seeded ephemeral version's expiry. ``fixed``: created_at + TTL. ``renew``: that
    while it is still ahead, else one TTL from now, so a seeded world (the demo) never decays."""
    fixed = created + timedelta(seconds=ttl_seconds)
    if mode == "fixed":
        return fixed
    now = utcnow()
    return fixed if fixed > now else now.replace(microsecond=0) + timedelta(seconds=ttl_seconds)


def _parse_policy(value: object, where: str) -> EphemeralPolicy | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(where, "must be a table { time_to_live, expires_once_accessed, action }")
    _check_keys(value, {"time_to_live", "expires_once_accessed", "action"}, where)
    ttl = value.get("time_to_live")
    if ttl is not None:
        if not isinstance(ttl, str) or not valid_ttl(ttl):
            raise _fail(
                f"{where}.time_to_live", "must be a duration between 1s and 1 year, like '3600s'"
            )
        ttl = format_duration(parse_duration(ttl))
    once = value.get("expires_once_accessed")
    if once is not None and not isinstance(once, bool):
        raise _fail(f"{where}.expires_once_accessed", "must be true or false")
    action = value.get("action")
    if action not in (EphemeralAction.DELETE, EphemeralAction.DISABLE):
        raise _fail(f"{where}.action", "must be 'delete' or 'disable'")
    if ttl is None and not once:
        raise _fail(where, "needs time_to_live or expires_once_accessed = true")
    return EphemeralPolicy(time_to_live=ttl, expires_once_accessed=once, action=str(action))


def _parse_secret(
    table: Table,
    where: str,
    projects: dict[str, ProjectState],
    settings: Settings,
    material: dict[str, str],
) -> SecretState:
    _check_keys(table, _SECRET, where)
    if "project_id" in table and "project" in table:
        raise _fail(where, "give one of project_id or project (a [[projects]] name), not both")
    if "project" in table:
        project_name = _str(table, "project", where)
        found = [p.id for p in projects.values() if p.name == project_name]
        if not found:
            raise _fail(f"{where}.project", "is not the name of a [[projects]] entry")
        project_id = found[0]
    else:
        project_id = _uuid(table, "project_id", where)
        if project_id not in projects:
            raise _fail(f"{where}.project_id", "is not the id of a [[projects]] entry")
    region = _str(table, "region", where, default="fr-par")
    if region not in REGIONS:
        raise _fail(f"{where}.region", f"must be one of {', '.join(REGIONS)}")
    name = _str(table, "name", where)
    if not valid_name(name):
        raise _fail(f"{where}.name", "must be 1 to 255 letters, digits, '.', '_' or '-'")
    raw_path = _str(table, "path", where, default="/")
    path = normalize_folder_path(raw_path)
    if path is None:
        raise _fail(
            f"{where}.path",
            "must start with / and each segment be 1 to 255 letters, digits, '.', '_' or '-'",
        )
    secret_type = _str(table, "type", where, default=str(SecretType.OPAQUE))
    if secret_type not in {str(t) for t in SecretType} - {str(SecretType.UNKNOWN)}:
        raise _fail(
            f"{where}.type",
            "must be one of opaque, certificate, key_value, basic_credentials, database_credentials, ssh_key",
        )
    tags = table.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _fail(f"{where}.tags", "must be an array of strings")
    policy = _parse_policy(table.get("ephemeral_policy"), f"{where}.ephemeral_policy")
    expiry_mode = _str(table, "ephemeral_expiry", where, default="fixed")
    if expiry_mode not in _EXPIRIES:
        raise _fail(f"{where}.ephemeral_expiry", "must be 'fixed' or 'renew'")
    used_by = table.get("used_by", [])
    products = {str(p) for p in Product} - {str(Product.UNKNOWN)}
    if not isinstance(used_by, list) or not all(
        isinstance(u, str) and u in products for u in used_by
    ):
        raise _fail(f"{where}.used_by", f"must be an array of: {', '.join(sorted(products))}")
    created = _time(table, "created_at", where) or utcnow()
    secret_id = table.get("id")
    if secret_id is not None:
        secret_id = _uuid(table, "id", where)
    secret = SecretState(
        id=secret_id or new_uuid(),
        project_id=project_id,
        region=region,
        name=name,
        path=path,
        type=secret_type,
        tags=list(tags),
        description=_str(table, "description", where, default=""),
        protected=_bool(table, "protected", where),
        managed=_bool(table, "managed", where),
        used_by=list(used_by),
        status=str(SecretStatus.LOCKED)
        if _bool(table, "locked", where)
        else str(SecretStatus.READY),
        ephemeral_policy=policy,
        created_at=created,
        updated_at=created,
    )
    versions = _list_of(table, "versions", where)
    if len(versions) > max(settings.max_versions_per_secret, MAX_VERSIONS_PER_SECRET):
        raise _fail(
            f"{where}.versions", f"at most {settings.max_versions_per_secret} versions per secret"
        )
    for n, vt in enumerate(versions):
        vwhere = f"{where}.versions[{n}]"
        _check_keys(vt, _VERSION, vwhere)
        payload = _payload(vt, vwhere, material)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise _fail(
                vwhere, f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}"
            )
        problem = validate_payload(secret_type, payload)
        if problem is not None:
            raise _fail(vwhere, f"payload is not valid for type {secret_type}: {problem.strip()}")
        status = _str(vt, "status", vwhere, default="enabled")
        if status not in _SEED_STATUSES:
            raise _fail(f"{vwhere}.status", f"must be one of {', '.join(_SEED_STATUSES)}")
        with_crc = _bool(vt, "data_crc32", vwhere, default=True)
        v_created = _time(vt, "created_at", vwhere) or created
        version = VersionState(
            revision=n + 1,
            data=payload,
            status=status,
            data_crc32=zlib.crc32(payload) if with_crc else None,
            description=_str(vt, "description", vwhere, default=""),
            created_at=v_created,
            updated_at=_time(vt, "updated_at", vwhere) or v_created,
        )
        if status == VersionStatus.SCHEDULED_FOR_DELETION:
            version.status_before_deletion = str(VersionStatus.ENABLED)
            version.deletion_requested_at = v_created
        if policy is not None:
            expires = None
            if policy.time_to_live:
                ttl = parse_duration(policy.time_to_live)
                expires = _seed_expiry(v_created, ttl, expiry_mode)
            version.ephemeral_properties = EphemeralProperties(
                expires_at=expires,
                expires_once_accessed=policy.expires_once_accessed,
                action=policy.action,
            )
        secret.versions.append(version)
    secret.next_revision = len(secret.versions) + 1
    requested = _time(table, "deletion_requested_at", where)
    if _bool(table, "scheduled_for_deletion", where) or requested is not None:
        # Recorded: a secret without versions is scheduled like any other (not removed).
        secret.deletion_requested_at = requested or utcnow()
        secret.updated_at = secret.deletion_requested_at
    return secret
