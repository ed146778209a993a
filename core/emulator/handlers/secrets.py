"""Secrets: create, list, browse, get, update, delete, protect, restore, owners; tags and types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.emulator.context import (
    Ctx,
    Handler,
    Reply,
    body_bool,
    body_name,
    body_path,
    body_str,
    body_tags,
    paginate,
    sort_by,
)
from core.emulator.errors import PROTECTED_DELETE, invalid, quota_exceeded
from core.emulator.handlers.common import (
    ACTIONS,
    SECRET_TYPES,
    check_project,
    not_scheduled,
    parse_policy,
    refuse_duplicate,
    restore_version_state,
    scope,
    secret,
)
from core.emulator.state import SecretState, is_uuid
from core.emulator.validation import normalize_folder_path
from core.scaleway.endpoints import Operation
from core.scaleway.models import (
    EphemeralPolicy,
    Product,
    SecretType,
    VersionStatus,
    format_time,
)

SECRET_ORDERS = (
    "name_asc",
    "name_desc",
    "created_at_asc",
    "created_at_desc",
    "updated_at_asc",
    "updated_at_desc",
)
_PRODUCTS = tuple(str(p) for p in Product if p != Product.UNKNOWN)


def create_secret(ctx: Ctx) -> Reply:
    body = ctx.body
    raw_project = body_str(body, "project_id", required=True)
    assert raw_project is not None
    if not is_uuid(raw_project):
        raise invalid("project_id", "project_id must be a valid UUID")
    project_id = raw_project.lower()
    check_project(ctx, project_id)
    name = body_name(body, required=True)
    assert name is not None
    protected = body_bool(body, "protected") or False
    tags = body_tags(body) or []
    description = body_str(body, "description") or ""
    raw_type = body_str(body, "type")
    if raw_type is None or raw_type == SecretType.UNKNOWN:
        secret_type = str(SecretType.OPAQUE)
    elif raw_type in SECRET_TYPES:
        secret_type = raw_type
    else:
        raise invalid("type", f"type must be one of: {', '.join(SECRET_TYPES)}")
    path = body_path(body) or "/"
    policy = parse_policy(body.get("ephemeral_policy"))
    key_id = body_str(body, "key_id")
    if key_id is not None and key_id != "":
        if not is_uuid(key_id):
            raise invalid("key_id", "key_id must be a valid UUID")
    else:
        key_id = None
    refuse_duplicate(ctx, project_id, path, name)
    quota = ctx.state.settings.max_secrets
    if quota:
        held = ctx.state.secret_count()
        if held >= quota:
            raise quota_exceeded(held, quota, "secrets")
    created = SecretState(
        id=ctx.new_id(),
        project_id=project_id,
        region=ctx.region,
        name=name,
        path=path,
        type=secret_type,
        tags=tags,
        description=description,
        protected=protected,
        ephemeral_policy=policy,
        key_id=key_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.state.add_secret(created)
    return Reply(200, created.to_model().to_api())


def list_secrets(ctx: Ctx) -> Reply:
    q = ctx.query
    projects = scope(ctx)
    order = q.get_enum("order_by", SECRET_ORDERS, "name_asc") or "name_asc"
    tags = q.get_list("tags")
    name = q.get_str("name")
    raw_path = q.get_str("path")
    path = None
    if raw_path is not None:
        path = normalize_folder_path(raw_path)
        if path is None:
            raise invalid("path", "path must start with /")
    ephemeral = q.get_bool("ephemeral")
    secret_type = q.get_enum("type", SECRET_TYPES)
    scheduled = q.get_bool("scheduled_for_deletion") or False
    # The sorted index of (region, projects, deletion state); the other filters keep its order.
    matches = ctx.state.listing(ctx.region, projects, scheduled, order)
    if tags or name is not None or path is not None or ephemeral or secret_type is not None:
        matches = [
            s
            for s in matches
            if all(t in s.tags for t in tags)
            and (name is None or s.name == name)
            and (path is None or s.path == path)
            and (not ephemeral or s.ephemeral_policy is not None)
            and (secret_type is None or s.type == secret_type)
        ]
    page = paginate(ctx, matches)
    return Reply(
        200,
        {"secrets": [s.to_model().to_api() for s in page], "total_count": len(matches)},
    )


@dataclass
class _BrowseItem:
    """A browse entry with the fields ``order_by`` sorts on."""

    name: str
    created_at: datetime
    updated_at: datetime
    id: str
    payload: dict[str, object]


def browse_secrets(ctx: Ctx) -> Reply:
    q = ctx.query
    projects = scope(ctx)
    raw_prefix = q.get_str("prefix") or "/"
    prefix = normalize_folder_path(raw_prefix)
    if prefix is None:
        raise invalid("prefix", "prefix must start with / and be a valid path")
    order = q.get_enum("order_by", SECRET_ORDERS, "name_asc") or "name_asc"
    tags = q.get_list("tags")
    secret_type = q.get_enum("type", SECRET_TYPES)
    below = "/" if prefix == "/" else prefix + "/"
    secrets_here: list[SecretState] = []
    folders: dict[str, tuple[datetime, datetime]] = {}
    for s in ctx.state.secrets[ctx.region].values():
        if (
            s.project_id not in projects
            or s.scheduled_for_deletion
            or not all(t in s.tags for t in tags)
            or (secret_type is not None and s.type != secret_type)
        ):
            continue
        if s.path == prefix:
            secrets_here.append(s)
        elif s.path.startswith(below):
            folder = s.path[len(below) :].split("/", 1)[0]
            first, last = folders.get(folder, (s.created_at, s.updated_at))
            folders[folder] = (min(first, s.created_at), max(last, s.updated_at))

    items: list[_BrowseItem] = []
    for folder, (created, updated) in folders.items():
        items.append(
            _BrowseItem(
                folder,
                created,
                updated,
                "",
                {
                    "name": folder,
                    "created_at": format_time(created),
                    "updated_at": format_time(updated),
                    "folder": {},
                },
            )
        )
    for s in secrets_here:
        model = s.to_model().to_api()
        items.append(
            _BrowseItem(
                s.name,
                s.created_at,
                s.updated_at,
                s.id,
                {
                    "name": s.name,
                    "created_at": model["created_at"],
                    "updated_at": model["updated_at"],
                    "secret": {
                        "id": s.id,
                        "tags": list(s.tags),
                        "version_count": len(s.versions),
                        "protected": s.protected,
                        "type": str(s.type),
                        "ephemeral_policy": model["ephemeral_policy"],
                    },
                },
            )
        )
    sort_by(items, order)
    page = paginate(ctx, items)
    return Reply(
        200,
        {
            "items": [i.payload for i in page],
            "current_path": prefix,
            "total_count": len(items),
        },
    )


def get_secret(ctx: Ctx) -> Reply:
    return Reply(200, secret(ctx).to_model().to_api())


def update_secret(ctx: Ctx) -> Reply:
    found = secret(ctx)
    not_scheduled(found)
    body = ctx.body
    name = body_name(body, required=False)
    tags = body_tags(body)
    description = body_str(body, "description")
    path = body_path(body)
    policy = None
    raw_policy = body.get("ephemeral_policy")
    if raw_policy is not None:
        if (
            isinstance(raw_policy, dict)
            and raw_policy.get("time_to_live") is None
            and (raw_policy.get("expires_once_accessed") is None)
        ):
            # Observed: a PATCH clearing the TTL is accepted and echoed with nulls.
            action = raw_policy.get("action")
            if action not in ACTIONS:
                raise invalid("ephemeral_policy.action", "action is required", "required")
            policy = EphemeralPolicy(None, None, str(action))
        else:
            policy = parse_policy(raw_policy)
    new_name = name if name is not None else found.name
    new_path = path if path is not None else found.path
    if (new_name, new_path) != (found.name, found.path):
        refuse_duplicate(ctx, found.project_id, new_path, new_name, found.id)
        ctx.state.rename_secret(found, name=new_name, path=new_path)
    if tags is not None:
        found.tags = tags
    if description is not None:
        found.description = description
    if policy is not None:
        found.ephemeral_policy = policy
    found.updated_at = ctx.now
    return Reply(200, found.to_model().to_api())


def delete_secret(ctx: Ctx) -> Reply:
    found = secret(ctx)
    if found.protected:
        raise PROTECTED_DELETE
    if found.scheduled_for_deletion:
        return Reply(204)
    if found.ephemeral_policy is not None:
        # Recorded: an ephemeral secret is gone at once (404 afterwards); any other secret,
        # with or without versions, stays GET-able with deletion_requested_at set.
        ctx.state.remove_secret(found)
        return Reply(204)
    found.deletion_requested_at = ctx.now
    found.updated_at = ctx.now
    return Reply(204)


def protect_secret(ctx: Ctx) -> Reply:
    found = secret(ctx)
    found.protected = True
    return Reply(200, found.to_model().to_api())


def unprotect_secret(ctx: Ctx) -> Reply:
    found = secret(ctx)
    found.protected = False
    return Reply(200, found.to_model().to_api())


def restore_secret(ctx: Ctx) -> Reply:
    found = secret(ctx)
    if found.scheduled_for_deletion:
        refuse_duplicate(ctx, found.project_id, found.path, found.name, found.id)
        found.deletion_requested_at = None
        found.updated_at = ctx.now
        for v in found.versions:
            if v.status == VersionStatus.SCHEDULED_FOR_DELETION:
                restore_version_state(v)
    return Reply(200, found.to_model().to_api())


def add_secret_owner(ctx: Ctx) -> Reply:
    found = secret(ctx)
    product = body_str(ctx.body, "product")
    if product is None or product == Product.UNKNOWN:
        raise invalid("product", "product is required", "required")
    if product not in _PRODUCTS:
        raise invalid("product", f"product must be one of: {', '.join(_PRODUCTS)}")
    if product not in found.used_by:
        found.used_by.append(product)
    return Reply(200, {})


def list_tags(ctx: Ctx) -> Reply:
    projects = scope(ctx)
    tags = sorted(
        {
            t
            for s in ctx.state.secrets[ctx.region].values()
            if s.project_id in projects and not s.scheduled_for_deletion
            for t in s.tags
        }
    )
    return Reply(200, {"tags": paginate(ctx, tags), "total_count": len(tags)})


def list_secret_types(ctx: Ctx) -> Reply:
    projects = scope(ctx)
    used = {
        s.type
        for s in ctx.state.secrets[ctx.region].values()
        if s.project_id in projects and not s.scheduled_for_deletion
    }
    types = [t for t in SECRET_TYPES if t in used]
    return Reply(200, {"types": paginate(ctx, types), "total_count": len(types)})


HANDLERS: dict[Operation, Handler] = {
    Operation.CREATE_SECRET: create_secret,
    Operation.LIST_SECRETS: list_secrets,
    Operation.BROWSE_SECRETS: browse_secrets,
    Operation.GET_SECRET: get_secret,
    Operation.UPDATE_SECRET: update_secret,
    Operation.DELETE_SECRET: delete_secret,
    Operation.PROTECT_SECRET: protect_secret,
    Operation.UNPROTECT_SECRET: unprotect_secret,
    Operation.RESTORE_SECRET: restore_secret,
    Operation.ADD_SECRET_OWNER: add_secret_owner,
    Operation.LIST_TAGS: list_tags,
    Operation.LIST_SECRET_TYPES: list_secret_types,
}
