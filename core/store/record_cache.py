"""Decoded records of recent snapshot trees, sealed in the local cache (docs/FORMAT.md §22).

Reading a snapshot cold costs, per record, an index lookup, a decryption, an inflate and a
JSON decode: about 0.35-0.4 s for 20,000 records on the shared machine. The records of a
tree never change (the tree's id fixes its record ids, each record id fixes its bytes), so
the newest trees' records are kept decoded in one file each, beside the index cache:
``<cache>/stores/<store id>/trees/<tree id>.bin``, ``nonce ‖ AEAD(K_cache, msgpack(ids,
size, [zstd(msgpack(chunk)), …]), ad) ‖ tag`` with ``K_cache = BLAKE3-derive("secret-kloset
2026-12-01 v1 record cache", master key)`` and ``ad = "secret-kloset record cache v2" ‖ store
id ‖ tree id``. A read is one decryption, then one inflate and one msgpack decode a chunk
(about 0.15 s for 20,000). The writer fills it at commit (the records it put, and its parent
tree's from this cache, decoded only when the new tree is sealed or read:
:class:`PendingTree`), a cold ``read_tree`` after it reads, and a backup after it reads its
parent's records from the store.

The records are sealed in chunks of :data:`CHUNK` (each its own compressed msgpack document
inside the one sealed file), so the console lists a 50,000-record snapshot chunk by chunk
(:meth:`RecordCache.chunked`): its first rows after one chunk, never every record decoded
at once.

``Store.read_tree`` and ``Store.cached_tree`` (records as models: the console, restore, ls,
cat, diff) and ``Store.cached_records`` (a backup's parents: an unchanged 10,000 x 3 backup
opened 10,000 record blobs, 0.16 s of its CPU; their presence in the store is still checked,
as the data's is) use it. What must see the store's own bytes (check, prune, repair, a
backup with ``--rescan``) reads blobs. Like the index cache, it is only a cache: a file that
does not authenticate or decode is deleted and the tree read cold; at most :data:`KEEP`
files are kept per store (least recently used go first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import blake3
import msgspec
import zstandard

from core.store.crypto import DecryptionError, Keys, aead_decrypt, aead_encrypt
from core.store.model import SecretRecord

log = logging.getLogger(__name__)

CONTEXT = "secret-kloset 2026-12-01 v1 record cache"
# v2: records in chunks (a v1 file fails to authenticate under it: deleted, read again)
AD = b"secret-kloset record cache v2"
KEEP = 8
MAX_PLAIN = 1 << 30
ID_LEN = 32
CHUNK = 1000  # records per chunk (one zstd frame of one msgpack document) in a file


class _Cached(msgspec.Struct, array_like=True):
    ids: bytes  # the tree's record ids, 32 bytes each, in order
    size: int  # records per chunk (every chunk but the last holds this many)
    # each a zstd frame (with its content size) of a msgpack array of records: a reader
    # holds them compressed and inflates and decodes one when it is asked for
    chunks: list[bytes]


class CachedTree:
    """A tree's record ids and its records, decoded chunk by chunk on demand."""

    def __init__(
        self, ids: list[str], size: int, chunks: list[bytes], drop: Callable[[], None]
    ) -> None:
        self.ids = ids
        self._size = size
        self._chunks = chunks
        self._drop = drop
        self._decoder = msgspec.msgpack.Decoder(list[SecretRecord])

    def __repr__(self) -> str:
        return f"CachedTree({len(self.ids)} records)"

    def __len__(self) -> int:
        return len(self.ids)

    def chunk(self, i: int) -> list[SecretRecord] | None:
        """The records of chunk ``i`` (ids ``[i * size, (i + 1) * size)``), or None when it
        does not decode (the file is then deleted; the caller reads those from the store)."""
        want = len(self.ids[i * self._size : (i + 1) * self._size])
        frame = self._chunks[i]
        records: list[SecretRecord] | None = None
        try:
            size = zstandard.frame_content_size(frame)
            if 0 <= size <= MAX_PLAIN:
                records = self._decoder.decode(
                    zstandard.ZstdDecompressor().decompress(frame, max_output_size=size)
                )
        except (msgspec.MsgspecError, zstandard.ZstdError, ValueError, TypeError):
            records = None
        if records is None or len(records) != want:
            log.warning("a record cache file is damaged; it is deleted")
            self._drop()
            return None
        return records

    def chunks(self) -> Iterator[tuple[list[str], list[SecretRecord] | None]]:
        """Every chunk in tree order: (its ids, its records or None, see :meth:`chunk`)."""
        for i in range(len(self._chunks)):
            yield self.ids[i * self._size : (i + 1) * self._size], self.chunk(i)


