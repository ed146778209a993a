"""``check``: is every object intact, and can every snapshot be read back in full?

Structure check (always):

- the config, every key slot, every index delta and every snapshot object: header, version and
  MAC (and for deltas and snapshots, the AEAD and the name);
- every pack's own index (its tail: authenticated encryption, entries inside the data region);
- the index (the live deltas) and the packs agree: every entry the index lists is in that
  pack's own index at the same place; every pack the index names exists. Packs no delta names
  are reported (as warnings: leftovers of an interrupted write, which ``prune`` removes);
- every snapshot's tree and secret records decrypt and parse, and every blob they reference
  (records, payloads) is in the index, in a pack that exists;
- the local index cache holds what the live deltas say (a cache that disagrees is reported
  as a ``cache`` warning and rebuilt from the store's index before the snapshots are read).

``read_data`` adds: every pack is read whole, its MAC and name are checked, and every blob in it
is decrypted and verified (its id is recomputed from the plaintext). ``subset=(n, t)`` reads
only the packs of bucket n of t (a pack's bucket is its id modulo t), so that t runs with
n = 1..t cover everything.

The report names each damaged object (kind and id) and the snapshots it affects; the other
snapshots stay readable. Transport failures are reported as such, never as damage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.store import envelope
from core.store.crypto import BLOB_RECORD
from core.store.errors import (
    BackendError,
    BlobNotFoundError,
    CorruptStoreError,
    ObjectNotFoundError,
    StoreError,
    UnsupportedFormatError,
)
from core.store.index import IndexDelta, open_delta
from core.store.model import SecretRecord
from core.store.pack import PackEntry, parse_pack

if TYPE_CHECKING:
    from core.store.repository import Store

ERROR = "error"
WARNING = "warning"
READ_CONCURRENCY = 8
RECORD_BATCH = 1000


@dataclass(frozen=True, slots=True)
class CheckProblem:
    """One finding: the object's kind and id, what is wrong, and which snapshots it affects."""

    severity: str  # error | warning
    kind: str  # config | keys | packs | index | snapshots | blob | locks | cache
    id: str
    message: str
    snapshots: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "id": self.id,
            "message": self.message,
            "snapshots": list(self.snapshots),
        }


