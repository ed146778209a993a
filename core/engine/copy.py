"""Copy: one project (and region) into another project and/or region, through the store.

A copy is a backup of the source (a snapshot tagged ``copy``, kept in the store: the copy can
be audited and undone from it) followed by a restore of that snapshot into the destination,
with the same selection, conflict policy, plan and dry-run as ``restore``.

With ``dry_run`` nothing is written anywhere: the source is read into memory (reusing the
data earlier snapshots already hold), the plan is computed against the destination and
returned, and no snapshot is committed.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from core.engine.backup import (
    BackupOptions,
    BackupResult,
    Source,
    collect,
    load_parents,
    resolve_sources,
    run_backup,
)
from core.engine.concurrency import secrets_at_once
from core.engine.events import EventSink, safe_sink
from core.engine.preflight import require
from core.engine.protocols import SecretsAPI, SnapshotStore
from core.engine.restore import (
    OnConflict,
    RestoreResult,
    VersionsMode,
    apply_plan,
    plan_restore,
)
from core.engine.restore.plan import check_key_id
from core.engine.selectors import Selection, check_region
from core.errors import Remedy, UsageError
from core.store.model import SecretRecord

COPY_TAG = "copy"


class MemorySink:
    """A :class:`core.engine.backup.PayloadSink` keeping data in memory (dry runs)."""

    def __init__(self) -> None:
        self.payloads: dict[str, bytes] = {}

    async def put_payload(self, data: bytes) -> str:
        blob_id = hashlib.sha256(b"payload\x00" + data).hexdigest()
        self.payloads[blob_id] = data
        return blob_id

    async def put_record(self, record: SecretRecord) -> str:
        return hashlib.sha256(b"record\x00" + record.to_bytes()).hexdigest()


@dataclass
class CopyResult:
    backup: BackupResult | None
    restore: RestoreResult
    dry_run: bool = False
    duration_seconds: float = 0.0
    source_partial: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.restore.status in ("ok", "dry_run") and self.source_partial:
            return "partial"
        return self.restore.status

    def to_json(self) -> dict[str, Any]:
        restore = self.restore.to_json()
        return {
            "status": self.status,
            "dry_run": self.dry_run,
            "snapshot_id": self.backup.snapshot_id if self.backup else None,
            "backup": self.backup.to_json() if self.backup else None,
            "restore": {k: v for k, v in restore.items() if k != "actions"},
            "actions": restore["actions"],
            "warnings": list(self.warnings),
            "duration_seconds": round(self.duration_seconds, 3),
        }


async def run_copy(
    client: SecretsAPI,
    store: SnapshotStore,
    *,
    project_id: str,
    region: str,
    to_project: str | None,
    to_region: str | None = None,
    selection: Selection | None = None,
    versions: str = VersionsMode.ALL,
    on_conflict: str = OnConflict.NEW_VERSION,
    dry_run: bool = False,
    verify: bool = False,
    include_disabled: bool = False,
    concurrency: int = 32,
    organization_id: str | None = None,
    environment: str | None = None,
    data_class: str | None = None,
    on_event: EventSink | None = None,
    key_id: str | None = None,
) -> CopyResult:
    """Copy the selected secrets of ``project_id``/``region`` to ``to_project``/``to_region``.

    A Key Manager key never follows a copy (it belongs to the source's project and region):
    created secrets get ``key_id``, else none, and the plan says which lost theirs."""
    started = time.monotonic()
    emit = safe_sink(on_event)
    selection = selection or Selection()
    check_region(region)
    dest_project = to_project or project_id
    dest_region = to_region or region
    check_region(dest_region)
    key_id = check_key_id(key_id)  # before anything is read or written
    if (dest_project, dest_region) == (project_id, region):
        raise UsageError(
            "the copy's destination is its source",
            hint="choose a destination project and/or region different from the source",
            remedy=Remedy.CHOOSE_DESTINATION,
        )
    options = BackupOptions(
        regions=(region,),
        projects=(project_id,),
        selection=selection,
        snapshot_tags=(COPY_TAG,),
        environment=environment,
        data_class=data_class,
        include_disabled=include_disabled,
        concurrency=concurrency,
        preflight=False,
        description=f"copy to project {dest_project} ({dest_region})",
    )
    # Both ends are checked before anything is read or written.
    await require(
        client,
        [(region, project_id)],
        operation="backup",
        organization_id=organization_id,
        include_disabled=include_disabled,
        on_event=emit,
    )
    await require(
        client,
        [(dest_region, dest_project)],
        operation="restore",
        organization_id=organization_id,
        on_event=emit,
    )
    backup: BackupResult | None = None
    if dry_run:
        sources, warnings = await resolve_sources(
            client,
            options,
            organization_id=organization_id,
            default_project_id=project_id,
            default_region=region,
            emit=emit,
        )
        parents = await load_parents(store, sources)
        sink = MemorySink()
        run = await collect(
            client, sources, options, sink=sink, store=store, parents=parents, on_event=emit
        )
        records = [r for r, _ in run.records]
        source_partial = bool(run.errors)

        async def read(blob_id: str) -> bytes:
            data = sink.payloads.get(blob_id)
            if data is not None:
                return data
            return bytes(await store.read_payload(blob_id))

        plan = await plan_restore(
            client,
            store,
            "dry-run",
            records=records,
            read_payload=read,
            versions=versions,
            to_project=dest_project,
            to_region=dest_region,
            on_conflict=on_conflict,
            preflight=False,
            on_event=emit,
            key_id=key_id,
        )
        result = await apply_plan(
            client, store, plan, dry_run=True, read_payload=read, on_event=emit
        )
        return CopyResult(
            None,
            result,
            dry_run=True,
            duration_seconds=time.monotonic() - started,
            source_partial=source_partial,
            warnings=[*warnings, *run.warnings],
        )

    backup = await run_backup(
        client,
        store,
        options,
        organization_id=organization_id,
        default_project_id=project_id,
        default_region=region,
        on_event=emit,
    )
    assert backup.header is not None
    plan = await plan_restore(
        client,
        store,
        backup.header,
        records=backup.records,
        versions=versions,
        to_project=dest_project,
        to_region=dest_region,
        on_conflict=on_conflict,
        preflight=False,
        on_event=emit,
        key_id=key_id,
    )
    result = await apply_plan(
        client,
        store,
        plan,
        verify=verify,
        concurrency=secrets_at_once(client, concurrency),
        on_event=emit,
    )
    return CopyResult(
        backup,
        result,
        duration_seconds=time.monotonic() - started,
        source_partial=backup.partial,
        warnings=list(backup.warnings),
    )


__all__ = ["COPY_TAG", "CopyResult", "MemorySink", "Source", "run_copy"]
