"""The snapshot writer: payloads and records in, one snapshot object out, under a shared lock.

``async with store.writer() as w``: put payloads and records (deduplicated by the
:class:`~core.store.packer.BlobSink`), then ``commit`` writes the tree, makes every blob
durable and indexed, and writes the snapshot object last, so that a snapshot is visible only
once everything it refers to is.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core import __version__
from core.store import keys as key_slots
from core.store.crypto import BLOB_DATA, BLOB_RECORD
from core.store.errors import StoreError
from core.store.locks import DEFAULT_LIFETIME, LockHandle
from core.store.model import (
    STATUS_COMPLETE,
    STATUS_PARTIAL,
    SecretRecord,
    SnapshotError,
    SnapshotHeader,
    SnapshotSummary,
    SourceInfo,
)
from core.store.packer import BlobSink, WriterStats

if TYPE_CHECKING:
    from core.store.repository import Store

TEMPORARY_FILE_AGE = 600.0  # seconds after which another writer's temporary file is garbage


class Writer:
    """Adds blobs and commits snapshots under a shared lock (``async with store.writer()``).

    An exception or a cancellation inside the ``async with`` block commits nothing: packs
    already uploaded stay unreferenced until ``prune`` removes them.
    """

    def __init__(
        self,
        store: Store,
        *,
        tags: Sequence[str] = (),
        pack_size: int | None = None,
        lock_lifetime: float = DEFAULT_LIFETIME,
        lock_wait: float = 0.0,
    ) -> None:
        self.store = store
        self.tags = tuple(tags)
        self._pack_size = pack_size
        self._lock_lifetime = lock_lifetime
        self._lock_wait = lock_wait
        self.lock: LockHandle | None = None
        self.sink: BlobSink | None = None
        self._records: list[tuple[tuple[str, str, str, str, str], str]] = []
        self._record_ids: set[str] = set()
        self._put_records: dict[str, SecretRecord] = {}  # for the record cache
        self.commits: list[SnapshotHeader] = []
        self._closed = False

    async def __aenter__(self) -> Writer:
        self.lock = await self.store.lock(
            exclusive=False, lifetime=self._lock_lifetime, wait=self._lock_wait, purpose="backup"
        )
        try:
            # Under the lock no prune runs: sync the cache so that deduplication never
            # trusts a blob that a prune elsewhere removed while this Store was open.
            await self.store.refresh_index()
            # what killed writes left behind: a few minutes old, or their process is gone
            with contextlib.suppress(StoreError, OSError):
                await self.store.backend.clean_temporary_files(TEMPORARY_FILE_AGE)
        except BaseException:
            await self.lock.release()
            raise
        self.sink = BlobSink(self.store, pack_size=self._pack_size)
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._closed = True
        try:
            if self.sink is not None:
                # Anything not committed is dropped (uploads in flight are cancelled), whether
                # the block failed or simply ended without a commit.
                await self.sink.abort()
        finally:
            if self.lock is not None:
                await self.lock.release()

    def _ready(self) -> BlobSink:
        if self.sink is None or self.lock is None or self._closed:
            raise StoreError("the writer is not open: use 'async with store.writer() as w'")
        return self.sink

    @property
    def stats(self) -> WriterStats:
        return self._ready().stats

    async def put_payload(self, data: bytes) -> str:
        """Store one version's data (deduplicated); returns its blob id (hex)."""
        sink = self._ready()
        bid, added = await sink.put_blob(BLOB_DATA, bytes(data))
        if added:
            sink.stats.data_added += 1
        else:
            sink.stats.data_reused += 1
        await sink.maybe_flush_index()
        return bid

    async def put_record(self, record: SecretRecord) -> str:
        """Store a secret record and add it to the next snapshot's tree; returns its blob id."""
        sink = self._ready()
        bid, added = await sink.put_blob(BLOB_RECORD, record.to_bytes())
        if added:
            sink.stats.records_added += 1
        else:
            sink.stats.records_reused += 1
        if bid not in self._record_ids:
            self._record_ids.add(bid)
            self._records.append(((*record.key, record.secret_id), bid))
        self._put_records[bid] = record
        return bid

    def has_payload(self, blob_id: str) -> bool:
        """True when the store (or this writer) already holds that blob."""
        return self._ready().known(bytes.fromhex(blob_id))

    def mark_unusable(self, blob_ids: Iterable[str]) -> None:
        """Blobs this writer must not reuse (``Store.unusable_blobs`` found them missing or
        damaged): ``has_payload`` says False for them and the next put writes a new copy."""
        self._ready().mark_unusable(bytes.fromhex(b) for b in blob_ids)

    async def flush(self) -> None:
        """Make the blobs added so far durable and indexed (no snapshot yet)."""
        sink = self._ready()
        self.lock.check()  # type: ignore[union-attr]
        await sink.flush()

    async def _parent_tree(self, parent: str | None) -> str | None:
        """The parent snapshot's tree, which the new tree may be a patch against (None when
        there is no parent or its object does not read: a whole tree is written then)."""
        if parent is None:
            return None
        try:
            return (await self.store.get_snapshot(parent)).tree
        except StoreError:
            return None

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
        pinned: bool = False,
        record_ids: Sequence[str] | None = None,
        time: datetime | None = None,
    ) -> SnapshotHeader:
        """Write the tree, make every blob durable and indexed, then the snapshot object.

        The tree is ``record_ids`` if given, else every record put since the last commit, in
        key order. The snapshot becomes visible only once its own object is written.
        """
        sink = self._ready()
        assert self.lock is not None
        self.lock.check()
        if record_ids is None:
            ids = [bid for _key, bid in sorted(self._records)]
        else:
            ids = list(record_ids)
        base_tree = await self._parent_tree(parent)
        tree_id = await self.store.write_tree(sink, ids, base=base_tree)
        await sink.flush()
        self.lock.check()
        errs = tuple(errors)
        st = sink.stats
        base = summary or SnapshotSummary(secrets=len(ids), errors=len(errs))
        header = SnapshotHeader(
            id=secrets.token_hex(32),
            time=time or datetime.now(UTC),
            tree=tree_id,
            sources=tuple(sources),
            parent=parent,
            tags=tuple(tags) if tags is not None else self.tags,
            environment=environment,
            data_class=data_class,
            host=host if host is not None else socket.gethostname(),
            username=key_slots.username(),
            tool_version=__version__,
            status=status or (STATUS_PARTIAL if errs else STATUS_COMPLETE),
            errors=errs,
            summary=base,
            pinned=pinned,
            description=description,
        )
        obj = self.store.seal_snapshot(header)
        header = replace(
            header,
            summary=replace(
                base,
                bytes_added=st.bytes_added + len(obj),
                blobs_added=st.blobs_added,
                blobs_reused=st.blobs_reused,
                records_reused=st.records_reused,
            ),
        )
        obj = self.store.seal_snapshot(header)
        # Last moment before the snapshot becomes visible: the lock must still stand (not
        # removed by another process, not superseded), or a prune may have deleted blobs
        # this snapshot reuses.
        await self.lock.confirm()
        await self.store.backend.put("snapshots", header.id, obj, create_only=True)
        self.commits.append(header)
        await self.store.cache_tree_records(tree_id, ids, self._put_records, base_tree)
        self._records = []
        self._record_ids = set()
        self._put_records = {}
        sink.stats = WriterStats()
        return header


__all__ = ["Writer"]
