"""The packer: blobs into packs, packs onto the backend, their entries into index deltas.

restic's packer manager: a :class:`BlobSink` keeps one open pack for data blobs and one for
metadata blobs (records, trees), seals a pack once it reaches the store's pack size, uploads
sealed packs in the background (a bounded number in flight) and writes an index delta only
after the packs it lists are durable. Used by the snapshot writer and by maintenance
(repacking). Nothing it writes is visible to readers of snapshots until a snapshot refers to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.store.crypto import METADATA_TYPES
from core.store.errors import ObjectExistsError
from core.store.index import KNOWN_IDS_IN_MEMORY, IndexDelta
from core.store.pack import PackBuilder, PackEntry

if TYPE_CHECKING:
    from core.store.repository import Store

INDEX_FLUSH_ENTRIES = 100_000  # write an intermediate index delta past this many entries
UPLOADS_IN_FLIGHT = 2


@dataclass
class WriterStats:
    """What a writer added and reused: blobs, data, records, bytes."""

    blobs_added: int = 0
    blobs_reused: int = 0
    data_added: int = 0
    data_reused: int = 0
    records_added: int = 0
    records_reused: int = 0
    bytes_added: int = 0  # bytes written to the backend (packs, index deltas, snapshots)
    raw_bytes_added: int = 0  # plaintext bytes of the new blobs
    packs_written: int = 0


class BlobSink:
    """Packs blobs, uploads sealed packs in the background, and writes index deltas.

    Used by the snapshot writer and by maintenance (repacking). Nothing it writes is visible
    to readers of snapshots until a snapshot refers to it.
    """

    def __init__(self, store: Store, *, pack_size: int | None = None) -> None:
        self.store = store
        self.keys = store.keys
        self.pack_size = pack_size or store.config.pack_size
        self._packs: dict[bool, PackBuilder] = {}
        self._pending: dict[bytes, int] = {}  # blob id -> type, for blobs not yet in the cache
        self._uploaded: dict[bytes, list[PackEntry]] = {}  # sealed+durable packs, not indexed yet
        self._uploads: set[asyncio.Task[None]] = set()
        self._upload_slots = asyncio.Semaphore(UPLOADS_IN_FLIGHT)
        self._failure: BaseException | None = None
        self.stats = WriterStats()
        self.written_packs: list[str] = []
        self.written_deltas: list[str] = []
        self._uploaded_entries = 0
        # Known blob ids in memory (one query instead of one per blob) unless the index is huge;
        # taken at the first put, not here: a writer opens before its run lists or loads
        # anything, and the ids (17 ms at 40,000) would hold up both. By then the parents'
        # check has usually built the cache's set (IndexCache.unknown), and this copies it.
        # Taken late it is no less complete: every delta this writer writes is in the cache.
        self._known: set[bytes] | None = None
        self._known_taken = False
        self._unusable: set[bytes] = set()

    def mark_unusable(self, blob_ids: Iterable[bytes]) -> None:
        """Treat these blobs as absent (their stored copies are missing or damaged): the
        next put of the same data writes a fresh copy."""
        self._unusable.update(blob_ids)

    def known(self, blob_id: bytes) -> bool:
        if blob_id in self._pending:
            return True
        if blob_id in self._unusable or blob_id in self.store.unreadable:
            return False
        if not self._known_taken:
            self._known = self.store.cache.all_ids(limit=KNOWN_IDS_IN_MEMORY)
            self._known_taken = True
        if self._known is not None:
            return blob_id in self._known
        return self.store.cache.has(blob_id)

    async def put_blob(
        self, blob_type: int, data: bytes, *, blob_id: bytes | None = None
    ) -> tuple[str, bool]:
        """Add a blob unless the store has it; returns (id hex, added)."""
        self._raise_failure()
        bid = blob_id or self.keys.blob_id(blob_type, data)
        if self.known(bid):
            self.stats.blobs_reused += 1
            return bid.hex(), False
        metadata = blob_type in METADATA_TYPES
        pack = self._packs.get(metadata)
        if pack is None:
            pack = self._packs[metadata] = PackBuilder(self.keys, metadata=metadata)
        pack.add(blob_type, bid, data)
        self._pending[bid] = blob_type
        self.stats.blobs_added += 1
        self.stats.raw_bytes_added += len(data)
        if pack.size >= self.pack_size:
            await self._seal(metadata)
        return bid.hex(), True

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def _seal(self, metadata: bool) -> None:
        pack = self._packs.pop(metadata, None)
        if pack is None or not len(pack):
            return
        await self._upload_slots.acquire()
        if self._failure is not None:
            self._upload_slots.release()
            raise self._failure
        task = asyncio.create_task(self._upload(pack))
        self._uploads.add(task)
        task.add_done_callback(self._uploads.discard)

    async def _upload(self, pack: PackBuilder) -> None:
        try:
            pack_hex, data, entries = await asyncio.to_thread(pack.finish)
            try:
                await self.store.backend.put("packs", pack_hex, data, create_only=True)
            except ObjectExistsError:
                pass  # identical content (its name is its MAC): already durable
            self._uploaded[bytes.fromhex(pack_hex)] = entries
            self._uploaded_entries += len(entries)
            self.stats.bytes_added += len(data)
            self.stats.packs_written += 1
            self.written_packs.append(pack_hex)
        except BaseException as err:
            if self._failure is None:
                self._failure = err
            raise
        finally:
            self._upload_slots.release()

    async def _drain(self) -> None:
        if self._uploads:
            await asyncio.gather(*list(self._uploads), return_exceptions=True)
        self._raise_failure()

    async def flush_packs(self) -> dict[bytes, list[PackEntry]]:
        """Seal open packs and wait for every upload; returns (and forgets) the uploaded packs."""
        for metadata in (False, True):
            await self._seal(metadata)
        await self._drain()
        done = self._uploaded
        self._uploaded = {}
        self._uploaded_entries = 0
        return done

    def _forget_pending(self, packs: dict[bytes, list[PackEntry]]) -> None:
        """Blobs of these packs are now in the index: move them from pending to known."""
        for entries in packs.values():
            for e in entries:
                self._pending.pop(e.blob_id, None)
                self._unusable.discard(e.blob_id)
                self.store.unreadable.discard(e.blob_id)
                if self._known is not None:
                    self._known.add(e.blob_id)

    async def flush(self) -> str | None:
        """Make everything added so far durable and indexed; returns the delta name (if any)."""
        packs = await self.flush_packs()
        if not packs:
            return None
        name = await self.store.write_index_delta(IndexDelta(packs=packs))
        self.stats.bytes_added += self.store.last_delta_size
        self.written_deltas.append(name)
        self._forget_pending(packs)
        return name

    async def maybe_flush_index(self) -> None:
        """Bound memory: index the uploaded packs early once they list many blobs."""
        if self._uploaded_entries >= INDEX_FLUSH_ENTRIES:
            packs = self._uploaded
            self._uploaded = {}
            self._uploaded_entries = 0
            name = await self.store.write_index_delta(IndexDelta(packs=packs))
            self.stats.bytes_added += self.store.last_delta_size
            self.written_deltas.append(name)
            self._forget_pending(packs)

    async def abort(self) -> None:
        for task in list(self._uploads):
            task.cancel()
        if self._uploads:
            await asyncio.gather(*list(self._uploads), return_exceptions=True)
        self._packs.clear()
        self._pending.clear()
        self._uploaded.clear()


__all__ = ["BlobSink", "WriterStats"]
