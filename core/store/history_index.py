"""The history index: which versions of which secret every snapshot holds, kept in the cache.

Answering "every version of this secret ever seen" from the store alone means reading every
snapshot's tree and records; this index makes it a few SQLite reads. It lives beside the
store's index cache (``<cache dir>/stores/<store id>/history.sqlite``, mode 0600) and is
rebuilt from the store when missing, damaged or of another schema, and extended with only
the snapshots not indexed yet.

What it holds in clear: secret ids, regions, project ids, snapshot ids and times, record blob
ids (keyed hashes: they reveal nothing), revisions, version dates, statuses and sizes. Names,
paths and CRC32s (a CRC of a short value narrows it down) are sealed with a subkey of the
store's master key (XChaCha20-Poly1305), one sealed chunk per indexing run.

Membership is kept as *runs*: a record present in consecutive snapshots of its source
(region, project) is one row ``(record, first snapshot, last snapshot)``, meaning "in every
snapshot of that source from first to last". A forgotten snapshot leaves that claim true for
the rest; a new snapshot older than the newest indexed one of its source would not, so it
triggers a rebuild. Only the Store's public methods are used (``list_snapshots``,
``read_tree_ids``, ``read_records``, ``keys``, the cache's location).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import blake3
import msgspec
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from core.scaleway.models import format_time
from core.store.history_catalog import (
    HistoryCatalog,
    HistoryStore,
    IndexedRecord,
    IndexedVersion,
    NameLookup,
    RefreshStats,
)
from core.store.model import SecretRecord, SnapshotHeader

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
FILE_NAME = "history.sqlite"
_KEY_CONTEXT = "secret-kloset 2026-12-01 v1 history cache names"
_NONCE_SIZE = 24
RECORD_BATCH = 2000  # records read from the store per call while indexing
TREE_PREFETCH = 4  # trees read concurrently while indexing
_WRITE_ATTEMPTS = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    sid INTEGER PRIMARY KEY, snap_id TEXT NOT NULL UNIQUE, time TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    src INTEGER PRIMARY KEY, region TEXT NOT NULL, project_id TEXT NOT NULL, last_sid INTEGER,
    UNIQUE (region, project_id));
CREATE TABLE IF NOT EXISTS snapshot_sources (
    sid INTEGER NOT NULL, src INTEGER NOT NULL, PRIMARY KEY (sid, src)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS secrets (
    sec INTEGER PRIMARY KEY, secret_id TEXT NOT NULL UNIQUE, src INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS names (nid INTEGER PRIMARY KEY, sec INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (chunk INTEGER PRIMARY KEY, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    rec INTEGER PRIMARY KEY, record_id BLOB NOT NULL UNIQUE, sec INTEGER NOT NULL,
    nid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS records_sec ON records (sec);
CREATE TABLE IF NOT EXISTS vstates (
    vs INTEGER PRIMARY KEY, sec INTEGER NOT NULL, revision INTEGER NOT NULL, created_at TEXT,
    status TEXT NOT NULL, size INTEGER, has_data INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS vstates_sec ON vstates (sec);
CREATE TABLE IF NOT EXISTS record_vstates (
    rec INTEGER NOT NULL, vs INTEGER NOT NULL, PRIMARY KEY (rec, vs)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    rec INTEGER NOT NULL, first_sid INTEGER NOT NULL, last_sid INTEGER,
    PRIMARY KEY (rec, first_sid)) WITHOUT ROWID;
"""


# --------------------------------------------------------------------------- sealing


class _Chunk(msgspec.Struct, frozen=True):
    """What one indexing run seals: its new names and the CRC32s of its new version states."""

    names: list[tuple[int, int, str, str]] = []  # nid, sec, path, name
    crc: list[tuple[int, int]] = []  # vs, crc32


_CHUNK_DECODER = msgspec.json.Decoder(_Chunk)


