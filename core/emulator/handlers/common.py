"""Rules several resources share: project scopes, looking a secret or revision up, the
duplicate-name check, the states that refuse changes, ephemeral policies."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.emulator.context import UINT32_MAX, Ctx
from core.emulator.errors import (
    ApiError,
    already_exists,
    invalid,
    locked,
    not_found,
    permission_denied,
    precondition_failed,
)
from core.emulator.state import SecretState, VersionState, is_uuid
from core.emulator.validation import valid_ttl
from core.scaleway.models import (
    EphemeralAction,
    EphemeralPolicy,
    EphemeralProperties,
    SecretStatus,
    SecretType,
    VersionStatus,
    format_duration,
    parse_duration,
)

SECRET_TYPES = tuple(str(t) for t in SecretType if t != SecretType.UNKNOWN)
ACTIONS = tuple(str(a) for a in EphemeralAction if a != EphemeralAction.UNKNOWN)


def check_project(ctx: Ctx, project_id: str) -> None:
    """The key may act on ``project_id`` (which must belong to the organization)."""
    if project_id not in ctx.state.projects or not ctx.key.allows_project(project_id):
        raise permission_denied(*ctx.denial)


def scope(ctx: Ctx) -> set[str]:
    """Project ids a list request covers (``organization_id`` AND ``project_id``)."""
    organization_id = ctx.query.get_uuid("organization_id")
    project_id = ctx.query.get_uuid("project_id")
    if organization_id is not None and organization_id != ctx.state.organization_id.lower():
        raise permission_denied(*ctx.denial)
    if project_id is not None:
        check_project(ctx, project_id)
        return {project_id}
    if not ctx.key.org_wide:
        # Spec §4.2: keys scoped to specific projects must pass project_id.
        raise permission_denied(*ctx.denial)
    return set(ctx.state.projects)


def secret(ctx: Ctx) -> SecretState:
    """The path's secret, visible to the key, and writable unless the request only reads."""
    secret_id = ctx.params["secret_id"]
    if not is_uuid(secret_id):
        raise invalid("secret_id", "secret_id must be a valid UUID")
    found = ctx.state.secrets[ctx.region].get(secret_id.lower())
    if found is None:
        raise not_found("secret", secret_id)
    if not ctx.key.allows_project(found.project_id):
        raise permission_denied(*ctx.denial)
    if found.status == SecretStatus.LOCKED and ctx.method != "GET":
        # Scaleway locks secrets on its side; no change is accepted while locked.
        raise locked(found.id)
    return found


def live_duplicate(
    ctx: Ctx, project_id: str, path: str, name: str, exclude: str | None = None
) -> SecretState | None:
    if not ctx.state.settings.reject_duplicate_names:
        return None
    for s in ctx.state.secrets_named(ctx.region, project_id, path, name):
        if s.id != exclude and not s.scheduled_for_deletion:
            return s
    return None


def refuse_duplicate(
    ctx: Ctx, project_id: str, path: str, name: str, exclude: str | None = None
) -> None:
    existing = live_duplicate(ctx, project_id, path, name, exclude)
    if existing is not None:
        raise already_exists(existing.id)


def not_scheduled(found: SecretState) -> None:
    if found.scheduled_for_deletion:
        raise precondition_failed(
            "resource_not_usable",
            "the secret is scheduled for deletion; restore it first",
        )


def revision(found: SecretState, raw: str) -> VersionState:
    """The version a path's ``{revision}`` names: a number, ``latest`` or ``latest_enabled``."""
    version: VersionState | None
    if raw == "latest":
        latest = found.latest_revision
        if latest is None:
            raise not_found("secret_version", raw)
        version = found.version(latest)
    elif raw == "latest_enabled":
        enabled = [v for v in found.versions if v.status == VersionStatus.ENABLED]
        if not enabled:
            raise not_found("secret_version", raw)
        version = max(enabled, key=lambda v: v.revision)
    else:
        if not raw.isdigit() or int(raw) > UINT32_MAX:
            raise invalid(
                "revision",
                "revision must be a revision number, 'latest' or 'latest_enabled'",
            )
        version = found.version(int(raw))
    if version is None:
        raise not_found("secret_version", raw)
    return version


def version_writable(found: SecretState, v: VersionState) -> None:
    not_scheduled(found)
    if v.status in (VersionStatus.SCHEDULED_FOR_DELETION, VersionStatus.DELETED):
        raise precondition_failed(
            "resource_not_usable",
            "the version is scheduled for deletion or deleted; restore it first",
        )


def restore_version_state(v: VersionState) -> None:
    v.status = v.status_before_deletion or VersionStatus.ENABLED
    v.status_before_deletion = None
    v.deletion_requested_at = None


def parse_policy(value: object) -> EphemeralPolicy | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("ephemeral_policy", "ephemeral_policy must be an object")
    ttl = value.get("time_to_live")
    if ttl is not None:
        if not isinstance(ttl, str) or not valid_ttl(ttl):
            raise invalid(
                "ephemeral_policy.time_to_live",
                "time_to_live must be a duration between 1s and 1 year (e.g. '3600s')",
                "constraint",
            )
        ttl = format_duration(parse_duration(ttl))
    once = value.get("expires_once_accessed")
    if once is not None and not isinstance(once, bool):
        raise invalid("ephemeral_policy.expires_once_accessed", "must be a boolean")
    action = value.get("action")
    if action is None or action == EphemeralAction.UNKNOWN:
        raise invalid("ephemeral_policy.action", "action is required", "required")
    if action not in ACTIONS:
        raise invalid("ephemeral_policy.action", f"action must be one of: {', '.join(ACTIONS)}")
    if ttl is None and not once:
        raise invalid(
            "ephemeral_policy",
            "at least one of time_to_live or expires_once_accessed must be set",
            "constraint",
        )
    return EphemeralPolicy(time_to_live=ttl, expires_once_accessed=once, action=str(action))


def derive_properties(policy: EphemeralPolicy | None, now: datetime) -> EphemeralProperties | None:
    if policy is None:
        return None
    expires_at = None
    if policy.time_to_live:
        expires_at = now + timedelta(seconds=parse_duration(policy.time_to_live))
    return EphemeralProperties(
        expires_at=expires_at,
        expires_once_accessed=policy.expires_once_accessed,
        action=policy.action,
    )


__all__ = [
    "ACTIONS",
    "SECRET_TYPES",
    "ApiError",
    "check_project",
    "derive_properties",
    "live_duplicate",
    "not_scheduled",
    "parse_policy",
    "refuse_duplicate",
    "restore_version_state",
    "revision",
    "scope",
    "secret",
    "version_writable",
]
