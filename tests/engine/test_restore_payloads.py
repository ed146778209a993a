"""A restore reads the payloads it writes a window ahead, in bulk; what it does not expect, or
a window that does not read whole, it reads on its own, as before."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from core.engine.backup import BackupOptions, run_backup
from core.engine.restore import apply_plan, plan_restore
from core.engine.restore.payloads import PayloadsAhead, reader_for
from core.scaleway.client import ScalewayClient
from core.store import Store
from core.store.errors import CorruptStoreError
from tests.engine.helpers import TARGET

DAMAGED = "bad"


class FakeStore:
    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.single: list[str] = []
        self.bulk: list[list[str]] = []

    async def read_payload(self, blob_id: str) -> bytes:
        self.single.append(blob_id)
        if blob_id == DAMAGED:
            raise CorruptStoreError("damaged blob")
        return self.blobs[blob_id]

    async def read_payloads(self, blob_ids: Sequence[str]) -> dict[str, bytes]:
        self.bulk.append(list(blob_ids))
        await asyncio.sleep(0)
        if DAMAGED in blob_ids:
            raise CorruptStoreError("damaged blob")
        return {b: self.blobs[b] for b in blob_ids}


async def test_payloads_are_read_a_window_ahead_in_bulk() -> None:
    blobs = {f"b{i}": f"data {i}".encode() for i in range(10)}
    store = FakeStore(blobs)
    ahead = PayloadsAhead(store, list(blobs), window=4)
    assert [await ahead(f"b{i}") for i in range(10)] == list(blobs.values())
    assert store.single == []  # every one came from a bulk read
    assert store.bulk == [["b0", "b1", "b2", "b3"], ["b4", "b5", "b6", "b7"], ["b8", "b9"]]
    assert ahead.windows == {}  # each window let go once all its payloads were handed out
    # asked again (a retried version) or not in the plan: read on its own
    assert await ahead("b1") == b"data 1" and store.single == ["b1"]
    store.blobs["other"] = b"x"
    assert await ahead("other") == b"x" and store.single == ["b1", "other"]
    await ahead.aclose()


async def test_a_damaged_blob_fails_only_the_version_that_needs_it() -> None:
    blobs = {"b0": b"zero", DAMAGED: b"", "b2": b"two"}
    store = FakeStore(blobs)
    ahead = PayloadsAhead(store, ["b0", DAMAGED, "b2"], window=8)
    assert await ahead("b0") == b"zero"  # the window did not read whole: this one on its own
    with pytest.raises(CorruptStoreError):
        await ahead(DAMAGED)
    assert await ahead("b2") == b"two"
    assert store.single == ["b0", DAMAGED, "b2"]
    await ahead.aclose()


async def test_closing_stops_the_reads_ahead() -> None:
    started = asyncio.Event()

    class Slow(FakeStore):
        async def read_payloads(self, blob_ids: Sequence[str]) -> dict[str, bytes]:
            started.set()
            await asyncio.sleep(60)
            return {}

    ahead = PayloadsAhead(Slow({}), ["a", "b"], window=1)
    asking = asyncio.ensure_future(ahead("a"))
    await started.wait()
    asking.cancel()
    await ahead.aclose()
    assert ahead.windows == {}
    assert all(t.done() for t in ahead.windows.values())


async def test_what_is_held_is_bounded() -> None:
    blobs = {f"b{i}": b"x" for i in range(40)}
    store = FakeStore(blobs)
    ahead = PayloadsAhead(store, list(blobs), window=4, held=2)
    for i in range(0, 40, 4):  # the first payload of each window only: none is emptied
        assert await ahead(f"b{i}") == b"x"
        assert len(ahead.windows) <= 2
    assert await ahead("b1") == b"x" and store.single == ["b1"]  # its window was let go
    await ahead.aclose()


def test_a_store_without_bulk_reads_keeps_the_plain_reader() -> None:
    class Plain:
        async def read_payload(self, blob_id: str) -> bytes:
            return b""

    plain = Plain()
    assert reader_for(plain, plain.read_payload, ["a"]) == plain.read_payload
    assert isinstance(reader_for(FakeStore({}), plain.read_payload, ["a"]), PayloadsAhead)


async def test_a_restore_reads_its_payloads_in_bulk(
    client: ScalewayClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the engine and a real store: the versions' data come from bulk reads, none
    is read on its own, and the restore is whole."""
    snap = await run_backup(client, store, BackupOptions())
    single: list[str] = []
    bulk: list[int] = []
    one, many = store.read_payload, store.read_payloads

    async def read_payload(blob_id: str) -> bytes:
        single.append(blob_id)
        return await one(blob_id)

    async def read_payloads(blob_ids: Sequence[str]) -> dict[str, bytes]:
        bulk.append(len(blob_ids))
        return await many(blob_ids)

    monkeypatch.setattr(store, "read_payload", read_payload)
    monkeypatch.setattr(store, "read_payloads", read_payloads)
    plan = await plan_restore(client, store, snap.snapshot_id or "", to_project=TARGET)
    result = await apply_plan(client, store, plan)
    assert result.status == "ok", [a.error for a in result.actions if a.error]
    added = sum(len(a.versions) for a in plan.actions if a.changes)
    assert added > 0 and sum(bulk) == added and single == []
