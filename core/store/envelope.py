"""The object envelope every stored object is wrapped in (docs/FORMAT.md, "Envelope").

``magic "SKLT" (4) ‖ kind (1) ‖ format version (1) ‖ reserved, zero (2) ‖ body ‖ MAC (32)``

The MAC is keyed BLAKE3 (the object-MAC subkey) over everything before it. Readers refuse a
wrong magic or kind, and a version they do not know, before they look at the body.
"""

from __future__ import annotations

import hmac
import struct

from core.store.crypto import MAC_SIZE, Keys
from core.store.errors import CorruptStoreError, UnsupportedFormatError

MAGIC = b"SKLT"
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sBBH")
HEADER_SIZE = HEADER.size  # 8
OVERHEAD = HEADER_SIZE + MAC_SIZE

KIND_CONFIG = 1
KIND_KEY = 2
KIND_PACK = 3
KIND_INDEX = 4
KIND_SNAPSHOT = 5
KIND_LOCK = 6

KIND_NAMES = {
    KIND_CONFIG: "config",
    KIND_KEY: "keys",
    KIND_PACK: "packs",
    KIND_INDEX: "index",
    KIND_SNAPSHOT: "snapshots",
    KIND_LOCK: "locks",
}
KIND_BY_NAME = {v: k for k, v in KIND_NAMES.items()}


def header(kind: int) -> bytes:
    return HEADER.pack(MAGIC, kind, FORMAT_VERSION, 0)


def seal(keys: Keys, kind: int, body: bytes) -> bytes:
    """Wrap ``body``; returns the whole object (header ‖ body ‖ MAC)."""
    head = header(kind)
    h = keys.mac_hasher()
    h.update(head)
    h.update(body)
    return head + body + h.digest()


def check_header(
    data: bytes | memoryview, kind: int, name: str = "", *, version_first: bool = True
) -> None:
    """Magic, kind and version; raises CorruptStoreError / UnsupportedFormatError.

    With ``version_first=False`` an unknown version is left to the caller, who checks the
    MAC first: a flipped version byte then reads as damage, not as a newer format."""
    kname = KIND_NAMES.get(kind, str(kind))
    if len(data) < OVERHEAD:
        raise CorruptStoreError(f"{kname} object {name[:16]} is truncated", kind=kname, name=name)
    magic, got_kind, version, _reserved = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise CorruptStoreError(
            f"{kname} object {name[:16]} is not a secret-kloset object", kind=kname, name=name
        )
    if version != FORMAT_VERSION and version_first:
        raise UnsupportedFormatError(
            f"{kname} object {name[:16]} uses store format version {version}; "
            f"this program reads version {FORMAT_VERSION}"
        )
    if got_kind != kind:
        raise CorruptStoreError(
            f"{kname} object {name[:16]} holds a {KIND_NAMES.get(got_kind, got_kind)} object",
            kind=kname,
            name=name,
        )


def body_of(data: bytes, kind: int, name: str = "") -> bytes:
    """The body, after the header checks (the MAC is not verified: see :func:`open_`)."""
    check_header(data, kind, name)
    return data[HEADER_SIZE:-MAC_SIZE]


def compute_mac(keys: Keys, data: bytes | memoryview) -> bytes:
    return keys.mac(memoryview(data)[:-MAC_SIZE])


def verify_mac(keys: Keys, data: bytes, kind: int, name: str = "") -> bytes:
    """Check the MAC, then the version; returns the MAC.

    The MAC covers the version byte, so it is checked first: an object whose version byte
    was altered fails here as damage; only an authentic object of another version is
    :class:`UnsupportedFormatError`."""
    check_header(data, kind, name, version_first=False)
    mac = compute_mac(keys, data)
    if not hmac.compare_digest(mac, data[-MAC_SIZE:]):
        kname = KIND_NAMES.get(kind, str(kind))
        raise CorruptStoreError(
            f"{kname} object {name[:16]} fails its MAC check (damaged or tampered with)",
            kind=kname,
            name=name,
        )
    check_header(data, kind, name)
    return mac


def open_(keys: Keys, data: bytes, kind: int, name: str = "") -> bytes:
    """Header checks, MAC check, and the body."""
    verify_mac(keys, data, kind, name)
    return data[HEADER_SIZE:-MAC_SIZE]