def _names_key(store: object) -> bytes | None:
    keys = getattr(store, "keys", None)
    master = getattr(keys, "master", None)
    if not isinstance(master, bytes):
        return None
    return blake3.blake3(master, derive_key_context=_KEY_CONTEXT).digest()


def _ad(store_id: str, chunk: int) -> bytes:
    return b"history-chunk\x00" + store_id.encode() + chunk.to_bytes(8, "big")


def _seal(key: bytes, store_id: str, chunk: int, payload: bytes) -> bytes:
    nonce = os.urandom(_NONCE_SIZE)
    return nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(
        payload, _ad(store_id, chunk), nonce, key
    )


def _open(key: bytes, store_id: str, chunk: int, sealed: bytes) -> bytes:
    return crypto_aead_xchacha20poly1305_ietf_decrypt(
        sealed[_NONCE_SIZE:], _ad(store_id, chunk), sealed[:_NONCE_SIZE], key
    )


# --------------------------------------------------------------------------- the index


class _Stale(Exception):
    """Another process changed the index while this one was computing its update."""


class _NeedsRebuild(Exception):
    """A new snapshot is older than one already indexed for its source."""


@dataclass
class _State:
    """The index loaded in memory for an update (rows to add are appended to it)."""

    generation: int = 0
    snaps: dict[str, int] = field(default_factory=dict)  # snap id -> sid
    snap_key: dict[int, tuple[str, str]] = field(default_factory=dict)  # sid -> (time, id)
    sources: dict[tuple[str, str], int] = field(default_factory=dict)
    last: dict[int, int | None] = field(default_factory=dict)  # src -> last indexed sid
    secrets: dict[str, int] = field(default_factory=dict)
    sec_src: dict[int, int] = field(default_factory=dict)
    names: dict[tuple[int, str, str], int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)  # record id (hex) -> rec
    rec_sec: dict[int, int] = field(default_factory=dict)
    rec_src: dict[int, int] = field(default_factory=dict)
    vstates: dict[tuple[int, int, str | None, str, int | None, int | None, bool], int] = field(
        default_factory=dict
    )
    # runs still open (their last snapshot is their source's last one: last_sid NULL on disk)
    open_runs: dict[int, dict[int, int]] = field(default_factory=dict)  # src -> rec -> first
    chunks: int = 0
    # what this update adds
    new_snaps: list[tuple[int, str, str]] = field(default_factory=list)
    new_snap_sources: list[tuple[int, int]] = field(default_factory=list)
    new_sources: list[tuple[int, str, str]] = field(default_factory=list)
    new_secrets: list[tuple[int, str, int]] = field(default_factory=list)
    new_names: list[tuple[int, int, str, str]] = field(default_factory=list)
    new_records: list[tuple[int, bytes, int, int]] = field(default_factory=list)
    new_vstates: list[tuple[int, int, int, str | None, str, int | None, bool, int | None]] = field(
        default_factory=list
    )
    new_record_vstates: list[tuple[int, int]] = field(default_factory=list)
    closed: dict[tuple[int, int], int] = field(default_factory=dict)  # (rec, first) -> last
    opened: set[tuple[int, int]] = field(default_factory=set)  # (rec, first) opened now