class PendingTree:
    """A tree committed this session whose records are not decoded yet: the ones its writer
    put (``fresh``) and, for the rest, its base tree's sealed file (``base``), decoded only
    when asked (the store closing seals the new tree; a read of it). A session that never
    asks never decodes its base's cached records (a writer that did not read its parent's
    records: a backup reads them, :meth:`Store.cached_records`, and commits on those)."""

    __slots__ = ("_base_ids", "base", "fresh", "ids", "root")

    def __init__(
        self, root: str, ids: list[str], fresh: dict[str, SecretRecord], base: CachedTree
    ) -> None:
        self.root = root
        self.ids = ids
        self.fresh = fresh
        self.base = base
        self._base_ids = frozenset(base.ids)

    def __repr__(self) -> str:
        return f"PendingTree({len(self.ids)} records, {len(self.fresh)} fresh)"

    def covers(self) -> bool:
        """Whether every record of the tree is at hand (put now, or in the base file)."""
        fresh, base = self.fresh, self._base_ids
        return all(i in fresh or i in base for i in self.ids)

    def successor(
        self, root: str, ids: Sequence[str], fresh: dict[str, SecretRecord]
    ) -> PendingTree:
        """The next commit's tree, on this one: the same base file, the records put since."""
        put = {**self.fresh, **fresh}
        new = PendingTree.__new__(PendingTree)
        new.root, new.ids, new.base, new._base_ids = root, list(ids), self.base, self._base_ids
        new.fresh = {i: put[i] for i in new.ids if i in put}
        return new

    def resolve(self) -> dict[str, SecretRecord] | None:
        """The tree's records by id, or None when the base file does not decode."""
        known: dict[str, SecretRecord] = {}
        for chunk_ids, chunk in self.base.chunks():
            if chunk is None:
                return None
            known.update(zip(chunk_ids, chunk, strict=True))
        known.update(self.fresh)
        return {i: known[i] for i in self.ids}


class RecordCache:
    """The decoded records of the newest few trees of one store (None directory: off)."""

    def __init__(self, directory: Path | None, keys: Keys) -> None:
        self.directory = directory
        self._key = blake3.blake3(keys.master, derive_key_context=CONTEXT).digest()
        self._ad = AD + keys.store_id
        self._decoder = msgspec.msgpack.Decoder(_Cached)
        self._writes: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return "RecordCache(<sealed>)"

    def _path(self, root: str) -> Path | None:
        if self.directory is None:
            return None
        bytes.fromhex(root)  # a tree id, nothing else, names a file
        return self.directory / f"{root}.bin"

    def holds(self, root: str) -> bool:
        """Whether a file for this tree is there (not whether it authenticates)."""
        path = self._path(root)
        return path is not None and path.exists()

    async def chunked(self, root: str) -> CachedTree | None:
        """The tree's record ids and its records still encoded, chunk by chunk, or None (not
        cached, or a damaged file: deleted). The file is read and decrypted in a worker thread
        (libsodium releases the GIL): the console's loop stays free."""
        path = self._path(root)
        if path is None:
            return None

        def drop() -> None:
            with contextlib.suppress(OSError):
                path.unlink()

        try:
            opened = await asyncio.to_thread(self._open, path, root)
        except OSError:
            return None
        except (DecryptionError, ValueError, msgspec.MsgspecError):
            log.warning("a record cache file is damaged; it is deleted")
            drop()
            return None
        ids, cached = opened
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept longest
        return CachedTree(ids, cached.size, cached.chunks, drop)

    def _open(self, path: Path, root: str) -> tuple[list[str], _Cached]:
        sealed = path.read_bytes()
        cached = self._decoder.decode(
            aead_decrypt(self._key, sealed, self._ad + bytes.fromhex(root))
        )
        hexed = cached.ids.hex()
        ids = [hexed[i : i + 2 * ID_LEN] for i in range(0, len(hexed), 2 * ID_LEN)]
        if (
            len(cached.ids) % ID_LEN
            or cached.size < 1
            or len(cached.chunks) != -(-len(ids) // cached.size)
        ):
            raise ValueError("ids and chunks differ")
        return ids, cached

    async def get(self, root: str) -> tuple[list[str], list[SecretRecord]] | None:
        """The tree's record ids and records, or None (not cached, or a damaged file)."""
        tree = await self.chunked(root)
        if tree is None:
            return None
        records: list[SecretRecord] = []
        for _ids, chunk in tree.chunks():
            if chunk is None:
                return None
            records.extend(chunk)
        return tree.ids, records

    def _write(self, root: str, ids: Sequence[str], records: Sequence[SecretRecord]) -> None:
        path = self._path(root)
        if path is None:
            return
        encoder = msgspec.msgpack.Encoder()  # one a thread
        zstd = zstandard.ZstdCompressor(level=1, write_content_size=True)
        chunks = [
            zstd.compress(encoder.encode(records[i : i + CHUNK]))
            for i in range(0, len(records), CHUNK)
        ]
        raw = encoder.encode(_Cached(b"".join(bytes.fromhex(i) for i in ids), CHUNK, chunks))
        sealed = aead_encrypt(self._key, raw, self._ad + bytes.fromhex(root))
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # atomic, not fsynced: a cache file torn by a crash fails its AEAD and is dropped
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(sealed)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        files = sorted(path.parent.glob("*.bin"), key=lambda p: p.stat().st_mtime)
        for old in files[:-KEEP]:
            with contextlib.suppress(OSError):
                old.unlink()

    def put(self, root: str, ids: Sequence[str], records: Sequence[SecretRecord]) -> None:
        """Seal a tree's records into the cache, in a worker thread (nothing waits for it;
        :meth:`drain` does, before the store closes)."""
        if self.directory is None or len(ids) != len(records):
            return

        async def write() -> None:
            try:
                await asyncio.to_thread(self._write, root, list(ids), list(records))
            except (OSError, ValueError) as err:
                log.warning("could not write a record cache file (%s)", type(err).__name__)

        task = asyncio.get_running_loop().create_task(write())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def drain(self) -> None:
        if self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)


__all__ = ["CHUNK", "CachedTree", "RecordCache"]
