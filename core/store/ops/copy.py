"""Copy snapshots, with their records and payloads, to another store (restic's ``copy``).

The stores have different keys, so every blob is decrypted (and verified) from the source and
re-encrypted for the destination, where blob ids differ: records are rewritten to point at the
destination's payload ids, and a new tree is written. Blobs the destination already holds
(equal content) are not written again. A copied snapshot keeps its id, time, sources, tags and
every other header field, so copying again is a no-op (idempotent), and a snapshot copied
back and forth is never duplicated.

Each snapshot is copied under the destination's shared lock and becomes visible there only
once all its blobs are durable (the same write order as a backup).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from core.errors import Remedy, UsageError
from core.store.model import SecretRecord

if TYPE_CHECKING:
    from core.store.repository import Store


@dataclass(slots=True)
class CopyReport:
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already in the destination
    payloads_written: int = 0
    payloads_reused: int = 0  # the destination had that content already
    records_written: int = 0
    records_reused: int = 0
    bytes_added: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "copied": list(self.copied),
            "skipped": list(self.skipped),
            "payloads_written": self.payloads_written,
            "payloads_reused": self.payloads_reused,
            "records_written": self.records_written,
            "records_reused": self.records_reused,
            "bytes_added": self.bytes_added,
        }

    def lines(self) -> list[str]:
        out = [f"copied snapshot {sid[:8]}" for sid in self.copied]
        out += [f"skipped snapshot {sid[:8]} (already in the destination)" for sid in self.skipped]
        out.append(
            f"{len(self.copied)} copied, {len(self.skipped)} already there; payloads: "
            f"{self.payloads_written} written, {self.payloads_reused} already there; "
            f"{self.bytes_added} bytes added"
        )
        return out


async def copy_snapshots(
    source: Store,
    destination: Store,
    snapshot_ids: Iterable[str],
    *,
    on_snapshot: Callable[[str, bool], None] | None = None,
) -> CopyReport:
    """Copy the given snapshots (full ids) from ``source`` to ``destination``."""
    if source.id == destination.id:
        raise UsageError(
            "the source and destination are the same store",
            hint="copy to another store",
            remedy=Remedy.CHOOSE_DESTINATION,
            details={"case": "store"},
        )
    report = CopyReport()
    present = {info.name for info in await destination.backend.list("snapshots")}
    headers = [await source.get_snapshot(sid) for sid in dict.fromkeys(snapshot_ids)]
    headers.sort(key=lambda h: (h.time, h.id))
    mapping: dict[str, str] = {}  # source payload id -> destination payload id
    for header in headers:
        if header.id in present:
            report.skipped.append(header.id)
            if on_snapshot is not None:
                on_snapshot(header.id, False)
            continue
        # the store's own blobs (verified), not the record cache: a copy is a second store
        records = await source.read_records(await source.read_tree_ids(header))
        async with destination.writer(tags=header.tags) as w:
            wanted = [pid for r in records for pid in r.payload_ids() if pid not in mapping]
            async for pid, data in source.iter_payloads(wanted):
                before = w.stats.data_added
                mapping[pid] = await w.put_payload(data)
                if w.stats.data_added > before:
                    report.payloads_written += 1
                else:
                    report.payloads_reused += 1
            record_ids = []
            for record in records:
                rewritten = _rewrite(record, mapping)
                before = w.stats.records_added
                record_ids.append(await w.put_record(rewritten))
                if w.stats.records_added > before:
                    report.records_written += 1
                else:
                    report.records_reused += 1
            assert w.sink is not None
            # a patch against the parent's tree when the parent is there already (copied
            # before, or just now: snapshots are copied oldest first and keep their ids)
            base = None
            if header.parent is not None and header.parent in present:
                base = (await destination.get_snapshot(header.parent)).tree
            tree_id = await destination.write_tree(w.sink, record_ids, base=base)
            await w.flush()
            assert w.lock is not None
            w.lock.check()
            copied = replace(header, tree=tree_id)
            await destination.put_snapshot(copied)
            report.bytes_added += w.stats.bytes_added + len(destination.seal_snapshot(copied))
        present.add(header.id)
        report.copied.append(header.id)
        if on_snapshot is not None:
            on_snapshot(header.id, True)
    return report


def _rewrite(record: SecretRecord, mapping: dict[str, str]) -> SecretRecord:
    versions = tuple(
        replace(v, payload=mapping[v.payload]) if v.payload is not None else v
        for v in record.versions
    )
    return replace(record, versions=versions)


__all__ = ["CopyReport", "copy_snapshots"]
