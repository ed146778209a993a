"""``repair``: put a damaged store back into a state that ``check --read-data`` accepts.

Three repairs, as restic has them, each under the store's **exclusive** lock (a dry run takes
a shared one and changes nothing), each confirming its lock right before every step that
writes or deletes, and each returning a typed report of what it did:

- :func:`repair_index` rebuilds the index from the packs' own indexes: one compacted delta
  that supersedes every existing delta (damaged ones included). A pack whose own index is
  unreadable keeps the locations the old deltas gave for it (so ``repair packs`` can salvage
  it).
- :func:`repair_packs` copies the intact blobs of damaged packs into new packs, drops the
  damaged packs from the index (one compacted delta), then deletes them. Blobs with no intact
  copy left are reported as lost.
- :func:`repair_snapshots` rewrites every snapshot that references a missing or unreadable
  blob: lost secret records are dropped, lost version data is unlinked from its version, and
  the new snapshot says so (status ``partial``, tag ``repaired``, one error per loss, and a
  description naming the original). Never silently: the report lists every loss. With
  ``forget`` the originals (and snapshot objects that cannot be read at all) are removed.

Order of a full repair: index (if deltas are damaged), packs, snapshots; then a backup reads
what was lost from the source again.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from core.store.crypto import BLOB_RECORD, METADATA_TYPES
from core.store.errors import CorruptStoreError, ObjectExistsError, ObjectNotFoundError, StoreError
from core.store.index import IndexEntry, open_delta
from core.store.model import (
    STATUS_PARTIAL,
    SecretRecord,
    SnapshotError,
    SnapshotHeader,
    VersionRecord,
)
from core.store.pack import PackBuilder, PackEntry, parse_pack

if TYPE_CHECKING:
    from core.store.locks import LockHandle
    from core.store.repository import Store

READ_CONCURRENCY = 8
REPAIRED_TAG = "repaired"

JsonValue = str | int | bool | None | list[str] | list[dict[str, object]] | list[dict[str, str]]


@contextlib.asynccontextmanager
async def _locked(
    store: Store, dry_run: bool, lock_wait: float, purpose: str
) -> AsyncIterator[LockHandle]:
    handle = await store.lock(exclusive=not dry_run, wait=lock_wait, purpose=purpose)
    try:
        yield handle
    finally:
        await handle.release()


@dataclass(slots=True)
class _LiveIndex:
    """The store's index as its live deltas say (read from the backend, not the cache)."""

    names: list[str] = field(default_factory=list)  # every delta object, live or not
    damaged: list[str] = field(default_factory=list)
    entries: list[IndexEntry] = field(default_factory=list)


async def _live_index(store: Store) -> _LiveIndex:
    out = _LiveIndex(names=sorted(o.name for o in await store.backend.list("index")))
    deltas = {}
    for name in out.names:
        try:
            deltas[name] = open_delta(store.keys, name, await store.backend.get("index", name))
        except ObjectNotFoundError:
            continue
        except CorruptStoreError:
            out.damaged.append(name)
    superseded = {s.hex() for d in deltas.values() for s in d.supersedes}
    seen: set[tuple[bytes, bytes, int]] = set()
    for name, delta in deltas.items():
        if name in superseded:
            continue
        for pack_id, entries in delta.packs.items():
            for e in entries:
                key = (e.blob_id, pack_id, e.offset)
                if key not in seen:
                    seen.add(key)
                    out.entries.append(_entry(pack_id, e))
    return out


def _entry(pack_id: bytes, e: PackEntry) -> IndexEntry:
    return IndexEntry(e.blob_id, e.blob_type, pack_id, e.offset, e.length, e.raw_length)


async def _replace_index(
    store: Store, handle: LockHandle, entries: list[IndexEntry], old: Iterable[str]
) -> None:
    """One compacted delta of ``entries`` superseding ``old``, then ``old`` deleted."""
    old = list(old)
    await handle.confirm()
    if entries:
        await store.write_index(entries, supersedes=old)
    await handle.confirm()
    for name in old:
        with contextlib.suppress(StoreError):
            await store.backend.delete("index", name)
    await store.rebuild_cache()


# --------------------------------------------------------------------------- repair index


