"""Where a secrets browser gets its rows: a live project (the API) or a snapshot (the store).

The browser widget only knows :class:`SecretSource`; the same widget shows a live project and
a snapshot's tree, and masks values the same way. Nothing here fetches more than it is asked:
``list`` reads metadata only, ``versions`` one secret's version metadata, ``reveal`` one value.

:class:`SecretEntry` and :class:`VersionEntry` are the one shape the browser shows, declared
once; the API's ``Secret`` and the store's ``SecretRecord`` are two different core models (ids,
enums, the ephemeral policy as an object or as a dict), so each has one adapter here
(:func:`secret_entry`, :func:`record_entry`) and the entry keeps the model it came from
(``ref``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.scaleway.client import ScalewayClient
from core.scaleway.models import EphemeralPolicy, Secret, SecretVersion, join_path
from core.store import SecretRecord, SnapshotHeader, Store, VersionRecord


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One version's metadata as the browser shows it."""

    revision: int
    status: str
    created_at: datetime | None = None
    description: str = ""
    latest: bool = False
    size: int | None = None  # known for snapshots, not for live versions
    has_data: bool = True  # False: the snapshot holds metadata only (disabled, deleted)
    ref: SecretVersion | VersionRecord | None = None

    def __repr__(self) -> str:
        return f"VersionEntry(revision={self.revision}, status={self.status!r})"


@dataclass(slots=True, eq=False)
class SecretEntry:
    """One secret's metadata as the browser shows it."""

    id: str
    name: str
    path: str
    type: str
    version_count: int
    tags: tuple[str, ...]
    status: str
    protected: bool
    region: str
    project_id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    description: str = ""
    scheduled_for_deletion: bool = False
    ephemeral: str = ""
    versions: tuple[VersionEntry, ...] | None = None  # None: not loaded yet
    ref: Secret | SecretRecord | None = None
    # A snapshot's entry keeps its record's id, not the record (50,000 decoded records with
    # their versions are ~200 MB): the record is read again when its versions are wanted.
    record_id: str = ""

    @property
    def full_path(self) -> str:
        return join_path(self.path, self.name)

    def __repr__(self) -> str:  # names and paths are secret-bearing
        return f"SecretEntry(id={self.id!r}, versions={self.version_count})"


class SecretSource(Protocol):
    """A browsable set of secrets."""

    @property
    def label(self) -> str:
        """A short title for the screen ("project 1234… in fr-par", "snapshot 5a1c…")."""
        ...

    @property
    def live(self) -> bool:
        """True for the API (values are read from Scaleway), False for a snapshot."""
        ...

    async def list_secrets(self) -> list[SecretEntry]: ...

    async def versions(self, entry: SecretEntry) -> list[VersionEntry]: ...

    async def reveal(self, entry: SecretEntry, revision: int) -> bytes: ...


def _ephemeral_text(policy: EphemeralPolicy | None) -> str:
    if policy is None:
        return ""
    parts = []
    ttl = policy.time_to_live
    if ttl:
        parts.append(f"ttl {ttl}")
    if policy.expires_once_accessed:
        parts.append("expires once accessed")
    action = policy.action
    if action and not str(action).startswith("unknown"):
        parts.append(f"then {action}")
    return ", ".join(parts)


class LiveSource:
    """A project's secrets in one region, read from the API through the shared client."""

    live = True

    def __init__(
        self, client: ScalewayClient, region: str, project_id: str, project_name: str = ""
    ) -> None:
        self.client = client
        self.region = region
        self.project_id = project_id
        self.project_name = project_name

    @property
    def label(self) -> str:
        name = self.project_name or self.project_id
        return f"{name} · {self.region} (live)"

    async def list_secrets(self) -> list[SecretEntry]:
        out: list[SecretEntry] = []
        async for batch in self.stream():
            out.extend(batch)
        out.sort(key=lambda e: (e.path, e.name))
        return out

    # The browser re-sorts a streamed live list by path and name once it is complete.
    sort_when_done = True

    async def stream(self, first: int = 100, batch: int = 250) -> AsyncIterator[list[SecretEntry]]:
        """The project's secrets page by page (live ones, then those scheduled for deletion),
        so the first screen shows while a 50,000-secret project is still being listed. Pages
        fetched ahead are decoded without a pause: a small batch gives the UI its turn often."""
        seen: set[str] = set()
        pending: list[SecretEntry] = []
        size = first
        for scheduled in (False, True):
            async for s in self.client.list_secrets(
                self.region, project_id=self.project_id, scheduled_for_deletion=scheduled
            ):
                if s.id in seen:
                    continue
                seen.add(s.id)
                pending.append(secret_entry(s, self.region, keep=False))
                if len(pending) >= size:
                    yield pending
                    pending = []
                    size = batch
        if pending:
            yield pending

    async def versions(self, entry: SecretEntry) -> list[VersionEntry]:
        out = []
        async for v in self.client.list_versions(self.region, entry.id):
            out.append(
                VersionEntry(
                    revision=v.revision,
                    status=str(v.status),
                    created_at=v.created_at,
                    description=v.description,
                    latest=v.latest,
                    ref=v,
                )
            )
        out.sort(key=lambda v: v.revision, reverse=True)
        return out

    async def reveal(self, entry: SecretEntry, revision: int) -> bytes:
        accessed = await self.client.access_version(self.region, entry.id, revision)
        return bytes(accessed.data)


