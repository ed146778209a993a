"""Errors of the snapshot store. All are :class:`core.errors.KlosetError` subclasses.

Two families are kept apart on purpose: a *transport* failure ("could not read": the backend
did not answer, retry later) is never reported as *corruption* ("read, and it is wrong").
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import ExitCode, KlosetError, Remedy, UsageError


class StoreError(KlosetError):
    """Base class of store errors."""


class StoreNotFoundError(StoreError):
    exit_code = ExitCode.NO_STORE

    def __init__(self, location: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"no secret-kloset store at {location}",
            hint=hint or "create a store there, or check the location",
            remedy=Remedy.INIT_STORE,
        )


class StoreExistsError(StoreError):
    def __init__(self, location: str) -> None:
        super().__init__(
            f"a store already exists at {location}",
            hint="open it instead, or choose an empty location",
        )


class WrongPassphraseError(StoreError):
    exit_code = ExitCode.WRONG_PASSPHRASE

    def __init__(
        self, message: str = "wrong passphrase: no key slot of this store opens with it"
    ) -> None:
        super().__init__(
            message,
            hint="check the passphrase (SECRET_KLOSET_PASSPHRASE, the profile's keyring entry, or the prompt)",
            remedy=Remedy.CHECK_PASSPHRASE,
        )


class StoreLockedError(StoreError):
    exit_code = ExitCode.LOCKED

    def __init__(
        self, message: str, *, hint: str | None = None, details: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(
            message,
            hint=hint or "wait for the other process to finish, or remove the store's stale locks",
            remedy=Remedy.UNLOCK_STORE,
            details=details,
        )


class CorruptStoreError(StoreError):
    """An object was read, and it is wrong (bad MAC, failed decryption, bad layout)."""

    def __init__(self, message: str, *, kind: str | None = None, name: str | None = None) -> None:
        super().__init__(
            message,
            hint="check the store, reading all data, to list the damage; a prune rebuilds the "
            "index from the packs that are intact",
            remedy=Remedy.CHECK_STORE,
        )
        self.kind = kind
        self.name = name


class BlobNotFoundError(CorruptStoreError):
    """A blob a snapshot references is not in the index."""

    def __init__(self, blob_id: str) -> None:
        super().__init__(
            f"blob {blob_id[:16]} is not in the store's index", kind="blob", name=blob_id
        )
        self.blob_id = blob_id


class KeySlotDamagedError(CorruptStoreError):
    """No intact key slot opens with the passphrase, and some slot is damaged (its checksum,
    checked before the KDF, fails): the passphrase may well be right."""

    def __init__(self, damaged: list[str], total: int) -> None:
        names = ", ".join(d[:8] for d in damaged)
        super().__init__(
            f"{len(damaged)} of the store's {total} key slot(s) are damaged ({names}); no intact "
            "slot opens with this passphrase",
            kind="keys",
            name=damaged[0] if damaged else "",
        )
        self.hint = (
            "the passphrase may be right if it belongs to a damaged slot: open the store with "
            "another of its passphrases, or restore the damaged key slot object from a backup "
            "copy of the store"
        )
        self.remedy = None
        self.damaged = list(damaged)


class ConfigDamagedError(CorruptStoreError):
    """The config object is damaged (MAC, layout): it never changes once the store exists."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="config", name="config")
        self.hint = (
            "restore the store's 'config' object from a backup copy of the store (it never "
            "changes after the store is created; no other object needs to change)"
        )
        self.remedy = None


class BlobDamagedError(CorruptStoreError):
    """No copy of a blob can be read intact (its pack is missing, or it fails authentication).

    Raised by the store's reads with the blob's id, so that a caller reading a *parent*
    snapshot (a backup reusing what it holds) can catch it and read that data afresh.
    """

    def __init__(self, blob_id: str, message: str, *, pack_id: str | None = None) -> None:
        super().__init__(message, kind="blob", name=blob_id)
        self.blob_id = blob_id
        self.pack_id = pack_id


class UnsupportedFormatError(StoreError):
    def __init__(self, message: str) -> None:
        super().__init__(message, hint="upgrade secret-kloset to a version that knows this format")


class BackendError(StoreError):
    """The backend could not be reached or refused the request (not corruption)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(
            message,
            hint=hint or "check the network, the endpoint and the credentials, then retry",
        )


class StoreSpaceError(BackendError):
    """The store's disk is full (ENOSPC): what was being written, and how much is needed
    (``details["needed_bytes"]`` when known)."""

    def __init__(
        self, message: str, *, hint: str | None = None, details: dict[str, str] | None = None
    ) -> None:
        super().__init__(
            message, hint=hint or "free space on the disk that holds the store, then retry"
        )
        self.details = dict(details or {})


class ObjectNotFoundError(StoreError):
    """The backend has no object of that kind and name."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"no {kind} object named {name[:16]}")
        self.kind = kind
        self.name = name


class ObjectExistsError(StoreError):
    """A create-only put found an object of that name already there."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} object {name[:16]} already exists")
        self.kind = kind
        self.name = name


class SnapshotNotFoundError(StoreError):
    exit_code = ExitCode.USAGE

    def __init__(self, ref: str) -> None:
        super().__init__(
            f"no snapshot matches {ref!r}",
            hint="list the store's snapshots to find its id",
            remedy=Remedy.CHOOSE_SNAPSHOT,
        )


class AmbiguousSnapshotError(UsageError):
    def __init__(self, ref: str, count: int) -> None:
        super().__init__(
            f"snapshot prefix {ref!r} matches {count} snapshots",
            hint="give more characters of the snapshot id",
            remedy=Remedy.CHOOSE_SNAPSHOT,
            details={"case": "ambiguous"},
        )


class LastKeyError(StoreError):
    exit_code = ExitCode.USAGE

    def __init__(self) -> None:
        super().__init__(
            "refusing to remove the store's last key slot: the data would be lost forever",
            hint="add another passphrase (a new key slot) first",
            remedy=Remedy.ADD_KEY,
        )