@dataclass(slots=True)
class RepairIndexReport:
    dry_run: bool = False
    packs: int = 0
    packs_unreadable: list[str] = field(default_factory=list)  # own index unreadable
    blobs_indexed: int = 0
    entries_added: int = 0  # locations the old index lacked
    entries_removed: int = 0  # locations the old index had that no pack confirms
    deltas_before: int = 0
    deltas_damaged: int = 0
    index_rewritten: bool = False

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "dry_run": self.dry_run,
            "packs": self.packs,
            "packs_unreadable": list(self.packs_unreadable),
            "blobs_indexed": self.blobs_indexed,
            "entries_added": self.entries_added,
            "entries_removed": self.entries_removed,
            "deltas_before": self.deltas_before,
            "deltas_damaged": self.deltas_damaged,
            "index_rewritten": self.index_rewritten,
        }

    def lines(self) -> list[str]:
        verb = "would rewrite" if self.dry_run else "rewrote"
        out = [
            f"read the own index of {self.packs - len(self.packs_unreadable)} of "
            f"{self.packs} pack(s): {self.blobs_indexed} blob(s)",
            f"old index: {self.deltas_before} delta(s), {self.deltas_damaged} damaged; "
            f"{self.entries_added} location(s) missing from it, {self.entries_removed} wrong",
        ]
        for p in self.packs_unreadable:
            out.append(
                f"pack {p[:16]}: its own index is unreadable; kept what the old index said "
                "(repair the packs next)"
            )
        out.append(
            f"{verb} the index as one delta" if self.index_rewritten else "the index was right"
        )
        return out


async def repair_index(
    store: Store, *, dry_run: bool = False, lock_wait: float = 0.0
) -> RepairIndexReport:
    """Rebuild the index from the packs (see the module docstring)."""
    report = RepairIndexReport(dry_run=dry_run)
    async with _locked(store, dry_run, lock_wait, "repair-index") as handle:
        packs = await store.list_packs()
        report.packs = len(packs)
        old = await _live_index(store)
        report.deltas_before = len(old.names)
        report.deltas_damaged = len(old.damaged)
        sem = asyncio.Semaphore(READ_CONCURRENCY)
        own: dict[str, list[PackEntry]] = {}

        async def one(pack: str, size: int) -> None:
            try:
                async with sem:
                    own[pack] = await store.read_pack_index(pack, size)
            except (CorruptStoreError, ObjectNotFoundError):
                report.packs_unreadable.append(pack)

        await asyncio.gather(*(one(p.id, p.size) for p in packs))
        report.packs_unreadable.sort()
        entries = [_entry(bytes.fromhex(p), e) for p, es in sorted(own.items()) for e in es]
        unreadable = {bytes.fromhex(p) for p in report.packs_unreadable}
        entries += [e for e in old.entries if e.pack_id in unreadable]
        report.blobs_indexed = len({e.blob_id for e in entries})
        new_set = set(entries)
        old_set = set(old.entries)
        report.entries_added = len(new_set - old_set)
        report.entries_removed = len(old_set - new_set)
        needed = bool(report.entries_added or report.entries_removed or old.damaged) or (
            len(old.names) > 1
        )
        if not needed:
            return report
        report.index_rewritten = True
        if dry_run:
            return report
        await _replace_index(store, handle, entries, old.names)
    return report


# --------------------------------------------------------------------------- repair packs


