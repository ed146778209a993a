"""Key slots: the store's master key, wrapped once per passphrase (docs/FORMAT.md, "Keys").

A slot holds the Argon2id parameters and salt of its passphrase and the master key wrapped
(XChaCha20-Poly1305) by the key Argon2id derives. Adding a passphrase adds a slot; nothing
else is rewritten. The last slot is never removed (the data would be lost with it), nor the
one the current session opened the store with.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import secrets
import socket
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.errors import Remedy, UsageError
from core.scaleway.models import format_time, parse_time
from core.store import envelope
from core.store.backends import Backend
from core.store.config import StoreConfig
from core.store.crypto import (
    SALT_SIZE,
    DecryptionError,
    KdfParams,
    Keys,
    passphrase_key,
    random_bytes,
    unwrap_master,
)
from core.store.errors import (
    CorruptStoreError,
    KeySlotDamagedError,
    LastKeyError,
    ObjectNotFoundError,
    StoreError,
    UnsupportedFormatError,
    WrongPassphraseError,
)

if TYPE_CHECKING:
    from core.store.repository import Store

log = logging.getLogger(__name__)

SLOT_VERSION = 1


@dataclass(frozen=True, slots=True)
class KeySlot:
    """One ``keys/<id>`` object, decoded."""

    id: str
    created: datetime
    kdf: KdfParams
    salt: bytes
    wrapped: bytes
    host: str = ""
    username: str = ""
    checked: bool = True  # written with a checksum (slots of older versions have none)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "v": SLOT_VERSION,
            "id": self.id,
            "created": format_time(self.created),
            "kdf": {**self.kdf.to_dict(), "salt": base64.b64encode(self.salt).decode()},
            "wrapped": base64.b64encode(self.wrapped).decode(),
            "host": self.host,
            "username": self.username,
        }
        if self.checked:
            out["check"] = slot_checksum(out)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> KeySlot:
        kdf = raw["kdf"]
        if not isinstance(kdf, dict):
            raise TypeError("kdf must be an object")
        return cls(
            id=str(raw["id"]),
            created=parse_time(raw.get("created")) or datetime.fromtimestamp(0, UTC),  # type: ignore[arg-type]
            kdf=KdfParams(
                opslimit=int(kdf["opslimit"]),
                memlimit=int(kdf["memlimit"]),
                algorithm=str(kdf.get("algorithm", "argon2id13")),
            ),
            salt=base64.b64decode(kdf["salt"]),
            wrapped=base64.b64decode(raw["wrapped"]),  # type: ignore[arg-type]
            host=str(raw.get("host", "")),
            username=str(raw.get("username", "")),
            checked="check" in raw,
        )

    def __repr__(self) -> str:
        return f"KeySlot(id={self.id[:8]!r})"


def slot_checksum(fields: dict[str, object]) -> str:
    """The slot's checksum: unkeyed BLAKE2b-128 (hex) of its other fields' canonical JSON.

    It is checked before the (slow) KDF, so that a damaged slot is reported as damaged and
    not as a wrong passphrase. It protects against damage only; the object MAC, checked once
    the master key is unwrapped, protects against tampering.
    """
    rest = {k: v for k, v in fields.items() if k != "check"}
    return hashlib.blake2b(json.dumps(rest, sort_keys=True).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What ``key list`` shows about a key slot."""

    id: str
    created: datetime
    current: bool
    kdf: KdfParams
    host: str = ""
    username: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created": format_time(self.created),
            "current": self.current,
            "kdf": self.kdf.to_dict(),
            "host": self.host,
            "username": self.username,
        }


def encode_slot(slot: KeySlot) -> bytes:
    """A slot's plaintext body: ``json.dumps`` with sorted keys and the default separators,
    ASCII-escaped (the config body's rules; see docs/FORMAT.md, "Canonical JSON")."""
    return json.dumps(slot.to_dict(), sort_keys=True).encode()


def seal_slot(keys: Keys, slot: KeySlot) -> bytes:
    return envelope.seal(keys, envelope.KIND_KEY, encode_slot(slot))


def parse_slot(name: str, data: bytes) -> KeySlot:
    body = envelope.body_of(data, envelope.KIND_KEY, name)
    try:
        raw = json.loads(body)
        if "check" in raw and raw["check"] != slot_checksum(raw):
            raise CorruptStoreError(
                f"key slot {name[:16]} is damaged (fails its checksum)", kind="keys", name=name
            )
        slot = KeySlot.from_dict(raw)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise CorruptStoreError(
            f"key slot {name[:16]} is malformed", kind="keys", name=name
        ) from err
    if slot.id != name:
        raise CorruptStoreError(
            f"key slot {name[:16]} does not match its name", kind="keys", name=name
        )
    return slot


def username() -> str:
    """The local user's name, for key slots and snapshots ("" when unknown)."""
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return ""


def make_slot(keys: Keys, passphrase: str, kdf: KdfParams) -> KeySlot:
    """A new slot wrapping ``keys``' master key under ``passphrase`` (slow: Argon2id)."""
    slot_id = secrets.token_bytes(32)
    salt = random_bytes(SALT_SIZE)
    wrapping = passphrase_key(passphrase, salt, kdf)
    return KeySlot(
        id=slot_id.hex(),
        created=datetime.now(UTC),
        kdf=kdf,
        salt=salt,
        wrapped=keys.wrap(wrapping, slot_id),
        host=socket.gethostname(),
        username=username(),
    )


