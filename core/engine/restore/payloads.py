"""The payloads a restore writes, read from the store ahead of the writes, in bulk.

A restore used to read each version's data on its own just before writing it: one lookup,
one read of a pack range (a file read beside a thread hop on a local store, a GET on S3)
and one decryption a version, 3,000 of them for 1,000 secrets x 3. :class:`PayloadsAhead`
knows the order the plan's actions will ask for their versions in, and reads them a window
at a time through the store's bulk read (one index query, each pack's span read once,
neighbouring ranges coalesced), the next window while the current one is written. What it
holds is bounded (two windows); a payload it does not expect (a replanned secret, a version
asked twice), or a window whose bulk read fails (a damaged blob in it), is read on its own,
as before, so a damaged blob fails only the versions that need it, with the same error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from core.engine.restore.model import PayloadReader
from core.store.errors import CorruptStoreError

WINDOW = 256  # payloads read in one bulk read
HELD = 6  # windows held at most (a restore's 256 secrets at once span about three)


@runtime_checkable
class BulkPayloadStore(Protocol):
    """A store that reads many data blobs at once (``Store`` does)."""

    async def read_payload(self, blob_id: str) -> bytes: ...

    async def read_payloads(self, blob_ids: Sequence[str]) -> dict[str, bytes]: ...


class PayloadsAhead:
    """A :data:`PayloadReader` that reads the payloads of ``order`` a window ahead.

    A window is let go once each of its payloads was handed out, or when more than ``held``
    are held (the oldest first: its payloads not handed out yet are then read on their own).
    """

    def __init__(
        self,
        store: BulkPayloadStore,
        order: Iterable[str],
        *,
        window: int = WINDOW,
        held: int = HELD,
    ) -> None:
        self.store = store
        self.window = max(1, window)
        self.held = max(2, held)
        self.order = list(dict.fromkeys(order))
        self.where = {blob: i // self.window for i, blob in enumerate(self.order)}
        self.windows: dict[int, asyncio.Task[dict[str, bytes]]] = {}
        self.started: set[int] = set()  # a window is read in bulk once at most
        self.bulk_reads = 0  # windows read in bulk (tests)

    async def __call__(self, blob_id: str) -> bytes:
        number = self.where.get(blob_id)
        if number is None or (number in self.started and number not in self.windows):
            return await self.store.read_payload(blob_id)  # not planned, or let go
        current = self._start(number, keep=number)
        self._start(number + 1, keep=number)  # the next window reads while this one is used
        try:
            held = await asyncio.shield(current)
        except CorruptStoreError:  # a damaged blob in the window: each is read on its own
            return await self.store.read_payload(blob_id)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                raise  # this read is being stopped, not just its window let go
            return await self.store.read_payload(blob_id)
        data = held.pop(blob_id, None)
        if not held and self.windows.get(number) is current:
            del self.windows[number]  # every payload of it handed out
        return data if data is not None else await self.store.read_payload(blob_id)

    def _start(self, number: int, *, keep: int) -> asyncio.Task[dict[str, bytes]]:
        task = self.windows.get(number)
        if task is None:
            ids = self.order[number * self.window : (number + 1) * self.window]
            task = asyncio.ensure_future(self._read(ids))
            if ids:
                self.windows[number] = task
                self.started.add(number)
            while len(self.windows) > self.held:  # the oldest go, never the one in use
                oldest = min(n for n in self.windows if n != keep)
                self._forget(self.windows.pop(oldest))
        return task

    async def _read(self, ids: Sequence[str]) -> dict[str, bytes]:
        if not ids:
            return {}
        got = await self.store.read_payloads(ids)
        self.bulk_reads += 1
        return got

    @staticmethod
    def _forget(task: asyncio.Task[dict[str, bytes]]) -> None:
        if task.done():
            if not task.cancelled():
                task.exception()  # seen: a failed window was read blob by blob
        else:
            task.cancel()

    async def aclose(self) -> None:
        """Stop the reads ahead (a stopped restore starts no read it does not need)."""
        tasks, self.windows = list(self.windows.values()), {}
        for task in tasks:
            self._forget(task)
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


def reader_for(
    store: object, fallback: PayloadReader, order: Iterable[str]
) -> PayloadReader | PayloadsAhead:
    """The reader a restore uses: ahead, in bulk, when the store can read in bulk."""
    if isinstance(store, BulkPayloadStore):
        return PayloadsAhead(store, order)
    return fallback
