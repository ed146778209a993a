"""How a long list reaches the console (issue 10): rows appended below the screen, folder
counts, the snapshot's growing chunks, and the garbage collector paused only while listing.

Functional only (``App.run_test``, real widgets); benchmarks/console_bench.py measures times.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static, Tree

from core._gc import collector_paused, sweep
from core.store.model import SecretRecord
from tests.tui.conftest import wait_for
from tui.sources import SecretEntry, SnapshotSource, VersionEntry
from tui.widgets.browser import SecretsBrowser, folder_counts
from tui.widgets.vtable import Column, Row, VirtualTable

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _entry(i: int, path: str) -> SecretEntry:
    return SecretEntry(
        id=f"id-{i:06d}",
        name=f"secret-{i:06d}",
        path=path,
        type="opaque",
        version_count=1,
        tags=("t",),
        status="ready",
        protected=False,
        region="fr-par",
        project_id="p",
        updated_at=BASE,
    )


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield VirtualTable([Column("Name", 10, grow=1)], id="t")


async def test_rows_appended_below_the_screen_are_reachable_and_drawn() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one("#t", VirtualTable)
        table.set_rows([Row(f"k{i}", (f"row {i}",)) for i in range(100)])
        await pilot.pause()
        for start in range(100, 5000, 700):  # a listing arriving in batches
            table.append_rows(Row(f"k{i}", (f"row {i}",)) for i in range(start, start + 700))
            await pilot.pause()
        assert table.total_count == table.row_count == 5000
        assert table.virtual_size.height == 5001  # header line + rows: the scrollbar's range
        assert table.render_line(1).text.strip() == "row 0"  # the top did not move
        table.focus()
        await pilot.press("end")
        assert table.cursor_key == "k4999"
        assert "row 4999" in "".join(table.render_line(y).text for y in range(table.size.height))
        # At the end of the list, rows that arrive now are on screen: they are drawn.
        table.append_rows([Row("k5000", ("row 5000",))])
        await pilot.pause()
        assert table.max_scroll_y >= table.scroll_y
        await pilot.press("end")
        lines = "".join(table.render_line(y).text for y in range(table.size.height))
        assert "row 5000" in lines
        # A filter over the appended rows still works.
        table.set_filter("row 4321")
        assert table.visible_keys() == ["k4321"]


def test_folder_counts_count_each_folder_and_every_folder_above_it() -> None:
    entries = [
        _entry(0, "/prod/db"),
        _entry(1, "/prod/db"),
        _entry(2, "/prod/api/v1"),
        _entry(3, "/"),
        _entry(4, "staging"),  # a path without its leading slash counts under /staging
        _entry(5, ""),
    ]
    counts: dict[str, int] = {}
    folder_counts(entries[:3], counts)
    folder_counts(entries[3:], counts)  # counted batch by batch, as a listing arrives
    assert counts == {
        "/": 6,
        "/prod": 3,
        "/prod/db": 2,
        "/prod/api": 1,
        "/prod/api/v1": 1,
        "/staging": 1,
    }


def test_the_collector_is_paused_while_listings_run_and_resumed_after_the_last() -> None:
    assert gc.isenabled()
    first = collector_paused()
    second = collector_paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)  # overlapping, not nested: the other still runs
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()  # a program that runs without the collector keeps it off
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


class Node:
    """An object that can be part of a reference cycle (and be weakly referenced)."""

    def __init__(self) -> None:
        self.other: object = None


def test_a_sweep_frees_the_cycles_a_chunk_left_while_the_collector_is_paused() -> None:
    with collector_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
        assert alive() is not None  # a cycle: reference counting cannot free it
        sweep()
        assert alive() is None


def test_a_pause_whose_objects_stay_sweeps_them_once_as_it_ends() -> None:
    """``survivors``: the last pause to end sweeps the young generations (one pass; a
    nested one, or one that fails, leaves that to the collector)."""
    with _collections() as passes:
        with collector_paused(survivors=True):
            a, b = Node(), Node()
            a.other, b.other = b, a
            alive = weakref.ref(a)
            del a, b
        assert alive() is None and passes == [1] and gc.isenabled()
        passes.clear()
        with collector_paused():
            with collector_paused(survivors=True):
                pass
            assert passes == [] and not gc.isenabled()  # the outer pause still runs
        passes.clear()
        with pytest.raises(RuntimeError), collector_paused(survivors=True):
            raise RuntimeError("the read failed")
        assert 1 not in passes and gc.isenabled()


@contextmanager
def _collections() -> Iterator[list[int]]:
    """The generation of every collector pass that starts meanwhile."""
    passes: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        yield passes
    finally:
        gc.callbacks.remove(seen)


def test_in_a_short_command_a_pause_whose_objects_stay_freezes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``short_run`` (a CLI command that exits soon): the survivors are frozen, no pass
    walks them; a resident process (the console) keeps the sweep above."""
    import core._gc

    monkeypatch.setattr(core._gc, "_short", False)
    core._gc.short_run()
    assert core._gc._short
    try:
        with _collections() as passes:
            with collector_paused(survivors=True):
                kept = [Node() for _ in range(100)]
            assert passes == [] and gc.isenabled()
        assert gc.get_freeze_count() >= len(kept)
        assert not any(gc.is_tracked(n) and n in gc.get_objects(0) for n in kept[:3])
    finally:
        gc.unfreeze()


