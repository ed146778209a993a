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
    """Accumulates encrypted blobs in memory until the pack is sealed."""

    def __init__(self, keys: Keys, *, metadata: bool) -> None:
        self.keys = keys
        self.metadata = metadata
        self._parts: list[bytes] = [envelope.header(envelope.KIND_PACK)]
        self.size = envelope.HEADER_SIZE
        self.entries: list[PackEntry] = []

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, blob_type: int, blob_id: bytes, data: bytes) -> PackEntry:
        sealed = self.keys.encrypt_blob(blob_type, blob_id, data)
        entry = PackEntry(blob_type, blob_id, self.size, len(sealed), len(data))
        self._parts.append(sealed)
        self.size += len(sealed)
        self.entries.append(entry)
        return entry

    def add_sealed(
        self, blob_type: int, blob_id: bytes, sealed: bytes, raw_length: int
    ) -> PackEntry:
        """Append an already encrypted blob (repacking within one store)."""
        entry = PackEntry(blob_type, blob_id, self.size, len(sealed), raw_length)
        self._parts.append(sealed)
        self.size += len(sealed)
        self.entries.append(entry)
        return entry

    def finish(self) -> tuple[str, bytes, list[PackEntry]]:
        """Seal: returns (pack id hex, the pack's bytes, its entries)."""
        index_plain = INDEX_MAGIC + bytes([INDEX_VERSION]) + encode_entries(self.entries)
        sealed_index = self.keys.seal_object(envelope.KIND_PACK, PACK_INDEX_CONTEXT, index_plain)
        self._parts.append(sealed_index)
        self._parts.append(COUNT.pack(len(sealed_index)))
        body = b"".join(self._parts)
        self._parts = []
        mac = self.keys.mac(body)
        return mac.hex(), body + mac, self.entries


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
    """Check a whole pack (header, MAC, name) and return its entries."""
    mac = envelope.verify_mac(keys, data, envelope.KIND_PACK, pack_id)
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
