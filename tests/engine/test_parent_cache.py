"""A backup's parent records from the sealed record cache (docs/FORMAT.md §22, docs/BACKUP.md).

An unchanged re-backup of 10,000 secrets spent a fifth of its time opening and decoding its
parent's 10,000 record blobs. The tree a backup commits is sealed into the local record
cache when its store closes (a CLI backup's too), and the next backup takes its parent's
records from there: none of the parent's record blobs is read. What the store holds for
them is still checked as for the data the parents lend (in the index, its pack there), and
``--rescan`` reads the store's own bytes, so damage is still found where it matters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.engine.backup import BackupOptions, BackupResult, run_backup
from core.scaleway.client import ScalewayClient
from core.store import KdfParams, SecretRecord, Store
from core.store.ops.repair import repair_index

PASSPHRASE = "parent cache passphrase"


@pytest.fixture
async def location(tmp_path: Path) -> str:
    loc = str(tmp_path / "store")
    store = await Store.init(
        loc, PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=tmp_path / "c", pack_size=4096
    )  # the smallest packs: records spread over several, apart from the tree
    await store.close()
    return loc


async def backup(
    location: str, cache: Path, client: ScalewayClient, **options: Any
) -> BackupResult:
    """One backup as a CLI run makes it: its own store session, closed at the end."""
    store = await Store.open(location, PASSPHRASE, cache_dir=cache)
    try:
        return await run_backup(
            client, store, BackupOptions(**{"include_disabled": True, **options})
        )
    finally:
        await store.close()


def count_record_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many record blobs the store opens from now on (``Store.read_records``)."""
    reads = [0]
    original = Store.read_records

    async def counting(self: Store, ids: Any) -> list[SecretRecord]:
        reads[0] += len(ids)
        return await original(self, ids)

    monkeypatch.setattr(Store, "read_records", counting)
    return reads


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.rglob("trees/*.bin"))


async def test_an_unchanged_backup_reads_no_parent_record_blob(
    location: str, tmp_path: Path, client: ScalewayClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "c"
    first = await backup(location, cache, client)
    assert first.status == "complete" and first.secrets > 0
    assert len(cache_files(cache)) == 1  # the first backup's tree, sealed at its close
    reads = count_record_reads(monkeypatch)
    again = await backup(location, cache, client)
    assert reads == [0]
    assert again.status == "complete" and again.warnings == first.warnings
    assert again.versions_read == 0 and again.secrets_unchanged > 0
    assert again.records == first.records
    assert len(cache_files(cache)) == 1  # the same tree: nothing sealed again
    # the same backup from the store's blobs (the cache gone) decides the same
    for f in cache_files(cache):
        f.unlink()
    cold = await backup(location, cache, client)
    assert reads == [first.secrets]
    assert (cold.versions_read, cold.secrets_unchanged) == (0, again.secrets_unchanged)
    assert cold.records == again.records
    assert len(cache_files(cache)) == 1  # and the tree is sealed again for the next one
    rescan = await backup(location, cache, client, rescan=True)
    assert reads == [2 * first.secrets]  # --rescan reads the store's own bytes
    assert rescan.versions_read == 0 and rescan.status == "complete"


async def test_a_cached_record_the_store_lost_is_read_again(
    location: str, tmp_path: Path, client: ScalewayClient
) -> None:
    """The cache still holds a record whose blob the store's index no longer has: that secret
    is read again from the API and its record written afresh, with a warning naming the
    parent; the others are reused from the cache."""
    cache = tmp_path / "c"
    first = await backup(location, cache, client)
    clean = await backup(location, cache, client)  # how many a re-backup finds unchanged
    store = await Store.open(location, PASSPHRASE, cache_dir=":memory:")
    try:
        walk = await store.read_tree_walk(first.snapshot_id or "")
        entries = store.index_entries()
    finally:
        await store.close()
    tree_packs = {e.pack_hex for e in entries if e.blob_id.hex() in walk.node_ids}
    records = set(walk.record_ids)
    victim = next(
        e.pack_hex for e in entries if e.blob_id.hex() in records and e.pack_hex not in tree_packs
    )
    lost = {e.blob_id.hex() for e in entries if e.pack_hex == victim} & records
    (Path(location) / "packs" / victim[:2] / victim).unlink()  # records, not the tree
    store = await Store.open(location, PASSPHRASE, cache_dir=":memory:")
    try:
        await repair_index(store)
    finally:
        await store.close()
    again = await backup(location, cache, client)
    assert again.status == "complete", again.errors
    short = (clean.snapshot_id or "")[:8]  # the newest parent
    assert any(
        f"{len(lost)} secret record(s) of parent snapshot {short} cannot be read" in w
        for w in again.warnings
    ), again.warnings
    assert len(lost) < first.secrets
    assert clean.secrets_unchanged - len(lost) <= again.secrets_unchanged
    assert again.secrets_unchanged < clean.secrets_unchanged
    store = await Store.open(location, PASSPHRASE, cache_dir=":memory:")
    try:
        report = await store.check(read_data=True)
        read_back = await store.read_tree(again.snapshot_id or "")
    finally:
        await store.close()
    assert again.snapshot_id not in report.affected_snapshots, report.lines()
    assert read_back == first.records
