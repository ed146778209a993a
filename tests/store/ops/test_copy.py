"""copy_snapshots: to a store with other keys, byte for byte, idempotent, deduplicated."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import UsageError
from core.store.ops.check import check_store
from core.store.ops.copy import copy_snapshots
from tests.store.ops.helpers import new_store, read_all, write_snapshot


async def test_copy_is_faithful_idempotent_and_deduplicated(tmp_path: Path) -> None:
    src = await new_store(str(tmp_path / "src"))
    dst = await new_store(str(tmp_path / "dst"))
    try:
        a = await write_snapshot(
            src, secrets=6, generation=0, tags=("nightly",), environment="production"
        )
        b = await write_snapshot(src, secrets=6, generation=0, changed={1, 2}, parent=a.header.id)
        report = await copy_snapshots(src, dst, [a.header.id])
        assert report.copied == [a.header.id] and report.payloads_written == 12
        report = await copy_snapshots(src, dst, [a.header.id, b.header.id])
        assert report.skipped == [a.header.id] and report.copied == [b.header.id]
        assert report.payloads_written == 2 and report.payloads_reused == 10
        assert report.records_reused == 4  # unchanged secrets cost nothing
        again = await copy_snapshots(src, dst, [a.header.id, b.header.id])
        assert again.copied == [] and again.payloads_written == 0

        headers = {h.id: h for h in await dst.list_snapshots()}
        assert set(headers) == {a.header.id, b.header.id}
        copied_b = headers[b.header.id]
        assert copied_b.parent == a.header.id and copied_b.time == b.header.time
        assert copied_b.sources == b.header.sources and copied_b.tags == b.header.tags
        assert headers[a.header.id].environment == "production"
        assert copied_b.tree != b.header.tree  # other keys, other ids
        assert await read_all(dst, headers[a.header.id]) == a.payloads
        assert await read_all(dst, copied_b) == b.payloads
        src_tree = await src.read_tree(b.header.id)
        dst_tree = await dst.read_tree(b.header.id)
        strip = [
            (
                r.secret_id,
                r.name,
                r.path,
                r.description,
                [(v.revision, v.crc32, v.size) for v in r.versions],
            )
            for r in src_tree
        ]
        assert strip == [
            (
                r.secret_id,
                r.name,
                r.path,
                r.description,
                [(v.revision, v.crc32, v.size) for v in r.versions],
            )
            for r in dst_tree
        ]
        check = await check_store(dst, read_data=True)
        assert check.ok and not check.warnings
    finally:
        await src.close()
        await dst.close()


async def test_copy_to_the_same_store_is_refused(tmp_path: Path) -> None:
    src = await new_store(str(tmp_path / "src"))
    try:
        a = await write_snapshot(src)
        with pytest.raises(UsageError):
            await copy_snapshots(src, src, [a.header.id])
    finally:
        await src.close()
