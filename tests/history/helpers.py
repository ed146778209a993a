"""Shared material for the history tests: snapshots written straight through the store's
writer, and the ground truth read back from the snapshots themselves."""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from core.engine.selectors import Selection
from core.store import SecretRecord, SourceInfo, Store, VersionRecord
from core.store.model import SnapshotHeader

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REGION = "fr-par"
PROJECT = "1c7a4d2f-6b3e-4f9a-8d8c-2e3f4a5b6c7d"


def sid() -> str:
    return str(uuid.uuid4())


async def write_snapshot(
    store: Store,
    records: list[tuple[SecretRecord, dict[int, bytes]]],
    *,
    time: datetime,
    region: str = REGION,
    project: str = PROJECT,
) -> SnapshotHeader:
    """One snapshot of ``records``; each version's data comes from the given map."""
    async with store.writer() as w:
        for record, data in records:
            versions = []
            for v in record.versions:
                payload = data.get(v.revision)
                if payload is None:
                    versions.append(v)
                    continue
                blob = await w.put_payload(payload)
                versions.append(
                    VersionRecord(
                        revision=v.revision,
                        status=v.status,
                        created_at=v.created_at,
                        payload=blob,
                        crc32=zlib.crc32(payload),
                        size=len(payload),
                    )
                )
            await w.put_record(_with_versions(record, tuple(versions)))
        return await w.commit(sources=[SourceInfo(region=region, project_id=project)], time=time)


def _with_versions(record: SecretRecord, versions: tuple[VersionRecord, ...]) -> SecretRecord:
    from dataclasses import replace

    return replace(record, versions=versions, version_count=len(versions))


def record(
    secret_id: str,
    name: str,
    path: str,
    revisions: list[tuple[int, str]],
    *,
    region: str = REGION,
    project: str = PROJECT,
) -> SecretRecord:
    return SecretRecord(
        region=region,
        project_id=project,
        secret_id=secret_id,
        name=name,
        path=path,
        versions=tuple(
            VersionRecord(revision=r, status=st, created_at=T0 + timedelta(minutes=r))
            for r, st in revisions
        ),
    )


async def truth(
    store: Store, selection: Selection, **scope: Any
) -> dict[tuple[str, int], list[str]]:
    """(secret id, revision) -> snapshot ids holding it, oldest first, read from the trees
    of the secrets whose path/name matches in some snapshot."""
    headers = await store.list_snapshots()
    trees = {h.id: await store.read_tree(h) for h in headers}
    wanted = {
        r.secret_id
        for tree in trees.values()
        for r in tree
        if selection.matches(r.path, r.name, r.secret_id)
        and scope.get("project", r.project_id) == r.project_id
        and scope.get("region", r.region) == r.region
    }
    out: dict[tuple[str, int], list[str]] = {}
    for h in headers:
        for r in trees[h.id]:
            if r.secret_id in wanted:
                for v in r.versions:
                    out.setdefault((r.secret_id, v.revision), []).append(h.id)
    return out
