"""The index cache's membership queries, in memory and through SQLite alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.store.index import IndexCache, IndexDelta
from core.store.pack import PackEntry

A, B, C, GONE = (bytes([n]) * 32 for n in (1, 2, 3, 9))
PACK_1, PACK_2 = b"\x11" * 32, b"\x22" * 32


def _cache(tmp_path: Path) -> IndexCache:
    cache = IndexCache(tmp_path / "index.sqlite", "store-id")
    delta = IndexDelta(
        packs={
            PACK_1: [PackEntry(0, A, 0, 10, 5), PackEntry(0, B, 10, 10, 5)],
            PACK_2: [PackEntry(0, B, 0, 10, 5), PackEntry(0, C, 10, 10, 5)],
        }
    )
    cache.add_delta("d1", delta)
    return cache


@pytest.mark.parametrize("limit", [1_000, 1], ids=["ids in memory", "ids in SQLite"])
def test_unknown_names_the_ids_the_cache_does_not_hold(tmp_path: Path, limit: int) -> None:
    cache = _cache(tmp_path)
    try:
        assert cache.unknown([A, GONE, C, B], limit=limit) == [GONE]
        assert cache.unknown([], limit=limit) == []
    finally:
        cache.close()


def test_ids_in_packs_are_every_blob_with_a_copy_there(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    try:
        assert cache.ids_in_packs([PACK_1]) == {A, B}
        assert cache.ids_in_packs([PACK_2, b"\x33" * 32]) == {B, C}
        assert cache.ids_in_packs([]) == set()
    finally:
        cache.close()


def test_locate_many_gives_the_copy_lookup_many_lists_first(tmp_path: Path) -> None:
    """The bulk read's locations (plain rows): one a blob, the first copy lookup_many lists,
    the first of the asked type when a blob has copies of several; missing ids absent."""
    cache = _cache(tmp_path)
    try:
        # the same copy of A again through another delta, and a copy of C of another type
        cache.add_delta(
            "d2",
            IndexDelta(packs={PACK_1: [PackEntry(0, A, 0, 10, 5), PackEntry(2, C, 20, 10, 5)]}),
        )
        wanted = [C, GONE, A, B]
        listed = cache.lookup_many(wanted)
        for blob_type in (None, 0, 2):
            located = cache.locate_many(wanted, blob_type, chunk=2)
            assert set(located) == {A, B, C}
            for blob_id, loc in located.items():
                copies = listed[blob_id]
                typed = [e for e in copies if e.blob_type == blob_type] or copies
                assert loc == tuple(typed[0]) and type(loc) is tuple
        assert cache.locate_many(wanted, 2)[C][1:4] == (2, PACK_1, 20)
        assert cache.locate_many([]) == {}
    finally:
        cache.close()