@dataclass(slots=True)
class RepairPacksReport:
    dry_run: bool = False
    packs_checked: int = 0
    packs_damaged: list[str] = field(default_factory=list)
    blobs_salvaged: int = 0  # copied into new packs
    blobs_elsewhere: int = 0  # damaged here, an intact copy exists in another pack
    blobs_lost: list[str] = field(default_factory=list)  # no intact copy anywhere
    packs_written: list[str] = field(default_factory=list)
    packs_removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "dry_run": self.dry_run,
            "packs_checked": self.packs_checked,
            "packs_damaged": list(self.packs_damaged),
            "blobs_salvaged": self.blobs_salvaged,
            "blobs_elsewhere": self.blobs_elsewhere,
            "blobs_lost": list(self.blobs_lost),
            "packs_written": list(self.packs_written),
            "packs_removed": list(self.packs_removed),
        }

    def lines(self) -> list[str]:
        if not self.packs_damaged:
            return [f"checked {self.packs_checked} pack(s): none is damaged"]
        would = "would " if self.dry_run else ""
        out = [
            f"checked {self.packs_checked} pack(s): {len(self.packs_damaged)} damaged "
            f"({', '.join(p[:16] for p in self.packs_damaged)})",
            f"{would}salvage {self.blobs_salvaged} intact blob(s) into "
            f"{len(self.packs_written) if not self.dry_run else 'new'} pack(s); "
            f"{self.blobs_elsewhere} have an intact copy elsewhere",
        ]
        if self.blobs_lost:
            out.append(
                f"{len(self.blobs_lost)} blob(s) have no intact copy and are lost; "
                "repair the snapshots that use them next"
            )
        out.append(f"{would}remove the damaged pack(s) from the index and the store")
        return out


async def repair_packs(
    store: Store,
    pack_ids: Iterable[str] | None = None,
    *,
    dry_run: bool = False,
    lock_wait: float = 0.0,
) -> RepairPacksReport:
    """Salvage the readable blobs of damaged packs (all packs are read unless ``pack_ids``)."""
    report = RepairPacksReport(dry_run=dry_run)
    async with _locked(store, dry_run, lock_wait, "repair-packs") as handle:
        sizes = {p.id: p.size for p in await store.list_packs()}
        targets = sorted(set(pack_ids)) if pack_ids is not None else sorted(sizes)
        report.packs_checked = len(targets)
        index = await _live_index(store)
        by_pack: dict[str, list[IndexEntry]] = {}
        for e in index.entries:
            by_pack.setdefault(e.pack_hex, []).append(e)
        sem = asyncio.Semaphore(READ_CONCURRENCY)
        damaged: dict[str, bytes] = {}

        async def probe(pack: str) -> None:
            if pack not in sizes:
                return
            async with sem:
                data = await store.backend.get("packs", pack)
            try:
                parse_pack(store.keys, data, pack)
            except CorruptStoreError:
                damaged[pack] = data

        await asyncio.gather(*(probe(p) for p in targets))
        report.packs_damaged = sorted(damaged)
        if not damaged:
            return report
        intact: dict[bytes, tuple[int, bytes, int]] = {}  # blob -> (type, sealed, raw length)
        hit: set[bytes] = set()
        for pack, data in sorted(damaged.items()):
            try:
                own = await store.read_pack_index(pack, len(data))
            except CorruptStoreError:
                own = []
            candidates = {(e.blob_id, e.offset): e for e in own}
            for e in by_pack.get(pack, []):
                candidates.setdefault(
                    (e.blob_id, e.offset),
                    PackEntry(e.blob_type, e.blob_id, e.offset, e.length, e.raw_length),
                )
            for pe in candidates.values():
                hit.add(pe.blob_id)
                sealed = data[pe.offset : pe.offset + pe.length]
                try:
                    store.decrypt_entry(pe, sealed, pack)
                except CorruptStoreError:
                    continue
                intact.setdefault(pe.blob_id, (pe.blob_type, sealed, pe.raw_length))
        # copies outside the damaged packs that the index knows of (and whose pack exists)
        elsewhere = {
            e.blob_id
            for e in index.entries
            if e.pack_hex not in damaged and e.pack_hex in sizes and e.blob_id in hit
        }
        salvage = {b: v for b, v in intact.items() if b not in elsewhere}
        report.blobs_salvaged = len(salvage)
        report.blobs_elsewhere = len(hit & elsewhere)
        report.blobs_lost = sorted(b.hex() for b in hit - elsewhere - set(intact))
        if dry_run:
            report.packs_removed = sorted(damaged)
            return report
        new_entries: list[IndexEntry] = []
        builders: dict[bool, PackBuilder] = {}
        target = int(store.config.pack_size)

        async def seal(metadata: bool) -> None:
            builder = builders.pop(metadata, None)
            if builder is None or not len(builder):
                return
            pack_id, blob, entries = builder.finish()
            with contextlib.suppress(ObjectExistsError):
                await store.backend.put("packs", pack_id, blob, create_only=True)
            report.packs_written.append(pack_id)
            pid = bytes.fromhex(pack_id)
            new_entries.extend(_entry(pid, e) for e in entries)

        for bid, (btype, sealed, raw_length) in sorted(salvage.items()):
            metadata = btype in METADATA_TYPES
            builder = builders.get(metadata)
            if builder is None:
                builder = builders[metadata] = PackBuilder(store.keys, metadata=metadata)
            builder.add_sealed(btype, bid, sealed, raw_length)
            if builder.size >= target:
                await seal(metadata)
        for metadata in (False, True):
            await seal(metadata)
        kept = [e for e in index.entries if e.pack_hex not in damaged]
        await _replace_index(store, handle, kept + new_entries, index.names)
        await handle.confirm()
        for pack in sorted(damaged):
            await store.backend.delete("packs", pack)
            report.packs_removed.append(pack)
        store.cache.remove_packs(bytes.fromhex(p) for p in damaged)
    return report