# The listed entries of the last few snapshots opened (snapshots are immutable). In memory only.
_TREES: dict[tuple[int, str], list[SecretEntry]] = {}
_TREES_KEPT = 4
_RECORDS_KEPT = 64  # decoded records kept per source (the ones the cursor rested on)
CHUNK_SECONDS = 0.12  # a snapshot's chunk grows while reading it takes less than this
CHUNK_MAX = 8000


class SnapshotSource:
    """A snapshot's tree, read from the store; values come from the store, never the API."""

    live = False

    def __init__(self, store: Store, header: SnapshotHeader) -> None:
        self.store = store
        self.header = header
        self._records: dict[str, SecretRecord] = {}

    @property
    def label(self) -> str:
        return f"snapshot {str(self.header.id)[:8]} · {snapshot_source_text(self.header)}"

    async def list_secrets(self) -> list[SecretEntry]:
        out: list[SecretEntry] = []
        async for batch in self.stream():
            out.extend(batch)
        return out

    async def stream(
        self, first: int = 100, batch: int = 1000, budget: float = CHUNK_SECONDS
    ) -> AsyncIterator[list[SecretEntry]]:
        """The tree in chunks (a small first one), so a 50,000-secret snapshot shows its first
        screen at once while the rest is decrypted. Each read costs a lookup and pack reads of
        its own, so the chunks grow while they take less than ``budget`` seconds (a chunk
        holds the console's event loop while it decodes: the budget bounds that), starting at
        ``batch``. Records come in tree order (region, project, path, name); each entry keeps
        the record's id, not the record."""
        key = (id(self.store), str(self.header.id))
        cached = _TREES.get(key)
        if cached is not None:  # a snapshot never changes: a second open decodes nothing
            for start in range(0, len(cached), batch * 2):
                yield cached[start : start + batch * 2]
            return
        out: list[SecretEntry] = []
        warm = await self.store.cached_tree(self.header)
        if warm is not None:  # the sealed record cache holds the tree: decode it chunk by chunk
            for chunk, cached_records in warm.chunks():
                records = cached_records
                if records is None:  # that chunk does not decode: read it from the store
                    records = await self.store.read_records(chunk)
                entries = [record_entry(r, rid) for r, rid in zip(records, chunk, strict=True)]
                out.extend(entries)
                yield entries
        else:
            ids = await self.store.read_tree_ids(self.header)
            start = 0
            size = first
            while start < len(ids):
                chunk = ids[start : start + size]
                began = time.perf_counter()
                records = await self.store.read_records(chunk)
                entries = [record_entry(r, rid) for r, rid in zip(records, chunk, strict=True)]
                took = time.perf_counter() - began
                out.extend(entries)
                yield entries
                start += len(chunk)
                if size == first:
                    size = batch
                elif took < budget / 2:
                    size = min(size * 2, CHUNK_MAX)
                elif took > budget and size > batch:
                    size = max(size // 2, batch)
        _TREES[key] = out
        while len(_TREES) > _TREES_KEPT:
            _TREES.pop(next(iter(_TREES)))

    async def record(self, entry: SecretEntry) -> SecretRecord:
        """The entry's decoded record (read again from the store; the last few are kept)."""
        if isinstance(entry.ref, SecretRecord):
            return entry.ref
        found = self._records.get(entry.record_id)
        if found is None:
            found = (await self.store.read_records([entry.record_id]))[0]
            self._records[entry.record_id] = found
            while len(self._records) > _RECORDS_KEPT:
                self._records.pop(next(iter(self._records)))
        return found

    def versions_now(self, entry: SecretEntry) -> list[VersionEntry] | None:
        """The versions when they are at hand without reading the store, else None."""
        if entry.versions is None:
            record = entry.ref if isinstance(entry.ref, SecretRecord) else None
            record = record or self._records.get(entry.record_id)
            if record is None:
                return None
            entry.versions = tuple(record_versions(record))
        return list(entry.versions)

    async def versions(self, entry: SecretEntry) -> list[VersionEntry]:
        now = self.versions_now(entry)
        if now is not None:
            return now
        entry.versions = tuple(record_versions(await self.record(entry)))
        return list(entry.versions)

    async def reveal(self, entry: SecretEntry, revision: int) -> bytes:
        for v in await self.versions(entry):
            if v.revision == revision:
                blob = v.ref.payload if isinstance(v.ref, VersionRecord) else None
                if blob is None:
                    raise LookupError(
                        f"revision {revision} of secret {entry.id} has no data in this snapshot"
                    )
                return bytes(await self.store.read_payload(blob))
        raise LookupError(f"secret {entry.id} has no revision {revision} in this snapshot")


_intern = sys.intern  # the few values every row repeats are shared, not copied per row


def secret_entry(s: Secret, region: str, *, keep: bool = True) -> SecretEntry:
    """An API ``Secret`` as a browser entry (versions not loaded). ``keep=False``: the entry
    does not keep the ``Secret`` (``ref``): a listing of 50,000 keeps only what it shows.

    Positional, in :class:`SecretEntry`'s field order: 50,000 calls by keyword cost ~40 % more."""
    policy = s.ephemeral_policy
    tags = s.tags
    return SecretEntry(
        s.id,
        s.name,
        _intern(s.path),
        _intern(str(s.type)),
        s.version_count,
        tuple(map(_intern, tags)) if tags else (),
        _intern(str(s.status)),
        s.protected,
        _intern(s.region or region),
        _intern(s.project_id),
        s.created_at,
        s.updated_at,
        s.description,
        s.deletion_requested_at is not None,  # scheduled_for_deletion
        _ephemeral_text(policy) if policy is not None else "",
        None,  # versions: not loaded
        s if keep else None,  # ref
    )


def record_versions(r: SecretRecord) -> list[VersionEntry]:
    """A store record's versions as browser entries, newest first."""
    versions = []
    for v in r.versions:
        versions.append(
            VersionEntry(
                revision=int(v.revision),
                status=str(v.status),
                created_at=v.created_at,
                description=v.description or "",
                latest=bool(v.latest),
                size=v.size,
                has_data=v.payload is not None,
                ref=v,
            )
        )
    versions.sort(key=lambda v: v.revision, reverse=True)
    return versions


def record_entry(r: SecretRecord, record_id: str = "") -> SecretEntry:
    """A store ``SecretRecord`` as a browser entry (its versions are converted on demand).

    With ``record_id`` the entry keeps that id instead of the record (see
    :attr:`SecretEntry.record_id`); without it, it keeps the record (``ref``). The few values
    every row repeats (region, project, type, status) are shared, not copied per row.
    Positional, in :class:`SecretEntry`'s field order (see :func:`secret_entry`)."""
    policy = r.ephemeral_policy
    tags = r.tags
    return SecretEntry(
        r.secret_id,
        r.name,
        _intern(r.path or "/"),
        _intern(r.type),
        len(r.versions) or r.version_count,
        tuple(map(_intern, tags)) if tags else (),
        _intern(r.status),
        r.protected,
        _intern(r.region),
        _intern(r.project_id),
        r.created_at,
        r.updated_at,
        r.description,
        r.deletion_requested_at is not None,  # scheduled_for_deletion
        _ephemeral_dict_text(policy) if policy else "",
        None,  # versions: converted on demand
        None if record_id else r,  # ref
        record_id,
    )


def _ephemeral_dict_text(policy: dict[str, object] | None) -> str:
    """A record keeps the policy as the API wrote it: read it the way the API's is read."""
    if not policy:
        return ""
    return _ephemeral_text(EphemeralPolicy.from_api(dict(policy)))


def snapshot_source_text(header: SnapshotHeader) -> str:
    """``name (project-id…) · region`` of a snapshot's source(s)."""
    sources = list(header.sources)
    if not sources:
        return "no source"
    first = sources[0]
    name = first.project_name or first.project_id[:8]
    text = f"{name} · {first.region}"
    if len(sources) > 1:
        text += f" (+{len(sources) - 1} more)"
    return text
