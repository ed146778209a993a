"""The store's cryptography (docs/FORMAT.md, "Keys" and "Blobs").

- A random 32-byte master key, wrapped in key slots by a key that Argon2id derives from a
  passphrase (XChaCha20-Poly1305).
- Subkeys derived from the master key with BLAKE3's key-derivation mode, one per purpose.
- Blob ids: keyed BLAKE3 of (blob type ‖ plaintext); blobs: XChaCha20-Poly1305 with a random
  24-byte nonce and associated data ``store id ‖ blob type ‖ blob id``.
- Objects (pack indexes, index deltas, snapshots, locks): XChaCha20-Poly1305 under the object
  key with the object's identity as associated data, plus a keyed-BLAKE3 MAC over the whole
  object envelope.
"""

from __future__ import annotations

import hmac
import os
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import blake3
import nacl.pwhash.argon2id as argon2id
import zstandard
from nacl._sodium import ffi, lib

KEY_SIZE = 32
NONCE_SIZE = 24
TAG_SIZE = 16
MAC_SIZE = 32
ID_SIZE = 32
SALT_SIZE = argon2id.SALTBYTES  # 16

# Blob types (one byte; part of the blob id and of the associated data).
BLOB_DATA = 1  # a secret version's data
BLOB_RECORD = 2  # a SecretRecord (canonical JSON)
BLOB_TREE = 3  # a snapshot tree (ordered record ids)
BLOB_TYPES = {BLOB_DATA: "data", BLOB_RECORD: "record", BLOB_TREE: "tree"}
METADATA_TYPES = frozenset({BLOB_RECORD, BLOB_TREE})

# Compression flag: the first plaintext byte inside a blob's ciphertext.
COMPRESSION_NONE = 0
COMPRESSION_ZLIB = 1  # zlib stream (read only: written by early version-1 stores)
COMPRESSION_ZSTD = 2  # a zstd frame with its content size (data blobs)
COMPRESSION_DEFLATE_DICT = 3  # raw deflate primed with RECORD_DICTIONARY_V1 (metadata blobs)

# BLAKE3 derive_key contexts: "[application] [commit timestamp] [purpose]".
_CONTEXTS = {
    "id": "secret-kloset 2026-11-28 v1 blob id",
    "blob": "secret-kloset 2026-11-28 v1 blob encryption",
    "mac": "secret-kloset 2026-11-28 v1 object mac",
    "object": "secret-kloset 2026-11-28 v1 object encryption",
}

KDF_ALGORITHM = "argon2id13"


# Where a blob sits in a pack, as the index has it (an IndexEntry is one): blob id, type,
# pack id, offset, stored length, plaintext length. A plain tuple, unpacked in one step: a
# snapshot read opens tens of thousands of blobs.
BlobLocation = tuple[bytes, int, bytes, int, int, int]


class DecryptionError(Exception):
    """AEAD authentication failed (wrong key, or the bytes are not what was written)."""


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id parameters of one key slot (stored in the slot)."""

    opslimit: int = 3
    memlimit: int = 64 * 1024 * 1024
    algorithm: str = KDF_ALGORITHM

    @classmethod
    def default(cls) -> KdfParams:
        """64 MiB, 3 passes; ``SECRET_KLOSET_KDF=fast`` selects :meth:`for_tests` (tests only)."""
        if os.environ.get("SECRET_KLOSET_KDF", "").strip().lower() == "fast":
            return cls.for_tests()
        return cls()

    @classmethod
    def for_tests(cls) -> KdfParams:
        """Cheap parameters for tests and throw-away stores (8 MiB, 1 pass). Not for real data."""
        return cls(opslimit=1, memlimit=8 * 1024 * 1024)

    def to_dict(self) -> dict[str, object]:
        return {"algorithm": self.algorithm, "opslimit": self.opslimit, "memlimit": self.memlimit}

    def validate(self) -> None:
        if self.algorithm != KDF_ALGORITHM:
            raise ValueError(f"unknown key derivation {self.algorithm!r}")
        if not argon2id.OPSLIMIT_MIN <= self.opslimit <= argon2id.OPSLIMIT_MAX:
            raise ValueError("Argon2id opslimit out of range")
        if not argon2id.MEMLIMIT_MIN <= self.memlimit <= argon2id.MEMLIMIT_MAX:
            raise ValueError("Argon2id memlimit out of range")


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def passphrase_key(passphrase: str | bytes, salt: bytes, params: KdfParams) -> bytes:
    """Argon2id(passphrase, salt) -> 32-byte key-wrapping key."""
    params.validate()
    secret = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    return bytes(
        argon2id.kdf(KEY_SIZE, secret, salt, opslimit=params.opslimit, memlimit=params.memlimit)
    )


_alloc = ffi.new_allocator(should_clear_after_alloc=False)
_SEALED_OVERHEAD = NONCE_SIZE + TAG_SIZE


class _NoncePool:
    """Random nonces from the OS CSPRNG, fetched 256 at a time (one syscall, not 256)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buf = b""
        self._pos = 0
        self._pid = os.getpid()

    def take(self) -> bytes:
        with self._lock:
            if self._pos >= len(self._buf) or self._pid != os.getpid():
                self._buf = os.urandom(NONCE_SIZE * 256)
                self._pos = 0
                self._pid = os.getpid()  # a forked child must not reuse the parent's pool
            nonce = self._buf[self._pos : self._pos + NONCE_SIZE]
            self._pos += NONCE_SIZE
            return nonce


