"""Parent snapshots: what earlier snapshots of the same sources hold, so nothing is read twice.

Self-healing (docs/BACKUP.md): a parent is only as good as the store's copies of it. A parent
whose tree cannot be read is skipped, and a secret record that cannot be read is dropped (that
secret is listed and read afresh), each with a warning naming the snapshot: damage in the
store never fails a backup. The data blobs the parents would lend are checked once, before the
first reuse (``unusable``): missing from the index or in a pack that is gone (cheap: one
listing of the packs), or with ``read_data`` (a rescan) not decrypting. Those versions are
read again from the API, and the writer writes fresh copies of the same blobs, which heals
every older snapshot that references them too.

A parent's records come from the store's sealed record cache when it holds the tree (the
tree a backup commits is sealed there when its store closes): an unchanged 10,000-secret
backup then opens none of its parent's 10,000 record blobs (0.16 s of its CPU). Those
records' blobs are checked as the data is, in the same pass (a record the store lost is
dropped, and its secret read again); ``read_data`` reads the store's own bytes instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from core.engine import events as ev
from core.engine.backup.sources import Source
from core.engine.events import EventSink
from core.engine.protocols import PayloadSink, SnapshotStore
from core.scaleway.models import Secret
from core.store.errors import CorruptStoreError
from core.store.model import (
    SecretRecord,
    SnapshotHeader,
    VersionRecord,
    listed_metadata,
)


@runtime_checkable
class BlobHealth(Protocol):
    """A store that can say which of its blobs must not be reused (``Store`` has it)."""

    async def unusable_blobs(self, blob_ids: Iterable[str], *, read: bool = False) -> set[str]: ...


@runtime_checkable
class UnusableMarker(Protocol):
    """A writer told not to deduplicate against damaged copies (``Writer`` has it)."""

    def mark_unusable(self, blob_ids: Iterable[str]) -> None: ...


@runtime_checkable
class CachedTrees(Protocol):
    """A store that keeps recent trees' records decoded locally (``Store`` has it)."""

    async def cached_records(
        self, snapshot: str | SnapshotHeader, ids: Sequence[str]
    ) -> list[SecretRecord] | None: ...

    def remember_tree(
        self, snapshot: SnapshotHeader, ids: Sequence[str], records: Sequence[SecretRecord]
    ) -> None: ...


@dataclass
class ParentIndex:
    """What earlier snapshots of the same sources hold, for incremental reads."""

    records: dict[tuple[str, str], SecretRecord] = field(default_factory=dict)
    record_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    parent_id: str | None = None
    # data blobs the parents reference whose stored copies are missing or damaged
    unusable: set[str] = field(default_factory=set)
    # what the loading found wrong with the store (ids only), for the run's warnings
    warnings: list[str] = field(default_factory=list)
    # every record added, newest parent first: ``payloads`` is built from them when first
    # asked (an unchanged backup never asks: 30,000 entries at 10,000 secrets)
    _held: list[SecretRecord] = field(default_factory=list, repr=False)
    _payloads: dict[tuple[str, str, int], VersionRecord] | None = field(default=None, repr=False)

    def add(self, record: SecretRecord, record_id: str, *, newest: bool) -> None:
        key = (record.region, record.secret_id)
        if newest and record.error is None and key not in self.records:
            self.records[key] = record
            self.record_ids[key] = record_id
        self._held.append(record)
        self._payloads = None

    @property
    def payloads(self) -> Mapping[tuple[str, str, int], VersionRecord]:
        """Each ``(region, secret, revision)`` the parents hold data for, and its newest record."""
        if self._payloads is None:
            found: dict[tuple[str, str, int], VersionRecord] = {}
            for record in self._held:
                for v in record.versions:
                    if v.payload is not None:
                        found.setdefault((record.region, record.secret_id, v.revision), v)
            self._payloads = found
        return self._payloads

    def payload_ids(self) -> set[str]:
        """Every data blob the parents could lend (a version's data never changes, and a blob's
        id is its content's: each revision has the same blob in every parent)."""
        return {v.payload for r in self._held for v in r.versions if v.payload is not None}

    def usable(self, blob_id: str) -> bool:
        """The store's copy of a parent's data blob can be reused (:attr:`unusable` was
        checked once, in :func:`load_parents`, for every blob the parents lend)."""
        return blob_id not in self.unusable

    def drop_records(self, record_ids: set[str]) -> None:
        """Stop offering these records for reuse (their secrets are read again); what
        their versions' data blobs lend stays (each blob is checked on its own)."""
        for key in [k for k, rid in self.record_ids.items() if rid in record_ids]:
            del self.records[key], self.record_ids[key]


@dataclass
class _Tree:
    """One parent snapshot as read: its readable records, how many could not be read, and
    whether they came from the record cache (their blobs are then checked with the data)."""

    records: list[tuple[SecretRecord, str]]
    lost: int = 0
    cached: bool = False


