"""Account v3 projects: list and get (the organization's projects, read-only)."""

from __future__ import annotations

from core.emulator.context import Ctx, Handler, Reply, paginate, sort_by
from core.emulator.errors import invalid, not_found, permission_denied
from core.emulator.state import is_uuid
from core.scaleway.endpoints import Operation

_PROJECT_ORDERS = ("created_at_asc", "created_at_desc", "name_asc", "name_desc")


def list_projects(ctx: Ctx) -> Reply:
    q = ctx.query
    organization_id = q.get_uuid("organization_id")
    if organization_id is not None and organization_id != ctx.state.organization_id.lower():
        raise permission_denied(*ctx.denial)
    name = q.get_str("name")
    order = q.get_enum("order_by", _PROJECT_ORDERS, "created_at_asc") or "created_at_asc"
    ids = q.get_list("project_ids")
    for pid in ids:
        if not is_uuid(pid):
            raise invalid("project_ids", "project_ids must be valid UUIDs")
    wanted = {p.lower() for p in ids}
    matches = [
        p
        for p in ctx.state.projects.values()
        if (name is None or p.name == name) and (not wanted or p.id in wanted)
    ]
    sort_by(matches, order)
    page = paginate(ctx, matches)
    org = ctx.state.organization_id
    return Reply(
        200,
        {
            "total_count": len(matches),
            "projects": [p.to_model(org).to_api() for p in page],
        },
    )


def get_project(ctx: Ctx) -> Reply:
    project_id = ctx.params["project_id"]
    if not is_uuid(project_id):
        raise invalid("project_id", "project_id must be a valid UUID")
    project = ctx.state.projects.get(project_id.lower())
    if project is None:
        raise not_found("project_id", project_id)
    return Reply(200, project.to_model(ctx.state.organization_id).to_api())


HANDLERS: dict[Operation, Handler] = {
    Operation.LIST_PROJECTS: list_projects,
    Operation.GET_PROJECT: get_project,
}