_NONCES = _NoncePool()


def aead_encrypt(key: bytes, plaintext: bytes, ad: bytes) -> bytes:
    """``nonce ‖ ciphertext ‖ tag`` with a fresh random nonce (libsodium, GIL released)."""
    nonce = _NONCES.take()
    mlen = len(plaintext)
    out = _alloc("unsigned char[]", mlen + TAG_SIZE)
    clen = ffi.new("unsigned long long *")
    rc = lib.crypto_aead_xchacha20poly1305_ietf_encrypt(
        out, clen, plaintext, mlen, ad, len(ad), ffi.NULL, nonce, key
    )
    if rc != 0:
        raise RuntimeError("encryption failed")
    return nonce + ffi.buffer(out, clen[0])[:]


def aead_decrypt(key: bytes, sealed: bytes, ad: bytes) -> bytes:
    if len(sealed) < NONCE_SIZE + TAG_SIZE or len(key) != KEY_SIZE:
        raise DecryptionError("ciphertext too short")
    nonce = sealed[:NONCE_SIZE]
    body = sealed[NONCE_SIZE:]
    mlen = len(body) - TAG_SIZE  # what libsodium writes on success (no length out-param)
    out = _alloc("unsigned char[]", max(1, mlen))
    rc = lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
        out, ffi.NULL, ffi.NULL, body, len(body), ad, len(ad), nonce, key
    )
    if rc != 0:
        raise DecryptionError("authentication failed")
    return ffi.buffer(out, mlen)[:]


def wrap_ad(store_id: bytes, slot_id: bytes) -> bytes:
    return b"secret-kloset key slot v1" + store_id + slot_id


# Metadata blobs (records, trees) are compressed with zlib (raw deflate) primed with this
# dictionary: a canonical secret record, so that the keys and the usual values of a small
# record cost almost nothing. It is part of the format (flag 3): never change these bytes;
# a better dictionary would get a new flag.
_VERSION_TEMPLATE = (
    b'{"crc32":0,"created_at":"2026-01-01T00:00:00.000000Z","deleted_at":null,'
    b'"deletion_requested_at":null,"description":"","ephemeral_properties":null,'
    b'"latest":false,"payload":"","revision":1,"size":0,"status":"enabled",'
    b'"updated_at":"2026-01-01T00:00:00.000000Z"}'
)
RECORD_DICTIONARY_V1 = (
    b'"type":"key_value""type":"certificate""type":"database_credentials"'
    b'"type":"basic_credentials""type":"ssh_key""status":"disabled"'
    b'"status":"scheduled_for_deletion""status":"deleted""status":"locked"'
    b'"region":"nl-ams""region":"pl-waw"'
    b'"ephemeral_policy":{"action":"delete","expires_once_accessed":false,"time_to_live":"3600s"}'
    b'"ephemeral_properties":{"action":"disable","expires_at":"2026-01-01T00:00:00.000000Z",'
    b'"expires_once_accessed":true}"protected":true"managed":true'
    b'{"created_at":"2026-01-01T00:00:00.000000Z","deletion_requested_at":null,"description":"",'
    b'"ephemeral_policy":null,"error":null,"key_id":null,"managed":false,"name":"","path":"/",'
    b'"project_id":"","protected":false,"region":"fr-par","secret_id":"","status":"ready",'
    b'"tags":[],"type":"opaque","updated_at":"2026-01-01T00:00:00.000000Z","used_by":[],"v":1,'
    b'"version_count":1,"versions":['
    + _VERSION_TEMPLATE
    + b","
    + _VERSION_TEMPLATE.replace(b'"latest":false', b'"latest":true')
    + b"]}"
)
ZSTD_LEVEL = 3
MAX_BLOB_PLAINTEXT = 1 << 30  # a decompression bomb is refused, not allocated

_local = threading.local()


