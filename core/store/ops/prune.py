"""``prune``: free the space of blobs no snapshot uses, repack sparse packs, compact the index.

Under the store's **exclusive** lock (so no writer is live; a live writer makes prune wait up
to ``lock_wait`` seconds, then fail with ``StoreLockedError``):

1. Build the store's blob map from the live index deltas, then read the own index of every
   pack that no delta names (leftovers of an interrupted write, or packs whose delta is
   damaged): their blobs are candidates too, so a damaged delta is repaired, not a loss.
2. Walk every snapshot (tree, records) to find the blobs in use. Any snapshot, tree or record
   that cannot be read, or a used blob that is nowhere, stops prune before it changes anything
   (it cannot know what that snapshot needs): run ``check`` first.
3. Plan per pack: a pack with no used blob is deleted; a pack whose used bytes are below
   ``repack_below`` of its size is repacked (its used blobs, verified, are copied into new
   packs); many small packs are merged; other packs are kept. One copy of each used blob is
   kept (duplicates from racing writers go).
4. Write the new packs, then **one** compacted index delta that lists every kept blob and
   supersedes every existing delta (durable before anything is deleted), then delete the old
   deltas, then the packs that were emptied or repacked.

A crash at any point leaves a readable store: until the compacted delta is written nothing is
deleted and new packs are unreferenced; after it, the old deltas are ignored even if present.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.store.crypto import BLOB_RECORD, BLOB_TREE, METADATA_TYPES
from core.store.errors import (
    CorruptStoreError,
    ObjectExistsError,
    ObjectNotFoundError,
    StoreError,
    StoreSpaceError,
)
from core.store.index import IndexDelta, IndexEntry, open_delta
from core.store.model import SecretRecord
from core.store.pack import PackBuilder, PackEntry
from core.store.tree import TreeNodeError, collect_tree_blobs

if TYPE_CHECKING:
    from core.store.locks import LockHandle
    from core.store.repository import Store

DEFAULT_REPACK_BELOW = 0.6  # repack a pack when less than 60 % of its bytes are in use
SMALL_PACK_FRACTION = 0.25  # a pack below a quarter of the target size is "small"
SMALL_PACKS_TOLERATED = 16  # merge small packs (of one kind) once there are more than this
READ_CONCURRENCY = 8
COALESCE_GAP = 64 * 1024
TEMPORARY_FILE_AGE = 60.0  # seconds (prune holds the exclusive lock: no write is live)
SPACE_MARGIN = 64 * 1024  # bytes kept free beyond what prune computes it writes


class PruneRefused(CorruptStoreError):
    """Prune cannot tell what some snapshot needs: it changes nothing."""

    def __init__(self, message: str, *, kind: str | None = None, name: str | None = None) -> None:
        super().__init__(message, kind=kind, name=name)
        self.hint = (
            "check the store, reading all data, to see the damage; forget the damaged "
            "snapshot(s) if they cannot be repaired, then prune again"
        )
        self.details = {"then": "forget_damaged_and_prune", "case": "prune_refused"}


@dataclass(slots=True)
class PruneReport:
    dry_run: bool = False
    snapshots: int = 0
    blobs_total: int = 0
    blobs_used: int = 0
    blobs_removed: int = 0  # unused blobs dropped (including duplicate copies)
    duplicates_removed: int = 0
    packs_before: int = 0
    packs_after: int = 0
    packs_removed: int = 0  # packs with no used blob
    packs_repacked: int = 0  # packs rewritten (sparse or small)
    packs_written: int = 0
    packs_reindexed: int = 0  # packs no delta named, whose used blobs were kept
    leftover_packs: int = 0  # packs no delta named and no snapshot uses
    index_deltas_before: int = 0
    index_deltas_after: int = 0
    bytes_before: int = 0  # packs + index deltas
    bytes_after: int = 0
    bytes_written: int = 0
    removed_pack_ids: list[str] = field(default_factory=list)
    repacked_pack_ids: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return self.bytes_before - self.bytes_after

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "snapshots": self.snapshots,
            "blobs_total": self.blobs_total,
            "blobs_used": self.blobs_used,
            "blobs_removed": self.blobs_removed,
            "duplicates_removed": self.duplicates_removed,
            "packs_before": self.packs_before,
            "packs_after": self.packs_after,
            "packs_removed": self.packs_removed,
            "packs_repacked": self.packs_repacked,
            "packs_written": self.packs_written,
            "packs_reindexed": self.packs_reindexed,
            "leftover_packs": self.leftover_packs,
            "index_deltas_before": self.index_deltas_before,
            "index_deltas_after": self.index_deltas_after,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "bytes_written": self.bytes_written,
            "bytes_freed": self.bytes_freed,
        }

    def lines(self) -> list[str]:
        verb = "would remove" if self.dry_run else "removed"
        return [
            f"{self.snapshots} snapshot(s) use {self.blobs_used} of {self.blobs_total} blob(s)",
            f"{verb} {self.blobs_removed} unused blob(s)"
            + (f" ({self.duplicates_removed} duplicate copies)" if self.duplicates_removed else ""),
            f"packs: {self.packs_before} before, {self.packs_after} after; "
            f"{self.packs_removed} removed, {self.packs_repacked} repacked into "
            f"{self.packs_written} new"
            + (
                f", {self.leftover_packs} leftover(s) of interrupted writes"
                if self.leftover_packs
                else ""
            )
            + (f", {self.packs_reindexed} re-indexed" if self.packs_reindexed else ""),
            f"index: {self.index_deltas_before} delta(s) compacted into {self.index_deltas_after}",
            f"{'would free' if self.dry_run else 'freed'} {_human(self.bytes_freed)} "
            f"({_human(self.bytes_before)} -> {_human(self.bytes_after)})",
        ]


def _human(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


@dataclass(slots=True)
class _Location:
    pack: str
    entry: PackEntry


class _Plan:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.backend = store.backend
        self.keys = store.keys
        self.sem = asyncio.Semaphore(READ_CONCURRENCY)
        self.locations: dict[bytes, list[_Location]] = {}
        self.pack_sizes: dict[str, int] = {}
        self.pack_entries: dict[str, list[PackEntry]] = {}  # every entry known per pack
        self._offsets: dict[str, set[int]] = {}
        self.delta_names: dict[str, int] = {}  # name -> size (every delta object)
        self.indexed_packs: set[str] = set()
        self.used: set[bytes] = set()

    # ------------------------------------------------------------------ the blob map

    async def load(self) -> None:
        for info in await self.backend.list("packs"):
            self.pack_sizes[info.name] = info.size
        deltas: dict[str, IndexDelta] = {}

        async def load_delta(name: str) -> None:
            try:
                async with self.sem:
                    raw = await self.backend.get("index", name)
                deltas[name] = open_delta(self.keys, name, raw)
            except (CorruptStoreError, ObjectNotFoundError):
                pass  # a damaged delta: its packs are re-read from their own indexes

        infos = await self.backend.list("index")
        self.delta_names = {i.name: i.size for i in infos}
        await asyncio.gather(*(load_delta(i.name) for i in infos))
        superseded = {s.hex() for d in deltas.values() for s in d.supersedes}
        for name, delta in deltas.items():
            if name in superseded:
                continue
            for pack_id, entries in delta.packs.items():
                pack = pack_id.hex()
                if pack not in self.pack_sizes:
                    continue  # the pack is gone: its blobs must be found elsewhere
                self.indexed_packs.add(pack)
                for e in entries:
                    self._add(pack, e)
        unindexed = [p for p in self.pack_sizes if p not in self.indexed_packs]

        async def load_pack(pack: str) -> None:
            try:
                async with self.sem:
                    entries = await self.store.read_pack_index(pack, self.pack_sizes[pack])
            except (CorruptStoreError, ObjectNotFoundError):
                return  # an unreadable leftover: nothing in it can be trusted or located
            for e in entries:
                self._add(pack, e)

        await asyncio.gather(*(load_pack(p) for p in unindexed))

    def _add(self, pack: str, entry: PackEntry) -> None:
        offsets = self._offsets.setdefault(pack, set())
        if entry.offset in offsets:
            return  # the same copy, named by two deltas
        offsets.add(entry.offset)
        self.pack_entries.setdefault(pack, []).append(entry)
        self.locations.setdefault(entry.blob_id, []).append(_Location(pack, entry))

    # ------------------------------------------------------------------ reading through the map

    async def read_many(self, ids: Iterable[bytes], blob_type: int) -> dict[bytes, bytes]:
        wanted = list(dict.fromkeys(ids))
        by_pack: dict[str, list[_Location]] = {}
        for bid in wanted:
            locs = [loc for loc in self.locations.get(bid, []) if loc.entry.blob_type == blob_type]
            if not locs:
                raise PruneRefused(
                    f"blob {bid.hex()[:16]} that a snapshot uses is in no pack",
                    kind="blob",
                    name=bid.hex(),
                )
            by_pack.setdefault(locs[0].pack, []).append(locs[0])
        out: dict[bytes, bytes] = {}

        async def run(pack: str, group: list[_Location]) -> None:
            start = group[0].entry.offset
            end = max(loc.entry.offset + loc.entry.length for loc in group)
            try:
                async with self.sem:
                    data: bytes | None = await self.backend.get("packs", pack, start, end - start)
            except ObjectNotFoundError:
                data = None
            for loc in group:
                e = loc.entry
                try:
                    if data is None:
                        raise CorruptStoreError("pack vanished")
                    piece = data[e.offset - start : e.offset - start + e.length]
                    out[e.blob_id] = self.store.decrypt_entry(e, piece, pack)
                except CorruptStoreError:
                    out[e.blob_id] = await self.read_one(e.blob_id, blob_type, skip=pack)

        tasks = []
        for pack, locs in by_pack.items():
            locs.sort(key=lambda loc: loc.entry.offset)
            group: list[_Location] = []
            for loc in locs:
                if (
                    group
                    and loc.entry.offset - (group[-1].entry.offset + group[-1].entry.length)
                    > COALESCE_GAP
                ):
                    tasks.append(run(pack, group))
                    group = []
                group.append(loc)
            if group:
                tasks.append(run(pack, group))
        await asyncio.gather(*tasks)
        return out

    async def read_one(self, bid: bytes, blob_type: int, *, skip: str | None = None) -> bytes:
        for loc in self.locations.get(bid, []):
            if loc.pack == skip or loc.entry.blob_type != blob_type:
                continue
            try:
                async with self.sem:
                    sealed = await self.backend.get(
                        "packs", loc.pack, loc.entry.offset, loc.entry.length
                    )
                return bytes(self.store.decrypt_entry(loc.entry, sealed, loc.pack))
            except (CorruptStoreError, ObjectNotFoundError):
                continue
        raise PruneRefused(
            f"blob {bid.hex()[:16]} that a snapshot uses cannot be read intact",
            kind="blob",
            name=bid.hex(),
        )

    # ------------------------------------------------------------------ what is used

    async def find_used(self, report: PruneReport) -> None:
        headers = await self.store.list_snapshots()
        damaged = dict(getattr(self.store, "damaged_snapshots", {}) or {})
        if damaged:
            name = sorted(damaged)[0]
            raise PruneRefused(
                f"snapshot {name[:16]} is damaged: prune cannot tell which data it uses",
                kind="snapshots",
                name=name,
            )
        report.snapshots = len(headers)

        async def read_trees(ids: list[str]) -> dict[str, bytes]:
            got = await self.read_many((bytes.fromhex(i) for i in ids), BLOB_TREE)
            return {k.hex(): v for k, v in got.items()}

        try:
            nodes, record_hex = await collect_tree_blobs([h.tree for h in headers], read_trees)
        except TreeNodeError as err:
            raise PruneRefused(
                f"tree {err.node_id[:16]} is malformed", kind="blob", name=err.node_id
            ) from None
        self.used |= {bytes.fromhex(n) for n in nodes}
        records: set[bytes] = {bytes.fromhex(r) for r in record_hex}
        self.used |= records
        ordered = sorted(records)
        for i in range(0, len(ordered), 2000):
            got = await self.read_many(ordered[i : i + 2000], BLOB_RECORD)
            for rid, raw in got.items():
                try:
                    record = SecretRecord.from_bytes(raw)
                except (ValueError, KeyError, TypeError):
                    raise PruneRefused(
                        f"secret record {rid.hex()[:16]} is malformed", kind="blob", name=rid.hex()
                    ) from None
                for pid in record.payload_ids():
                    self.used.add(bytes.fromhex(pid))
        missing = [b for b in self.used if b not in self.locations]
        if missing:
            raise PruneRefused(
                f"{len(missing)} blob(s) that snapshots use are in no pack (e.g. "
                f"{missing[0].hex()[:16]})",
                kind="blob",
                name=missing[0].hex(),
            )


async def prune(
    store: Store,
    *,
    dry_run: bool = False,
    repack_below: float = DEFAULT_REPACK_BELOW,
    merge_small: bool = True,
    lock_wait: float = 0.0,
) -> PruneReport:
    """Prune ``store`` (see the module docstring). Returns what was (or would be) done."""
    if not 0.0 <= repack_below <= 1.0:
        raise ValueError("repack_below is a fraction between 0 and 1")
    handle = await store.lock(exclusive=not dry_run, wait=lock_wait, purpose="prune")
    try:
        if not dry_run:
            # under the exclusive lock no write is live: leftovers of a minute are garbage
            await store.backend.clean_temporary_files(TEMPORARY_FILE_AGE)
        report = PruneReport(dry_run=dry_run)
        plan = _Plan(store)
        await plan.load()
        await plan.find_used(report)
        if not dry_run:
            await handle.confirm()
        return await _execute(store, plan, report, repack_below, merge_small, handle)
    finally:
        await handle.release()


async def _execute(
    store: Store,
    plan: _Plan,
    report: PruneReport,
    repack_below: float,
    merge_small: bool,
    handle: LockHandle,
) -> PruneReport:
    pack_size_target = int(store.config.pack_size)
    report.packs_before = len(plan.pack_sizes)
    report.index_deltas_before = len(plan.delta_names)
    report.bytes_before = sum(plan.pack_sizes.values()) + sum(plan.delta_names.values())
    report.blobs_total = len(plan.locations)
    report.blobs_used = len(plan.used)

    # used bytes per pack, counting every copy: the best-used pack keeps a blob's copy
    used_bytes: dict[str, int] = dict.fromkeys(plan.pack_sizes, 0)
    for bid in plan.used:
        for loc in plan.locations[bid]:
            used_bytes[loc.pack] += loc.entry.length
    chosen: dict[bytes, _Location] = {}
    for bid in plan.used:
        locs = plan.locations[bid]
        chosen[bid] = max(
            locs,
            key=lambda loc: (used_bytes[loc.pack] / max(plan.pack_sizes[loc.pack], 1), loc.pack),
        )
    kept_bytes: dict[str, int] = dict.fromkeys(plan.pack_sizes, 0)
    for loc in chosen.values():
        kept_bytes[loc.pack] += loc.entry.length
    report.duplicates_removed = sum(len(plan.locations[b]) - 1 for b in plan.used)
    report.blobs_removed = sum(len(v) for v in plan.locations.values()) - len(plan.used)

    remove: list[str] = []
    repack: list[str] = []
    keep: list[str] = []
    for pack, size in sorted(plan.pack_sizes.items()):
        if kept_bytes[pack] == 0:
            remove.append(pack)
            if pack not in plan.indexed_packs:
                report.leftover_packs += 1
        elif kept_bytes[pack] < repack_below * size:
            repack.append(pack)
        else:
            keep.append(pack)
    if merge_small:
        for metadata in (False, True):
            small = [
                p
                for p in keep
                if plan.pack_sizes[p] < pack_size_target * SMALL_PACK_FRACTION
                and _is_metadata(plan, p) == metadata
            ]
            if len(small) > SMALL_PACKS_TOLERATED:
                for p in small:
                    keep.remove(p)
                    repack.append(p)
    report.packs_reindexed = sum(1 for p in keep + repack if p not in plan.indexed_packs)
    report.packs_removed = len(remove)
    report.packs_repacked = len(repack)
    report.removed_pack_ids = remove
    report.repacked_pack_ids = sorted(repack)

    repack_set = set(repack)
    to_move = [loc for loc in chosen.values() if loc.pack in repack_set]
    moved_bytes = sum(loc.entry.length for loc in to_move)
    estimated_new_packs = _estimate_packs(to_move, pack_size_target)
    needs_index = (
        bool(remove or repack) or report.index_deltas_before != 1 or report.packs_reindexed
    )
    if report.dry_run:
        report.packs_written = estimated_new_packs
        report.packs_after = len(keep) + estimated_new_packs
        report.index_deltas_after = 1 if chosen and needs_index else report.index_deltas_before
        index_estimate = (
            40 + 64 + len(chosen) * 45 if needs_index else sum(plan.delta_names.values())
        )
        report.bytes_after = (
            sum(plan.pack_sizes[p] for p in keep)
            + moved_bytes
            + estimated_new_packs * 120
            + (index_estimate if chosen else 0)
        )
        report.bytes_written = moved_bytes if repack else 0
        return report
    if not needs_index:
        report.packs_after = len(keep)
        report.index_deltas_after = report.index_deltas_before
        report.bytes_after = report.bytes_before
        return report

    # 0. short of space for the new packs and the index: free the unused packs first
    remove = await _make_room(store, plan, report, handle, chosen, remove, to_move, moved_bytes)

    # 1. new packs with the used blobs of the repacked packs (each verified first)
    new_entries: list[IndexEntry] = []
    builders: dict[bool, PackBuilder] = {}
    written: list[str] = []

    async def seal(metadata: bool) -> None:
        builder = builders.pop(metadata, None)
        if builder is None or not len(builder):
            return
        pack_id, data, entries = builder.finish()
        try:
            await store.backend.put("packs", pack_id, data, create_only=True)
        except ObjectExistsError:
            pass
        written.append(pack_id)
        report.bytes_written += len(data)
        pid = bytes.fromhex(pack_id)
        new_entries.extend(
            IndexEntry(e.blob_id, e.blob_type, pid, e.offset, e.length, e.raw_length)
            for e in entries
        )

    by_pack: dict[str, list[_Location]] = {}
    for loc in to_move:
        by_pack.setdefault(loc.pack, []).append(loc)
    for pack in sorted(by_pack):
        locs = sorted(by_pack[pack], key=lambda loc: loc.entry.offset)
        data = await store.backend.get("packs", pack)
        for loc in locs:
            e = loc.entry
            sealed = data[e.offset : e.offset + e.length]
            try:
                store.decrypt_entry(e, sealed, pack)
            except CorruptStoreError:
                # another intact copy will do; it is read (and verified) instead
                plain = await plan.read_one(e.blob_id, e.blob_type, skip=pack)
                sealed = store.keys.encrypt_blob(e.blob_type, e.blob_id, plain)
            metadata = e.blob_type in METADATA_TYPES
            builder = builders.get(metadata)
            if builder is None:
                builder = builders[metadata] = PackBuilder(store.keys, metadata=metadata)
            builder.add_sealed(e.blob_type, e.blob_id, sealed, e.raw_length)
            if builder.size >= pack_size_target:
                await seal(metadata)
        handle.check()
    for metadata in (False, True):
        await seal(metadata)
    report.packs_written = len(written)

    # 2. one compacted index delta (durable) superseding every delta there is
    moved = {loc.entry.blob_id for loc in to_move}
    kept_entries = [
        IndexEntry(
            loc.entry.blob_id,
            loc.entry.blob_type,
            bytes.fromhex(loc.pack),
            loc.entry.offset,
            loc.entry.length,
            loc.entry.raw_length,
        )
        for bid, loc in chosen.items()
        if bid not in moved
    ]
    await handle.confirm()
    old_deltas = sorted(plan.delta_names)
    if kept_entries or new_entries:
        await store.write_index(kept_entries + new_entries, supersedes=old_deltas)
        report.bytes_written += int(getattr(store, "last_delta_size", 0))

    # 3. only now delete: the old deltas, then the emptied and repacked packs (the lock is
    # confirmed first: a prune whose lock was taken away deletes nothing)
    await handle.confirm()
    for name in old_deltas:
        try:
            await store.backend.delete("index", name)
        except StoreError:
            pass  # superseded anyway; a later prune retries
    for pack in remove + repack:
        try:
            await store.backend.delete("packs", pack)
        except StoreError:
            pass  # unreferenced now; a later prune retries
    store.cache.remove_packs(bytes.fromhex(p) for p in remove + repack)
    await store.refresh_index()

    report.packs_after = len(keep) + len(written)
    report.index_deltas_after = 1 if (kept_entries or new_entries) else 0
    report.bytes_after = sum(plan.pack_sizes[p] for p in keep) + report.bytes_written
    return report


def _index_estimate(entries: int) -> int:
    return 40 + 64 + entries * 45


async def _make_room(
    store: Store,
    plan: _Plan,
    report: PruneReport,
    handle: LockHandle,
    chosen: dict[bytes, _Location],
    remove: list[str],
    to_move: list[_Location],
    moved_bytes: int,
) -> list[str]:
    """When the backend says it has less room than prune will write, delete the packs no
    snapshot uses first (after an index without them is durable), then check again; still
    short, raise StoreSpaceError with the exact number of bytes needed. Returns the packs
    still to remove."""
    free = await store.backend.free_space()
    need = (
        moved_bytes
        + _estimate_packs(to_move, int(store.config.pack_size)) * 120
        + _index_estimate(len(chosen))
        + SPACE_MARGIN
    )
    if free is None or free >= need:
        return remove
    freed = 0
    if remove:
        entries = [
            IndexEntry(
                loc.entry.blob_id,
                loc.entry.blob_type,
                bytes.fromhex(loc.pack),
                loc.entry.offset,
                loc.entry.length,
                loc.entry.raw_length,
            )
            for loc in chosen.values()
        ]
        old = sorted(plan.delta_names)
        await handle.confirm()
        name = await store.write_index(entries, supersedes=old)
        await handle.confirm()
        for delta in old:
            with contextlib.suppress(StoreError):
                await store.backend.delete("index", delta)
        for pack in remove:
            with contextlib.suppress(StoreError):
                await store.backend.delete("packs", pack)
            freed += plan.pack_sizes.pop(pack)
        store.cache.remove_packs(bytes.fromhex(p) for p in remove)
        plan.delta_names = {name: int(getattr(store, "last_delta_size", 0))}
        free = await store.backend.free_space()
        if free is None or free >= need:
            return []
    raise StoreSpaceError(
        f"prune needs {need} bytes free on the store's disk to write its new packs and index; "
        f"{free} are free"
        + (f" after removing {len(remove)} unused pack(s) ({freed} bytes)" if remove else ""),
        hint="free space on the disk that holds the store, or prune without repacking, then retry",
        details={"needed_bytes": str(need), "free_bytes": str(free), "freed_bytes": str(freed)},
    )


def _is_metadata(plan: _Plan, pack: str) -> bool:
    entries = plan.pack_entries.get(pack) or []
    return any(e.blob_type in METADATA_TYPES for e in entries)


def _estimate_packs(locs: list[_Location], target: int) -> int:
    sizes = {False: 0, True: 0}
    for loc in locs:
        sizes[loc.entry.blob_type in METADATA_TYPES] += loc.entry.length
    return sum(-(-size // target) for size in sizes.values() if size)


__all__ = ["DEFAULT_REPACK_BELOW", "PruneRefused", "PruneReport", "prune"]