class StreamSource:
    """A source that lists in batches, optionally holding before the last one."""

    live = False
    label = "stream"

    def __init__(self, entries: list[SecretEntry], batch: int) -> None:
        self.entries = entries
        self.batch = batch
        self.hold = asyncio.Event()
        self.hold.set()
        self.gc_enabled: list[bool] = []

    async def stream(self) -> AsyncIterator[list[SecretEntry]]:
        for i in range(0, len(self.entries), self.batch):
            if i + self.batch >= len(self.entries):
                await self.hold.wait()
            self.gc_enabled.append(gc.isenabled())
            yield self.entries[i : i + self.batch]
            await asyncio.sleep(0)

    async def list_secrets(self) -> list[SecretEntry]:
        return list(self.entries)

    async def versions(self, entry: SecretEntry) -> list[VersionEntry]:
        return []

    async def reveal(self, entry: SecretEntry, revision: int) -> bytes:
        raise LookupError("no values here")


class BrowserApp(App[None]):
    def __init__(self, source: StreamSource) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        yield SecretsBrowser(self.source, id="b")  # type: ignore[arg-type]


async def test_a_streamed_listing_fills_the_browser_and_resumes_the_collector() -> None:
    paths = ("/prod/db", "/prod/api", "/dev")
    source = StreamSource([_entry(i, paths[i % 3]) for i in range(3000)], batch=250)
    source.hold.clear()
    app = BrowserApp(source)
    async with app.run_test(size=(140, 42)) as pilot:
        browser = app.query_one("#b", SecretsBrowser)
        await wait_for(pilot, lambda: len(source.gc_enabled) == 11)
        assert not browser.loading_done
        assert browser.table.total_count >= 250  # the first batch is on screen
        assert not gc.isenabled()  # while the list arrives
        source.hold.set()
        await wait_for(pilot, lambda: browser.loading_done)
        assert gc.isenabled()
        assert source.gc_enabled == [False] * 12
        assert browser.table.total_count == 3000
        tree = browser.query_one("#folders", Tree)
        assert str(tree.root.label) == "/ (3000)"
        prod = next(n for n in tree.root.children if n.data == "/prod")
        assert str(prod.label) == "prod (2000)"
        # The title says how many (one line, updated in place).
        title = browser.query_one("#browser-title", Static).content
        assert "3000 secrets" in str(title)


async def test_a_cancelled_listing_resumes_the_collector() -> None:
    source = StreamSource([_entry(i, "/a") for i in range(600)], batch=100)
    source.hold.clear()
    app = BrowserApp(source)
    async with app.run_test(size=(140, 42)) as pilot:
        browser = app.query_one("#b", SecretsBrowser)
        await wait_for(pilot, lambda: len(source.gc_enabled) == 5)
        assert not gc.isenabled()
        browser.workers.cancel_all()
        await wait_for(pilot, gc.isenabled)
    assert gc.isenabled()


class ChunkStore:
    """The two reads SnapshotSource.stream makes, noting each chunk's size."""

    def __init__(self, count: int) -> None:
        self.ids = [f"{i:064x}" for i in range(count)]
        self.sizes: list[int] = []

    async def cached_tree(self, header: Any) -> None:
        return None  # a cold read: the record cache does not hold the tree

    async def read_tree_ids(self, header: Any) -> list[str]:
        return self.ids

    async def read_records(self, ids: Sequence[str]) -> list[SecretRecord]:
        self.sizes.append(len(ids))
        return [
            SecretRecord(region="fr-par", project_id="p", secret_id=f"s-{rid[-6:]}", name=rid[-6:])
            for rid in ids
        ]