def check_passphrase(passphrase: str) -> None:
    if not passphrase:
        raise StoreError("an empty passphrase is not allowed", hint="choose a passphrase")


async def unlock(
    backend: Backend, config: StoreConfig, passphrase: str, key_id: str | None
) -> tuple[Keys, str]:
    """The store's keys and the id of the first slot ``passphrase`` opens."""
    store_id = bytes.fromhex(config.store_id)
    names = [o.name for o in await backend.list("keys")]
    if key_id:
        names = [n for n in names if n.startswith(key_id)]
    if not names:
        raise CorruptStoreError("the store has no key slot", kind="keys", name="")
    derived: dict[tuple[bytes, KdfParams], bytes] = {}
    damaged: list[str] = []
    for name in names:
        try:
            data = await backend.get("keys", name)
            slot = parse_slot(name, data)
        except ObjectNotFoundError:
            continue
        except (CorruptStoreError, UnsupportedFormatError) as err:
            log.warning("skipping key slot %s: %s", name[:8], err.message)
            damaged.append(name)
            continue
        cache_key = (slot.salt, slot.kdf)
        if cache_key not in derived:
            try:
                derived[cache_key] = await asyncio.to_thread(
                    passphrase_key, passphrase, slot.salt, slot.kdf
                )
            except ValueError:
                log.warning("skipping key slot %s: bad KDF parameters", name[:8])
                continue
        try:
            master = unwrap_master(derived[cache_key], slot.wrapped, store_id, bytes.fromhex(name))
        except DecryptionError:
            continue
        keys = Keys(master, store_id)
        envelope.verify_mac(keys, data, envelope.KIND_KEY, name)
        return keys, name
    if damaged:
        raise KeySlotDamagedError(damaged, len(names))
    raise WrongPassphraseError()


# --------------------------------------------------------------------------- slot operations


async def read_slots(backend: Backend) -> list[KeySlot]:
    out = []
    for obj in await backend.list("keys"):
        try:
            out.append(parse_slot(obj.name, await backend.get("keys", obj.name)))
        except ObjectNotFoundError:
            continue
    return out


async def list_keys(store: Store) -> list[KeyInfo]:
    return sorted(
        (
            KeyInfo(s.id, s.created, s.id == store.slot_id, s.kdf, s.host, s.username)
            for s in await read_slots(store.backend)
        ),
        key=lambda k: (k.created, k.id),
    )


async def add_key(store: Store, passphrase: str, *, kdf: KdfParams | None = None) -> KeyInfo:
    """Add a key slot for another passphrase (the data is not rewritten)."""
    check_passphrase(passphrase)
    slot = await asyncio.to_thread(make_slot, store.keys, passphrase, kdf or KdfParams.default())
    await store.backend.put("keys", slot.id, seal_slot(store.keys, slot), create_only=True)
    return KeyInfo(slot.id, slot.created, False, slot.kdf, slot.host, slot.username)


async def remove_key(store: Store, key_id: str) -> str:
    """Remove a key slot by id or unique prefix; the last one is refused. Returns its id."""
    slots = await read_slots(store.backend)
    matches = [s for s in slots if s.id.startswith(key_id.lower())] if key_id else []
    if not matches:
        raise StoreError(
            f"no key slot matches {key_id!r}",
            hint="list the store's key slots to see their ids",
            remedy=Remedy.LIST_KEYS,
        )
    if len(matches) > 1:
        raise StoreError(
            f"key id {key_id!r} matches {len(matches)} slots", hint="give more characters"
        )
    if len(slots) <= 1:
        raise LastKeyError()
    target = matches[0]
    if target.id == store.slot_id:
        raise UsageError(
            f"refusing to remove key slot {target.id[:8]}: this session opened the store with it",
            hint="open the store with another passphrase to remove this one, "
            "or change this slot's passphrase instead",
            remedy=Remedy.CHANGE_PASSPHRASE,
        )
    await store.backend.delete("keys", target.id)
    return target.id


async def change_passphrase(
    store: Store,
    new_passphrase: str,
    *,
    old_passphrase: str | None = None,
    kdf: KdfParams | None = None,
) -> KeyInfo:
    """Replace the slot ``store`` was opened with (or the one ``old_passphrase`` opens)."""
    target = store.slot_id
    if old_passphrase is not None:
        _keys, target = await unlock(store.backend, store.config, old_passphrase, None)
    info = await add_key(store, new_passphrase, kdf=kdf)
    await store.backend.delete("keys", target)
    if target == store.slot_id:
        store.slot_id = info.id
    return replace(info, current=info.id == store.slot_id)


__all__ = [
    "KeyInfo",
    "KeySlot",
    "add_key",
    "change_passphrase",
    "encode_slot",
    "list_keys",
    "make_slot",
    "parse_slot",
    "remove_key",
    "seal_slot",
    "unlock",
    "username",
]
