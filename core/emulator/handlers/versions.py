"""Secret versions: create, list, get, update, delete, access (by id and by path), enable,
disable, restore."""

from __future__ import annotations

import binascii
import re
import zlib

from core.emulator.context import (
    UINT32_MAX,
    Ctx,
    Handler,
    Reply,
    body_bool,
    body_str,
    paginate,
)
from core.emulator.errors import (
    invalid,
    not_found,
    precondition_failed,
    quota_exceeded,
)
from core.emulator.handlers.common import (
    ACTIONS,
    check_project,
    derive_properties,
    not_scheduled,
    restore_version_state,
    revision,
    secret,
    version_writable,
)
from core.emulator.state import SecretState, VersionState, apply_ephemeral_action
from core.emulator.validation import normalize_folder_path, validate_payload
from core.scaleway.endpoints import Operation
from core.scaleway.models import (
    MAX_PAYLOAD_BYTES,
    EphemeralAction,
    EphemeralProperties,
    VersionStatus,
    parse_time,
)

_VERSION_STATUSES = tuple(str(s) for s in VersionStatus if s != VersionStatus.UNKNOWN)
_B64_RE = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _strict_b64(text: str) -> bytes:
    """Standard base64 with padding, nothing else (no whitespace, no URL alphabet)."""
    if not _B64_RE.match(text):
        raise ValueError("not strict base64")
    return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)


def create_version(ctx: Ctx) -> Reply:
    found = secret(ctx)
    not_scheduled(found)
    body = ctx.body
    encoded = body_str(body, "data", required=True)
    assert encoded is not None
    try:
        data = _strict_b64(encoded)
    except ValueError:
        raise invalid("data", "data must be standard base64 with padding") from None
    if len(data) > MAX_PAYLOAD_BYTES:
        raise invalid(
            "data",
            f"data must not exceed {MAX_PAYLOAD_BYTES} bytes (64 KiB); got {len(data)}",
            "constraint",
        )
    description = body_str(body, "description") or ""
    disable_previous = body_bool(body, "disable_previous") or False
    crc = body.get("data_crc32")
    if crc is not None:
        if isinstance(crc, str) and crc.isdigit():
            crc = int(crc)
        if not isinstance(crc, int) or isinstance(crc, bool) or not 0 <= crc <= UINT32_MAX:
            raise invalid("data_crc32", "data_crc32 must be an unsigned 32-bit integer")
        if crc != zlib.crc32(data):
            raise invalid(
                "data_crc32",
                "data_crc32 does not match the CRC32 of the decoded data",
                "constraint",
            )
    problem = validate_payload(found.type, data)
    if problem is not None:
        raise invalid("data", problem, "format")
    live = [v for v in found.versions if v.status != VersionStatus.DELETED]
    quota = ctx.state.settings.max_versions_per_secret
    if len(live) >= quota:
        raise quota_exceeded(len(live), quota)
    if disable_previous and found.versions:
        previous = max(found.versions, key=lambda v: v.revision)
        if previous.status == VersionStatus.ENABLED:
            previous.status = VersionStatus.DISABLED
            previous.updated_at = ctx.now
    version = VersionState(
        revision=found.next_revision,
        data=data,
        status=VersionStatus.ENABLED,
        data_crc32=crc,
        description=description,
        created_at=ctx.now,
        updated_at=ctx.now,
        ephemeral_properties=derive_properties(found.ephemeral_policy, ctx.now),
    )
    found.next_revision += 1
    found.versions.append(version)
    return Reply(200, found.version_model(version).to_api())


def list_versions(ctx: Ctx) -> Reply:
    found = secret(ctx)
    statuses = set()
    for raw in ctx.query.get_list("status"):
        if raw.startswith("unknown_"):
            continue
        if raw not in _VERSION_STATUSES:
            raise invalid("status", f"status must be one of: {', '.join(_VERSION_STATUSES)}")
        statuses.add(raw)
    matches = [v for v in found.versions if not statuses or v.status in statuses]
    matches.sort(key=lambda v: v.revision, reverse=True)
    page = paginate(ctx, matches)
    return Reply(
        200,
        {
            "versions": [found.version_model(v).to_api() for v in page],
            "total_count": len(matches),
        },
    )


def get_version(ctx: Ctx) -> Reply:
    found = secret(ctx)
    version = revision(found, ctx.params["revision"])
    return Reply(200, found.version_model(version).to_api())


def _ephemeral_properties(raw_props: object) -> EphemeralProperties:
    if not isinstance(raw_props, dict):
        raise invalid("ephemeral_properties", "ephemeral_properties must be an object")
    expires_raw = raw_props.get("expires_at")
    try:
        expires_at = parse_time(expires_raw) if isinstance(expires_raw, str) else None
    except ValueError:
        raise invalid(
            "ephemeral_properties.expires_at", "expires_at must be an RFC 3339 timestamp"
        ) from None
    if expires_raw is not None and not isinstance(expires_raw, str):
        raise invalid("ephemeral_properties.expires_at", "expires_at must be an RFC 3339 timestamp")
    once = raw_props.get("expires_once_accessed")
    if once is not None and not isinstance(once, bool):
        raise invalid("ephemeral_properties.expires_once_accessed", "must be a boolean")
    action = raw_props.get("action") or str(EphemeralAction.UNKNOWN)
    if action != EphemeralAction.UNKNOWN and action not in ACTIONS:
        raise invalid("ephemeral_properties.action", f"action must be one of: {', '.join(ACTIONS)}")
    return EphemeralProperties(expires_at=expires_at, expires_once_accessed=once, action=action)