async def _read_records(
    store: SnapshotStore, ids: Sequence[str]
) -> tuple[list[tuple[SecretRecord, str]], int]:
    """The records of ``ids`` that read intact, and how many did not: one batch read, split
    in halves only where it fails (a damaged record costs a few reads, not one per record)."""
    if not ids:
        return [], 0
    try:
        return list(zip(await store.read_records(ids), ids, strict=True)), 0
    except CorruptStoreError:
        if len(ids) == 1:
            return [], 1
    half = len(ids) // 2
    first, lost_first = await _read_records(store, ids[:half])
    second, lost_second = await _read_records(store, ids[half:])
    return first + second, lost_first + lost_second


def _lost_records(header: SnapshotHeader, lost: int) -> str:
    return (
        f"{lost} secret record(s) of parent snapshot {header.id[:8]} cannot be read: "
        "those secrets are read again from the API"
    )


async def _read_tree(
    store: SnapshotStore, header: SnapshotHeader, warn: list[str], *, read_data: bool
) -> _Tree | None:
    """A parent's records (from the record cache unless ``read_data``), or None (with a
    warning) when its tree cannot be read."""
    try:
        ids = await store.read_tree_ids(header)
    except CorruptStoreError as err:
        warn.append(
            f"parent snapshot {header.id[:8]} cannot be read ({err.message}): it is skipped, "
            "and what it held is read again from the API"
        )
        return None
    cache = store if isinstance(store, CachedTrees) else None
    if cache is not None and not read_data:
        cached = await cache.cached_records(header, ids)
        if cached is not None:
            return _Tree(list(zip(cached, ids, strict=True)), cached=True)
    records, lost = await _read_records(store, ids)
    if lost:
        warn.append(_lost_records(header, lost))
    elif cache is not None:  # read whole: sealed for the next backup (or a commit on it)
        cache.remember_tree(header, ids, [r for r, _id in records])
    return _Tree(records, lost)


async def load_parents(
    store: SnapshotStore | None,
    sources: Sequence[Source],
    *,
    read_data: bool = False,
    on_event: EventSink | None = None,
) -> ParentIndex:
    """For each source, the newest readable snapshots back to (and including) the newest
    complete one whose records all read; then which of their data blobs are unusable
    (``read_data``: also those that no longer decrypt, at the cost of reading them)."""
    index = ParentIndex()
    if store is None:
        return index
    trees: dict[str, _Tree | None] = {}
    newest: SnapshotHeader | None = None
    headers = sorted(await store.list_snapshots(), key=lambda h: h.time, reverse=True)
    for source in sources:
        first = True
        for header in headers:
            if not header.covers(project=source.project_id, region=source.region):
                continue
            if header.id not in trees:
                trees[header.id] = await _read_tree(
                    store, header, index.warnings, read_data=read_data
                )
            tree = trees[header.id]
            if tree is None:
                continue  # unreadable: the next older parent, or a full read
            if newest is None or header.time > newest.time:
                newest = header
            for record, record_id in tree.records:
                if record.region == source.region and record.project_id == source.project_id:
                    index.add(record, record_id, newest=first)
            first = False
            if header.complete and not tree.lost:
                break
    index.parent_id = newest.id if newest is not None else None
    # one check of what the store holds: the data the parents lend, and the records offered
    # for reuse that came from the record cache (their blobs were not opened)
    cached = {
        hid: {rid for _r, rid in tree.records}
        for hid, tree in trees.items()
        if tree is not None and tree.cached
    }
    reusable = set(index.record_ids.values()) & set().union(*cached.values())
    unusable = await _unusable(store, index.payload_ids() | reusable, read=read_data)
    index.unusable = unusable
    if lost_records := unusable & reusable:
        index.drop_records(lost_records)
        for header in headers:
            if lost := len(cached.get(header.id, set()) & lost_records):
                index.warnings.append(_lost_records(header, lost))
    if lost_data := len(unusable) - len(lost_records):
        index.warnings.append(
            f"the store's copies of {lost_data} data blob(s) that earlier snapshots "
            "reference are missing or damaged: their versions are read again from the API "
            "(check the store, reading all data, then repair it)"
        )
    if on_event is not None:
        for note in index.warnings:
            on_event(ev.EngineWarning(note))
    return index


async def _unusable(store: SnapshotStore, blob_ids: set[str], *, read: bool) -> set[str]:
    if not blob_ids:
        return set()
    if isinstance(store, BlobHealth):
        return await store.unusable_blobs(blob_ids, read=read)
    # a store without the check: at least what its index no longer holds
    return {b for b in blob_ids if not await store.has_blob(b)}


def mark_unusable(sink: PayloadSink | None, parents: ParentIndex) -> None:
    """Tell the writer not to deduplicate against the parents' damaged copies, so the data
    read again is written afresh (a sink without the notion, a dry run's, needs nothing)."""
    if parents.unusable and isinstance(sink, UnusableMarker):
        sink.mark_unusable(parents.unusable)


def unchanged_since(secret: Secret, record: SecretRecord) -> bool:
    """The listed metadata equals the parent record's (so its versions list is the same,
    except for status changes the API does not surface on the secret; see ``rescan``)."""
    return record.error is None and listed_metadata(secret) == record.listed_metadata()
