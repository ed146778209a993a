"""The store's maintenance primitives: packs, index deltas, sizes, and what snapshots use.

What ``check``, ``prune`` and ``store stats`` need beyond reading snapshots: list and read
whole packs and their own indexes, verify any object, read, write and delete index deltas,
delete packs, rebuild the local cache, and the set of blobs the snapshots reference.
:class:`~core.store.repository.Store` has them through :class:`Maintenance`; the mixin only
relies on the parts of the store that :class:`StoreParts` names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from core._imports import lazy_names
from core.store import envelope
from core.store.backends import Backend, ObjectInfo
from core.store.crypto import BLOB_DATA, BLOB_RECORD, Keys
from core.store.errors import CorruptStoreError
from core.store.index import IndexCache, IndexDelta, IndexEntry, open_delta
from core.store.model import SecretRecord, SnapshotHeader
from core.store.pack import TRAILER_SIZE, PackEntry, index_region, parse_index_tail, parse_pack
from core.store.tree import TreeWalk

if TYPE_CHECKING:
    from core.store.stats import IndexStats, PackInfo, StoreStats


class StoreParts(Protocol):
    """What the maintenance primitives use of an open store."""

    backend: Backend
    keys: Keys
    cache: IndexCache

    async def refresh_index(self) -> int: ...

    async def list_snapshots(self) -> list[SnapshotHeader]: ...

    async def read_tree_ids(self, snapshot: str | SnapshotHeader) -> list[str]: ...

    async def read_tree_walk(self, snapshot: str | SnapshotHeader) -> TreeWalk: ...

    async def read_blobs(
        self, blob_ids: Iterable[str], expected_type: int | None = None
    ) -> dict[str, bytes]: ...

    def open_snapshot(self, name: str, data: bytes) -> SnapshotHeader: ...


class Maintenance:
    """Maintenance primitives of :class:`~core.store.repository.Store` (a mixin)."""

    __slots__ = ()

    async def list_packs(self: StoreParts) -> list[PackInfo]:
        from core.store.stats import PackInfo

        return [PackInfo(o.name, o.size) for o in await self.backend.list("packs")]

    async def read_pack_index(
        self: StoreParts, pack_id: str, size: int | None = None
    ) -> list[PackEntry]:
        """The entries of one pack, from its own (encrypted) index at the end of the pack."""
        if size is None:
            size = await self.backend.stat("packs", pack_id)
        if size < envelope.HEADER_SIZE + TRAILER_SIZE:
            raise CorruptStoreError(f"pack {pack_id[:16]} is truncated", kind="packs", name=pack_id)
        # read a generous tail first: most pack indexes fit
        guess = min(size, 64 * 1024)
        tail = await self.backend.get("packs", pack_id, size - guess, guess)
        if len(tail) != guess:
            raise CorruptStoreError(f"pack {pack_id[:16]} is truncated", kind="packs", name=pack_id)
        start = index_region(size, tail)
        if start < envelope.HEADER_SIZE:
            raise CorruptStoreError(
                f"pack {pack_id[:16]} has a bad index length", kind="packs", name=pack_id
            )
        if start < size - guess:
            tail = await self.backend.get("packs", pack_id, start, size - start)
        return parse_index_tail(self.keys, tail, pack_id)

    async def read_pack(self: StoreParts, pack_id: str) -> tuple[bytes, list[PackEntry]]:
        """A whole pack, checked (MAC, name, index); CorruptStoreError if anything is wrong."""
        data = await self.backend.get("packs", pack_id)
        return data, parse_pack(self.keys, data, pack_id)

    async def verify_object(self: StoreParts, kind: str, name: str) -> None:
        """Check one object's header and MAC (and that content-named objects match their name)."""
        data = await self.backend.get(kind, name)
        k = envelope.KIND_BY_NAME[kind]
        mac = envelope.verify_mac(self.keys, data, k, name)
        if kind in ("packs", "index") and mac.hex() != name:
            raise CorruptStoreError(
                f"{kind} object {name[:16]} does not match its name", kind=kind, name=name
            )
        if kind == "index":
            open_delta(self.keys, name, data)
        elif kind == "snapshots":
            self.open_snapshot(name, data)
        elif kind == "packs":
            parse_pack(self.keys, data, name)

    async def stats(self: StoreParts) -> StoreStats:
        """Counts and sizes, from listings and the index cache (no pack is read)."""
        from core.store.stats import StoreStats

        await self.refresh_index()
        packs, deltas, snaps, keys, locks = await asyncio.gather(
            self.backend.list("packs"),
            self.backend.list("index"),
            self.backend.list("snapshots"),
            self.backend.list("keys"),
            self.backend.list("locks"),
        )
        totals = self.cache.totals()
        data = totals.get(BLOB_DATA, (0, 0, 0))
        meta_count = sum(v[0] for k, v in totals.items() if k != BLOB_DATA)
        return StoreStats(
            snapshots=len(snaps),
            packs=len(packs),
            pack_bytes=sum(o.size for o in packs),
            index_deltas=len(deltas),
            index_bytes=sum(o.size for o in deltas),
            snapshot_bytes=sum(o.size for o in snaps),
            blobs=data[0] + meta_count,
            data_blobs=data[0],
            metadata_blobs=meta_count,
            data_bytes=data[2],
            stored_data_bytes=data[1],
            keys=len(keys),
            locks=len(locks),
        )

    def index_entries(self: StoreParts) -> list[IndexEntry]:
        """Every blob location in the (synced) index cache."""
        return list(self.cache.entries())

    def index_stats(self: StoreParts) -> IndexStats:
        from core.store.stats import IndexStats

        return IndexStats(
            blobs=self.cache.blob_count(),
            packs=len(self.cache.packs()),
            deltas=len(self.cache.deltas()),
            damaged_deltas=dict(self.cache.damaged),
        )

    async def list_index_deltas(self: StoreParts) -> list[ObjectInfo]:
        return await self.backend.list("index")

    async def read_index_delta(self: StoreParts, name: str) -> IndexDelta:
        return open_delta(self.keys, name, await self.backend.get("index", name))

    async def delete_index_deltas(self: StoreParts, names: Iterable[str]) -> None:
        for n in names:
            await self.backend.delete("index", n)

    async def delete_packs(self: StoreParts, pack_ids: Iterable[str]) -> None:
        ids = list(pack_ids)
        for p in ids:
            await self.backend.delete("packs", p)
        self.cache.remove_packs(bytes.fromhex(p) for p in ids)

    async def rebuild_cache(self: StoreParts) -> int:
        """Drop the local index cache and reload it from the store."""
        self.cache.reset()
        return await self.refresh_index()

    async def referenced_blobs(
        self: StoreParts, headers: Iterable[SnapshotHeader] | None = None
    ) -> set[str]:
        """Every blob id (tree, records, payloads) the given (default: all) snapshots use."""
        if headers is None:
            headers = await self.list_snapshots()
        used: set[str] = set()
        for h in headers:
            walk = await self.read_tree_walk(h)
            used.update(walk.node_ids)
            ids = walk.record_ids
            new_ids = [i for i in ids if i not in used]
            used.update(ids)
            if new_ids:
                for rec in (await self.read_blobs(new_ids, BLOB_RECORD)).values():
                    used.update(SecretRecord.from_bytes(rec).payload_ids())
        return used


__all__ = ["IndexStats", "Maintenance", "PackInfo", "StoreParts", "StoreStats"]


# The reports' classes, from :mod:`core.store.stats` (imported on first use).
__getattr__ = lazy_names(globals(), "core.store.stats", ("IndexStats", "PackInfo", "StoreStats"))