def update_version(ctx: Ctx) -> Reply:
    found = secret(ctx)
    version = revision(found, ctx.params["revision"])
    version_writable(found, version)
    description = body_str(ctx.body, "description")
    raw_props = ctx.body.get("ephemeral_properties")
    props = _ephemeral_properties(raw_props) if raw_props is not None else None
    if description is not None:
        version.description = description
    if props is not None:
        version.ephemeral_properties = props
    version.updated_at = ctx.now
    return Reply(200, found.version_model(version).to_api())


def delete_version(ctx: Ctx) -> Reply:
    found = secret(ctx)
    version = revision(found, ctx.params["revision"])
    not_scheduled(found)
    if version.status in (VersionStatus.SCHEDULED_FOR_DELETION, VersionStatus.DELETED):
        return Reply(204)
    version.status_before_deletion = str(version.status)
    version.status = VersionStatus.SCHEDULED_FOR_DELETION
    version.deletion_requested_at = ctx.now
    return Reply(204)


def _access(ctx: Ctx, found: SecretState, raw_revision: str) -> Reply:
    if found.scheduled_for_deletion:
        raise precondition_failed(
            "resource_not_usable", "the secret is scheduled for deletion and cannot be accessed"
        )
    version = revision(found, raw_revision)
    if version.status != VersionStatus.ENABLED:
        if ctx.state.settings.non_enabled_access_status == 404:
            raise not_found("secret_version", raw_revision)
        raise precondition_failed(
            "resource_not_usable", f"the version is {version.status} and cannot be accessed"
        )
    payload = {
        "secret_id": found.id,
        "revision": version.revision,
        "data": _b64(version.data),
        "data_crc32": version.data_crc32,
        "type": str(found.type),
    }
    props = version.ephemeral_properties
    if props is not None and props.expires_once_accessed:
        apply_ephemeral_action(version, props.action, ctx.now)
        ctx.state.touch()
    return Reply(200, payload)


def access_version(ctx: Ctx) -> Reply:
    return _access(ctx, secret(ctx), ctx.params["revision"])


def access_by_path(ctx: Ctx) -> Reply:
    q = ctx.query
    project_id = q.get_uuid("project_id")
    if project_id is None:
        raise invalid("project_id", "project_id is required", "required")
    check_project(ctx, project_id)
    name = q.get_str("secret_name")
    if name is None:
        raise invalid("secret_name", "secret_name is required", "required")
    path = normalize_folder_path(q.get_str("secret_path") or "/")
    if path is None:
        raise invalid("secret_path", "secret_path must start with /")
    for s in ctx.state.secrets_named(ctx.region, project_id, path, name):
        if not s.scheduled_for_deletion:
            return _access(ctx, s, ctx.params["revision"])
    raise not_found("secret", "")


def enable_version(ctx: Ctx) -> Reply:
    found = secret(ctx)
    version = revision(found, ctx.params["revision"])
    version_writable(found, version)
    if version.status != VersionStatus.ENABLED:
        version.status = VersionStatus.ENABLED
        version.updated_at = ctx.now
        if found.ephemeral_policy is not None:
            version.ephemeral_properties = derive_properties(found.ephemeral_policy, ctx.now)
    return Reply(200, found.version_model(version).to_api())


def disable_version(ctx: Ctx) -> Reply:
    found = secret(ctx)
    version = revision(found, ctx.params["revision"])
    version_writable(found, version)
    if version.status != VersionStatus.DISABLED:
        version.status = VersionStatus.DISABLED
        version.updated_at = ctx.now
    return Reply(200, found.version_model(version).to_api())


def restore_version(ctx: Ctx) -> Reply:
    found = secret(ctx)
    version = revision(found, ctx.params["revision"])
    not_scheduled(found)
    if version.status == VersionStatus.DELETED:
        raise precondition_failed(
            "resource_not_usable", "the version is permanently deleted and cannot be restored"
        )
    if version.status == VersionStatus.SCHEDULED_FOR_DELETION:
        restore_version_state(version)
    return Reply(200, found.version_model(version).to_api())


HANDLERS: dict[Operation, Handler] = {
    Operation.CREATE_VERSION: create_version,
    Operation.LIST_VERSIONS: list_versions,
    Operation.GET_VERSION: get_version,
    Operation.UPDATE_VERSION: update_version,
    Operation.DELETE_VERSION: delete_version,
    Operation.ACCESS_VERSION: access_version,
    Operation.ACCESS_VERSION_BY_PATH: access_by_path,
    Operation.ENABLE_VERSION: enable_version,
    Operation.DISABLE_VERSION: disable_version,
    Operation.RESTORE_VERSION: restore_version,
}
