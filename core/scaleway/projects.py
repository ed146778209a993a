"""Account v3 projects: list and read (the organization's projects, global, no region)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from core.scaleway._calls import DEFAULT_PAGE_SIZE, ClientBase, Query
from core.scaleway.models import Project
from core.scaleway.permissions import Operation


class ProjectsMixin(ClientBase):
    """The project methods of :class:`core.scaleway.client.ScalewayClient`."""

    def list_projects(
        self,
        organization_id: str | None = None,
        *,
        name: str | None = None,
        project_ids: Iterable[str] | None = None,
        order_by: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Project]:
        """Every project of the organization (default: the client's organization)."""
        op = Operation.LIST_PROJECTS
        params: Query = []
        org = organization_id or self.organization_id
        if org:
            params.append(("organization_id", org))
        if name is not None:
            params.append(("name", name))
        params.extend(("project_ids", p) for p in project_ids or ())
        if order_by is not None:
            params.append(("order_by", str(order_by)))
        return self._projects(op, self._calls.path(op), params, page_size)

    async def _projects(
        self, op: Operation, url: str, params: Query, page_size: int
    ) -> AsyncIterator[Project]:
        async for item in self._calls.paginate(op, url, params, page_size):
            yield self._calls.decode(op, Project, item)

    async def get_project(self, project_id: str) -> Project:
        op = Operation.GET_PROJECT
        data = await self._calls.fetch(op, self._calls.path(op, project_id=project_id))
        return self._calls.decode(op, Project, data)
