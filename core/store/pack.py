"""Packfiles (docs/FORMAT.md, "Packfiles").

    header (8: "SKLT", kind=3, version=1, 0) ‖ blob_1 ‖ … ‖ blob_n
    ‖ encrypted pack index ‖ index length (u32 LE) ‖ MAC (32)

Each blob is ``nonce (24) ‖ XChaCha20-Poly1305(flag ‖ data) ‖ tag (16)``. The pack index,
sealed under the object key, lists ``type (1) ‖ blob id (32) ‖ offset (u32) ‖ length (u32) ‖
raw length (u32)`` for every blob. The pack's name is the hex of its trailing MAC.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from core.store import envelope
from core.store.crypto import MAC_SIZE, DecryptionError, Keys
from core.store.errors import CorruptStoreError, UnsupportedFormatError

ENTRY = struct.Struct("<B32sIII")
COUNT = struct.Struct("<I")
INDEX_MAGIC = b"SKPI"
INDEX_VERSION = 1
TRAILER_SIZE = COUNT.size + MAC_SIZE  # index length + MAC
PACK_INDEX_CONTEXT = b"pack-index"


@dataclass(frozen=True, slots=True)
class PackEntry:
    """Where one blob sits in its pack."""

    blob_type: int
    blob_id: bytes
    offset: int
    length: int  # stored (encrypted) length
    raw_length: int  # plaintext length

    def __repr__(self) -> str:
        return f"PackEntry(type={self.blob_type}, id={self.blob_id.hex()[:12]}, offset={self.offset}, length={self.length})"


def encode_entries(entries: list[PackEntry]) -> bytes:
    parts = [COUNT.pack(len(entries))]
    parts.extend(
        ENTRY.pack(e.blob_type, e.blob_id, e.offset, e.length, e.raw_length) for e in entries
    )
    return b"".join(parts)


def decode_entries(raw: bytes | memoryview, pos: int = 0) -> tuple[list[PackEntry], int]:
    (count,) = COUNT.unpack_from(raw, pos)
    pos += COUNT.size
    end = pos + count * ENTRY.size
    if end > len(raw):
        raise ValueError("truncated entry list")
    out = [PackEntry(*ENTRY.unpack_from(raw, pos + i * ENTRY.size)) for i in range(count)]
    return out, end


class PackBuilder:
    """Collects blobs for one pack; :meth:`finish` encrypts and seals them.

    Encryption happens in ``finish`` (which callers run in a worker thread: libsodium and
    zlib release the GIL), so hashing the next blobs overlaps with sealing this pack.
    """

    BLOB_OVERHEAD = 24 + 16 + 1  # nonce, tag, compression flag

    def __init__(self, keys: Keys, *, metadata: bool) -> None:
        self.keys = keys
        self.metadata = metadata
        # (type, id, bytes, already sealed?, plaintext length)
        self._items: list[tuple[int, bytes, bytes, bool, int]] = []
        self.size = envelope.HEADER_SIZE  # upper bound of the sealed size so far

    def __len__(self) -> int:
        return len(self._items)

    def add(self, blob_type: int, blob_id: bytes, data: bytes) -> None:
        self._items.append((blob_type, blob_id, data, False, len(data)))
        self.size += len(data) + self.BLOB_OVERHEAD

    def add_sealed(self, blob_type: int, blob_id: bytes, sealed: bytes, raw_length: int) -> None:
        """Append an already encrypted blob (repacking within one store)."""
        self._items.append((blob_type, blob_id, sealed, True, raw_length))
        self.size += len(sealed)

    def finish(self) -> tuple[str, bytes, list[PackEntry]]:
        """Encrypt and seal: returns (pack id hex, the pack's bytes, its entries)."""
        parts: list[bytes] = [envelope.header(envelope.KIND_PACK)]
        offset = envelope.HEADER_SIZE
        entries: list[PackEntry] = []
        for blob_type, blob_id, data, sealed, raw_length in self._items:
            stored = data if sealed else self.keys.encrypt_blob(blob_type, blob_id, data)
            entries.append(PackEntry(blob_type, blob_id, offset, len(stored), raw_length))
            parts.append(stored)
            offset += len(stored)
        self._items = []
        index_plain = INDEX_MAGIC + bytes([INDEX_VERSION]) + encode_entries(entries)
        sealed_index = self.keys.seal_object(envelope.KIND_PACK, PACK_INDEX_CONTEXT, index_plain)
        parts.append(sealed_index)
        parts.append(COUNT.pack(len(sealed_index)))
        body = b"".join(parts)
        del parts
        mac = self.keys.mac(body)
        return mac.hex(), body + mac, entries


def parse_index_tail(keys: Keys, tail: bytes, pack_id: str) -> list[PackEntry]:
    """Decrypt a pack index from the pack's tail (``sealed index ‖ length ‖ MAC``)."""
    if len(tail) < TRAILER_SIZE:
        raise CorruptStoreError(f"pack {pack_id[:16]} is truncated", kind="packs", name=pack_id)
    (ilen,) = COUNT.unpack_from(tail, len(tail) - TRAILER_SIZE)
    if ilen > len(tail) - TRAILER_SIZE:
        raise CorruptStoreError(
            f"pack {pack_id[:16]} has a bad index length", kind="packs", name=pack_id
        )
    sealed = tail[len(tail) - TRAILER_SIZE - ilen : len(tail) - TRAILER_SIZE]
    try:
        plain = keys.open_object(envelope.KIND_PACK, PACK_INDEX_CONTEXT, sealed)
    except DecryptionError:
        raise CorruptStoreError(
            f"the index of pack {pack_id[:16]} fails authentication", kind="packs", name=pack_id
        ) from None
    if plain[:4] != INDEX_MAGIC:
        raise CorruptStoreError(
            f"pack {pack_id[:16]} has no pack index", kind="packs", name=pack_id
        )
    if plain[4] != INDEX_VERSION:
        raise UnsupportedFormatError(f"pack index version {plain[4]} is not supported")
    try:
        entries, end = decode_entries(plain, 5)
        if end != len(plain):
            raise ValueError("trailing bytes")
    except (ValueError, struct.error):
        raise CorruptStoreError(
            f"the index of pack {pack_id[:16]} is malformed", kind="packs", name=pack_id
        ) from None
    return entries


def index_region(size: int, tail: bytes) -> int:
    """Given the last ``TRAILER_SIZE`` bytes, the offset where the sealed index starts."""
    (ilen,) = COUNT.unpack_from(tail, len(tail) - TRAILER_SIZE)
    return size - TRAILER_SIZE - ilen


def parse_pack(keys: Keys, data: bytes, pack_id: str) -> list[PackEntry]:
    """Check a whole pack (header, MAC, name) and return its entries.

    A pack whose version byte is unknown but whose MAC fails is damaged, not newer.
    """
    try:
        mac = envelope.verify_mac(keys, data, envelope.KIND_PACK, pack_id)
    except UnsupportedFormatError:
        if envelope.compute_mac(keys, data) == data[-MAC_SIZE:]:
            raise
        raise CorruptStoreError(
            f"pack {pack_id[:16]} fails its MAC check (damaged or tampered with)",
            kind="packs",
            name=pack_id,
        ) from None
    if mac.hex() != pack_id:
        raise CorruptStoreError(
            f"pack {pack_id[:16]} does not match its name", kind="packs", name=pack_id
        )
    entries = parse_index_tail(keys, data, pack_id)
    (ilen,) = COUNT.unpack_from(data, len(data) - TRAILER_SIZE)
    limit = len(data) - TRAILER_SIZE - ilen
    for e in entries:
        if e.offset < envelope.HEADER_SIZE or e.offset + e.length > limit:
            raise CorruptStoreError(
                f"pack {pack_id[:16]} lists a blob outside its data", kind="packs", name=pack_id
            )
    return entries