# --------------------------------------------------------------------------- repair snapshots


@dataclass(slots=True)
class RepairedSnapshot:
    """One snapshot that referenced lost blobs, and what replaced it."""

    snapshot_id: str
    new_id: str | None  # None: dry run, or nothing left to keep
    records_lost: list[str] = field(default_factory=list)  # unreadable record blob ids
    versions_lost: int = 0  # versions whose data is lost
    secrets_affected: int = 0  # readable records with lost version data

    def to_json(self) -> dict[str, object]:
        return {
            "snapshot_id": self.snapshot_id,
            "new_id": self.new_id,
            "records_lost": list(self.records_lost),
            "versions_lost": self.versions_lost,
            "secrets_affected": self.secrets_affected,
        }


@dataclass(slots=True)
class RepairSnapshotsReport:
    dry_run: bool = False
    forget: bool = False
    snapshots: int = 0
    repaired: list[RepairedSnapshot] = field(default_factory=list)
    unrepairable: dict[str, str] = field(default_factory=dict)  # id -> why (tree/object lost)
    forgotten: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "dry_run": self.dry_run,
            "forget": self.forget,
            "snapshots": self.snapshots,
            "repaired": [r.to_json() for r in self.repaired],
            "unrepairable": [{"snapshot_id": k, "reason": v} for k, v in self.unrepairable.items()],
            "forgotten": list(self.forgotten),
        }

    def lines(self) -> list[str]:
        would = "would " if self.dry_run else ""
        out = [f"checked {self.snapshots} snapshot(s)"]
        for r in self.repaired:
            new = f" as {r.new_id[:8]}" if r.new_id else ""
            out.append(
                f"snapshot {r.snapshot_id[:8]}: {would}rewrite{new}: "
                f"{len(r.records_lost)} secret record(s) lost, {r.versions_lost} version(s) "
                f"lost their data in {r.secrets_affected} secret(s)"
            )
        for sid, why in sorted(self.unrepairable.items()):
            out.append(f"snapshot {sid[:8]}: cannot be repaired ({why})")
        if self.forgotten:
            out.append(f"{would}remove {len(self.forgotten)} original snapshot(s)")
        elif (self.repaired or self.unrepairable) and not self.forget:
            out.append("the original snapshots are kept; forget them to drop their references")
        if not self.repaired and not self.unrepairable:
            out.append("no snapshot references a missing or unreadable blob")
        return out


async def repair_snapshots(
    store: Store, *, forget: bool = False, dry_run: bool = False, lock_wait: float = 0.0
) -> RepairSnapshotsReport:
    """Rewrite the snapshots that reference lost blobs (see the module docstring)."""
    report = RepairSnapshotsReport(dry_run=dry_run, forget=forget)
    async with _locked(store, dry_run, lock_wait, "repair-snapshots") as handle:
        await store.refresh_index()
        headers = await store.list_snapshots()
        for name, why in sorted(store.damaged_snapshots.items()):
            report.unrepairable[name] = why
        report.snapshots = len(headers) + len(report.unrepairable)
        sink = None if dry_run else store.blob_sink()
        try:
            for header in headers:
                await _repair_one(store, header, report, sink, handle)
            if not dry_run and forget:
                originals = [r.snapshot_id for r in report.repaired] + sorted(report.unrepairable)
                await handle.confirm()
                await store.delete_snapshots(originals)
                report.forgotten = originals
            elif forget:
                report.forgotten = [r.snapshot_id for r in report.repaired] + sorted(
                    report.unrepairable
                )
        finally:
            if sink is not None:
                await sink.abort()
    return report


