"""Blob reads of the store: locate through the local cache, read, decrypt, verify.

The cache is only a cache (docs/FORMAT.md §7.2): a read that fails through it is retried
after a resync, then once per session with the cache rebuilt from the store's index, before a
blob is reported damaged (:class:`~core.store.errors.BlobDamagedError`, with its id).
:meth:`BlobReads.unusable_blobs` tells a writer which blobs it must not reuse.
:class:`~core.store.repository.Store` has these through the :class:`BlobReads` mixin.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from operator import itemgetter
from typing import cast

from core._gc import collector_paused
from core.store.backends import Backend
from core.store.crypto import BLOB_DATA, BlobLocation, DecryptionError, Keys
from core.store.errors import (
    BlobDamagedError,
    BlobNotFoundError,
    CorruptStoreError,
    ObjectNotFoundError,
    StoreError,
)
from core.store.index import IndexCache, IndexEntry
from core.store.pack import PackEntry

log = logging.getLogger(__name__)

READ_CONCURRENCY = 16
COALESCE_GAP = 64 * 1024
COALESCE_MAX = 8 * 1024 * 1024
# Blobs opened (and, in Store.read_records, records decoded) between two turns given back to
# the event loop: a 10,000-record read was two synchronous stretches of ~0.1 s each, and the
# console's pages and an unchanged backup's API listing waited behind them.
YIELD_EVERY = 512


_ID = itemgetter(0)  # of a BlobLocation (an IndexEntry is one)
_OFFSET = itemgetter(3)


class BlobReads:
    """Blob reads of :class:`~core.store.repository.Store` (a mixin over its parts)."""

    backend: Backend
    keys: Keys
    cache: IndexCache
    _cache_rebuilt: bool
    _rebuild_lock: asyncio.Lock
    # blobs that could not be read intact in this session: a writer writes them afresh
    unreadable: set[bytes]

    async def refresh_index(self) -> int:
        """Load index deltas other processes wrote since the cache was last synced."""
        return await self.cache.sync(self.backend, self.keys)

    async def has_blob(self, blob_id: str) -> bool:
        try:
            return self.cache.has(bytes.fromhex(blob_id))
        except ValueError:
            return False

    async def _locate(self, blob_id: str) -> list[IndexEntry]:
        try:
            bid = bytes.fromhex(blob_id)
        except ValueError:
            raise BlobNotFoundError(blob_id) from None
        entries = self.cache.lookup(bid)
        if not entries:
            await self.refresh_index()
            entries = self.cache.lookup(bid)
        if not entries:
            raise BlobNotFoundError(blob_id)
        return entries

    def decrypt_entry(self, entry: IndexEntry | PackEntry, sealed: bytes, pack_id: str) -> bytes:
        """Decrypt and verify one blob's stored bytes (CorruptStoreError if wrong)."""
        if len(sealed) != entry.length:
            raise CorruptStoreError(
                f"blob {entry.blob_id.hex()[:16]} in pack {pack_id[:16]} is truncated",
                kind="packs",
                name=pack_id,
            )
        try:
            return self.keys.decrypt_blob(entry.blob_type, entry.blob_id, sealed)
        except DecryptionError:
            raise CorruptStoreError(
                f"blob {entry.blob_id.hex()[:16]} in pack {pack_id[:16]} fails authentication",
                kind="packs",
                name=pack_id,
            ) from None

    async def _read_copies(
        self, blob_id: str, entries: list[IndexEntry], expected_type: int | None
    ) -> bytes:
        """The first copy of ``entries`` that reads intact; BlobDamagedError if none does."""
        last: StoreError | None = None
        for entry in entries:
            if expected_type is not None and entry.blob_type != expected_type:
                continue
            try:
                sealed = await self.backend.get("packs", entry.pack_hex, entry.offset, entry.length)
                return self.decrypt_entry(entry, sealed, entry.pack_hex)
            except ObjectNotFoundError:
                last = BlobDamagedError(
                    blob_id,
                    f"pack {entry.pack_hex[:16]} holding blob {blob_id[:16]} is missing",
                    pack_id=entry.pack_hex,
                )
            except CorruptStoreError as err:
                last = BlobDamagedError(blob_id, err.message, pack_id=entry.pack_hex)
        if last is None:
            raise BlobNotFoundError(blob_id)
        raise last

    async def read_blob(self, blob_id: str, expected_type: int | None = None) -> bytes:
        """Read, decrypt and verify one blob; tries every copy the index knows of.

        A read that fails through the local cache is retried against the store's index: first
        with the deltas written since the last sync (a prune elsewhere may have moved the
        blob), then, once per session, with the cache rebuilt from the store's index (the
        cache is only a cache: a wrong entry in it must not make a blob unreadable).
        """
        try:
            return await self._read_blob(blob_id, expected_type)
        except BlobDamagedError:
            self.unreadable.add(bytes.fromhex(blob_id))
            raise

    async def _read_blob(self, blob_id: str, expected_type: int | None) -> bytes:
        entries = await self._locate(blob_id)
        try:
            return await self._read_copies(blob_id, entries, expected_type)
        except BlobDamagedError as err:
            first = err
        await self.refresh_index()
        fresh = self.cache.lookup(bytes.fromhex(blob_id))
        if fresh and fresh != entries:
            try:
                return await self._read_copies(blob_id, fresh, expected_type)
            except BlobDamagedError as err:
                first = err
        if await self._rebuild_cache_once():
            rebuilt = self.cache.lookup(bytes.fromhex(blob_id))
            if rebuilt:
                return await self._read_copies(blob_id, rebuilt, expected_type)
            raise BlobNotFoundError(blob_id)
        raise first

    async def _rebuild_cache_once(self) -> bool:
        """Rebuild the local cache from the store's index, at most once per session."""
        async with self._rebuild_lock:
            if self._cache_rebuilt:
                return False
            self._cache_rebuilt = True
            log.warning("a read failed through the local index cache; rebuilding the cache")
            self.cache.reset()
            await self.refresh_index()
            return True

    async def unusable_blobs(self, blob_ids: Iterable[str], *, read: bool = False) -> set[str]:
        """The blobs of ``blob_ids`` that a writer must not reuse: not in the index, every
        copy's pack missing, or (``read``) no copy that decrypts and verifies.

        Cheap enough for every backup rescan: one index lookup, one listing of the packs
        (each pack's existence is known once), and with ``read`` the blobs are read in
        coalesced ranges per pack.
        """
        ids = list(dict.fromkeys(blob_ids))
        bad: set[str] = set()
        try:
            raw = dict(zip(ids, map(bytes.fromhex, ids), strict=True))  # in C (a backup: 30,000)
        except ValueError:
            raw = {}
            for bid in ids:
                try:
                    raw[bid] = bytes.fromhex(bid)
                except ValueError:
                    bad.add(bid)
        unindexed = set(self.cache.unknown(raw.values()))
        if unindexed:  # perhaps written since the cache was synced
            await self.refresh_index()
            unindexed = set(self.cache.unknown(unindexed))
        listed = {o.name for o in await self.backend.list("packs")}
        # A blob is lost when each of its copies is in a pack that is gone: only the blobs of
        # gone packs need their copies looked up (usually none: every indexed pack is there).
        gone = [p for p in self.cache.packs() if p.hex() not in listed]
        in_gone = self.cache.ids_in_packs(gone) & set(raw.values()) if gone else set()
        located = self.cache.lookup_many(sorted(in_gone)) if in_gone else {}
        if not unindexed and not in_gone:
            usable = list(raw)  # the usual case: every blob indexed, every pack there
        else:
            usable = []
            for bid, r in raw.items():
                if r in unindexed or (
                    r in in_gone and not any(e.pack_hex in listed for e in located.get(r, ()))
                ):
                    bad.add(bid)
                else:
                    usable.append(bid)
        if read:
            for i in range(0, len(usable), 512):
                batch = usable[i : i + 512]
                try:
                    await self.read_blobs(batch)
                    continue
                except CorruptStoreError:
                    pass
                for bid in batch:  # one failed: find which
                    try:
                        await self.read_blob(bid)
                    except CorruptStoreError:
                        bad.add(bid)
        return bad

    async def read_payload(self, blob_id: str) -> bytes:
        """A version's data, decrypted and verified."""
        return await self.read_blob(blob_id, BLOB_DATA)

    async def read_payloads(self, blob_ids: Sequence[str]) -> dict[str, bytes]:
        """Many versions' data at once, decrypted and verified (:meth:`read_blobs`: a restore
        reads its payloads a window ahead with it)."""
        return await self.read_blobs(blob_ids, BLOB_DATA)

    async def read_blobs(
        self, blob_ids: Iterable[str], expected_type: int | None = None
    ) -> dict[str, bytes]:
        """Many blobs at once: grouped by pack, neighbouring ranges read in one request."""
        raw_ids: dict[str, bytes] = {}
        for bid in blob_ids:
            if bid not in raw_ids:
                try:
                    raw_ids[bid] = bytes.fromhex(bid)
                except ValueError:
                    raise BlobNotFoundError(bid) from None
        got = await self.read_blobs_raw(list(raw_ids.values()), expected_type)
        return {bid: got[raw] for bid, raw in raw_ids.items()}

    async def read_blobs_raw(
        self,
        blob_ids: Sequence[bytes],
        expected_type: int | None = None,
        *,
        verify_ids: bool = True,
    ) -> dict[bytes, bytes]:
        """:meth:`read_blobs` by raw (32-byte) ids: the snapshot read's path, without a hex
        conversion each way. One index query for all of them, each pack's needed span read
        once (neighbouring ranges coalesced), every blob of a span opened in one batch
        (:meth:`~core.store.crypto.Keys.open_blobs`); a blob that does not read there goes
        through :meth:`read_blob` (the other copies, the resync and the cache rebuild).
        ``verify_ids=False``: see :meth:`~core.store.crypto.Keys.open_blobs` (the bulk record
        reads; a blob that fails is read again by read_blob, which verifies everything)."""
        wanted = list(dict.fromkeys(blob_ids))
        with collector_paused():
            located = self.cache.locate_many(wanted, expected_type)
        if len(located) < len(wanted):
            for raw in wanted:
                if raw not in located:  # perhaps written since the cache was synced
                    copies = await self._locate(raw.hex())
                    if len(copies) > 1 and expected_type is not None:
                        copies = [e for e in copies if e.blob_type == expected_type] or copies
                    located[raw] = copies[0]
        by_pack: dict[bytes, list[BlobLocation]] = {}
        for loc in located.values():
            found = by_pack.get(loc[2])
            if found is None:
                by_pack[loc[2]] = [loc]
            else:
                found.append(loc)
        out: dict[bytes, bytes] = {}
        sem = asyncio.Semaphore(READ_CONCURRENCY)

        async def read_run(pack_id: bytes, run: list[BlobLocation], start: int, end: int) -> None:
            pack_hex = pack_id.hex()
            async with sem:
                try:
                    data = await self.backend.get("packs", pack_hex, start, end - start)
                except ObjectNotFoundError:
                    data = None
            if data is None:
                failed = run
            else:  # a slice at a time, the loop given a turn between them
                failed = []
                for i in range(0, len(run), YIELD_EVERY):
                    if i:
                        await asyncio.sleep(0)
                    part = run[i : i + YIELD_EVERY]
                    failed += self._decrypt_run(part, data, start, verify_ids, out)
            for e in failed:
                out[e[0]] = await self.read_blob(e[0].hex(), expected_type)

        tasks = []
        for pack_id, entries in by_pack.items():
            entries.sort(key=_OFFSET)
            run: list[BlobLocation] = []
            start = end = 0
            for e in entries:
                offset = e[3]
                stop = offset + e[4]
                if run and (offset - end > COALESCE_GAP or stop - start > COALESCE_MAX):
                    tasks.append(read_run(pack_id, run, start, end))
                    run = []
                if not run:
                    start = end = offset
                run.append(e)
                if stop > end:
                    end = stop
            if run:
                tasks.append(read_run(pack_id, run, start, end))
        await asyncio.gather(*tasks)
        return out

    def _decrypt_run(
        self,
        run: list[BlobLocation],
        data: bytes,
        start: int,
        verify_ids: bool,
        out: dict[bytes, bytes],
    ) -> list[BlobLocation]:
        """Open the blobs of one read pack region into ``out`` (plaintexts by raw id); the
        entries that failed (another copy may be intact, and read_blob says why not)."""
        with collector_paused():
            opened = self.keys.open_blobs(data, start, run, verify_ids=verify_ids)
        if None not in opened:
            out.update(zip(map(_ID, run), cast(list[bytes], opened), strict=True))
            return []
        failed: list[BlobLocation] = []
        for e, plain in zip(run, opened, strict=True):
            if plain is None:
                failed.append(e)
            else:
                out[e[0]] = plain
        return failed

    async def iter_payloads(
        self, blob_ids: Iterable[str], *, batch: int = 512
    ) -> AsyncIterator[tuple[str, bytes]]:
        """Stream many payloads without holding them all in memory."""
        ids = list(dict.fromkeys(blob_ids))
        for i in range(0, len(ids), batch):
            got = await self.read_blobs(ids[i : i + batch], BLOB_DATA)
            for bid in ids[i : i + batch]:
                yield bid, got[bid]


__all__ = ["COALESCE_GAP", "COALESCE_MAX", "READ_CONCURRENCY", "YIELD_EVERY", "BlobReads"]