def _zstd_compressor() -> zstandard.ZstdCompressor:
    comp = getattr(_local, "zc", None)
    if comp is None:
        comp = _local.zc = zstandard.ZstdCompressor(
            level=ZSTD_LEVEL, write_checksum=False, write_content_size=True, write_dict_id=False
        )
    return comp


def _zstd_decompressor() -> zstandard.ZstdDecompressor:
    dec = getattr(_local, "zd", None)
    if dec is None:
        dec = _local.zd = zstandard.ZstdDecompressor()
    return dec


def _deflate_with_dictionary(data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, RECORD_DICTIONARY_V1)
    return comp.compress(data) + comp.flush()


def _inflate_with_dictionary(body: bytes) -> bytes:
    dec = zlib.decompressobj(-15, RECORD_DICTIONARY_V1)
    out = dec.decompress(body, MAX_BLOB_PLAINTEXT)
    if dec.unconsumed_tail or not dec.eof:
        raise ValueError("truncated or oversized compressed blob")
    return out


def compress_maybe(data: bytes, *, metadata: bool) -> bytes:
    """``flag ‖ body``, compressed when it saves at least 1/16, stored as-is otherwise.

    Data blobs use zstd (flag 2); metadata blobs use deflate primed with the record
    dictionary (flag 3). Values under 64 bytes are stored as they are.
    """
    if len(data) >= 64:
        if metadata:
            packed = _deflate_with_dictionary(data)
            flag = COMPRESSION_DEFLATE_DICT
        else:
            packed = _zstd_compressor().compress(data)
            flag = COMPRESSION_ZSTD
        if len(packed) < len(data) - len(data) // 16:
            return bytes([flag]) + packed
    return bytes([COMPRESSION_NONE]) + data


def decompress(stored: bytes) -> bytes:
    if not stored:
        raise ValueError("empty blob plaintext")
    flag = stored[0]
    body = stored[1:]
    if flag == COMPRESSION_NONE:
        return body
    if flag == COMPRESSION_ZSTD:
        try:
            size = zstandard.frame_content_size(body)
        except zstandard.ZstdError as err:
            raise ValueError("bad zstd frame") from err
        if size < 0 or size > MAX_BLOB_PLAINTEXT:
            raise ValueError("zstd frame without a plausible content size")
        try:
            return _zstd_decompressor().decompress(body, max_output_size=size)
        except zstandard.ZstdError as err:
            raise ValueError("bad zstd frame") from err
    if flag == COMPRESSION_DEFLATE_DICT:
        return _inflate_with_dictionary(body)
    if flag == COMPRESSION_ZLIB:
        return zlib.decompress(stored[1:])
    raise ValueError(f"unknown compression {flag}")