async def _repair_one(
    store: Store,
    header: SnapshotHeader,
    report: RepairSnapshotsReport,
    sink: object | None,
    handle: LockHandle,
) -> None:
    from core.store.packer import BlobSink

    if await store.unusable_blobs([header.tree], read=True):
        report.unrepairable[header.id] = f"its tree {header.tree[:16]} is lost"
        return
    try:
        ids = await store.read_tree_ids(header)
    except CorruptStoreError as err:
        report.unrepairable[header.id] = err.message
        return
    bad_records = await store.unusable_blobs(ids, read=True)
    records: dict[str, SecretRecord] = {}
    for rid in ids:
        if rid in bad_records:
            continue
        try:
            records[rid] = (await store.read_records([rid]))[0]
        except CorruptStoreError:
            bad_records.add(rid)
    payloads = {p for r in records.values() for p in r.payload_ids()}
    bad_payloads = await store.unusable_blobs(payloads, read=True) if payloads else set()
    if not bad_records and not bad_payloads:
        return
    result = RepairedSnapshot(header.id, None, records_lost=sorted(bad_records))
    errors: list[SnapshotError] = [
        SnapshotError("", "", "", f"secret record {rid[:16]} is unreadable: lost in a repair")
        for rid in sorted(bad_records)
    ]
    new_records: list[tuple[tuple[str, str, str, str, str], SecretRecord, str]] = []
    for rid in ids:
        record = records.get(rid)
        if record is None:
            continue
        lost = [v.revision for v in record.versions if v.payload in bad_payloads]
        if lost:
            result.versions_lost += len(lost)
            result.secrets_affected += 1
            revs = ", ".join(str(r) for r in lost)
            note = f"data of revision(s) {revs} lost in a repair"
            record = replace(
                record,
                versions=tuple(
                    _unlink(v) if v.payload in bad_payloads else v for v in record.versions
                ),
                error=f"{record.error}; {note}" if record.error else note,
            )
            errors.append(SnapshotError(record.secret_id, record.region, record.project_id, note))
        new_records.append(((*record.key, record.secret_id), record, rid))
    report.repaired.append(result)
    if sink is None:
        return
    assert isinstance(sink, BlobSink)
    tree_ids: list[str] = []
    for _key, record, rid in sorted(new_records, key=lambda t: t[0]):
        if rid in records and records[rid] is record:
            tree_ids.append(rid)  # unchanged and intact: reused
        else:
            bid, _added = await sink.put_blob(BLOB_RECORD, record.to_bytes())
            tree_ids.append(bid)
    tree_id = await store.write_tree(sink, tree_ids)
    await handle.confirm()
    await sink.flush()
    all_errors = (*header.errors, *errors)
    note = (
        f"repaired from snapshot {header.short_id}: {len(bad_records)} secret record(s) and "
        f"{result.versions_lost} version(s) of data lost"
    )
    new = replace(
        header,
        id=secrets.token_hex(32),
        tree=tree_id,
        status=STATUS_PARTIAL,
        errors=all_errors,
        tags=header.tags if REPAIRED_TAG in header.tags else (*header.tags, REPAIRED_TAG),
        description=f"{header.description}; {note}" if header.description else note,
        summary=replace(header.summary, secrets=len(tree_ids), errors=len(all_errors)),
    )
    await handle.confirm()
    await store.put_snapshot(new)
    result.new_id = new.id


def _unlink(version: VersionRecord) -> VersionRecord:
    """The version without its (lost) data: no payload, no checksum to match."""
    return replace(version, payload=None, crc32=None)


__all__ = [
    "REPAIRED_TAG",
    "RepairIndexReport",
    "RepairPacksReport",
    "RepairSnapshotsReport",
    "RepairedSnapshot",
    "repair_index",
    "repair_packs",
    "repair_snapshots",
]
