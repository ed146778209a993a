"""The index: encrypted append-only deltas on the backend, mirrored in a local SQLite cache.

Delta body (sealed under the object key, associated data ``store id ‖ kind``)::

    "SKIX" ‖ version (1) ‖ n_supersedes (u32) ‖ superseded delta names (32 each)
    ‖ n_packs (u32) ‖ per pack: pack id (32) ‖ n (u32) ‖ n × (type, blob id, offset, length, raw length)

The delta's name is the hex of its MAC. The cache holds only ids, offsets and lengths: no
plaintext name, path or value ever reaches it (docs/FORMAT.md, "Index" and "Local cache").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from core.store import envelope
from core.store.backends import Backend
from core.store.crypto import BlobLocation, DecryptionError, Keys
from core.store.errors import CorruptStoreError, ObjectNotFoundError, UnsupportedFormatError
from core.store.pack import COUNT, PackEntry, decode_entries, encode_entries

log = logging.getLogger(__name__)

DELTA_MAGIC = b"SKIX"
DELTA_VERSION = 1
CACHE_VERSION = 1


class IndexEntry(NamedTuple):
    """One blob's location, as the index knows it (a named tuple: a snapshot read builds
    tens of thousands of them, and a tuple is built in C, a frozen dataclass is not)."""

    blob_id: bytes
    blob_type: int
    pack_id: bytes
    offset: int
    length: int
    raw_length: int

    @property
    def pack_hex(self) -> str:
        return self.pack_id.hex()

    def __repr__(self) -> str:
        return f"IndexEntry(id={self.blob_id.hex()[:12]}, pack={self.pack_id.hex()[:12]}, offset={self.offset})"


# Above this many indexed blobs, membership is asked of SQLite instead of a set in memory.
KNOWN_IDS_IN_MEMORY = 1_000_000


@dataclass(slots=True)
class IndexDelta:
    """One index delta: the entries of the packs it adds, the deltas it supersedes."""

    packs: dict[bytes, list[PackEntry]] = field(default_factory=dict)
    supersedes: list[bytes] = field(default_factory=list)

    def entry_count(self) -> int:
        return sum(len(v) for v in self.packs.values())


def encode_delta(delta: IndexDelta) -> bytes:
    parts = [DELTA_MAGIC, bytes([DELTA_VERSION]), COUNT.pack(len(delta.supersedes))]
    parts.extend(delta.supersedes)
    parts.append(COUNT.pack(len(delta.packs)))
    for pack_id, entries in delta.packs.items():
        parts.append(pack_id)
        parts.append(encode_entries(entries))
    return b"".join(parts)


def decode_delta(raw: bytes) -> IndexDelta:
    if raw[:4] != DELTA_MAGIC:
        raise ValueError("not an index delta")
    if raw[4] != DELTA_VERSION:
        raise UnsupportedFormatError(f"index delta version {raw[4]} is not supported")
    pos = 5
    (ns,) = COUNT.unpack_from(raw, pos)
    pos += COUNT.size
    supersedes = [raw[pos + 32 * i : pos + 32 * (i + 1)] for i in range(ns)]
    pos += 32 * ns
    (np_,) = COUNT.unpack_from(raw, pos)
    pos += COUNT.size
    packs: dict[bytes, list[PackEntry]] = {}
    for _ in range(np_):
        pack_id = raw[pos : pos + 32]
        if len(pack_id) != 32:
            raise ValueError("truncated index delta")
        pos += 32
        entries, pos = decode_entries(raw, pos)
        packs[pack_id] = entries
    if pos != len(raw):
        raise ValueError("trailing bytes in index delta")
    return IndexDelta(packs=packs, supersedes=supersedes)


def seal_delta(keys: Keys, delta: IndexDelta) -> tuple[str, bytes]:
    """(name, object bytes) of a delta."""
    body = keys.seal_object(envelope.KIND_INDEX, b"", encode_delta(delta))
    obj = envelope.seal(keys, envelope.KIND_INDEX, body)
    return obj[-32:].hex(), obj


def open_delta(keys: Keys, name: str, obj: bytes) -> IndexDelta:
    mac = envelope.verify_mac(keys, obj, envelope.KIND_INDEX, name)
    if mac.hex() != name:
        raise CorruptStoreError(
            f"index delta {name[:16]} does not match its name", kind="index", name=name
        )
    try:
        plain = keys.open_object(
            envelope.KIND_INDEX, b"", envelope.body_of(obj, envelope.KIND_INDEX)
        )
        return decode_delta(plain)
    except DecryptionError:
        raise CorruptStoreError(
            f"index delta {name[:16]} fails authentication", kind="index", name=name
        ) from None
    except (ValueError, struct.error):
        raise CorruptStoreError(
            f"index delta {name[:16]} is malformed", kind="index", name=name
        ) from None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deltas (
    name TEXT PRIMARY KEY,
    superseded INTEGER NOT NULL DEFAULT 0
);
-- primary-key columns first: SQLite 3.40's quick_check misreads WITHOUT ROWID tables otherwise
CREATE TABLE IF NOT EXISTS blobs (
    id BLOB NOT NULL,
    pack BLOB NOT NULL,
    delta TEXT NOT NULL,
    type INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    raw_length INTEGER NOT NULL,
    PRIMARY KEY (id, pack, delta)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blobs_delta ON blobs(delta);
CREATE INDEX IF NOT EXISTS blobs_pack ON blobs(pack);
"""


