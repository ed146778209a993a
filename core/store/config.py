"""The store's config object: which format it is, its id, when it was made, its pack size.

The config is the one object every reader opens first (``config`` in the store's root,
docs/FORMAT.md "Config"). Its body is plain (unencrypted) JSON, so a reader can tell the
format and version before it has a passphrase; its MAC is checked once a key slot opens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from core.scaleway.models import format_time, parse_time
from core.store import envelope
from core.store.crypto import ID_SIZE, Keys
from core.store.errors import ConfigDamagedError, UnsupportedFormatError

FORMAT_NAME = "secret-kloset"
DEFAULT_PACK_SIZE = 8 * 1024 * 1024
MIN_PACK_SIZE = 4 * 1024
MAX_PACK_SIZE = 512 * 1024 * 1024
STORE_VERSION = 3  # what a new store is written in (docs/FORMAT.md §18)
SUPPORTED_VERSIONS = frozenset({1, 2, 3})


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """The config body, decoded (docs/FORMAT.md lists every field)."""

    store_id: str
    version: int
    created: datetime
    pack_size: int

    def to_dict(self) -> dict[str, str | int | None]:
        return {
            "format": FORMAT_NAME,
            "version": self.version,
            "store_id": self.store_id,
            "created": format_time(self.created),
            "pack_size": self.pack_size,
        }


def encode_config(config: StoreConfig) -> bytes:
    """The config body's bytes: ``json.dumps`` with sorted keys and the default separators
    (``", "``, ``": "``), ASCII-escaped; what version 1 stores hold, byte for byte."""
    return json.dumps(config.to_dict(), sort_keys=True).encode()


def seal_config(keys: Keys, config: StoreConfig) -> bytes:
    """The whole ``config`` object (envelope, body, MAC)."""
    return envelope.seal(keys, envelope.KIND_CONFIG, encode_config(config))


def parse_config(data: bytes) -> StoreConfig:
    """Decode a ``config`` object (the MAC is checked later, once a key is known)."""
    body = envelope.body_of(data, envelope.KIND_CONFIG, "config")
    try:
        raw = json.loads(body)
        if raw.get("format") != FORMAT_NAME:
            raise ValueError("not a secret-kloset config")
        version = int(raw["version"])
        if version not in SUPPORTED_VERSIONS:
            raise UnsupportedFormatError(
                f"the store uses format version {version}; this program reads versions "
                f"1 to {STORE_VERSION}"
            )
        store_id = str(raw["store_id"])
        if len(bytes.fromhex(store_id)) != ID_SIZE:
            raise ValueError("bad store id")
        return StoreConfig(
            store_id=store_id,
            version=version,
            created=parse_time(raw.get("created")) or datetime.now(UTC),
            pack_size=int(raw.get("pack_size") or DEFAULT_PACK_SIZE),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigDamagedError("the store's config object is malformed") from err


__all__ = [
    "DEFAULT_PACK_SIZE",
    "FORMAT_NAME",
    "MAX_PACK_SIZE",
    "MIN_PACK_SIZE",
    "STORE_VERSION",
    "SUPPORTED_VERSIONS",
    "StoreConfig",
    "encode_config",
    "parse_config",
    "seal_config",
]
