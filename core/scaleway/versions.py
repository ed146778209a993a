"""Secret Manager versions: add (never twice), list, read, change, delete, access data."""

from __future__ import annotations

import logging
import zlib
from collections.abc import AsyncIterator, Iterable

from core.scaleway._calls import (
    DEFAULT_PAGE_SIZE,
    ClientBase,
    JsonDict,
    Query,
    Revision,
    present,
)
from core.scaleway.errors import (
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ScalewayError,
    ServerError,
    TransportError,
)
from core.scaleway.models import (
    AccessedVersion,
    EphemeralProperties,
    SecretVersion,
    b64encode,
)
from core.scaleway.permissions import Operation
from core.scaleway.retry import RetryBudget

log = logging.getLogger("core.scaleway.client")


class VersionsMixin(ClientBase):
    """The version methods of :class:`core.scaleway.client.ScalewayClient`."""

    async def create_version(
        self,
        region: str,
        secret_id: str,
        data: bytes,
        *,
        description: str | None = None,
        disable_previous: bool | None = None,
        data_crc32: int | None = None,
        known_latest_revision: int | None = None,
    ) -> SecretVersion:
        """Add a version holding ``data``, never twice.

        ``data_crc32`` (zlib's CRC-32) is computed when not given, so the API checks the
        payload arrived intact. After an ambiguous failure the client lists the versions
        newer than the latest revision known before the call and, if one holds exactly
        ``data``, returns it instead of adding a duplicate. The baseline comes from
        ``known_latest_revision``, else from what this client saw of the secret, else from
        one ``GET …/versions/latest`` before the create.
        """
        op = Operation.CREATE_VERSION
        payload = bytes(data)
        crc = zlib.crc32(payload) & 0xFFFFFFFF if data_crc32 is None else int(data_crc32)
        url = self._calls.path(op, region=region, secret_id=secret_id)
        body: JsonDict = {"data": b64encode(payload)}
        body |= present(
            description=description,
            disable_previous=None if disable_previous is None else bool(disable_previous),
        )
        body["data_crc32"] = crc

        baseline = known_latest_revision
        if baseline is None:
            baseline = self._calls.revisions.get(region, secret_id)
        if baseline is None:
            baseline = await self._probe_latest_revision(region, secret_id)

        async def attempt(budget: RetryBudget) -> SecretVersion:
            response = await self._calls.send(op, url, body=body, budget=budget)
            version = self._calls.decode(op, SecretVersion, self._calls.json(op, response))
            self._calls.revisions.remember(region, secret_id, version.revision)
            return version

        async def lookup(original: ScalewayError) -> SecretVersion | None:
            if baseline is None:
                # Nothing to compare against: a blind retry could duplicate the version.
                raise original
            found = await self._find_version(region, secret_id, baseline, payload, crc, original)
            if found is not None:
                log.info(
                    "create_secret_version: the ambiguous attempt had created revision %d of %s",
                    found.revision,
                    secret_id,
                )
                self._calls.revisions.remember(region, secret_id, found.revision)
            return found

        return await self._calls.create_once(op, attempt, lookup)

    async def _probe_latest_revision(self, region: str, secret_id: str) -> int | None:
        """The highest revision of a secret now (0 if none); ``None`` if it cannot be read."""
        try:
            version = await self.get_version(region, secret_id, "latest")
        except NotFoundError:
            return 0
        except (PermissionDeniedError, ServerError, TransportError, RateLimitedError):
            return None
        return version.revision

    async def _find_version(
        self,
        region: str,
        secret_id: str,
        baseline: int,
        payload: bytes,
        crc: int,
        original: ScalewayError,
    ) -> SecretVersion | None:
        """A version newer than ``baseline`` holding exactly ``payload``, if one exists.

        ``None`` means "surely not created": every newer version was read and differs. A
        newer version that cannot be read (disabled meanwhile, no access permission) or must
        not be (reading an expires-once version consumes it) leaves the question open, and
        then the original error is raised rather than risking a duplicate.
        """
        try:
            newer = [
                v async for v in self.list_versions(region, secret_id) if v.revision > baseline
            ]
        except ScalewayError as lookup_error:
            raise original from lookup_error
        undecided = 0
        for version in sorted(newer, key=lambda v: v.revision, reverse=True):
            props = version.ephemeral_properties
            if props is not None and props.expires_once_accessed:
                undecided += 1
                continue
            try:
                accessed = await self.access_version(region, secret_id, version.revision)
            except ScalewayError:
                undecided += 1
                continue
            if accessed.data_crc32 not in (None, crc):
                continue
            if accessed.data == payload:
                return version
        if undecided:
            raise original
        return None

    def list_versions(
        self,
        region: str,
        secret_id: str,
        *,
        status: Iterable[str] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[SecretVersion]:
        """Every version of a secret (newest first, as the API orders them)."""
        op = Operation.LIST_VERSIONS
        params: Query = [("status", str(s)) for s in status or ()]
        url = self._calls.path(op, region=region, secret_id=secret_id)
        return self._versions(op, url, params, page_size, region, secret_id)

    async def _versions(
        self,
        op: Operation,
        url: str,
        params: Query,
        page_size: int,
        region: str,
        secret_id: str,
    ) -> AsyncIterator[SecretVersion]:
        async for item in self._calls.paginate(op, url, params, page_size):
            version = self._calls.decode(op, SecretVersion, item)
            self._calls.revisions.remember(region, secret_id, version.revision)
            yield version

    def _version_url(self, op: Operation, region: str, secret_id: str, revision: Revision) -> str:
        return self._calls.path(op, region=region, secret_id=secret_id, revision=revision)

    async def get_version(self, region: str, secret_id: str, revision: Revision) -> SecretVersion:
        op = Operation.GET_VERSION
        data = await self._calls.fetch(op, self._version_url(op, region, secret_id, revision))
        version = self._calls.decode(op, SecretVersion, data)
        self._calls.revisions.remember(region, secret_id, version.revision)
        return version

    async def update_version(
        self,
        region: str,
        secret_id: str,
        revision: Revision,
        *,
        description: str | None = None,
        ephemeral_properties: EphemeralProperties | JsonDict | None = None,
    ) -> SecretVersion:
        op = Operation.UPDATE_VERSION
        body = present(description=description, ephemeral_properties=ephemeral_properties)
        url = self._version_url(op, region, secret_id, revision)
        return self._calls.decode(op, SecretVersion, await self._calls.fetch(op, url, body=body))

    async def delete_version(self, region: str, secret_id: str, revision: Revision) -> None:
        """Schedule a version for deletion (restorable for 7 days)."""
        op = Operation.DELETE_VERSION
        await self._calls.send(op, self._version_url(op, region, secret_id, revision))

    async def _version_action(
        self, op: Operation, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion:
        url = self._version_url(op, region, secret_id, revision)
        return self._calls.decode(op, SecretVersion, await self._calls.fetch(op, url))

    async def enable_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion:
        return await self._version_action(Operation.ENABLE_VERSION, region, secret_id, revision)

    async def disable_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion:
        return await self._version_action(Operation.DISABLE_VERSION, region, secret_id, revision)

    async def restore_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion:
        """Cancel a version's scheduled deletion."""
        return await self._version_action(Operation.RESTORE_VERSION, region, secret_id, revision)

    async def access_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> AccessedVersion:
        """The data of one version (``revision``: a number, ``latest``, ``latest_enabled``)."""
        op = Operation.ACCESS_VERSION
        url = self._version_url(op, region, secret_id, revision)
        return await self._accessed(op, url, None)

    async def access_version_by_path(
        self,
        region: str,
        *,
        secret_path: str,
        secret_name: str,
        revision: Revision = "latest",
        project_id: str | None = None,
    ) -> AccessedVersion:
        """The data of a version, addressing the secret by project, path and name."""
        op = Operation.ACCESS_VERSION_BY_PATH
        url = self._calls.path(op, region=region, revision=revision)
        params: Query = [
            ("secret_path", secret_path),
            ("secret_name", secret_name),
            ("project_id", self._project(project_id, op)),
        ]
        return await self._accessed(op, url, params)

    async def _accessed(self, op: Operation, url: str, params: Query | None) -> AccessedVersion:
        response = await self._calls.send(op, url, params=params)
        return self._calls.decode(op, AccessedVersion, self._calls.json(op, response))