class IndexCache:
    """The SQLite mirror of the index deltas (one file per store, WAL, batched writes)."""

    def __init__(self, path: Path | None, store_id: str) -> None:
        self.path = path
        self.store_id = store_id
        self.damaged: dict[str, str] = {}  # delta name -> why it could not be loaded
        self.rebuilt = False
        # every indexed id, kept between writers (a writer's deduplication starts from it)
        # while no other connection changed the file (PRAGMA data_version) and no row went
        self._ids: set[bytes] | None = None
        self._ids_version = -1
        self._db = self._connect()

    # ------------------------------------------------------------------ opening

    def _connect(self) -> sqlite3.Connection:
        if self.path is None:
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.executescript(_SCHEMA)
            self._init_meta(db)
            return db
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            db = self._open_file()
        except (sqlite3.DatabaseError, ValueError) as err:
            log.warning("index cache damaged (%s); rebuilding it", type(err).__name__)
            self._remove_files()
            self.rebuilt = True
            db = self._open_file()
        return db

    def _open_file(self) -> sqlite3.Connection:
        assert self.path is not None
        fresh = not self.path.exists()
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            # a snapshot read looks up every record's location: map the file, keep its pages
            db.execute("PRAGMA mmap_size=268435456")
            db.execute("PRAGMA cache_size=-32768")
            if not fresh:
                row = db.execute("PRAGMA quick_check").fetchone()
                if row is None or row[0] != "ok":
                    raise ValueError("quick_check failed")
            db.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                self._init_meta(db)
            elif meta.get("store_id") != self.store_id or meta.get("version") != str(CACHE_VERSION):
                raise ValueError("cache belongs to another store or version")
        except BaseException:
            db.close()
            raise
        with contextlib.suppress(OSError):
            self.path.chmod(0o600)
        return db

    def _init_meta(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('store_id', ?)", (self.store_id,))
        db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (str(CACHE_VERSION),))
        db.execute("COMMIT")

    def _remove_files(self) -> None:
        assert self.path is not None
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(self.path) + suffix).unlink()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def reset(self) -> None:
        """Forget everything (the next sync reloads every delta)."""
        self._ids = None
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM blobs")
        self._db.execute("DELETE FROM deltas")
        self._db.execute("COMMIT")
        self.damaged.clear()

    # ------------------------------------------------------------------ sync

    async def sync(self, backend: Backend, keys: Keys, *, concurrency: int = 8) -> int:
        """Bring the cache up to date with the backend's deltas; returns deltas loaded."""
        try:
            return await self._sync(backend, keys, concurrency)
        except sqlite3.DatabaseError as err:
            if self.path is None:
                raise
            log.warning("index cache damaged (%s); rebuilding it", type(err).__name__)
            self.close()
            self._remove_files()
            self.rebuilt = True
            self._ids = None
            self._db = self._connect()
            return await self._sync(backend, keys, concurrency)

    async def _sync(self, backend: Backend, keys: Keys, concurrency: int) -> int:
        remote = {o.name for o in await backend.list("index")}
        known = dict(self._db.execute("SELECT name, superseded FROM deltas").fetchall())
        gone = [n for n in known if n not in remote]
        new = sorted(n for n in remote if n not in known)
        if gone:
            self._ids = None
            self._db.execute("BEGIN")
            for n in gone:
                self._db.execute("DELETE FROM blobs WHERE delta = ?", (n,))
                self._db.execute("DELETE FROM deltas WHERE name = ?", (n,))
            self._db.execute("COMMIT")
        if not new:
            return 0
        sem = asyncio.Semaphore(concurrency)

        async def load(name: str) -> tuple[str, IndexDelta | None]:
            async with sem:
                try:
                    obj = await backend.get("index", name)
                except ObjectNotFoundError:
                    # deleted since the listing (a prune compacted it): its successor
                    # supersedes it; the next sync sees the new state
                    return name, None
            try:
                return name, open_delta(keys, name, obj)
            except (CorruptStoreError, UnsupportedFormatError) as err:
                self.damaged[name] = err.message
                log.warning("index delta %s cannot be loaded: %s", name[:16], err.message)
                return name, None

        loaded = await asyncio.gather(*(load(n) for n in new))
        superseded: set[str] = set()
        self._ids = None if any(d is not None and d.supersedes for _n, d in loaded) else self._ids
        for _name, delta in loaded:
            if delta is not None:
                superseded.update(s.hex() for s in delta.supersedes)
        self._db.execute("BEGIN")
        try:
            for name, delta in loaded:
                if delta is None:
                    continue
                self.damaged.pop(name, None)
                self._insert(name, delta, name in superseded)
            for name in superseded:
                self._db.execute("DELETE FROM blobs WHERE delta = ?", (name,))
                self._db.execute(
                    "INSERT INTO deltas (name, superseded) VALUES (?, 1) "
                    "ON CONFLICT(name) DO UPDATE SET superseded = 1",
                    (name,),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._ids = None
            self._db.execute("ROLLBACK")
            raise
        return sum(1 for _n, d in loaded if d is not None)

    def _insert(self, name: str, delta: IndexDelta, superseded: bool) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO deltas (name, superseded) VALUES (?, ?)",
            (name, int(superseded)),
        )
        if superseded:
            return
        # Sorted by blob id, the primary key: B-tree appends instead of random inserts
        # (about 3x faster for a big delta).
        rows = sorted(
            (e.blob_id, pack_id, e.blob_type, e.offset, e.length, e.raw_length, name)
            for pack_id, entries in delta.packs.items()
            for e in entries
        )
        self._db.executemany(
            "INSERT OR IGNORE INTO blobs (id, pack, type, offset, length, raw_length, delta) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if self._ids is not None:
            self._ids.update(r[0] for r in rows)

    def add_delta(self, name: str, delta: IndexDelta) -> None:
        """Record a delta this process has just written (one transaction)."""
        if delta.supersedes:
            self._ids = None
        self._db.execute("BEGIN")
        try:
            self._insert(name, delta, False)
            for s in delta.supersedes:
                self._db.execute("DELETE FROM blobs WHERE delta = ?", (s.hex(),))
                self._db.execute(
                    "INSERT INTO deltas (name, superseded) VALUES (?, 1) "
                    "ON CONFLICT(name) DO UPDATE SET superseded = 1",
                    (s.hex(),),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._ids = None
            self._db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ queries

    def has(self, blob_id: bytes) -> bool:
        return (
            self._db.execute("SELECT 1 FROM blobs WHERE id = ? LIMIT 1", (blob_id,)).fetchone()
            is not None
        )

    def _id_set(self, limit: int) -> set[bytes] | None:
        """Every indexed blob id (kept while the database is unchanged), or None when there
        are more than ``limit``."""
        version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
        if self._ids is None or version != self._ids_version:
            row = self._db.execute("SELECT COUNT(*) FROM blobs").fetchone()
            if row is None or int(row[0]) > limit:
                self._ids = None
                return None
            self._ids = {r[0] for r in self._db.execute("SELECT id FROM blobs")}
            self._ids_version = version
        if len(self._ids) > limit:
            return None
        return self._ids

    def all_ids(self, limit: int) -> set[bytes] | None:
        """Every indexed blob id (a copy), or None when there are more than ``limit``."""
        ids = self._id_set(limit)
        return None if ids is None else set(ids)

    def unknown(self, blob_ids: Iterable[bytes], limit: int = KNOWN_IDS_IN_MEMORY) -> list[bytes]:
        """The ids of ``blob_ids`` the cache does not hold: a set lookup each while the
        cache's ids fit in memory (as the writer's dedup holds them), else a few queries."""
        wanted = list(blob_ids)
        known = self._id_set(limit)
        if known is None:
            located = self.lookup_many(wanted)
            return [r for r in wanted if r not in located]
        if known.issuperset(wanted):  # the usual case, tested in C
            return []
        return [r for r in wanted if r not in known]

    def ids_in_packs(self, pack_ids: Iterable[bytes]) -> set[bytes]:
        """The ids of the blobs with a copy in one of ``pack_ids``."""
        return {r[0] for r in self._rows_where_in("id", "pack", list(pack_ids), 500)}

    def lookup(self, blob_id: bytes) -> list[IndexEntry]:
        rows = self._db.execute(
            "SELECT id, type, pack, offset, length, raw_length FROM blobs WHERE id = ?",
            (blob_id,),
        ).fetchall()
        seen: set[tuple[bytes, int]] = set()
        out = []
        for r in rows:
            if (r[2], r[3]) in seen:
                continue
            seen.add((r[2], r[3]))
            out.append(IndexEntry._make(r))
        return out

    def _rows_where_in(
        self, columns: str, key: str, values: Sequence[object], chunk: int
    ) -> Iterator[tuple[Any, ...]]:
        """The blobs table's rows (``columns``) whose ``key`` is one of ``values``, queried
        ``chunk`` values at a time (SQLite bounds a statement's parameters)."""
        for i in range(0, len(values), chunk):
            part = values[i : i + chunk]
            marks = ",".join("?" * len(part))
            yield from self._db.execute(
                f"SELECT {columns} FROM blobs WHERE {key} IN ({marks})", part
            ).fetchall()

    def lookup_many(
        self, blob_ids: list[bytes], chunk: int = 2000
    ) -> dict[bytes, list[IndexEntry]]:
        """Locations of many blobs in a few queries (missing ids are absent from the result).

        The ids are queried in key order: each query's B-tree searches then walk neighbouring
        pages (a fifth faster for a snapshot's 20,000 records)."""
        out: dict[bytes, list[IndexEntry]] = {}
        get = out.get
        make = IndexEntry._make
        columns = "id, type, pack, offset, length, raw_length"
        for r in self._rows_where_in(columns, "id", sorted(blob_ids), chunk):
            found = get(r[0])
            if found is None:
                out[r[0]] = [make(r)]
            elif not any(e.pack_id == r[2] and e.offset == r[3] for e in found):
                found.append(make(r))  # another copy (not the same one via another delta)
        return out

    def locate_many(
        self, blob_ids: Iterable[bytes], blob_type: int | None = None, chunk: int = 2000
    ) -> dict[bytes, BlobLocation]:
        """One location of each of many blobs, for a bulk read (missing ids are absent): the
        first copy the index lists, the first of ``blob_type`` when there is one (the copy
        :meth:`lookup_many` would list first, after that filter). A plain tuple in
        :class:`IndexEntry`'s field order, not an IndexEntry: a snapshot read locates tens
        of thousands of blobs, and a row is already that tuple (no object made per row; a
        blob with a single row, the usual case, is keyed in C).

        Queried in key order, as :meth:`lookup_many`."""
        out: dict[bytes, BlobLocation] = {}
        first = itemgetter(0)
        columns = "id, type, pack, offset, length, raw_length"
        ordered = sorted(blob_ids)
        for i in range(0, len(ordered), chunk):
            part = ordered[i : i + chunk]
            marks = ",".join("?" * len(part))
            rows: list[BlobLocation] = self._db.execute(
                f"SELECT {columns} FROM blobs WHERE id IN ({marks})", part
            ).fetchall()
            found = dict(zip(map(first, rows), rows, strict=True))
            if len(found) != len(rows):  # a blob with several rows: copies, or two deltas
                found = {}
                for r in rows:
                    kept = found.get(r[0])
                    if kept is None or (
                        blob_type is not None and kept[1] != blob_type and r[1] == blob_type
                    ):
                        found[r[0]] = r
            out.update(found)
        return out

    def entries(self) -> Iterator[IndexEntry]:
        """Every (blob, pack) location, deduplicated across deltas."""
        cur = self._db.execute(
            "SELECT DISTINCT id, type, pack, offset, length, raw_length FROM blobs ORDER BY pack, offset"
        )
        for r in cur:
            yield IndexEntry._make(r)

    def totals(self) -> dict[int, tuple[int, int, int]]:
        """Per blob type: (distinct blobs, stored bytes, plaintext bytes), one copy each."""
        rows = self._db.execute(
            "SELECT type, COUNT(*), SUM(length), SUM(raw_length) FROM "
            "(SELECT id, MIN(type) AS type, MIN(length) AS length, MIN(raw_length) AS raw_length "
            "FROM blobs GROUP BY id) GROUP BY type"
        ).fetchall()
        return {int(r[0]): (int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in rows}

    def packs(self) -> set[bytes]:
        return {r[0] for r in self._db.execute("SELECT DISTINCT pack FROM blobs")}

    def deltas(self) -> list[str]:
        """Names of the live (not superseded) deltas."""
        return [r[0] for r in self._db.execute("SELECT name FROM deltas WHERE superseded = 0")]

    def blob_count(self) -> int:
        row = self._db.execute("SELECT COUNT(DISTINCT id) FROM blobs").fetchone()
        return int(row[0]) if row else 0

    def delta_rows(self, names: Iterable[str]) -> set[tuple[str, bytes, bytes, int, int, int, int]]:
        """(delta, blob id, pack, type, offset, length, raw length) of the named deltas, as
        the cache holds them (for comparing the cache with the store's index)."""
        columns = "delta, id, pack, type, offset, length, raw_length"
        return {
            (r[0], r[1], r[2], r[3], r[4], r[5], r[6])
            for r in self._rows_where_in(columns, "delta", list(names), 500)
        }

    def remove_packs(self, pack_ids: Iterable[bytes]) -> None:
        self._ids = None
        self._db.execute("BEGIN")
        self._db.executemany("DELETE FROM blobs WHERE pack = ?", ((p,) for p in pack_ids))
        self._db.execute("COMMIT")


def delta_from_entries(entries: Iterable[IndexEntry], supersedes: Iterable[str] = ()) -> IndexDelta:
    packs: dict[bytes, list[PackEntry]] = {}
    for e in entries:
        packs.setdefault(e.pack_id, []).append(
            PackEntry(e.blob_type, e.blob_id, e.offset, e.length, e.raw_length)
        )
    return IndexDelta(packs=packs, supersedes=[bytes.fromhex(s) for s in supersedes])
