"""Every store operation on each backend: memory, local directory and S3 (moto on loopback)."""

from __future__ import annotations

from core.store import KdfParams, Store
from core.store.ops.check import check_store
from core.store.ops.copy import copy_snapshots
from core.store.ops.forget import RetentionPolicy, forget
from core.store.ops.prune import prune
from tests.store.conftest import BackendFactory
from tests.store.ops.helpers import PASSPHRASE, read_all, write_snapshot


async def test_forget_prune_check_copy(backend_factory: BackendFactory) -> None:
    location = backend_factory.location()
    store = await Store.init(
        location,
        PASSPHRASE,
        kdf=KdfParams.for_tests(),
        cache_dir=":memory:",
        **backend_factory.options(),
    )
    target = await Store.init(
        backend_factory.location(),
        "another passphrase",
        kdf=KdfParams.for_tests(),
        cache_dir=":memory:",
        **backend_factory.options(),
    )
    try:
        written = [await write_snapshot(store, secrets=4, generation=g) for g in range(3)]
        result = await forget(store, RetentionPolicy(keep_last=1), dry_run=False)
        assert [d.snapshot_id for d in result.kept] == [written[-1].header.id]
        assert len(result.removed_done) == 2
        report = await prune(store)
        assert report.blobs_removed > 0 and report.index_deltas_after == 1
        check = await check_store(store, read_data=True)
        assert check.ok and not check.warnings, check.lines()
        assert await read_all(store, written[-1].header) == written[-1].payloads
        copied = await copy_snapshots(store, target, [written[-1].header.id])
        assert copied.copied == [written[-1].header.id]
        assert await read_all(target, written[-1].header) == written[-1].payloads
        assert (await check_store(target, read_data=True)).ok
    finally:
        await store.close()
        await target.close()