class Header:
    id = "snapshot-1"
    sources = ()


async def test_a_snapshot_is_read_in_chunks_that_grow_while_they_are_quick() -> None:
    store = ChunkStore(20_000)
    source = SnapshotSource(store, Header())  # type: ignore[arg-type]
    got: list[str] = []
    async for batch in source.stream(first=100, batch=1000, budget=60.0):
        got.extend(e.record_id for e in batch)
    assert got == store.ids  # every record, in tree order
    assert store.sizes[:4] == [100, 1000, 2000, 4000]  # quick reads: each chunk doubles
    assert max(store.sizes) <= 8000
    # A slow store keeps the chunks at their starting size.
    slow = ChunkStore(5000)
    source = SnapshotSource(slow, Header())  # type: ignore[arg-type]
    async for _ in source.stream(first=100, batch=1000, budget=0.0):
        pass
    assert slow.sizes == [100, 1000, 1000, 1000, 1000, 900]


class WarmTree:
    """What Store.cached_tree gives: chunks of ids and their records (None: not decodable)."""

    def __init__(self, store: ChunkStore, size: int, broken: int) -> None:
        self.store, self.size, self.broken = store, size, broken

    def chunks(self) -> Any:
        ids = self.store.ids
        for n, i in enumerate(range(0, len(ids), self.size)):
            chunk = ids[i : i + self.size]
            if n == self.broken:
                yield chunk, None
            else:
                yield (
                    chunk,
                    [
                        SecretRecord(
                            region="fr-par", project_id="p", secret_id=f"s-{r[-6:]}", name=r[-6:]
                        )
                        for r in chunk
                    ],
                )


class WarmStore(ChunkStore):
    async def cached_tree(self, header: Any) -> WarmTree:  # type: ignore[override]
        return WarmTree(self, 1000, broken=2)

    async def read_tree_ids(self, header: Any) -> list[str]:
        raise AssertionError("a warm open reads no tree")


async def test_a_snapshot_the_record_cache_holds_is_listed_from_it_chunk_by_chunk() -> None:
    store = WarmStore(5000)
    header = Header()
    header.id = "snapshot-warm"  # its own key in the console's kept trees
    source = SnapshotSource(store, header)  # type: ignore[arg-type]
    sizes: list[int] = []
    got: list[str] = []
    async for batch in source.stream():
        sizes.append(len(batch))
        got.extend(e.record_id for e in batch)
    assert got == store.ids and sizes == [1000] * 5
    assert store.sizes == [1000]  # only the chunk that did not decode was read from the store


async def test_a_removed_browser_lets_go_of_its_entries_and_rows() -> None:
    source = StreamSource([_entry(i, "/a") for i in range(500)], batch=100)
    app = BrowserApp(source)
    async with app.run_test(size=(140, 42)) as pilot:
        browser = app.query_one("#b", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done)
        table = browser.table
        assert table.total_count == 500
        await browser.remove()  # what popping its screen does
        assert browser.entries == {} and browser.versions_of(source.entries[0]) == []
        assert table.total_count == 0 and table.rows == []


async def test_closing_the_browser_right_after_a_listing_resumes_the_collector_at_once() -> None:
    source = StreamSource([_entry(i, "/prod") for i in range(600)], batch=250)
    app = BrowserApp(source)
    async with app.run_test(size=(140, 42)) as pilot:
        browser = app.query_one("#b", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done)
        browser.remove()
        await pilot.pause()
        assert gc.isenabled()  # the listing's pause ended with it, whatever comes next


async def test_a_listing_freezes_its_survivors_until_the_browser_unmounts() -> None:
    """The collector's next full pass does not walk the rows a listing made (gc.freeze), and
    a closed browser gives them back, so nothing it held outlives it uncollected."""
    source = StreamSource([_entry(i, "/prod/db") for i in range(1000)], batch=250)
    app = BrowserApp(source)
    async with app.run_test(size=(140, 42)) as pilot:
        browser = app.query_one("#b", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done)
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        assert browser.table.total_count == 1000
    assert gc.get_freeze_count() == 0
