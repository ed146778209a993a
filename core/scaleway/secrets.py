"""Secret Manager secrets: create (never twice), list, browse, read, change, delete;
and the tags and types in use in a project."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence

from core.scaleway._calls import (
    DEFAULT_PAGE_SIZE,
    ClientBase,
    JsonDict,
    Query,
    as_bool,
    present,
)
from core.scaleway.errors import AlreadyExistsError, ScalewayError
from core.scaleway.models import BrowseItem, EphemeralPolicy, Secret, normalize_path
from core.scaleway.permissions import Operation
from core.scaleway.retry import RetryBudget

log = logging.getLogger("core.scaleway.client")


class SecretsMixin(ClientBase):
    """The secret methods of :class:`core.scaleway.client.ScalewayClient`."""

    async def create_secret(
        self,
        region: str,
        *,
        name: str,
        project_id: str | None = None,
        protected: bool = False,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        type: str | None = None,
        path: str | None = None,
        ephemeral_policy: EphemeralPolicy | JsonDict | None = None,
        key_id: str | None = None,
    ) -> Secret:
        """Create a secret, never twice.

        A create is not idempotent: if the answer is lost (5xx, timeout, reset after
        sending) the secret may exist already. Before creating again, the client looks it
        up by project, path and name and returns it if found.
        """
        op = Operation.CREATE_SECRET
        pid = self._project(project_id, op)
        url = self._calls.path(op, region=region)
        body: JsonDict = {"project_id": pid, "name": name, "protected": bool(protected)}
        body |= present(
            tags=None if tags is None else list(tags),
            description=description,
            type=None if type is None else str(type),
            path=path,
            ephemeral_policy=ephemeral_policy,
            key_id=key_id,
        )

        async def attempt(budget: RetryBudget) -> Secret:
            response = await self._calls.send(op, url, body=body, budget=budget)
            secret = self._calls.decode(op, Secret, self._calls.json(op, response))
            if secret.version_count == 0:
                self._calls.revisions.remember(region, secret.id, 0)
            return secret

        async def lookup(original: ScalewayError) -> Secret | None:
            found = await self._find_secret(region, pid, name, path, original)
            if found is None:
                return None
            if not _is_what_we_asked(found, body):
                # The name was already taken by another secret: what a clean attempt
                # would have answered.
                raise AlreadyExistsError(
                    f"{op}: a different secret ({found.id}) already exists at that path and name",
                    hint="a secret with the same project, path and name exists; pick "
                    "another name or update it",
                    status_code=409,
                    body={"type": "already_exists", "resource": "secret", "resource_id": found.id},
                    operation=op,
                ) from original
            log.info("create_secret: the ambiguous attempt had created %s", found.id)
            return found

        return await self._calls.create_once(op, attempt, lookup, conflict_may_be_ours=True)

    async def _find_secret(
        self,
        region: str,
        project_id: str,
        name: str,
        path: str | None,
        original: ScalewayError,
    ) -> Secret | None:
        """The live secret at (project, path, name), or ``None``; errors re-raise ``original``."""
        wanted_path = normalize_path(path or "/")
        try:
            async for secret in self.list_secrets(
                region, project_id=project_id, name=name, path=wanted_path
            ):
                if (
                    secret.name == name
                    and normalize_path(secret.path) == wanted_path
                    and secret.project_id == project_id
                    and secret.deletion_requested_at is None
                ):
                    return secret
        except ScalewayError as lookup_error:
            raise original from lookup_error
        return None

    def list_secrets(
        self,
        region: str,
        *,
        project_id: str | None = None,
        organization_id: str | None = None,
        order_by: str | None = None,
        tags: Iterable[str] | None = None,
        name: str | None = None,
        path: str | None = None,
        ephemeral: bool | None = None,
        type: str | None = None,
        scheduled_for_deletion: bool | None = False,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Secret]:
        """Every secret matching the filters (default: the default project, not scheduled
        for deletion; pass ``scheduled_for_deletion=True`` for those, ``None`` for all)."""
        op = Operation.LIST_SECRETS
        params: Query = []
        if project_id is None and organization_id is None:
            if self.default_project_id:
                project_id = self.default_project_id
            elif self.organization_id:
                organization_id = self.organization_id
        if organization_id:
            params.append(("organization_id", organization_id))
        if project_id:
            params.append(("project_id", project_id))
        if order_by is not None:
            params.append(("order_by", str(order_by)))
        params.extend(("tags", t) for t in tags or ())
        if name is not None:
            params.append(("name", name))
        if path is not None:
            params.append(("path", path))
        if ephemeral is not None:
            params.append(("ephemeral", as_bool(ephemeral)))
        if type is not None:
            params.append(("type", str(type)))
        if scheduled_for_deletion is not None:
            params.append(("scheduled_for_deletion", as_bool(scheduled_for_deletion)))
        url = self._calls.path(op, region=region)
        return self._secrets(op, url, params, page_size)

    async def _secrets(
        self, op: Operation, url: str, params: Query, page_size: int
    ) -> AsyncIterator[Secret]:
        async for item in self._calls.paginate(op, url, params, page_size):
            yield self._seen_secret(self._calls.decode(op, Secret, item))

    def _seen_secret(self, secret: Secret) -> Secret:
        """Remember that a secret without versions has revision 0 as its latest."""
        if secret.version_count == 0 and secret.region:
            self._calls.revisions.remember(secret.region, secret.id, 0)
        return secret

    def browse_secrets(
        self,
        region: str,
        *,
        prefix: str = "/",
        project_id: str | None = None,
        order_by: str | None = None,
        tags: Iterable[str] | None = None,
        type: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[BrowseItem]:
        """The folders and secrets directly under ``prefix`` (one level, like ``ls``)."""
        op = Operation.BROWSE_SECRETS
        params: Query = [("prefix", prefix)]
        pid = project_id or self.default_project_id
        if pid:
            params.append(("project_id", pid))
        if order_by is not None:
            params.append(("order_by", str(order_by)))
        params.extend(("tags", t) for t in tags or ())
        if type is not None:
            params.append(("type", str(type)))
        url = self._calls.path(op, region=region)
        return self._browse(op, url, params, page_size)

    async def _browse(
        self, op: Operation, url: str, params: Query, page_size: int
    ) -> AsyncIterator[BrowseItem]:
        async for item in self._calls.paginate(op, url, params, page_size):
            yield self._calls.decode(op, BrowseItem, item)

    async def get_secret(self, region: str, secret_id: str) -> Secret:
        op = Operation.GET_SECRET
        data = await self._calls.fetch(op, self._calls.path(op, region=region, secret_id=secret_id))
        return self._seen_secret(self._calls.decode(op, Secret, data))

    async def update_secret(
        self,
        region: str,
        secret_id: str,
        *,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        path: str | None = None,
        ephemeral_policy: EphemeralPolicy | JsonDict | None = None,
    ) -> Secret:
        """Change metadata; ``None`` leaves a field unchanged, ``tags=[]`` clears the tags."""
        op = Operation.UPDATE_SECRET
        body = present(
            name=name,
            tags=None if tags is None else list(tags),
            description=description,
            path=path,
            ephemeral_policy=ephemeral_policy,
        )
        url = self._calls.path(op, region=region, secret_id=secret_id)
        return self._calls.decode(op, Secret, await self._calls.fetch(op, url, body=body))

    async def delete_secret(self, region: str, secret_id: str) -> None:
        """Delete (soft-delete when it has versions); a protected secret answers 412."""
        op = Operation.DELETE_SECRET
        await self._calls.send(op, self._calls.path(op, region=region, secret_id=secret_id))
        self._calls.revisions.forget(region, secret_id)

    async def _secret_action(self, op: Operation, region: str, secret_id: str) -> Secret:
        url = self._calls.path(op, region=region, secret_id=secret_id)
        return self._calls.decode(op, Secret, await self._calls.fetch(op, url))

    async def protect_secret(self, region: str, secret_id: str) -> Secret:
        return await self._secret_action(Operation.PROTECT_SECRET, region, secret_id)

    async def unprotect_secret(self, region: str, secret_id: str) -> Secret:
        return await self._secret_action(Operation.UNPROTECT_SECRET, region, secret_id)

    async def restore_secret(self, region: str, secret_id: str) -> Secret:
        """Cancel a scheduled deletion of the secret and of its scheduled versions."""
        return await self._secret_action(Operation.RESTORE_SECRET, region, secret_id)

    async def add_secret_owner(self, region: str, secret_id: str, *, product: str) -> None:
        """Declare another Scaleway product (``edge_services``, ``s2s_vpn``) as a user."""
        op = Operation.ADD_SECRET_OWNER
        url = self._calls.path(op, region=region, secret_id=secret_id)
        await self._calls.send(op, url, body={"product": str(product)})

    # ------------------------------------------------------------------ tags and types

    def list_tags(
        self,
        region: str,
        *,
        project_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[str]:
        """Distinct tags in use in a project."""
        op = Operation.LIST_TAGS
        return self._strings(op, self._calls.path(op, region=region), project_id, page_size)

    def list_secret_types(
        self,
        region: str,
        *,
        project_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[str]:
        """Distinct secret types in use in a project."""
        op = Operation.LIST_SECRET_TYPES
        return self._strings(op, self._calls.path(op, region=region), project_id, page_size)

    async def _strings(
        self, op: Operation, url: str, project_id: str | None, page_size: int
    ) -> AsyncIterator[str]:
        pid = project_id or self.default_project_id
        params: Query = [("project_id", pid)] if pid else []
        async for item in self._calls.paginate(op, url, params, page_size):
            yield str(item)


def _is_what_we_asked(secret: Secret, body: JsonDict) -> bool:
    """Whether a secret found after an ambiguous create has what the create asked for.

    A secret that already existed under the same name with other metadata is not ours;
    returning it as "created" would let a restore believe tags or a type it never set.
    """
    if str(body.get("type") or "opaque") not in (str(secret.type), "unknown_type"):
        return False
    if (body.get("description") or "") != secret.description:
        return False
    if sorted(body.get("tags") or ()) != sorted(secret.tags):
        return False
    return bool(body.get("protected")) == secret.protected
