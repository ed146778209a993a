"""The backend contract (the ABC only; :mod:`core.store.backends` picks one by scheme): a handful of async calls on immutable, named objects.

Objects have a *kind* (``config``, ``keys``, ``packs``, ``index``, ``snapshots``, ``locks``)
and a *name* (64 lowercase hex characters; ``config`` for the single config object). Every
backend lays them out the same way (docs/FORMAT.md, "Layout"):

    config
    keys/<name>
    packs/<first two hex chars>/<name>
    index/<name>
    snapshots/<name>
    locks/<name>

Failures are typed: :class:`ObjectNotFoundError` (no such object), :class:`ObjectExistsError`
(a create-only put lost the race), :class:`BackendError` (transport: could not read/write;
reads are retried before it is raised). A backend never reports corruption: that is the
store's call, after it has the bytes.
"""

from __future__ import annotations

import abc
import asyncio
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from core.store.errors import BackendError, ObjectNotFoundError

KINDS: tuple[str, ...] = ("config", "keys", "packs", "index", "snapshots", "locks")
_NAME = re.compile(r"^[0-9a-f]{64}$")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object of a backend listing: its name, size and change tag."""

    name: str
    size: int
    #: changes whenever the object is rewritten (S3 ETag, local mtime+inode); None if unknown
    tag: str | None = None


def check_name(kind: str, name: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown object kind {kind!r}")
    if kind == "config":
        if name != "config":
            raise ValueError("the config object is named 'config'")
    elif not _NAME.match(name):
        raise ValueError(f"bad {kind} object name")


def object_path(kind: str, name: str) -> str:
    """The object's path relative to the store's root."""
    check_name(kind, name)
    if kind == "config":
        return "config"
    if kind == "packs":
        return f"packs/{name[:2]}/{name}"
    return f"{kind}/{name}"


class Backend(abc.ABC):
    """Async object storage. Subclasses implement the ``_``-prefixed primitives."""

    scheme: str = ""
    #: a create-only put is atomic (two racing creators: exactly one wins)
    atomic_create: bool = False
    read_attempts: int = 4
    retry_base_delay: float = 0.05

    def __init__(self, location: str) -> None:
        self.location = location

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    # ------------------------------------------------------------------ primitives

    @abc.abstractmethod
    async def _put(self, path: str, data: bytes, create_only: bool) -> None: ...

    @abc.abstractmethod
    async def _get(self, path: str, offset: int | None, length: int | None) -> bytes: ...

    @abc.abstractmethod
    async def _stat(self, path: str) -> int: ...

    @abc.abstractmethod
    async def _list(self, prefix: str) -> list[tuple[str, int, str | None]]:
        """(path relative to the root, size, change tag) of every object under ``prefix/``."""

    @abc.abstractmethod
    async def _delete(self, path: str) -> None:
        """Delete; a missing object is not an error."""

    async def clean_temporary_files(self, older_than: float) -> int:
        """Remove what interrupted writes left behind (older than ``older_than`` seconds, or
        whose writer is gone); returns how many. Backends without temporary files: 0."""
        return 0

    async def free_space(self) -> int | None:
        """Bytes free where the store lives, when the backend can tell (else None)."""
        return None

    async def close(self) -> None:  # noqa: B027 (optional hook)
        """Release connections; the backend is unusable afterwards."""

    async def destroy(self) -> None:
        """Delete every object of the store (tests, and re-initialising over a store on purpose)."""
        for kind in KINDS:
            if kind == "config":
                await self.delete("config", "config")
                continue
            for info in await self.list(kind):
                await self.delete(kind, info.name)

    # ------------------------------------------------------------------ public API

    async def _retry(self, what: Callable[[], Awaitable[T]]) -> T:
        delay = self.retry_base_delay
        for attempt in range(self.read_attempts):
            try:
                return await what()
            except BackendError:
                if attempt == self.read_attempts - 1:
                    raise
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay *= 2
        raise AssertionError("unreachable")

    async def put(self, kind: str, name: str, data: bytes, *, create_only: bool = False) -> None:
        """Store an object. ``create_only``: raise ObjectExistsError if it exists already."""
        path = object_path(kind, name)
        await self._put(path, bytes(data), create_only)

    async def get(
        self, kind: str, name: str, offset: int | None = None, length: int | None = None
    ) -> bytes:
        """The object's bytes, or ``length`` bytes from ``offset`` (retried on transport errors)."""
        path = object_path(kind, name)
        if offset is not None and offset < 0:
            raise ValueError("negative offset")
        if length is not None and length < 0:
            raise ValueError("negative length")
        return await self._retry(lambda: self._get(path, offset, length))

    async def stat(self, kind: str, name: str) -> int:
        """The object's size in bytes."""
        path = object_path(kind, name)
        return await self._retry(lambda: self._stat(path))

    async def exists(self, kind: str, name: str) -> bool:
        try:
            await self.stat(kind, name)
        except ObjectNotFoundError:
            return False
        return True

    async def list(self, kind: str) -> list[ObjectInfo]:
        """Every object of ``kind``, sorted by name (temporary and foreign files are skipped)."""
        if kind not in KINDS or kind == "config":
            raise ValueError(f"cannot list kind {kind!r}")
        entries = await self._retry(lambda: self._list(kind))
        out: list[ObjectInfo] = []
        for rel, size, tag in entries:
            name = rel.rsplit("/", 1)[-1]
            if not _NAME.match(name):
                continue
            if object_path(kind, name) != rel:
                continue
            out.append(ObjectInfo(name, size, tag))
        out.sort(key=lambda o: o.name)
        return out

    async def delete(self, kind: str, name: str) -> None:
        await self._delete(object_path(kind, name))


__all__ = ["KINDS", "Backend", "ObjectInfo", "check_name", "object_path"]
