"""What the engines need from the Secret Manager client and the snapshot store, nothing more.

The engines (backup, restore, copy, preflight) are written against these Protocols rather than
against :class:`core.scaleway.client.ScalewayClient` and :class:`core.store.repository.Store`,
so the seam is typed and narrow: a test double, a recording proxy or another provider's client
fits by having these methods. The typed function at the end has mypy (``make typecheck``) check
that the real client and store satisfy them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from core.scaleway.models import AccessedVersion, EphemeralPolicy, Project, Secret, SecretVersion
from core.store.model import (
    SecretRecord,
    SnapshotError,
    SnapshotHeader,
    SnapshotSummary,
    SourceInfo,
)

Revision = int | str  # a revision number, or "latest" / "latest_enabled"


class SecretsAPI(Protocol):
    """The Secret Manager (and Account) calls the engines make.

    Lists are async iterators that follow pagination to the end; errors are the typed ones of
    :mod:`core.scaleway.errors`.
    """

    @property
    def organization_id(self) -> str | None: ...

    @property
    def default_project_id(self) -> str | None: ...

    @property
    def default_region(self) -> str | None: ...

    def list_projects(
        self, organization_id: str | None = None, *, page_size: int = ...
    ) -> AsyncIterator[Project]: ...

    def list_secrets(
        self,
        region: str,
        *,
        project_id: str | None = None,
        name: str | None = None,
        path: str | None = None,
        scheduled_for_deletion: bool | None = False,
        page_size: int = ...,
    ) -> AsyncIterator[Secret]: ...

    def list_versions(self, region: str, secret_id: str) -> AsyncIterator[SecretVersion]: ...

    async def get_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion: ...

    async def access_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> AccessedVersion: ...

    async def enable_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion: ...

    async def disable_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion: ...

    async def delete_version(self, region: str, secret_id: str, revision: Revision) -> None: ...

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
        ephemeral_policy: EphemeralPolicy | dict[str, object] | None = None,
        key_id: str | None = None,
    ) -> Secret: ...

    async def update_secret(
        self, region: str, secret_id: str, *, description: str | None = None
    ) -> Secret: ...

    async def restore_secret(self, region: str, secret_id: str) -> Secret: ...

    async def create_version(
        self,
        region: str,
        secret_id: str,
        data: bytes,
        *,
        description: str | None = None,
        data_crc32: int | None = None,
        known_latest_revision: int | None = None,
    ) -> SecretVersion: ...


class PayloadSink(Protocol):
    """Where a backup puts data and records (the store's writer, or memory for dry runs)."""

    async def put_payload(self, data: bytes) -> str: ...

    async def put_record(self, record: SecretRecord) -> str: ...


class SnapshotWriter(PayloadSink, Protocol):
    """An open backup: blobs go in, and ``commit`` makes the snapshot visible."""

    async def commit(
        self,
        *,
        sources: Iterable[SourceInfo] = (),
        parent: str | None = None,
        tags: Iterable[str] | None = None,
        environment: str | None = None,
        data_class: str | None = None,
        errors: Iterable[SnapshotError] = (),
        summary: SnapshotSummary | None = None,
        status: str | None = None,
        host: str | None = None,
        description: str = "",
        record_ids: Sequence[str] | None = None,
    ) -> SnapshotHeader: ...


class WriterSession(Protocol):
    """``async with store.writer(...) as w``: the writer holds the store's shared lock."""

    async def __aenter__(self) -> SnapshotWriter: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class SnapshotStore(Protocol):
    """The snapshot store calls the engines make (reading snapshots, writing one)."""

    async def list_snapshots(self) -> list[SnapshotHeader]: ...

    async def resolve_snapshot(self, ref: str) -> SnapshotHeader: ...

    async def read_tree(self, snapshot: str | SnapshotHeader) -> list[SecretRecord]: ...

    async def read_tree_ids(self, snapshot: str | SnapshotHeader) -> list[str]: ...

    async def read_records(self, ids: Sequence[str]) -> list[SecretRecord]: ...

    async def read_payload(self, blob_id: str) -> bytes: ...

    async def has_blob(self, blob_id: str) -> bool: ...

    def writer(self, *, tags: Sequence[str] = ()) -> WriterSession: ...


if TYPE_CHECKING:  # mypy checks that the real client and store fit; nothing runs here
    from core.scaleway.client import ScalewayClient
    from core.store.repository import Store

    def _conforms(client: ScalewayClient, store: Store) -> tuple[SecretsAPI, SnapshotStore]:
        return client, store


__all__ = [
    "PayloadSink",
    "Revision",
    "SecretsAPI",
    "SnapshotStore",
    "SnapshotWriter",
    "WriterSession",
]