class Keys:
    """The master key and its purpose-bound subkeys. Never printed, never persisted in clear."""

    __slots__ = (
        "_ad_prefix",
        "_blob",
        "_id",
        "_id_hashers",
        "_mac",
        "_master",
        "_object",
        "store_id",
    )

    def __init__(self, master: bytes, store_id: bytes) -> None:
        if len(master) != KEY_SIZE or len(store_id) != ID_SIZE:
            raise ValueError("bad key or store id size")
        self._master = master
        self.store_id = store_id
        self._id = self._derive("id")
        self._blob = self._derive("blob")
        self._mac = self._derive("mac")
        self._object = self._derive("object")
        # keyed and primed with the type byte once; a blob id copies one (a snapshot read
        # verifies tens of thousands of ids)
        self._id_hashers = {t: blake3.blake3(bytes([t]), key=self._id) for t in BLOB_TYPES}
        self._ad_prefix = {t: store_id + bytes([t]) for t in BLOB_TYPES}

    def _derive(self, purpose: str) -> bytes:
        return blake3.blake3(self._master, derive_key_context=_CONTEXTS[purpose]).digest()

    @property
    def master(self) -> bytes:
        return self._master

    def __repr__(self) -> str:
        return "Keys(<redacted>)"

    # ---------------------------------------------------------------- blobs

    def blob_id(self, blob_type: int, data: bytes) -> bytes:
        primed = self._id_hashers.get(blob_type)
        h = primed.copy() if primed is not None else blake3.blake3(bytes([blob_type]), key=self._id)
        h.update(data)
        return h.digest()

    def _blob_ad(self, blob_type: int, blob_id: bytes) -> bytes:
        prefix = self._ad_prefix.get(blob_type)
        if prefix is None:
            return self.store_id + bytes([blob_type]) + blob_id
        return prefix + blob_id

    def encrypt_blob(self, blob_type: int, blob_id: bytes, data: bytes) -> bytes:
        body = compress_maybe(data, metadata=blob_type in METADATA_TYPES)
        return aead_encrypt(self._blob, body, self._blob_ad(blob_type, blob_id))

    def decrypt_blob(self, blob_type: int, blob_id: bytes, sealed: bytes) -> bytes:
        """Decrypt and verify: the AEAD binds store/type/id, and the id must match the content."""
        body = aead_decrypt(self._blob, sealed, self._blob_ad(blob_type, blob_id))
        try:
            data = decompress(body)
        except (ValueError, zlib.error) as err:
            raise DecryptionError("blob does not decompress") from err
        if not hmac.compare_digest(self.blob_id(blob_type, data), blob_id):
            raise DecryptionError("blob content does not match its id")
        return data

    def open_blobs(
        self,
        data: bytes,
        start: int,
        entries: Sequence[BlobLocation],
        *,
        verify_ids: bool = True,
    ) -> list[bytes | None]:
        """Decrypt and verify many blobs of one pack region read at ``start``: each entry's
        plaintext, or None where it does not read (short, fails authentication, does not
        decompress, or its content does not match its id).

        The checks are exactly :meth:`decrypt_blob`'s, blob by blob; what is batched is the
        Python around them (a snapshot read opens tens of thousands of small blobs, and the
        per-call slicing, allocation and copying cost more than the cryptography): one
        output buffer for the region, libsodium called on pointers into the read bytes, the
        deflate stream inflated from a view of the buffer, failures as None, not exceptions.

        ``verify_ids=False`` skips recomputing each id from the plaintext: the AEAD already
        authenticates the stored bytes bound to store, type and id, so only a writer holding
        the key that hashed other bytes than it sealed could fail that check
        (docs/FORMAT.md §5: the bulk record reads skip it, ``check`` never does).
        """
        size = len(data)
        biggest = 0
        for loc in entries:
            if loc[4] > biggest:
                biggest = loc[4]
        buf = _alloc("unsigned char[]", max(1, biggest))  # one blob at a time, reused
        view = memoryview(ffi.buffer(buf))
        src = ffi.from_buffer(data)
        key = self._blob
        prefixes = self._ad_prefix
        hashers = self._id_hashers
        decrypt = lib.crypto_aead_xchacha20poly1305_ietf_decrypt
        null = ffi.NULL
        inflater = zlib.decompressobj
        equal = hmac.compare_digest
        out: list[bytes | None] = []
        append = out.append
        for blob_id, blob_type, _pack, offset, length, _raw in entries:
            pos = offset - start
            prefix = prefixes.get(blob_type)
            if pos < 0 or pos + length > size or length <= _SEALED_OVERHEAD or prefix is None:
                append(None)  # short or outside the region, or a type no reader knows
                continue
            ad = prefix + blob_id
            mlen = length - _SEALED_OVERHEAD
            body = src + (pos + NONCE_SIZE)
            if decrypt(buf, null, null, body, length - NONCE_SIZE, ad, len(ad), src + pos, key):
                append(None)
                continue
            flag = view[0]
            try:
                if flag == COMPRESSION_DEFLATE_DICT:
                    dec = inflater(-15, RECORD_DICTIONARY_V1)
                    plain = dec.decompress(view[1:mlen], MAX_BLOB_PLAINTEXT)
                    if dec.unconsumed_tail or not dec.eof:
                        raise ValueError("truncated or oversized compressed blob")
                elif flag == COMPRESSION_NONE:
                    plain = bytes(view[1:mlen])
                else:
                    plain = decompress(bytes(view[:mlen]))
            except (ValueError, zlib.error):
                append(None)
                continue
            if verify_ids:
                h = hashers[blob_type].copy()
                h.update(plain)
                if not equal(h.digest(), blob_id):
                    append(None)
                    continue
            append(plain)
        return out

    # ---------------------------------------------------------------- objects

    def seal_object(self, kind: int, context: bytes, plaintext: bytes) -> bytes:
        return aead_encrypt(self._object, plaintext, self.store_id + bytes([kind]) + context)

    def open_object(self, kind: int, context: bytes, sealed: bytes) -> bytes:
        return aead_decrypt(self._object, sealed, self.store_id + bytes([kind]) + context)

    def mac(self, data: bytes | memoryview) -> bytes:
        return blake3.blake3(data, key=self._mac).digest()

    def mac_hasher(self) -> blake3.blake3:
        return blake3.blake3(key=self._mac)

    # ---------------------------------------------------------------- key slots

    def wrap(self, wrapping_key: bytes, slot_id: bytes) -> bytes:
        return aead_encrypt(wrapping_key, self._master, wrap_ad(self.store_id, slot_id))


def unwrap_master(wrapping_key: bytes, wrapped: bytes, store_id: bytes, slot_id: bytes) -> bytes:
    return aead_decrypt(wrapping_key, wrapped, wrap_ad(store_id, slot_id))
