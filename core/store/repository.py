"""The snapshot store: open/init, key and lock delegations, snapshots (restic's
``internal/repository``); blob reads come from :mod:`core.store.reads`, maintenance
primitives from :mod:`core.store.maintenance` (both mixins).

Its neighbours hold the other concerns: :mod:`core.store.config` (the config object),
:mod:`core.store.keys` (key slots), :mod:`core.store.packer` (pack building),
:mod:`core.store.writer` (the snapshot writer), :mod:`core.store.ops` (check, forget, prune,
copy, diff, repair). See docs/FORMAT.md for the on-backend format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from core._gc import collector_paused
from core.store import envelope
from core.store import keys as key_slots
from core.store.backends import Backend, ObjectInfo, open_backend
from core.store.codec import NewerVersionError, fast_decoder
from core.store.config import (
    DEFAULT_PACK_SIZE,
    MAX_PACK_SIZE,
    MIN_PACK_SIZE,
    STORE_VERSION,
    StoreConfig,
    parse_config,
    seal_config,
)
from core.store.crypto import (
    BLOB_RECORD,
    BLOB_TREE,
    ID_SIZE,
    KEY_SIZE,
    DecryptionError,
    KdfParams,
    Keys,
    random_bytes,
)
from core.store.errors import (
    AmbiguousSnapshotError,
    BlobDamagedError,
    BlobNotFoundError,
    ConfigDamagedError,
    CorruptStoreError,
    ObjectExistsError,
    ObjectNotFoundError,
    SnapshotNotFoundError,
    StoreError,
    StoreExistsError,
    StoreNotFoundError,
    UnsupportedFormatError,
)
from core.store.index import (
    IndexCache,
    IndexDelta,
    IndexEntry,
    delta_from_entries,
    seal_delta,
)
from core.store.keys import KeyInfo
from core.store.locks import DEFAULT_LIFETIME, LockHandle, LockInfo, list_locks
from core.store.maintenance import Maintenance
from core.store.model import SecretRecord, SnapshotHeader
from core.store.packer import BlobSink
from core.store.reads import READ_CONCURRENCY, YIELD_EVERY, BlobReads
from core.store.record_cache import CachedTree, PendingTree, RecordCache
from core.store.tree import (
    PATCH_DEPTH_MAX,
    PATCH_SHARE,
    TREE_V1,
    TREE_V2,
    TREE_V3,
    TreeNodeError,
    TreeVersionError,
    TreeWalk,
    build_tree,
    collect_tree_blobs,
    diff_lists,
    encode_patch,
    walk_tree,
)
from core.store.writer import Writer

if TYPE_CHECKING:
    from core.store.ops.check import CheckReport
    from core.store.ops.copy import CopyReport
    from core.store.ops.forget import ForgetResult, RetentionPolicy
    from core.store.ops.prune import PruneReport

log = logging.getLogger(__name__)


_FAST_RECORD = fast_decoder(SecretRecord)


def _raw_ids(ids: Sequence[str]) -> list[bytes]:
    try:
        return [bytes.fromhex(rid) for rid in ids]
    except ValueError:
        bad = next(rid for rid in ids if not _is_hex(rid))
        raise BlobNotFoundError(bad) from None


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


TREE_CACHE_ENTRIES = 200_000  # tree chunks kept decrypted per session (about 60 MB at most)
TREES_RESOLVED = 8  # whole trees (record id lists) kept per session: a patch's base, a parent


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("secret-kloset"))


# --------------------------------------------------------------------------- the store


class Store(BlobReads, Maintenance):
    """An open store. Build one with :meth:`init` or :meth:`open`; close it when done."""

    def __init__(
        self,
        backend: Backend,
        config: StoreConfig,
        keys: Keys,
        slot_id: str,
        cache: IndexCache,
    ) -> None:
        self.backend = backend
        self.config = config
        self.keys = keys
        self.slot_id = slot_id
        self.cache = cache
        self.damaged_snapshots: dict[str, str] = {}
        # decrypted headers of this session, keyed by name -> (size, change tag, header)
        self._headers: dict[str, tuple[int, str, SnapshotHeader]] = {}
        self.last_delta_size = 0
        self._closed = False
        self._cache_rebuilt = False
        self.unreadable: set[bytes] = set()
        self._tree_cache: dict[str, bytes] = {}
        self._resolved: OrderedDict[str, TreeWalk] = OrderedDict()  # trees read intact
        self._written: OrderedDict[str, TreeWalk] = OrderedDict()  # trees this session wrote
        self.record_cache = RecordCache(
            cache.path.parent / "trees" if cache.path is not None else None, keys
        )
        # the records of the newest tree this session committed, by id (the next commit's
        # cache entry starts from them); sealed into the record cache when the store closes
        # (a session that commits 200 snapshots writes one file, not 200)
        self._latest_records: tuple[str, list[str], dict[str, SecretRecord]] | None = None
        # or, when its base tree's records were in the record cache, not decoded yet
        self._latest_pending: PendingTree | None = None
        self._rebuild_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"Store(id={self.id[:8]!r}, location={self.location!r})"

    @property
    def id(self) -> str:
        return self.config.store_id

    @property
    def location(self) -> str:
        return self.backend.location

    # ------------------------------------------------------------------ init / open

    @classmethod
    async def init(
        cls,
        location: str,
        passphrase: str,
        *,
        kdf: KdfParams | None = None,
        pack_size: int = DEFAULT_PACK_SIZE,
        cache_dir: Path | str | None = None,
        backend: Backend | None = None,
        **backend_options: object,
    ) -> Store:
        """Create a store at ``location`` (refused if one is there) and return it open."""
        key_slots.check_passphrase(passphrase)
        if not MIN_PACK_SIZE <= pack_size <= MAX_PACK_SIZE:
            raise StoreError(
                f"pack size {pack_size} is out of range",
                hint=f"choose between {MIN_PACK_SIZE} and {MAX_PACK_SIZE} bytes",
            )
        kdf = kdf or KdfParams.default()
        be = backend or open_backend(location, **backend_options)
        try:
            if await be.exists("config", "config"):
                raise StoreExistsError(be.location)
            store_id = random_bytes(ID_SIZE)
            keys = Keys(random_bytes(KEY_SIZE), store_id)
            slot = await asyncio.to_thread(key_slots.make_slot, keys, passphrase, kdf)
            config = StoreConfig(
                store_id=store_id.hex(),
                version=STORE_VERSION,
                created=datetime.now(UTC),
                pack_size=pack_size,
            )
            # Key slot first, config last: a store exists once its config does.
            await be.put("keys", slot.id, key_slots.seal_slot(keys, slot), create_only=True)
            cfg = seal_config(keys, config)
            try:
                await be.put("config", "config", cfg, create_only=True)
            except ObjectExistsError:
                with contextlib.suppress(StoreError):
                    await be.delete("keys", slot.id)
                raise StoreExistsError(be.location) from None
            cache = cls._open_cache(cache_dir, config.store_id)
            return cls(be, config, keys, slot.id, cache)
        except BaseException:
            if backend is None:
                await be.close()
            raise

    @staticmethod
    def _open_cache(cache_dir: Path | str | None, store_id: str) -> IndexCache:
        if cache_dir == ":memory:":
            return IndexCache(None, store_id)
        base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        return IndexCache(base / "stores" / store_id / "index.sqlite", store_id)

    @classmethod
    async def open(
        cls,
        location: str,
        passphrase: str,
        *,
        cache_dir: Path | str | None = None,
        key_id: str | None = None,
        backend: Backend | None = None,
        **backend_options: object,
    ) -> Store:
        """Open an existing store; raises StoreNotFoundError or WrongPassphraseError."""
        be = backend or open_backend(location, **backend_options)
        try:
            try:
                raw_config = await be.get("config", "config")
            except ObjectNotFoundError:
                raise StoreNotFoundError(be.location) from None
            try:
                config = parse_config(raw_config)
            except ConfigDamagedError:
                raise
            except CorruptStoreError as err:
                raise ConfigDamagedError(err.message) from None
            keys, slot_id = await key_slots.unlock(be, config, passphrase, key_id)
            try:
                envelope.verify_mac(keys, raw_config, envelope.KIND_CONFIG, "config")
            except CorruptStoreError:
                raise ConfigDamagedError(
                    "the store's config object fails its MAC check (damaged or tampered with)"
                ) from None
            cache = cls._open_cache(cache_dir, config.store_id)
            store = cls(be, config, keys, slot_id, cache)
            try:
                await store.refresh_index()
            except BaseException:
                cache.close()
                raise
            return store
        except BaseException:
            if backend is None:
                await be.close()
            raise

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._seal_latest()
            self._latest_records = None
            await self.record_cache.drain()
        finally:
            self.cache.close()
            await self.backend.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ key slots

    async def list_keys(self) -> list[KeyInfo]:
        return await key_slots.list_keys(self)

    async def add_key(self, passphrase: str, *, kdf: KdfParams | None = None) -> KeyInfo:
        """Add a key slot for another passphrase (the data is not rewritten)."""
        return await key_slots.add_key(self, passphrase, kdf=kdf)

    async def remove_key(self, key_id: str) -> str:
        """Remove a key slot by id or unique prefix; the last one is refused. Returns its id."""
        return await key_slots.remove_key(self, key_id)

    async def change_passphrase(
        self,
        new_passphrase: str,
        *,
        old_passphrase: str | None = None,
        kdf: KdfParams | None = None,
    ) -> KeyInfo:
        """Replace the slot this store was opened with (or the one ``old_passphrase`` opens)."""
        return await key_slots.change_passphrase(
            self, new_passphrase, old_passphrase=old_passphrase, kdf=kdf
        )

    # ------------------------------------------------------------------ locks

    async def lock(
        self,
        *,
        exclusive: bool,
        lifetime: float = DEFAULT_LIFETIME,
        wait: float = 0.0,
        purpose: str = "",
    ) -> LockHandle:
        """Take a lock (released with ``await handle.release()`` or ``async with``)."""
        handle = LockHandle(
            self.backend, self.keys, exclusive=exclusive, lifetime=lifetime, purpose=purpose
        )
        await handle.acquire(wait=wait)
        return handle

    async def list_locks(self) -> list[LockInfo]:
        return sorted(await list_locks(self.backend, self.keys), key=lambda lk: lk.time)

    async def remove_stale_locks(self) -> list[str]:
        """Delete stale locks (expired, or their process on this host is gone)."""
        removed = []
        for lk in await list_locks(self.backend, self.keys):
            if lk.stale():
                await self.backend.delete("locks", lk.id)
                removed.append(lk.id)
        return removed

    async def remove_all_locks(self) -> list[str]:
        """Delete every lock, live or not (the user said so: none may be live)."""
        removed = []
        for obj in await self.backend.list("locks"):
            await self.backend.delete("locks", obj.name)
            removed.append(obj.name)
        return removed

    # ------------------------------------------------------------------ writing

    def writer(
        self,
        *,
        tags: Sequence[str] = (),
        pack_size: int | None = None,
        lock_lifetime: float = DEFAULT_LIFETIME,
        lock_wait: float = 0.0,
    ) -> Writer:
        return Writer(
            self, tags=tags, pack_size=pack_size, lock_lifetime=lock_lifetime, lock_wait=lock_wait
        )

    def blob_sink(self, *, pack_size: int | None = None) -> BlobSink:
        """Low-level packing for maintenance (take the exclusive lock first)."""
        return BlobSink(self, pack_size=pack_size)

    async def write_index_delta(self, delta: IndexDelta) -> str:
        """Write one index delta (after its packs are durable) and record it in the cache."""
        name, obj = seal_delta(self.keys, delta)
        try:
            await self.backend.put("index", name, obj, create_only=True)
        except ObjectExistsError:
            pass  # same content, same name
        self.last_delta_size = len(obj)
        self.cache.add_delta(name, delta)
        return name

    async def write_index(
        self, entries: Iterable[IndexEntry], *, supersedes: Iterable[str] = ()
    ) -> str:
        """Write a (compacted) delta of ``entries`` that replaces the ``supersedes`` deltas."""
        return await self.write_index_delta(delta_from_entries(entries, supersedes))

    def seal_snapshot(self, header: SnapshotHeader) -> bytes:
        body = self.keys.seal_object(
            envelope.KIND_SNAPSHOT, bytes.fromhex(header.id), header.to_bytes()
        )
        return envelope.seal(self.keys, envelope.KIND_SNAPSHOT, body)

    def open_snapshot(self, name: str, data: bytes) -> SnapshotHeader:
        body = envelope.open_(self.keys, data, envelope.KIND_SNAPSHOT, name)
        try:
            header = SnapshotHeader.from_bytes(
                self.keys.open_object(envelope.KIND_SNAPSHOT, bytes.fromhex(name), body)
            )
        except DecryptionError:
            raise CorruptStoreError(
                f"snapshot {name[:16]} fails authentication", kind="snapshots", name=name
            ) from None
        except NewerVersionError as err:
            raise UnsupportedFormatError(f"snapshot {name[:16]}: {err}") from None
        except (ValueError, KeyError, TypeError):
            raise CorruptStoreError(
                f"snapshot {name[:16]} is malformed", kind="snapshots", name=name
            ) from None
        if header.id != name:
            raise CorruptStoreError(
                f"snapshot {name[:16]} does not match its name", kind="snapshots", name=name
            )
        return header

    async def put_snapshot(self, header: SnapshotHeader, *, overwrite: bool = False) -> None:
        """Write a snapshot object (copy, amendments). Its tree must already be in the store."""
        self._headers.pop(header.id, None)
        await self.backend.put(
            "snapshots", header.id, self.seal_snapshot(header), create_only=not overwrite
        )

    # ------------------------------------------------------------------ snapshots

    async def get_snapshot(self, snapshot_id: str) -> SnapshotHeader:
        try:
            data = await self.backend.get("snapshots", snapshot_id)
        except ObjectNotFoundError:
            raise SnapshotNotFoundError(snapshot_id) from None
        except ValueError:
            raise SnapshotNotFoundError(snapshot_id) from None
        return self.open_snapshot(snapshot_id, data)

    async def list_snapshots(
        self,
        project: str | None = None,
        region: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> list[SnapshotHeader]:
        """Readable snapshots, oldest first, filtered by source project/region and tags (all).

        A damaged snapshot object is skipped and named in ``damaged_snapshots``.
        """
        objs = await self.backend.list("snapshots")
        sem = asyncio.Semaphore(READ_CONCURRENCY)

        async def load(info: ObjectInfo) -> SnapshotHeader | None:
            cached = self._headers.get(info.name)
            if cached is not None and info.tag is not None and cached[:2] == (info.size, info.tag):
                return cached[2]
            async with sem:
                try:
                    data = await self.backend.get("snapshots", info.name)
                except ObjectNotFoundError:
                    return None  # forgotten meanwhile
            try:
                header = self.open_snapshot(info.name, data)
            except (CorruptStoreError, UnsupportedFormatError) as err:
                self.damaged_snapshots[info.name] = err.message
                log.warning("skipping snapshot %s: %s", info.name[:8], err.message)
                return None
            self.damaged_snapshots.pop(info.name, None)
            if info.tag is not None:
                self._headers[info.name] = (info.size, info.tag, header)
            return header

        present = {o.name for o in objs}
        for gone in [n for n in self._headers if n not in present]:
            del self._headers[gone]
        headers = [h for h in await asyncio.gather(*(load(o) for o in objs)) if h is not None]
        wanted = set(tags or ())
        out = [
            h
            for h in headers
            if h.covers(project=project, region=region) and wanted.issubset(h.tags)
        ]
        out.sort(key=lambda h: (h.time, h.id))
        return out

    async def resolve_snapshot(
        self, ref: str, project: str | None = None, region: str | None = None
    ) -> SnapshotHeader:
        """``latest``, a full id or a unique prefix (among the filtered snapshots)."""
        ref = ref.strip().lower()
        if not ref:
            raise SnapshotNotFoundError(ref)
        headers = await self.list_snapshots(project=project, region=region)
        if ref == "latest":
            if not headers:
                raise SnapshotNotFoundError("latest")
            return headers[-1]
        matches = [h for h in headers if h.id.startswith(ref)]
        exact = [h for h in matches if h.id == ref]
        if exact:
            return exact[0]
        if not matches:
            raise SnapshotNotFoundError(ref)
        if len(matches) > 1:
            raise AmbiguousSnapshotError(ref, len(matches))
        return matches[0]

    async def update_snapshot(
        self,
        snapshot_id: str,
        *,
        pinned: bool | None = None,
        tags: Iterable[str] | None = None,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
    ) -> SnapshotHeader:
        """Amend a snapshot's pin or tags (one atomic overwrite of its object)."""
        header = await self.get_snapshot(snapshot_id)
        new_tags = list(tags) if tags is not None else list(header.tags)
        for t in add_tags:
            if t not in new_tags:
                new_tags.append(t)
        drop = set(remove_tags)
        new_tags = [t for t in new_tags if t not in drop]
        updated = replace(
            header,
            tags=tuple(new_tags),
            pinned=header.pinned if pinned is None else pinned,
        )
        await self.put_snapshot(updated, overwrite=True)
        return updated

    async def delete_snapshots(self, snapshot_ids: Iterable[str]) -> list[str]:
        """Remove snapshot objects (their data stays until ``prune``)."""
        done = []
        for sid in snapshot_ids:
            self._headers.pop(sid, None)
            await self.backend.delete("snapshots", sid)
            done.append(sid)
        return done

    async def delete_snapshot(self, snapshot_id: str) -> None:
        await self.delete_snapshots([snapshot_id])

    @property
    def tree_version(self) -> int:
        """The tree layout this store's writers use: patches on chunked keyframes (format
        3), chunked (format 2) or flat (format 1); older stores keep their layout, so the
        programs that made them still read every snapshot."""
        if self.config.version >= 3:
            return TREE_V3
        return TREE_V2 if self.config.version >= 2 else TREE_V1

    async def _read_tree_blobs(self, ids: list[str]) -> dict[str, bytes]:
        """Tree blobs, verified, kept for the session: chunks are shared by many snapshots
        (a parent and its child differ in a few), and content-addressed, so never stale."""
        out = {i: self._tree_cache[i] for i in ids if i in self._tree_cache}
        missing = [i for i in ids if i not in out]
        if missing:
            got = await self.read_blobs(missing, BLOB_TREE)
            if len(self._tree_cache) + len(got) > TREE_CACHE_ENTRIES:
                self._tree_cache.clear()
            self._tree_cache.update(got)
            out.update(got)
        return out

    def _tree_damaged(self, err: TreeNodeError, what: str) -> StoreError:
        if isinstance(err, TreeVersionError):
            return UnsupportedFormatError(f"the tree of {what}: {err}")
        self.unreadable.add(bytes.fromhex(err.node_id))
        return BlobDamagedError(err.node_id, f"the tree of {what} is malformed ({err})")

    def _known_tree(self, root: str) -> TreeWalk | None:
        walk = self._resolved.get(root)
        if walk is not None:
            self._resolved.move_to_end(root)
        return walk

    @staticmethod
    def _remember(trees: OrderedDict[str, TreeWalk], walk: TreeWalk) -> None:
        """Keep a whole tree (content-addressed, so never stale), the newest few."""
        trees[walk.root] = walk
        trees.move_to_end(walk.root)
        while len(trees) > TREES_RESOLVED:
            trees.popitem(last=False)

    async def _walk(self, root: str, what: str) -> TreeWalk:
        walk = self._known_tree(root)
        if walk is None:
            try:
                walk = await walk_tree(root, self._read_tree_blobs, self._known_tree)
            except TreeNodeError as err:
                raise self._tree_damaged(err, what) from None
            self._remember(self._resolved, walk)
        return walk

    async def read_tree_walk(self, snapshot: str | SnapshotHeader) -> TreeWalk:
        """A snapshot's record ids and every tree blob its tree is made of."""
        header = (
            snapshot if isinstance(snapshot, SnapshotHeader) else await self.get_snapshot(snapshot)
        )
        walk = await self._walk(header.tree, f"snapshot {header.short_id}")
        # a copy: callers may keep or change the lists, the session's copy stays as read
        return TreeWalk(list(walk.record_ids), list(walk.node_ids), walk.chain, walk.edits)

    async def read_tree_ids(self, snapshot: str | SnapshotHeader) -> list[str]:
        return (await self.read_tree_walk(snapshot)).record_ids

    async def tree_blobs(self, roots: Sequence[str]) -> tuple[set[str], set[str]]:
        """Every tree blob and record id of these trees (each shared chunk read once)."""
        try:
            return await collect_tree_blobs(list(roots), self._read_tree_blobs)
        except TreeNodeError as err:
            raise self._tree_damaged(err, "a snapshot") from None

    async def write_tree(
        self, sink: BlobSink, record_ids: Sequence[str], *, base: str | None = None
    ) -> str:
        """Store the tree of ``record_ids``; its root id.

        In a format-3 store with ``base`` (the parent snapshot's tree) a patch against it
        when that is small and the base reads intact (docs/FORMAT.md §8.2), else chunks
        (unchanged ones deduplicate).
        """
        ids = list(record_ids)
        if base is not None and self.tree_version >= TREE_V3:
            patched = await self._write_patch(sink, ids, base)
            if patched is not None:
                return patched
        root, nodes = build_tree(
            ids,
            lambda raw: self.keys.blob_id(BLOB_TREE, raw),
            version=self.tree_version,
        )
        for nid, raw in nodes:
            await sink.put_blob(BLOB_TREE, raw, blob_id=nid)
        if self.tree_version >= TREE_V3:
            self._remember(
                self._written, TreeWalk(ids, [root, *(n.hex() for n, _ in reversed(nodes))])
            )
        return root

    async def _write_patch(self, sink: BlobSink, ids: list[str], base: str) -> str | None:
        """The root of a patch of ``ids`` against ``base``, or None when a keyframe is due:
        the base does not read intact (a damaged parent is not built on), a blob of it is
        one this writer must not reuse, its chain is full, or the edits are too many.

        A tree this session wrote serves as a base without a read (readers never trust
        those: what was written is only known intact once read); the check that every blob
        of the base is one the writer may reuse covers both."""
        walk = self._written.get(base)
        if walk is None:
            try:
                walk = await self._walk(base, "the parent snapshot")
            except (CorruptStoreError, UnsupportedFormatError) as err:
                log.warning(
                    "writing a whole tree: the parent's tree cannot be read (%s)", err.message
                )
                return None
        if not all(sink.known(bytes.fromhex(n)) for n in walk.node_ids):
            return None
        if walk.record_ids == ids:
            sink.stats.blobs_reused += 1  # the same list: the same tree (its root reused)
            return base
        chain = walk.child_chain()
        if len(chain) > PATCH_DEPTH_MAX:
            return None
        ops = diff_lists(walk.record_ids, ids)
        if ops is None:
            return None
        edits = walk.edits + sum(removed + len(inserted) for _p, removed, inserted in ops)
        if edits > max(32, len(ids) // PATCH_SHARE):
            return None
        raw = encode_patch(chain, len(ids), ops)
        root, _added = await sink.put_blob(BLOB_TREE, raw)
        self._remember(self._written, TreeWalk(ids, [root, *walk.node_ids], chain, edits))
        return root

    async def read_tree(self, snapshot: str | SnapshotHeader) -> list[SecretRecord]:
        """Every secret record of a snapshot, in tree order: from the sealed record cache
        when it holds the tree (core/store/record_cache.py), else read and then cached."""
        header = (
            snapshot if isinstance(snapshot, SnapshotHeader) else await self.get_snapshot(snapshot)
        )
        pending = self._latest_pending
        latest = (
            self._resolved_latest()
            if pending is not None and pending.root == header.tree
            else self._latest_records
        )
        if latest is not None and latest[0] == header.tree:
            return [latest[2][i] for i in latest[1]]
        hit = await self.record_cache.get(header.tree)
        if hit is not None:
            return hit[1]
        ids = await self.read_tree_ids(header)
        records = await self.read_records(ids)
        self.record_cache.put(header.tree, ids, records)
        return records

    async def cached_tree(self, snapshot: str | SnapshotHeader) -> CachedTree | None:
        """A snapshot's records from the sealed record cache, still encoded, to decode chunk
        by chunk (the console's open of a big snapshot: its first rows at once, and never
        every record decoded at the same time), or None when the cache does not hold its
        tree (then :meth:`read_tree_ids` and :meth:`read_records` read the store)."""
        header = (
            snapshot if isinstance(snapshot, SnapshotHeader) else await self.get_snapshot(snapshot)
        )
        return await self.record_cache.chunked(header.tree)

    async def cache_tree_records(
        self,
        root: str,
        ids: Sequence[str],
        fresh: dict[str, SecretRecord],
        base: str | None,
    ) -> None:
        """After a commit: seal the new tree's records into the record cache when they are
        all at hand (``fresh``: what the writer put; the rest from its base tree's entry,
        decoded only when the new tree is sealed or read: :class:`PendingTree`)."""
        if self.record_cache.directory is None:
            return
        if all(i in fresh for i in ids):  # every record put now (a first backup)
            self._set_latest((root, list(ids), {i: fresh[i] for i in ids}))
            return
        # otherwise the base tree's records must hold the rest (if not, a record reused from
        # an older tree, the entry stays as it was)
        pending = self._latest_pending
        if pending is not None and pending.root == base:
            later = pending.successor(root, ids, fresh)
            if later.covers():
                self._set_latest(later)
            return
        if self._latest_records is not None and self._latest_records[0] == base:
            if root == base and not fresh:
                return  # the same tree (an unchanged backup): its records are the latest
            known = {**self._latest_records[2], **fresh}
            if all(i in known for i in ids):
                self._set_latest((root, list(ids), {i: known[i] for i in ids}))
            return
        tree = await self.record_cache.chunked(base) if base is not None else None
        if tree is not None and (later := PendingTree(root, list(ids), fresh, tree)).covers():
            self._set_latest(later)

    async def cached_records(
        self, snapshot: str | SnapshotHeader, ids: Sequence[str]
    ) -> list[SecretRecord] | None:
        """The records of a snapshot's tree whose ids the caller read from the store, from
        this session's newest tree or the sealed record cache; None when neither holds it
        (then :meth:`read_records` reads the store). A backup's parents (docs/BACKUP.md):
        their record blobs are not opened, only checked for presence by the caller
        (:meth:`unusable_blobs`), as the data they lend is; ``--rescan`` reads them.

        The records stay this session's newest known tree, so a commit on it (an unchanged
        backup: the same tree) starts from them and seals nothing new at the close."""
        header = (
            snapshot if isinstance(snapshot, SnapshotHeader) else await self.get_snapshot(snapshot)
        )
        want = list(ids)
        pending = self._latest_pending
        latest = (
            self._resolved_latest()
            if pending is not None and pending.root == header.tree
            else self._latest_records
        )
        if latest is not None and latest[0] == header.tree:
            return [latest[2][i] for i in want] if latest[1] == want else None
        # the decode of every chunk: what it makes stays (the parents hold it; core._gc)
        with collector_paused(survivors=True):
            hit = await self.record_cache.get(header.tree)
        if hit is None or hit[0] != want:
            return None
        self._seal_latest()  # a tree this session committed keeps its entry
        self._set_latest((header.tree, want, dict(zip(want, hit[1], strict=True))))
        return hit[1]

    def remember_tree(
        self, snapshot: SnapshotHeader, ids: Sequence[str], records: Sequence[SecretRecord]
    ) -> None:
        """A tree the caller read whole from the store (:meth:`read_records`, a backup's
        parent): this session's newest known tree, sealed into the record cache at the close
        (or superseded by a commit on it) unless the cache holds it."""
        if self.record_cache.directory is None or len(ids) != len(records):
            return
        tree = snapshot.tree
        latest = self._latest_pending or self._latest_records
        current = latest.root if isinstance(latest, PendingTree) else latest and latest[0]
        if current == tree:
            return
        self._seal_latest()  # a tree this session committed keeps its entry
        want = list(ids)
        self._set_latest((tree, want, dict(zip(want, records, strict=True))))

    def _seal_latest(self) -> None:
        """Seal this session's newest known tree into the record cache (in a worker thread)
        unless the cache holds it already (an entry is never stale: a tree id fixes its
        records)."""
        latest = self._resolved_latest()
        if latest is not None and not self.record_cache.holds(latest[0]):
            root, ids, by_id = latest
            self.record_cache.put(root, ids, [by_id[i] for i in ids])

    def _set_latest(
        self, latest: tuple[str, list[str], dict[str, SecretRecord]] | PendingTree | None
    ) -> None:
        if isinstance(latest, PendingTree):
            self._latest_records, self._latest_pending = None, latest
        else:
            self._latest_records, self._latest_pending = latest, None

    def _resolved_latest(self) -> tuple[str, list[str], dict[str, SecretRecord]] | None:
        """The newest committed tree's records, decoding a pending one now."""
        pending = self._latest_pending
        if pending is not None:
            records = pending.resolve()
            self._set_latest(None if records is None else (pending.root, pending.ids, records))
        return self._latest_records

    async def read_records(self, ids: Sequence[str]) -> list[SecretRecord]:
        """The secret records with these ids, in that order (for callers that hold a tree's
        ids already, or read it in chunks): every blob read and authenticated, then decoded
        through the codec's fast path (the lenient one where that declines)."""
        out: list[SecretRecord] = []
        append = out.append
        fast = _FAST_RECORD
        # the whole read: its reads, decryptions and decodes; the records stay (core._gc)
        with collector_paused(survivors=True):
            raw_ids = _raw_ids(ids)
            # the AEAD binds each record's bytes to its id: the id is not hashed again
            # (docs/FORMAT.md §5); check, prune and repair verify it
            blobs = await self.read_blobs_raw(raw_ids, BLOB_RECORD, verify_ids=False)
            for start in range(0, len(raw_ids), YIELD_EVERY):
                if start:
                    await asyncio.sleep(0)  # the loop's turn (core/store/reads.py)
                for raw_id in raw_ids[start : start + YIELD_EVERY]:
                    blob = blobs[raw_id]
                    record = fast(blob)
                    if record is None:
                        record = self._decode_record(raw_id.hex(), blob)
                    append(record)
        return out

    def _decode_record(self, rid: str, blob: bytes) -> SecretRecord:
        try:
            return SecretRecord.from_bytes(blob)
        except NewerVersionError as err:
            raise UnsupportedFormatError(f"secret record {rid[:16]}: {err}") from None
        except (ValueError, KeyError, TypeError):
            self.unreadable.add(bytes.fromhex(rid))
            raise BlobDamagedError(rid, f"secret record {rid[:16]} is malformed") from None

    async def read_record(self, record_id: str) -> SecretRecord:
        return (await self.read_records([record_id]))[0]

    # ------------------------------------------------------------------ operations (store-ops)

    async def check(
        self,
        read_data: bool = False,
        subset: tuple[int, int] | None = None,
        *,
        lock: bool = True,
        lock_wait: float = 0.0,
    ) -> CheckReport:
        """:func:`core.store.ops.check.check_store` on this store."""
        from core.store.ops.check import check_store

        return await check_store(
            self, read_data=read_data, subset=subset, lock=lock, lock_wait=lock_wait
        )

    async def forget(
        self,
        policy: RetentionPolicy,
        dry_run: bool = True,
        *,
        snapshot_filter: Callable[[SnapshotHeader], bool] | None = None,
        lock_wait: float = 0.0,
    ) -> ForgetResult:
        """:func:`core.store.ops.forget.forget` on this store."""
        from core.store.ops.forget import forget

        return await forget(
            self, policy, dry_run=dry_run, snapshot_filter=snapshot_filter, lock_wait=lock_wait
        )

    async def prune(
        self,
        *,
        dry_run: bool = False,
        repack_below: float | None = None,
        merge_small: bool = True,
        lock_wait: float = 0.0,
    ) -> PruneReport:
        """:func:`core.store.ops.prune.prune` on this store."""
        from core.store.ops.prune import DEFAULT_REPACK_BELOW, prune

        return await prune(
            self,
            dry_run=dry_run,
            repack_below=DEFAULT_REPACK_BELOW if repack_below is None else repack_below,
            merge_small=merge_small,
            lock_wait=lock_wait,
        )

    async def copy_to(
        self,
        other: Store,
        snapshot_ids: Iterable[str],
        *,
        on_snapshot: Callable[[str, bool], None] | None = None,
    ) -> CopyReport:
        """:func:`core.store.ops.copy.copy_snapshots` from this store to ``other``."""
        from core.store.ops.copy import copy_snapshots

        return await copy_snapshots(self, other, snapshot_ids, on_snapshot=on_snapshot)


__all__ = ["Store", "default_cache_dir"]
