"""Parent snapshots: what earlier snapshots of the same sources hold, so nothing is read twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from core.engine.backup.sources import Source
from core.engine.protocols import SnapshotStore
from core.scaleway.models import Secret
from core.store.model import (
    SecretRecord,
    SnapshotHeader,
    VersionRecord,
)


@dataclass
class ParentIndex:
    """What earlier snapshots of the same sources hold, for incremental reads."""

    records: dict[tuple[str, str], SecretRecord] = field(default_factory=dict)
    record_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    payloads: dict[tuple[str, str, int], VersionRecord] = field(default_factory=dict)
    parent_id: str | None = None

    def add(self, record: SecretRecord, record_id: str, *, newest: bool) -> None:
        key = (record.region, record.secret_id)
        if newest and record.error is None and key not in self.records:
            self.records[key] = record
            self.record_ids[key] = record_id
        for v in record.versions:
            if v.payload is not None:
                self.payloads.setdefault((record.region, record.secret_id, v.revision), v)


async def load_parents(store: SnapshotStore | None, sources: Sequence[Source]) -> ParentIndex:
    """For each source, the newest snapshots back to (and including) the newest complete one."""
    index = ParentIndex()
    if store is None:
        return index
    trees: dict[str, list[tuple[SecretRecord, str]]] = {}
    newest: SnapshotHeader | None = None
    headers = sorted(await store.list_snapshots(), key=lambda h: h.time, reverse=True)
    for source in sources:
        first = True
        for header in headers:
            if not header.covers(project=source.project_id, region=source.region):
                continue
            if header.id not in trees:
                ids = await store.read_tree_ids(header)
                records = await store.read_records(ids)
                trees[header.id] = list(zip(records, ids, strict=True))
            if newest is None or header.time > newest.time:
                newest = header
            for record, record_id in trees[header.id]:
                if record.region == source.region and record.project_id == source.project_id:
                    index.add(record, record_id, newest=first)
            first = False
            if header.complete:
                break
    index.parent_id = newest.id if newest is not None else None
    return index


def unchanged_since(secret: Secret, record: SecretRecord) -> bool:
    """The listed metadata equals the parent record's (so its versions list is the same,
    except for status changes the API does not surface on the secret; see ``rescan``)."""
    current = SecretRecord.from_api(secret, ())
    return replace(current, versions=record.versions) == record
