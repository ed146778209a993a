"""Store locks (docs/FORMAT.md, "Locks").

A lock is an encrypted object ``locks/<random id>`` holding who holds it (host, pid), whether
it is exclusive, when it was taken and until when it is valid. Backups hold shared locks;
maintenance (prune) holds an exclusive one. A holder refreshes its lock well before it
expires by writing a fresh lock object and then deleting the previous one (so a bucket that
refuses overwrites still works, and clean-up is best effort). A lock is *stale* once it has
expired, or when its holder ran on this host and that process is gone. A holder whose
refresh fails, or that missed its own deadline, counts its lock as *lost*: a writer checks
this before committing and stops without committing.

A lock can also be taken away: another process may delete it (``unlock`` of every lock) and
then take an exclusive lock. So a holder *confirms* its lock (:meth:`LockHandle.confirm`)
right before each step that must not run without it (a writer's commit, each destructive
step of forget, prune and repair): its object still exists, still decrypts to its own host
and pid, and no other live lock that conflicts with it exists. A refresh writes the new lock
object and then checks that the previous one is still there, so a removed lock is never
silently re-created by the refresher.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import logging
import os
import random
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.scaleway.models import format_time, parse_time
from core.store import envelope
from core.store.backends import Backend
from core.store.crypto import DecryptionError, Keys
from core.store.errors import (
    BackendError,
    CorruptStoreError,
    ObjectNotFoundError,
    StoreError,
    StoreLockedError,
)

log = logging.getLogger(__name__)

DEFAULT_LIFETIME = 300.0  # seconds a lock is valid without refresh
REMOVED_BY_OTHER = "the store lock was removed by another process"
# a conflicting lock seen while confirming must still be there after these pauses: a
# process that is only trying to take a lock deletes its object as soon as it sees ours
CONFIRM_PAUSES = (0.05, 0.2, 0.5)
CLOCK_SKEW = 30.0  # tolerated clock difference between hosts


@dataclass(frozen=True, slots=True)
class LockInfo:
    """One lock file's contents: who holds the lock, since when, until when."""

    id: str
    exclusive: bool
    time: datetime  # when the holder first took the lock
    refreshed: datetime
    expires: datetime
    host: str
    pid: int
    username: str = ""
    purpose: str = ""
    readable: bool = True

    def stale(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        if not self.readable:
            return True
        if now > self.expires + timedelta(seconds=CLOCK_SKEW):
            return True
        return self.host == socket.gethostname() and not _pid_alive(self.pid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "exclusive": self.exclusive,
            "time": format_time(self.time),
            "refreshed": format_time(self.refreshed),
            "expires": format_time(self.expires),
            "host": self.host,
            "pid": self.pid,
            "username": self.username,
            "purpose": self.purpose,
            "stale": self.stale(),
        }

    def describe(self) -> str:
        kind = "exclusive" if self.exclusive else "shared"
        return (
            f"{kind} lock {self.id[:8]} held by pid {self.pid} on {self.host} "
            f"since {format_time(self.time)}"
        )


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def _lock_ad(name: str) -> bytes:
    return bytes.fromhex(name)


def seal_lock(keys: Keys, info: LockInfo) -> bytes:
    payload = json.dumps(
        {
            "exclusive": info.exclusive,
            "time": format_time(info.time),
            "refreshed": format_time(info.refreshed),
            "expires": format_time(info.expires),
            "host": info.host,
            "pid": info.pid,
            "username": info.username,
            "purpose": info.purpose,
        },
        sort_keys=True,
    ).encode()
    body = keys.seal_object(envelope.KIND_LOCK, _lock_ad(info.id), payload)
    return envelope.seal(keys, envelope.KIND_LOCK, body)


def open_lock(keys: Keys, name: str, data: bytes) -> LockInfo:
    body = envelope.open_(keys, data, envelope.KIND_LOCK, name)
    try:
        raw = json.loads(keys.open_object(envelope.KIND_LOCK, _lock_ad(name), body))
        return LockInfo(
            id=name,
            exclusive=bool(raw["exclusive"]),
            time=parse_time(raw["time"]) or datetime.now(UTC),
            refreshed=parse_time(raw["refreshed"]) or datetime.now(UTC),
            expires=parse_time(raw["expires"]) or datetime.now(UTC),
            host=str(raw.get("host", "")),
            pid=int(raw.get("pid", 0)),
            username=str(raw.get("username", "")),
            purpose=str(raw.get("purpose", "")),
        )
    except (DecryptionError, ValueError, KeyError, TypeError):
        raise CorruptStoreError(
            f"lock {name[:16]} is unreadable", kind="locks", name=name
        ) from None


async def list_locks(backend: Backend, keys: Keys) -> list[LockInfo]:
    """Every lock object; an unreadable one is listed as ``readable=False`` (and stale)."""
    out: list[LockInfo] = []
    for obj in await backend.list("locks"):
        try:
            data = await backend.get("locks", obj.name)
            out.append(open_lock(keys, obj.name, data))
        except ObjectNotFoundError:
            continue  # released meanwhile
        except (CorruptStoreError, StoreError) as err:
            if isinstance(err, BackendError):
                raise
            epoch = datetime.fromtimestamp(0, UTC)
            out.append(LockInfo(obj.name, False, epoch, epoch, epoch, "", 0, readable=False))
    return out


class LockHandle:
    """A held lock: refreshed in the background until released."""

    def __init__(
        self,
        backend: Backend,
        keys: Keys,
        *,
        exclusive: bool,
        lifetime: float = DEFAULT_LIFETIME,
        purpose: str = "",
    ) -> None:
        self.backend = backend
        self.keys = keys
        self.exclusive = exclusive
        self.lifetime = lifetime
        self.refresh_interval = lifetime / 5
        self.purpose = purpose
        now = datetime.now(UTC)
        self.info = LockInfo(
            id=secrets.token_hex(32),
            exclusive=exclusive,
            time=now,
            refreshed=now,
            expires=now + timedelta(seconds=lifetime),
            host=socket.gethostname(),
            pid=os.getpid(),
            username=_username(),
            purpose=purpose,
        )
        # trust the lock until this loop time; renewed by each successful refresh
        self.margin = min(CLOCK_SKEW, lifetime / 4)
        self._deadline = asyncio.get_running_loop().time() + lifetime - self.margin
        self._task: asyncio.Task[None] | None = None
        self.lost_reason: str | None = None
        self.released = False

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def lost(self) -> bool:
        if self.lost_reason is not None:
            return True
        if asyncio.get_running_loop().time() > self._deadline:
            self.lost_reason = "its refresh is overdue"
            return True
        return False

    def check(self) -> None:
        """Raise StoreLockedError if the lock can no longer be trusted (no backend call)."""
        if self.released:
            raise StoreLockedError("the store lock was already released")
        if self.lost:
            if self.lost_reason == REMOVED_BY_OTHER or (self.lost_reason or "").startswith(
                "superseded"
            ):
                raise StoreLockedError(
                    f"{self.lost_reason}; nothing was committed",
                    hint="make sure no other process removes the locks of a store in use, "
                    "then run it again",
                )
            raise StoreLockedError(
                f"lost the store lock ({self.lost_reason}); nothing was committed",
                hint="check the connection to the store and retry; remove the store's stale "
                "locks if they remain",
                details={"case": "refresh_failed"},
            )

    async def _still_mine(self, lock_id: str) -> bool:
        """The lock object ``lock_id`` exists and is this holder's (host and pid)."""
        try:
            data = await self.backend.get("locks", lock_id)
        except ObjectNotFoundError:
            return False
        try:
            info = open_lock(self.keys, lock_id, data)
        except CorruptStoreError:
            return False
        return (info.host, info.pid, info.exclusive) == (
            self.info.host,
            self.info.pid,
            self.exclusive,
        )

    def _conflicts(self, locks: list[LockInfo]) -> set[str]:
        return {
            lk.id
            for lk in locks
            if lk.id != self.info.id
            and lk.readable
            and not lk.stale()
            and (self.exclusive or lk.exclusive)
        }

    async def confirm(self) -> None:
        """Check on the backend that the lock still stands; raise StoreLockedError if not.

        Called right before a commit or a destructive step. The lock stands when its object
        exists and is this holder's, and no other live lock conflicts with it (a conflicting
        lock that is only being tried disappears within a moment; one that stays means this
        lock was removed and someone else took the store).
        """
        self.check()
        try:
            mine = await self._still_mine(self.info.id)
        except StoreError as err:
            if self.lost:
                self.check()
            raise StoreLockedError(
                f"could not confirm the store lock ({err.message}); nothing was committed",
                hint="check the connection to the store and retry",
            ) from None
        if not mine:
            self.lost_reason = REMOVED_BY_OTHER
            self.check()
        conflicts = self._conflicts(await list_locks(self.backend, self.keys))
        for pause in CONFIRM_PAUSES:
            if not conflicts:
                return
            await asyncio.sleep(pause)
            conflicts &= self._conflicts(await list_locks(self.backend, self.keys))
        if conflicts:
            self.lost_reason = (
                "superseded: another process holds a conflicting lock on the store "
                "(this process's lock was removed meanwhile)"
            )
            self.check()

    async def _write(self) -> None:
        await self.backend.put(
            "locks", self.info.id, seal_lock(self.keys, self.info), create_only=True
        )

    async def acquire(self, wait: float = 0.0) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + max(0.0, wait)
        delay = 0.05
        while True:
            await self._write()
            conflicts = [
                lk
                for lk in await list_locks(self.backend, self.keys)
                if lk.id != self.info.id and not lk.stale() and (self.exclusive or lk.exclusive)
            ]
            if not conflicts:
                self._deadline = loop.time() + self.lifetime - self.margin
                self._task = asyncio.create_task(self._refresher())
                return
            with contextlib.suppress(StoreError):
                await self.backend.delete("locks", self.info.id)
            if loop.time() + delay > give_up:
                first = conflicts[0]
                raise StoreLockedError(
                    f"the store is locked: {first.describe()}"
                    + (f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""),
                    hint="wait for that process to finish; if it died, remove the store's "
                    "stale locks",
                    details={"case": "held"},
                )
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)
            now = datetime.now(UTC)
            self.info = LockInfo(
                id=secrets.token_hex(32),
                exclusive=self.exclusive,
                time=now,
                refreshed=now,
                expires=now + timedelta(seconds=self.lifetime),
                host=self.info.host,
                pid=self.info.pid,
                username=self.info.username,
                purpose=self.purpose,
            )

    async def refresh(self) -> None:
        """Write a fresh lock object, then drop the previous one (best effort)."""
        old = self.info.id
        now = datetime.now(UTC)
        started = asyncio.get_running_loop().time()
        new = LockInfo(
            id=secrets.token_hex(32),
            exclusive=self.exclusive,
            time=self.info.time,
            refreshed=now,
            expires=now + timedelta(seconds=self.lifetime),
            host=self.info.host,
            pid=self.info.pid,
            username=self.info.username,
            purpose=self.purpose,
        )
        await self.backend.put("locks", new.id, seal_lock(self.keys, new), create_only=True)
        # The previous object must still be there: if another process removed it, this
        # lock is gone, and the new object must not pretend otherwise.
        try:
            still_there = await self._still_mine(old)
        except StoreError:
            still_there = True  # unknown: the commit-time confirm decides
        if not still_there:
            self.lost_reason = REMOVED_BY_OTHER
            with contextlib.suppress(StoreError):
                await self.backend.delete("locks", new.id)
            return
        self.info = new
        self._deadline = started + self.lifetime - self.margin
        try:
            await self.backend.delete("locks", old)
        except StoreError as err:
            log.warning("could not delete the previous lock object: %s", err.message)

    async def _refresher(self) -> None:
        while not self.released:
            await asyncio.sleep(self.refresh_interval)
            if self.released:
                return
            try:
                await self.refresh()
                if self.lost_reason is not None:
                    log.warning("store lock lost: %s", self.lost_reason)
                    return
            except StoreError as err:
                if self.lost:
                    log.warning("store lock lost: %s", err.message)
                    return
                log.warning("store lock refresh failed, retrying: %s", err.message)
                # a failed refresh: does the lock still stand at all?
                with contextlib.suppress(StoreError):
                    if not await self._still_mine(self.info.id):
                        self.lost_reason = REMOVED_BY_OTHER
                        log.warning("store lock lost: %s", self.lost_reason)
                        return
            except Exception as err:  # never let the refresher die silently
                self.lost_reason = f"refresh failed ({type(err).__name__})"
                return

    async def release(self) -> None:
        if self.released:
            return
        self.released = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        try:
            await asyncio.shield(self.backend.delete("locks", self.info.id))
        except (StoreError, asyncio.CancelledError):
            log.warning("could not remove lock %s; it will expire", self.info.id[:8])

    async def __aenter__(self) -> LockHandle:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


def _username() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""