@dataclass(slots=True)
class CheckReport:
    problems: list[CheckProblem] = field(default_factory=list)
    snapshots: int = 0
    packs: int = 0
    packs_read: int = 0
    index_deltas: int = 0
    blobs: int = 0
    blobs_read: int = 0
    bytes_read: int = 0
    read_data: bool = False
    subset: tuple[int, int] | None = None
    unused_blobs: int | None = 0  # indexed, used by no snapshot; None: unknown (damage)

    @property
    def errors(self) -> list[CheckProblem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[CheckProblem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def damaged(self) -> set[tuple[str, str]]:
        """(kind, id) of every damaged object."""
        return {(p.kind, p.id) for p in self.errors}

    @property
    def affected_snapshots(self) -> list[str]:
        return sorted({s for p in self.errors for s in p.snapshots})

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "read_data": self.read_data,
            "subset": None if self.subset is None else f"{self.subset[0]}/{self.subset[1]}",
            "snapshots": self.snapshots,
            "packs": self.packs,
            "packs_read": self.packs_read,
            "index_deltas": self.index_deltas,
            "blobs": self.blobs,
            "blobs_read": self.blobs_read,
            "bytes_read": self.bytes_read,
            "unused_blobs": self.unused_blobs,
            "errors": [p.to_json() for p in self.errors],
            "warnings": [p.to_json() for p in self.warnings],
            "affected_snapshots": self.affected_snapshots,
        }

    def lines(self) -> list[str]:
        out = [
            f"checked {self.snapshots} snapshot(s), {self.index_deltas} index delta(s), "
            f"{self.packs} pack(s), {self.blobs} blob(s)"
        ]
        if self.read_data:
            part = f" (subset {self.subset[0]}/{self.subset[1]})" if self.subset else ""
            out.append(
                f"read {self.packs_read} pack(s){part}: {self.blobs_read} blob(s) decrypted and "
                f"verified, {self.bytes_read} bytes"
            )
        for p in self.problems:
            where = (
                f" (affects snapshot(s) {', '.join(s[:8] for s in p.snapshots)})"
                if p.snapshots
                else ""
            )
            out.append(f"{p.severity}: {p.kind} {p.id[:16]}: {p.message}{where}")
        if self.unused_blobs:
            out.append(f"{self.unused_blobs} blob(s) are used by no snapshot; 'prune' frees them")
        if self.ok:
            out.append("no errors were found")
        else:
            affected = self.affected_snapshots
            out.append(
                f"{len(self.errors)} error(s) found; "
                + (
                    f"{len(affected)} snapshot(s) affected: {', '.join(s[:8] for s in affected)}"
                    if affected
                    else "no snapshot is affected"
                )
            )
        return out


def in_subset(pack_id: str, subset: tuple[int, int] | None) -> bool:
    """Whether a pack falls in bucket n of t (n counts from 1)."""
    if subset is None:
        return True
    n, t = subset
    return int(pack_id[:16], 16) % t == n - 1


def _message(err: StoreError) -> str:
    return err.message


class _Checker:
    def __init__(self, store: Store, read_data: bool, subset: tuple[int, int] | None) -> None:
        self.store = store
        self.backend = store.backend
        self.keys = store.keys
        self.report = CheckReport(read_data=read_data or subset is not None, subset=subset)
        self.sem = asyncio.Semaphore(READ_CONCURRENCY)
        # blob id (hex) -> [(pack id hex, entry)] as the live index deltas say
        self.index: dict[str, list[tuple[str, PackEntry]]] = {}
        self.pack_sizes: dict[str, int] = {}
        self.pack_entries: dict[str, list[PackEntry]] = {}  # from each pack's own index
        self.bad_packs: set[str] = set()  # packs missing or with an unreadable index
        self.failed_copies: set[tuple[str, str]] = set()  # (blob id, pack id) that failed
        self.users: dict[str, set[str]] = {}  # blob id -> snapshot ids using it
        # (delta, blob, pack, type, offset, length, raw length) of the live deltas
        self.index_rows: set[tuple[str, bytes, bytes, int, int, int, int]] = set()
        self.live_deltas: set[str] = set()

    def problem(
        self, severity: str, kind: str, ident: str, message: str, snapshots: Iterable[str] = ()
    ) -> None:
        self.report.problems.append(
            CheckProblem(severity, kind, ident, message, tuple(sorted(set(snapshots))))
        )

    async def get(
        self, kind: str, name: str, offset: int | None = None, length: int | None = None
    ) -> bytes:
        async with self.sem:
            return await self.backend.get(kind, name, offset, length)

    # ------------------------------------------------------------------ small objects

    async def check_config(self) -> None:
        try:
            raw = await self.get("config", "config")
            envelope.verify_mac(self.keys, raw, envelope.KIND_CONFIG, "config")
        except (CorruptStoreError, UnsupportedFormatError) as err:
            self.problem(ERROR, "config", "config", _message(err))
        except ObjectNotFoundError:
            self.problem(ERROR, "config", "config", "the config object is missing")

    async def check_keys(self) -> None:
        infos = await self.backend.list("keys")
        if not infos:
            self.problem(ERROR, "keys", "", "the store has no key slot")

        async def one(name: str) -> None:
            try:
                await self._verify("keys", name)
            except (CorruptStoreError, UnsupportedFormatError) as err:
                self.problem(ERROR, "keys", name, _message(err))

        await asyncio.gather(*(one(i.name) for i in infos))

    async def _verify(self, kind: str, name: str) -> bytes:
        try:
            raw = await self.get(kind, name)
        except ObjectNotFoundError:
            raise CorruptStoreError(
                f"{kind} object {name[:16]} vanished", kind=kind, name=name
            ) from None
        envelope.verify_mac(self.keys, raw, envelope.KIND_BY_NAME[kind], name)
        return raw

    async def check_locks(self) -> None:
        for lock in await self.store.list_locks():
            if not getattr(lock, "readable", True):
                self.problem(
                    WARNING, "locks", lock.id, "lock object is unreadable; 'unlock' removes it"
                )

    # ------------------------------------------------------------------ index

    async def load_index(self) -> None:
        infos = await self.backend.list("index")
        self.report.index_deltas = len(infos)
        deltas: dict[str, IndexDelta] = {}

        async def one(name: str) -> None:
            try:
                raw = await self.get("index", name)
                deltas[name] = open_delta(self.keys, name, raw)
            except ObjectNotFoundError:
                return
            except (CorruptStoreError, UnsupportedFormatError) as err:
                self.problem(ERROR, "index", name, _message(err))

        await asyncio.gather(*(one(i.name) for i in infos))
        superseded = {s.hex() for d in deltas.values() for s in d.supersedes}
        for name, delta in deltas.items():
            if name in superseded:
                continue
            for pack_id, entries in delta.packs.items():
                pack_hex = pack_id.hex()
                for e in entries:
                    self.index.setdefault(e.blob_id.hex(), []).append((pack_hex, e))
                    self.index_rows.add(
                        (name, e.blob_id, pack_id, e.blob_type, e.offset, e.length, e.raw_length)
                    )
            self.live_deltas.add(name)
        self.report.blobs = len(self.index)

    def _cache_agrees(self, cached: set[tuple[str, bytes, bytes, int, int, int, int]]) -> bool:
        if cached == self.index_rows:
            return True
        # the cache keeps one row per (delta, blob, pack): a delta naming a blob twice in one
        # pack (never written, but possible) is not the cache's fault
        counts: dict[tuple[str, bytes, bytes], int] = {}
        for r in self.index_rows:
            counts[r[:3]] = counts.get(r[:3], 0) + 1
        doubled = {k for k, n in counts.items() if n > 1}
        if not doubled:
            return False
        mine = {r for r in self.index_rows if r[:3] not in doubled}
        theirs = {r for r in cached if r[:3] not in doubled}
        return mine == theirs and {r[:3] for r in cached} >= doubled

    async def check_cache(self) -> None:
        """The local index cache must say what the store's index says (for the deltas this
        check read); one that disagrees is reported and rebuilt from the store's index."""
        cached = self.store.cache.delta_rows(self.live_deltas)
        if self._cache_agrees(cached):
            return
        wrong = len(cached ^ self.index_rows)
        await self.store.rebuild_cache()
        fixed = self._cache_agrees(self.store.cache.delta_rows(self.live_deltas))
        self.problem(
            WARNING if fixed else ERROR,
            "cache",
            "local",
            f"the local index cache disagreed with the store's index on {wrong} blob "
            "location(s); "
            + ("it was rebuilt from the store's index" if fixed else "rebuilding it did not help"),
        )

    # ------------------------------------------------------------------ packs

    async def check_packs(self) -> None:
        infos = await self.backend.list("packs")
        self.report.packs = len(infos)
        self.pack_sizes = {i.name: i.size for i in infos}

        async def one(name: str, size: int) -> None:
            try:
                async with self.sem:
                    self.pack_entries[name] = await self.store.read_pack_index(name, size)
            except (CorruptStoreError, UnsupportedFormatError) as err:
                self.bad_packs.add(name)
                self.problem(ERROR, "packs", name, _message(err))
            except ObjectNotFoundError:
                self.bad_packs.add(name)
                self.problem(ERROR, "packs", name, "pack vanished during the check")

        await asyncio.gather(*(one(i.name, i.size) for i in infos))
        # index <-> packs
        indexed_packs: dict[str, list[tuple[str, PackEntry]]] = {}
        for blob_id, locations in self.index.items():
            for pack_hex, entry in locations:
                indexed_packs.setdefault(pack_hex, []).append((blob_id, entry))
        for pack_hex, listed in sorted(indexed_packs.items()):
            if pack_hex not in self.pack_sizes:
                self.bad_packs.add(pack_hex)
                self.problem(
                    ERROR,
                    "packs",
                    pack_hex,
                    f"pack is missing, but the index lists {len(listed)} blob(s) in it",
                )
                continue
            own = self.pack_entries.get(pack_hex)
            if own is None:
                continue  # already reported
            own_map = {(e.blob_id, e.offset): e for e in own}
            disagree = 0
            for _blob_id, entry in listed:
                mine = own_map.get((entry.blob_id, entry.offset))
                if mine is None or (mine.length, mine.blob_type) != (entry.length, entry.blob_type):
                    disagree += 1
            if disagree:
                self.bad_packs.add(pack_hex)
                self.problem(
                    ERROR,
                    "index",
                    pack_hex,
                    f"the index and pack {pack_hex[:16]} disagree on {disagree} blob(s)",
                )
        for pack_hex in sorted(set(self.pack_sizes) - set(indexed_packs)):
            if pack_hex in self.bad_packs:
                continue
            self.problem(
                WARNING,
                "packs",
                pack_hex,
                "pack is not in the index (left by an interrupted write); 'prune' removes it "
                "or re-indexes the blobs that snapshots use",
            )

    async def read_packs(self) -> None:
        subset = self.report.subset
        targets = [p for p in sorted(self.pack_sizes) if in_subset(p, subset)]

        async def one(pack_hex: str) -> None:
            try:
                data = await self.get("packs", pack_hex)
            except ObjectNotFoundError:
                return
            self.report.packs_read += 1
            self.report.bytes_read += len(data)
            try:
                entries = parse_pack(self.keys, data, pack_hex)
                reason = None
            except (CorruptStoreError, UnsupportedFormatError) as err:
                reason = _message(err)
                # the MAC (or the pack index) failed: find out which blobs are hit
                entries = list(self.pack_entries.get(pack_hex) or [])
                listed = {(e.blob_id, e.offset) for e in entries}
                for _blob, locations in self.index.items():
                    for loc, e in locations:
                        if loc == pack_hex and (e.blob_id, e.offset) not in listed:
                            entries.append(e)
            bad_here = 0
            for e in entries:
                piece = data[e.offset : e.offset + e.length]
                try:
                    self.store.decrypt_entry(e, piece, pack_hex)
                    self.report.blobs_read += 1
                except CorruptStoreError:
                    bad_here += 1
                    self.failed_copies.add((e.blob_id.hex(), pack_hex))
            if reason is None and bad_here:
                reason = f"{bad_here} blob(s) in the pack fail authentication"
            elif reason is not None and bad_here:
                reason += f"; {bad_here} blob(s) in it fail authentication"
            if reason is not None:
                self.problem(ERROR, "packs", pack_hex, reason)

        await asyncio.gather(*(one(p) for p in targets))

    # ------------------------------------------------------------------ snapshots

    async def check_snapshots(self) -> None:
        infos = await self.backend.list("snapshots")
        headers = []

        async def one(name: str) -> None:
            try:
                raw = await self.get("snapshots", name)
                headers.append(self.store.open_snapshot(name, raw))
            except ObjectNotFoundError:
                return  # forgotten meanwhile
            except (CorruptStoreError, UnsupportedFormatError) as err:
                self.problem(ERROR, "snapshots", name, _message(err), [name])

        await asyncio.gather(*(one(i.name) for i in infos))
        self.report.snapshots = len(infos)
        record_users: dict[str, set[str]] = {}
        tree_nodes: set[str] = set()
        for header in sorted(headers, key=lambda h: h.id):
            self.users.setdefault(header.tree, set()).add(header.id)
            if not self._located(header.tree, "tree", header.id):
                continue
            try:
                walk = await self.store.read_tree_walk(header)
            except (CorruptStoreError, UnsupportedFormatError) as err:
                bad = getattr(err, "blob_id", None) or header.tree
                self.users.setdefault(bad, set()).add(header.id)
                self.problem(
                    ERROR, "blob", bad, f"tree of the snapshot: {_message(err)}", [header.id]
                )
                continue
            for nid in walk.node_ids:
                self.users.setdefault(nid, set()).add(header.id)
                tree_nodes.add(nid)
            ids = walk.record_ids
            for rid in ids:
                record_users.setdefault(rid, set()).add(header.id)
        for rid, users in record_users.items():
            self.users.setdefault(rid, set()).update(users)
        located = [rid for rid in record_users if self._located(rid, "record", *record_users[rid])]
        for start in range(0, len(located), RECORD_BATCH):
            batch = located[start : start + RECORD_BATCH]
            try:
                blobs = await self.store.read_blobs(batch, BLOB_RECORD)
            except (CorruptStoreError, BlobNotFoundError):
                blobs = {}
                for rid in batch:
                    try:
                        blobs[rid] = await self.store.read_blob(rid, BLOB_RECORD)
                    except CorruptStoreError as err:
                        self.problem(
                            ERROR, "blob", rid, f"secret record: {_message(err)}", record_users[rid]
                        )
            for rid, raw in blobs.items():
                try:
                    record = SecretRecord.from_bytes(raw)
                except (ValueError, KeyError, TypeError):
                    self.problem(
                        ERROR, "blob", rid, "secret record is malformed", record_users[rid]
                    )
                    continue
                for pid in record.payload_ids():
                    self.users.setdefault(pid, set()).update(record_users[rid])
        trees = tree_nodes | {h.tree for h in headers}
        for blob_id, users in self.users.items():
            if blob_id in record_users or blob_id in trees:
                continue
            self._located(blob_id, "data", *users)
        incomplete = any(p.kind in ("blob", "snapshots") for p in self.report.errors)
        self.report.unused_blobs = (
            None if incomplete else sum(1 for b in self.index if b not in self.users)
        )

    def _located(self, blob_id: str, what: str, *snapshots: str) -> bool:
        """The blob is in the index and some copy sits in a pack that exists."""
        locations = self.index.get(blob_id)
        if not locations:
            self.problem(ERROR, "blob", blob_id, f"{what} blob is not in the index", snapshots)
            return False
        if all(p not in self.pack_sizes for p, _e in locations):
            self.problem(ERROR, "blob", blob_id, f"{what} blob's pack is missing", snapshots)
            return False
        return True

    def _copy_usable(self, blob_id: str, pack_hex: str) -> bool:
        return pack_hex in self.pack_sizes and (blob_id, pack_hex) not in self.failed_copies

    def attach_users(self) -> None:
        """Name, on each pack problem, the snapshots that lose a blob because of it."""
        lost_by_pack: dict[str, set[str]] = {}
        for blob_id, locations in self.index.items():
            users = self.users.get(blob_id)
            if not users:
                continue
            if any(self._copy_usable(blob_id, pk) for pk, _e in locations):
                continue
            for pk, _e in locations:
                lost_by_pack.setdefault(pk, set()).update(users)
        for i, p in enumerate(self.report.problems):
            if p.kind != "packs" or p.severity != ERROR:
                continue
            hit = lost_by_pack.get(p.id)
            if hit:
                self.report.problems[i] = CheckProblem(
                    p.severity, p.kind, p.id, p.message, tuple(sorted(set(p.snapshots) | hit))
                )


async def check_store(
    store: Store,
    *,
    read_data: bool = False,
    subset: tuple[int, int] | None = None,
    lock: bool = True,
    lock_wait: float = 0.0,
) -> CheckReport:
    """Check ``store`` (see the module docstring); never raises for damage, only reports it."""
    if subset is not None:
        n, t = subset
        if t < 1 or not 1 <= n <= t:
            raise ValueError("subset n/t needs 1 <= n <= t")
    handle = await store.lock(exclusive=False, wait=lock_wait, purpose="check") if lock else None
    try:
        checker = _Checker(store, read_data, subset)
        try:
            await checker.check_config()
            await checker.check_keys()
            await checker.load_index()
            await checker.check_packs()
            await store.refresh_index()
            await checker.check_cache()
            await checker.check_snapshots()
            if checker.report.read_data:
                await checker.read_packs()
            checker.attach_users()
            await checker.check_locks()
        except BackendError:
            raise  # "could not read" is not damage: the caller reports it as such
        return checker.report
    finally:
        if handle is not None:
            await handle.release()


__all__ = ["CheckProblem", "CheckReport", "check_store", "in_subset"]
