"""An in-memory backend for tests: ``memory://name`` stores live as long as the process.

Stores of the same name share their objects (a second ``Store.open`` sees the first's
writes), as a real location would. ``fail_next`` lets tests inject transport failures.
"""

from __future__ import annotations

import asyncio
import threading

from core.store.backends.base import Backend
from core.store.errors import BackendError, ObjectExistsError, ObjectNotFoundError

_STORES: dict[str, dict[str, bytes]] = {}
_GENERATIONS: dict[str, dict[str, int]] = {}
_GUARD = threading.Lock()
_COUNTER = [0]


def forget_memory_store(location: str) -> None:
    with _GUARD:
        _STORES.pop(location, None)
        _GENERATIONS.pop(location, None)


class MemoryBackend(Backend):
    scheme = "memory"
    atomic_create = True
    retry_base_delay = 0.001

    def __init__(self, location: str, **options: object) -> None:
        super().__init__(location)
        with _GUARD:
            self._objects = _STORES.setdefault(location, {})
            self._generations = _GENERATIONS.setdefault(location, {})
        self.fail_next: dict[str, int] = {}  # operation name -> number of calls to fail
        self.calls: dict[str, int] = {}

    def _maybe_fail(self, op: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1
        left = self.fail_next.get(op, 0)
        if left > 0:
            self.fail_next[op] = left - 1
            raise BackendError(f"injected transport failure on {op}")

    async def _put(self, path: str, data: bytes, create_only: bool) -> None:
        await asyncio.sleep(0)
        self._maybe_fail("put")
        with _GUARD:
            if create_only and path in self._objects:
                kind, _, name = path.partition("/")
                raise ObjectExistsError(kind, name.rsplit("/", 1)[-1])
            self._objects[path] = data
            _COUNTER[0] += 1
            self._generations[path] = _COUNTER[0]

    def _missing(self, path: str) -> ObjectNotFoundError:
        kind, _, name = path.partition("/")
        return ObjectNotFoundError(kind, name.rsplit("/", 1)[-1] or kind)

    async def _get(self, path: str, offset: int | None, length: int | None) -> bytes:
        await asyncio.sleep(0)
        self._maybe_fail("get")
        data = self._objects.get(path)
        if data is None:
            raise self._missing(path)
        start = offset or 0
        end = len(data) if length is None else start + length
        return data[start:end]  # short when the object is shorter: the store notices

    async def _stat(self, path: str) -> int:
        self._maybe_fail("stat")
        data = self._objects.get(path)
        if data is None:
            raise self._missing(path)
        return len(data)

    async def _list(self, prefix: str) -> list[tuple[str, int, str | None]]:
        await asyncio.sleep(0)
        self._maybe_fail("list")
        with _GUARD:
            return [
                (p, len(d), str(self._generations.get(p, 0)))
                for p, d in self._objects.items()
                if p.startswith(prefix + "/")
            ]

    async def _delete(self, path: str) -> None:
        self._maybe_fail("delete")
        with _GUARD:
            self._objects.pop(path, None)

    # for tests: direct access to the raw bytes
    def raw(self) -> dict[str, bytes]:
        return self._objects