class HistoryIndex:
    """One store's history index. Get it with :func:`history_index`; every blocking SQLite
    call runs in a thread."""

    def __init__(self, path: Path | None, store_id: str, key: bytes | None) -> None:
        self.path = path
        self.store_id = store_id
        self._key = key or os.urandom(32)  # no master key (a test double): a session key
        self._lock = threading.Lock()
        self._alock = asyncio.Lock()
        self._chunks: dict[int, _Chunk] = {}
        self._lookup_cache: tuple[int, NameLookup] | None = None
        self._crcs: tuple[int, dict[int, int | None]] | None = None
        self._db = self._connect()

    # ------------------------------------------------------------------ opening

    def _connect(self) -> sqlite3.Connection:
        if self.path is None:
            db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            self._init(db)
            return db
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            return self._open_file()
        except (sqlite3.DatabaseError, ValueError) as err:
            log.warning("history index unusable (%s); rebuilding it", type(err).__name__)
            self._remove_files()
            return self._open_file()

    def _open_file(self) -> sqlite3.Connection:
        assert self.path is not None
        if not self.path.exists():
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        with contextlib.suppress(OSError):
            self.path.chmod(0o600)
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            self._init(db)
        except BaseException:
            db.close()
            raise
        return db

    def _init(self, db: sqlite3.Connection) -> None:
        db.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
        meta = dict(db.execute("SELECT k, v FROM meta").fetchall())
        if not meta:
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("version", str(SCHEMA_VERSION)), ("store_id", self.store_id), ("gen", "0")],
            )
            db.execute("COMMIT")
        elif meta.get("version") != str(SCHEMA_VERSION) or meta.get("store_id") != self.store_id:
            raise ValueError("history index of another schema or store")

    def _remove_files(self) -> None:
        assert self.path is not None
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(self.path) + suffix).unlink()

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()

    def _reset(self) -> None:
        """Drop everything (the next refresh indexes every snapshot again)."""
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            if self.path is not None:
                self._remove_files()
            self._chunks = {}
            self._lookup_cache = None
            self._crcs = None
            self._db = self._connect()

    # ------------------------------------------------------------------ refresh

    async def refresh(
        self, store: HistoryStore, headers: Sequence[SnapshotHeader] | None = None
    ) -> RefreshStats:
        """Index every present snapshot not indexed yet (all of them when the index is new
        or a new snapshot predates its source's newest indexed one)."""
        if headers is None:
            headers = await store.list_snapshots()
        async with self._alock:
            rebuilt = False
            for _attempt in range(_WRITE_ATTEMPTS):
                indexed = await asyncio.to_thread(self._indexed_ids)
                new = [h for h in headers if h.id not in indexed]
                if not new:
                    return RefreshStats(0, rebuilt)
                try:
                    state = await asyncio.to_thread(self._load_state)
                    await self._index(store, state, sorted(new, key=lambda h: (h.time, h.id)))
                    await asyncio.to_thread(self._write, state)
                    return RefreshStats(len(new), rebuilt)
                except _NeedsRebuild:
                    await asyncio.to_thread(self._reset)
                    rebuilt = True
                except _Stale:
                    continue
                except sqlite3.DatabaseError as err:
                    if self.path is None:
                        raise
                    log.warning("history index damaged (%s); rebuilding it", type(err).__name__)
                    await asyncio.to_thread(self._reset)
                    rebuilt = True
            raise RuntimeError("the history index kept changing under this process")

    def _indexed_ids(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT snap_id FROM snapshots")}

    def _open_chunks(self) -> list[_Chunk]:
        """Every sealed chunk, opened (chunks never change once written: each is opened once
        per process)."""
        known = self._chunks
        ids = [int(r[0]) for r in self._db.execute("SELECT chunk FROM chunks ORDER BY chunk")]
        missing = [c for c in ids if c not in known]
        if missing:
            marks = ",".join("?" * len(missing))
            for chunk, sealed in self._db.execute(
                f"SELECT chunk, sealed FROM chunks WHERE chunk IN ({marks})", missing
            ):
                try:
                    known[int(chunk)] = _CHUNK_DECODER.decode(
                        _open(self._key, self.store_id, int(chunk), bytes(sealed))
                    )
                except (CryptoError, msgspec.DecodeError):
                    raise sqlite3.DatabaseError("a sealed chunk fails to open") from None
        return [known[c] for c in ids]

    def _crc_map(self) -> dict[int, int | None]:
        """Version state -> CRC32, from the sealed chunks (once per index generation)."""
        gen = int(self._db.execute("SELECT v FROM meta WHERE k = 'gen'").fetchone()[0])
        if self._crcs is not None and self._crcs[0] == gen:
            return self._crcs[1]
        crcs: dict[int, int | None] = {}
        for chunk in self._open_chunks():
            crcs.update(chunk.crc)
        self._crcs = (gen, crcs)
        return crcs

    def _load_state(self) -> _State:
        with self._lock:
            db = self._db
            st = _State()
            st.generation = int(db.execute("SELECT v FROM meta WHERE k = 'gen'").fetchone()[0])
            for sid, snap_id, time in db.execute("SELECT sid, snap_id, time FROM snapshots"):
                st.snaps[snap_id] = sid
                st.snap_key[sid] = (time, snap_id)
            for src, region, project, last in db.execute("SELECT * FROM sources"):
                st.sources[(region, project)] = src
                st.last[src] = last
                st.open_runs[src] = {}
            for sec, secret_id, src in db.execute("SELECT sec, secret_id, src FROM secrets"):
                st.secrets[secret_id] = sec
                st.sec_src[sec] = src
            crcs: dict[int, int | None] = {}
            for chunk in self._open_chunks():
                for nid, sec, path, name in chunk.names:
                    st.names[(sec, path, name)] = nid
                crcs.update(chunk.crc)
                st.chunks += 1
            for rec, record_id, sec in db.execute("SELECT rec, record_id, sec FROM records"):
                st.records[bytes(record_id).hex()] = rec
                st.rec_sec[rec] = sec
                st.rec_src[rec] = st.sec_src[sec]
            for vs, sec, rev, created, status, size, has_data in db.execute(
                "SELECT vs, sec, revision, created_at, status, size, has_data FROM vstates"
            ):
                key = (sec, rev, created, status, size, crcs.get(vs), bool(has_data))
                st.vstates[key] = vs
            for rec, first in db.execute("SELECT rec, first_sid FROM runs WHERE last_sid IS NULL"):
                st.open_runs[st.rec_src[rec]][rec] = first
            return st

    async def _index(self, store: HistoryStore, st: _State, new: Sequence[SnapshotHeader]) -> None:
        """Add ``new`` (oldest first) to ``st`` in memory."""
        sem = asyncio.Semaphore(TREE_PREFETCH)

        async def tree(h: SnapshotHeader) -> list[str]:
            async with sem:
                return await store.read_tree_ids(h)

        tasks = [asyncio.ensure_future(tree(h)) for h in new]
        try:
            for header, task in zip(new, tasks, strict=True):
                await self._index_one(store, st, header, await task)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _index_one(
        self, store: HistoryStore, st: _State, header: SnapshotHeader, ids: list[str]
    ) -> None:
        sid = len(st.snap_key) + 1
        while sid in st.snap_key:
            sid += 1
        key = (format_time(header.time) or "", header.id)
        st.snaps[header.id] = sid
        st.snap_key[sid] = key
        st.new_snaps.append((sid, header.id, key[0]))
        unknown = [i for i in dict.fromkeys(ids) if i not in st.records]
        for start in range(0, len(unknown), RECORD_BATCH):
            batch = unknown[start : start + RECORD_BATCH]
            for rid, record in zip(batch, await store.read_records(batch), strict=True):
                self._add_record(st, rid, record)
        covered = {self._source(st, s.region, s.project_id) for s in header.sources}
        records, rec_src = st.records, st.rec_src
        recs = [records[rid] for rid in ids]
        srcs = {rec_src[r] for r in recs}
        by_src: dict[int, set[int]] = {}
        if len(srcs) == 1:  # the usual case: one source a snapshot
            by_src[srcs.pop()] = set(recs)
        else:
            for r in recs:
                by_src.setdefault(rec_src[r], set()).add(r)
        covered.update(by_src)
        for src in covered:
            prev = st.last.get(src)
            if prev is not None and st.snap_key[prev] >= key:
                raise _NeedsRebuild()
            # Set operations: only records that appear or disappear cost Python work.
            opened = st.open_runs.setdefault(src, {})
            here = by_src.get(src, set())
            gone = opened.keys() - here
            if gone:
                assert prev is not None  # runs are only open after a snapshot of the source
                for rec in gone:
                    first = opened.pop(rec)
                    st.closed[(rec, first)] = prev
                    st.opened.discard((rec, first))
            for rec in here - opened.keys():
                opened[rec] = sid
                st.opened.add((rec, sid))
            st.last[src] = sid
            st.new_snap_sources.append((sid, src))

    def _source(self, st: _State, region: str, project_id: str) -> int:
        src = st.sources.get((region, project_id))
        if src is None:
            src = len(st.sources) + 1
            st.sources[(region, project_id)] = src
            st.last[src] = None
            st.open_runs[src] = {}
            st.new_sources.append((src, region, project_id))
        return src

    def _add_record(self, st: _State, rid: str, record: SecretRecord) -> None:
        src = self._source(st, record.region, record.project_id)
        sec = st.secrets.get(record.secret_id)
        if sec is None:
            sec = len(st.secrets) + 1
            st.secrets[record.secret_id] = sec
            st.sec_src[sec] = src
            st.new_secrets.append((sec, record.secret_id, src))
        name_key = (sec, record.path, record.name)
        nid = st.names.get(name_key)
        if nid is None:
            nid = len(st.names) + 1
            st.names[name_key] = nid
            st.new_names.append((nid, sec, record.path, record.name))
        rec = len(st.records) + 1
        st.records[rid] = rec
        st.rec_sec[rec] = sec
        st.rec_src[rec] = st.sec_src[sec]
        st.new_records.append((rec, bytes.fromhex(rid), sec, nid))
        for v in record.versions:
            created = format_time(v.created_at)
            vkey = (sec, v.revision, created, v.status, v.size, v.crc32, v.payload is not None)
            vs = st.vstates.get(vkey)
            if vs is None:
                vs = len(st.vstates) + 1
                st.vstates[vkey] = vs
                st.new_vstates.append(
                    (vs, sec, v.revision, created, v.status, v.size, v.payload is not None, v.crc32)
                )
            st.new_record_vstates.append((rec, vs))

    def _write(self, st: _State) -> None:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                gen = int(db.execute("SELECT v FROM meta WHERE k = 'gen'").fetchone()[0])
                if gen != st.generation:
                    raise _Stale()
                db.executemany("INSERT INTO snapshots VALUES (?, ?, ?)", st.new_snaps)
                db.executemany("INSERT INTO sources VALUES (?, ?, ?, NULL)", st.new_sources)
                db.executemany(
                    "UPDATE sources SET last_sid = ? WHERE src = ?",
                    [(last, src) for src, last in st.last.items()],
                )
                db.executemany("INSERT INTO snapshot_sources VALUES (?, ?)", st.new_snap_sources)
                db.executemany("INSERT INTO secrets VALUES (?, ?, ?)", st.new_secrets)
                db.executemany(
                    "INSERT INTO names VALUES (?, ?)", [(n[0], n[1]) for n in st.new_names]
                )
                db.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", st.new_records)
                db.executemany(
                    "INSERT INTO vstates VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [v[:7] for v in st.new_vstates],
                )
                db.executemany("INSERT INTO record_vstates VALUES (?, ?)", st.new_record_vstates)
                # open runs: last_sid NULL (up to their source's last snapshot); closed: set
                db.executemany("INSERT INTO runs VALUES (?, ?, NULL)", sorted(st.opened))
                db.executemany(
                    "INSERT OR REPLACE INTO runs VALUES (?, ?, ?)",
                    [(rec, first, last) for (rec, first), last in st.closed.items()],
                )
                if st.new_names or st.new_vstates:
                    chunk = st.chunks + 1
                    payload = msgspec.json.encode(
                        _Chunk(
                            names=st.new_names,
                            crc=[(v[0], v[7]) for v in st.new_vstates if v[7] is not None],
                        )
                    )
                    db.execute(
                        "INSERT INTO chunks VALUES (?, ?)",
                        (chunk, _seal(self._key, self.store_id, chunk, payload)),
                    )
                db.execute("UPDATE meta SET v = ? WHERE k = 'gen'", (str(gen + 1),))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------------ queries

    async def catalog(self, headers: Sequence[SnapshotHeader]) -> HistoryCatalog:
        """Every secret and (decrypted) name, and the present snapshots of each source."""
        return await asyncio.to_thread(self._catalog, list(headers))

    async def up_to_date(self, store: HistoryStore) -> HistoryCatalog:
        """Refresh from the store, then the catalog; a damaged index is rebuilt once."""
        headers = await store.list_snapshots()
        try:
            await self.refresh(store, headers)
            return await self.catalog(headers)
        except sqlite3.DatabaseError as err:
            if self.path is None:
                raise
            log.warning("history index damaged (%s); rebuilding it", type(err).__name__)
            await asyncio.to_thread(self._reset)
            await self.refresh(store, headers)
            return await self.catalog(headers)

    def _catalog(self, headers: list[SnapshotHeader]) -> HistoryCatalog:
        with self._lock:
            db = self._db
            present = {h.id: h for h in headers}
            srcs = {
                src: (region, project)
                for src, region, project in db.execute(
                    "SELECT src, region, project_id FROM sources"
                )
            }
            lookup = self._lookup(srcs)
            per_source: dict[tuple[str, str], list[tuple[str, str]]] = {}
            for src, snap_id, time in db.execute(
                "SELECT src, snap_id, time FROM snapshot_sources JOIN snapshots USING (sid)"
            ):
                if snap_id in present:
                    per_source.setdefault(srcs[src], []).append((time, snap_id))
        return HistoryCatalog(
            lookup=lookup,
            headers=present,
            source_snapshots={k: [s for _t, s in sorted(v)] for k, v in per_source.items()},
        )

    def _lookup(self, srcs: dict[int, tuple[str, str]]) -> NameLookup:
        """The names and secrets, built once per index generation (queries share it)."""
        gen = int(self._db.execute("SELECT v FROM meta WHERE k = 'gen'").fetchone()[0])
        cached = self._lookup_cache
        if cached is not None and cached[0] == gen:
            return cached[1]
        secrets = {
            sec: (secret_id, src)
            for sec, secret_id, src in self._db.execute("SELECT sec, secret_id, src FROM secrets")
        }
        names: dict[int, tuple[int, int, str, str]] = {}
        for chunk in self._open_chunks():
            names.update((row[0], row) for row in chunk.names)
        lookup = NameLookup(secrets, srcs, names)
        self._lookup_cache = (gen, lookup)
        return lookup

    async def records(
        self, catalog: HistoryCatalog, secs: Iterable[int]
    ) -> tuple[list[IndexedRecord], dict[int, IndexedVersion]]:
        """The records of these secrets (with the present snapshots holding each) and their
        version states."""
        return await asyncio.to_thread(self._records, catalog, sorted(set(secs)))

    def _records(
        self, catalog: HistoryCatalog, secs: list[int]
    ) -> tuple[list[IndexedRecord], dict[int, IndexedVersion]]:
        with self._lock:
            db = self._db
            db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (sec INTEGER PRIMARY KEY)")
            db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_rec (rec INTEGER PRIMARY KEY)")
            db.execute("BEGIN")
            try:
                # CROSS JOIN keeps SQLite's loop order: the few wanted rows outside, the
                # indexes inside (never a scan of runs or record_vstates).
                db.execute("DELETE FROM wanted")
                db.execute("DELETE FROM wanted_rec")
                db.executemany("INSERT INTO wanted VALUES (?)", [(s,) for s in secs])
                keys = {
                    sid: (time, snap_id)
                    for sid, snap_id, time in db.execute("SELECT sid, snap_id, time FROM snapshots")
                }
                rows = db.execute(
                    "SELECT r.rec, r.record_id, r.sec, r.nid FROM wanted w"
                    " CROSS JOIN records r ON r.sec = w.sec"
                ).fetchall()
                db.executemany("INSERT INTO wanted_rec VALUES (?)", [(r[0],) for r in rows])
                runs: dict[int, list[tuple[int, int]]] = {}
                for rec, first, last in db.execute(
                    "SELECT u.rec, u.first_sid, coalesce(u.last_sid, s.last_sid)"
                    " FROM wanted_rec w CROSS JOIN runs u ON u.rec = w.rec"
                    " JOIN records r ON r.rec = u.rec JOIN secrets x ON x.sec = r.sec"
                    " JOIN sources s ON s.src = x.src"
                ):
                    runs.setdefault(rec, []).append((first, last))
                rvs: dict[int, list[int]] = {}
                for rec, vs in db.execute(
                    "SELECT rv.rec, rv.vs FROM wanted_rec w"
                    " CROSS JOIN record_vstates rv ON rv.rec = w.rec"
                ):
                    rvs.setdefault(rec, []).append(vs)
                vrows = db.execute(
                    "SELECT v.vs, v.sec, v.revision, v.created_at, v.status, v.size, v.has_data"
                    " FROM wanted w CROSS JOIN vstates v ON v.sec = w.sec"
                ).fetchall()
                crcs = self._crc_map()
            finally:
                db.execute("COMMIT")
        # expand runs against the present snapshots of each record's source
        ordered: dict[tuple[str, str], tuple[list[tuple[str, str]], list[str]]] = {}
        for src_key, ids in catalog.source_snapshots.items():
            ordered[src_key] = (
                [(format_time(catalog.headers[i].time) or "", i) for i in ids],
                ids,
            )
        records = []
        for rec, record_id, sec, nid in rows:
            secret = catalog.secrets[sec]
            keyed, ids = ordered.get((secret.region, secret.project_id), ([], []))
            held: list[str] = []
            for first, last in sorted(runs.get(rec, ())):
                lo = bisect.bisect_left(keyed, keys[first])
                hi = bisect.bisect_right(keyed, keys[last])
                held.extend(ids[lo:hi])
            records.append(
                IndexedRecord(
                    rec=rec,
                    record_id=bytes(record_id).hex(),
                    sec=sec,
                    nid=nid,
                    vstates=tuple(rvs.get(rec, ())),
                    snapshots=tuple(held),
                )
            )
        versions = {
            vs: IndexedVersion(vs, sec, rev, created, status, size, crcs.get(vs), bool(data))
            for vs, sec, rev, created, status, size, data in vrows
        }
        return records, versions


_OPEN: weakref.WeakKeyDictionary[object, HistoryIndex] = weakref.WeakKeyDictionary()


def history_path(store: object, cache_dir: Path | str | None = None) -> Path | None:
    """Where a store's history index lives: beside its index cache (None: in memory)."""
    store_id = str(getattr(store, "id", ""))
    if cache_dir is not None:
        return (
            None if cache_dir == ":memory:" else Path(cache_dir) / "stores" / store_id / FILE_NAME
        )
    cache_path = getattr(getattr(store, "cache", None), "path", None)
    if cache_path is None:
        return None
    return Path(cache_path).parent / FILE_NAME


def history_index(store: object, cache_dir: Path | str | None = None) -> HistoryIndex:
    """The history index of an open store (one per store object; opened on first use)."""
    index = _OPEN.get(store)
    if index is None:
        index = HistoryIndex(
            history_path(store, cache_dir), str(getattr(store, "id", "")), _names_key(store)
        )
        _OPEN[store] = index
    return index


def close_history_index(store: object) -> None:
    """Close a store's history index (its SQLite connection), if one was opened."""
    index = _OPEN.pop(store, None)
    if index is not None:
        index.close()
