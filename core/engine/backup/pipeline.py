"""The backup pipeline: listing feeds a bounded pool of readers; the snapshot is committed last."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core.engine import events as ev
from core.engine.backup.parents import ParentIndex, load_parents, mark_unusable
from core.engine.backup.reader import BackupRun
from core.engine.backup.sources import (
    DEFAULT_CONCURRENCY,
    BackupOptions,
    Source,
    explicit_targets,
    list_source,
    resolve_sources,
)
from core.engine.backup.toggles import ToggleJournal, heal_toggles
from core.engine.concurrency import secrets_at_once
from core.engine.events import EventSink, PhaseName, safe_sink
from core.engine.preflight import PreflightReport, require
from core.engine.protocols import PayloadSink, SecretsAPI, SnapshotStore
from core.errors import KlosetError, Remedy
from core.scaleway.models import Secret
from core.store.model import (
    STATUS_COMPLETE,
    STATUS_PARTIAL,
    SecretRecord,
    SnapshotError,
    SnapshotHeader,
    SnapshotSummary,
    SourceInfo,
)

A = TypeVar("A")
B = TypeVar("B")
MAX_CONCURRENCY = 256
READS_EACH = 4  # requests a secret keeps in flight: its version list, then its versions' reads
ADMIT_SLICE = 256  # listed secrets routed between two yields to the event loop
RETRY_PAUSE = 1.0  # seconds before the second pass over secrets that failed transiently


@dataclass
class BackupResult:
    """What a backup did; ``to_json()`` is the CLI's ``--json`` document."""

    snapshot_id: str | None
    status: str  # complete | partial
    sources: list[Source]
    secrets: int = 0
    versions: int = 0
    versions_read: int = 0
    versions_reused: int = 0
    secrets_unchanged: int = 0
    bytes_read: int = 0
    bytes_added: int = 0
    errors: list[SnapshotError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parent: str | None = None
    duration_seconds: float = 0.0
    header: SnapshotHeader | None = None
    records: list[SecretRecord] = field(default_factory=list, repr=False)

    @property
    def partial(self) -> bool:
        return self.status != STATUS_COMPLETE

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "short_id": self.snapshot_id[:8] if self.snapshot_id else None,
            "status": self.status,
            "parent": self.parent,
            "sources": [
                {"region": s.region, "project_id": s.project_id, "project_name": s.project_name}
                for s in self.sources
            ],
            "secrets": self.secrets,
            "versions": self.versions,
            "versions_read": self.versions_read,
            "versions_reused": self.versions_reused,
            "secrets_unchanged": self.secrets_unchanged,
            "bytes_read": self.bytes_read,
            "bytes_added": self.bytes_added,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": list(self.warnings),
            "duration_seconds": round(self.duration_seconds, 3),
        }


async def _together(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Run two awaitables at once; the first failure wins and the other is cancelled."""
    one, two = asyncio.ensure_future(first), asyncio.ensure_future(second)
    try:
        await asyncio.wait({one, two}, return_when=asyncio.FIRST_EXCEPTION)
        for task in (one, two):
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        return one.result(), two.result()
    finally:
        for task in (one, two):
            if not task.done():
                task.cancel()
        for task in (one, two):
            if task.done() and not task.cancelled():
                task.exception()  # seen: no "never retrieved" warning


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception of a (possibly nested) group, preferring user-facing errors."""
    leaves: list[BaseException] = []

    def walk(g: BaseExceptionGroup[BaseException]) -> None:
        for e in g.exceptions:
            if isinstance(e, BaseExceptionGroup):
                walk(e)
            else:
                leaves.append(e)

    walk(group)
    for leaf in leaves:
        if isinstance(leaf, KlosetError):
            return leaf
    return leaves[0] if leaves else group


async def collect(
    client: SecretsAPI,
    sources: Sequence[Source],
    options: BackupOptions,
    *,
    sink: PayloadSink | None,
    store: SnapshotStore | None = None,
    parents: ParentIndex | asyncio.Task[ParentIndex] | None = None,
    on_event: EventSink | None = None,
    journal: ToggleJournal | None = None,
) -> BackupRun:
    """List and read every selected secret of ``sources`` into ``sink`` (no commit).

    ``parents`` may still be loading (a task): listing starts at once, and the workers wait
    for it before their first secret.
    """
    emit = safe_sink(on_event)
    pending_parents = parents if isinstance(parents, asyncio.Task) else None
    ready = parents if isinstance(parents, ParentIndex) else ParentIndex()
    if journal is None and options.include_disabled:
        journal = ToggleJournal.for_organization(getattr(client, "organization_id", None))
    run = BackupRun(client, sink, store, options, ParentIndex(), emit, journal)

    def adopt(loaded: ParentIndex) -> None:
        # Once, before the first put: the data read again must be written afresh, not
        # deduplicated against the damaged copies the parents hold.
        if run.parents is loaded:
            return
        run.parents = loaded
        mark_unusable(sink, loaded)
        run.warnings.extend(loaded.warnings)

    adopt(ready)
    # The limiter paces the requests; the workers only must not cap them (core.engine.concurrency).
    # A backup that enables disabled versions changes the source: it keeps that to the asked
    # number of secrets at a time (what a stopped run can leave enabled, healed by the next).
    asked = int(options.concurrency or DEFAULT_CONCURRENCY)
    at_once = (
        asked
        if options.include_disabled
        else secrets_at_once(client, asked, requests_each=READS_EACH)
    )
    workers = max(1, min(at_once, MAX_CONCURRENCY))
    queue: asyncio.Queue[Secret | None] = asyncio.Queue(maxsize=workers * 4)
    emit(ev.Phase(PhaseName.LISTING, f"listing {len(sources)} source(s)"))
    # Until the parents are in (and the permission check has passed), what is listed waits in
    # ``early`` instead of the bounded queue: the listing runs on instead of stalling on a
    # full queue (a 10,000-secret project lists while its parents load). Then every listed
    # secret is first offered to ``reuse_parent``: an unchanged one is recorded at once, with
    # no worker, queue slot or request; only the others go to the workers.
    early: list[Secret] = []
    admitted = pending_parents is None

    async def route(secret: Secret) -> None:
        if not run.reuse_parent(secret):
            await queue.put(secret)

    async def enqueue(secret: Secret) -> None:
        run.total += 1
        if admitted:
            await route(secret)
        else:
            early.append(secret)

    async def admit() -> None:
        nonlocal admitted
        if pending_parents is not None:
            adopt(await pending_parents)
        admitted = True
        for n, secret in enumerate(early):
            await route(secret)
            if n % ADMIT_SLICE == ADMIT_SLICE - 1:
                await asyncio.sleep(0)  # a long backlog does not hold the loop in one go
        early.clear()

    async def lister(source: Source) -> None:
        try:
            await list_source(client, source, options, emit=emit, put=enqueue)
        except Exception:
            if pending_parents is not None:
                # Listing may start before the permission check ends: its verdict (a missing
                # permission, said as such) comes before a failed listing's.
                await pending_parents
            raise

    async def worker() -> None:
        while True:
            secret = await queue.get()
            if secret is None:
                return
            await run.backup_secret(secret, final=False)

    async def produce(admitting: asyncio.Task[None]) -> None:
        try:
            await asyncio.gather(*(lister(s) for s in sources))
            await admitting
        finally:
            emit(ev.Phase(PhaseName.READING, "reading new versions"))
        for _ in range(workers):
            await queue.put(None)

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce(group.create_task(admit())))
            for _ in range(workers):
                group.create_task(worker())
    except BaseExceptionGroup as group_error:
        # Surface the cause itself (an AuthenticationError, a TransportError, a store error),
        # not a group: callers and the CLI map it to a message and an exit code.
        raise _first_leaf(group_error) from None
    if run.retry:
        # Transient failures (5xx, 429 storms) get a second pass after a pause, with less
        # parallelism; what still fails then is recorded as an error.
        pending, run.retry = run.retry, []
        emit(
            ev.Phase(PhaseName.READING, f"retrying {len(pending)} secret(s) after transient errors")
        )
        await asyncio.sleep(RETRY_PAUSE)
        gate = asyncio.Semaphore(max(1, workers // 4))

        async def again(secret: Secret) -> None:
            async with gate:
                await run.backup_secret(secret, final=True)

        await asyncio.gather(*(again(s) for s in pending))
    return run


async def run_backup(
    client: SecretsAPI,
    store: SnapshotStore,
    options: BackupOptions,
    *,
    organization_id: str | None = None,
    default_project_id: str | None = None,
    default_region: str | None = None,
    on_event: EventSink | None = None,
    journal: ToggleJournal | None = None,
) -> BackupResult:
    """Back up ``options``' sources into ``store`` as one snapshot; return what was done.

    Raises :class:`core.engine.preflight.PreflightError` when permissions are missing, and
    the client's errors for failures that are not per secret (authentication, transport).
    A partial result (``status == "partial"``) is returned, not raised: the caller decides.
    """
    started = time.monotonic()
    emit = safe_sink(on_event)
    organization_id = organization_id or getattr(client, "organization_id", None)
    default_project_id = default_project_id or getattr(client, "default_project_id", None)
    default_region = default_region or getattr(client, "default_region", None)
    # A backup that names its projects knows its sources before the project list answers: the
    # listing starts and the parents load (a large project's records take about as long as its
    # listing) while the sources are resolved and the permissions checked; no secret is read
    # before the check has passed.
    targets = (
        None
        if options.all_projects
        else explicit_targets(options, default_project_id, default_region)
    )
    journal = journal or ToggleJournal.for_organization(organization_id)
    snapshot_tags = tuple(dict.fromkeys((*options.snapshot_tags, *options.secret_tags)))

    def resolve_and_check() -> Awaitable[tuple[list[Source], list[str]]]:
        return _resolve_and_check(
            client,
            options,
            targets,
            organization_id=organization_id,
            default_project_id=default_project_id,
            default_region=default_region,
            emit=emit,
        )

    async def ready(
        checking: Awaitable[tuple[list[Source], list[str]]], loading: asyncio.Task[ParentIndex]
    ) -> tuple[list[Source], list[str], ParentIndex]:
        sources, warnings = await checking
        # First put back what an interrupted run left enabled at the source (the toggle
        # journal).
        healed = await heal_toggles(client, journal=journal, on_event=emit)
        return sources, [*healed, *warnings], await loading

    async with store.writer(tags=snapshot_tags) as writer:
        # Under the writer's lock: no prune can remove what the parents hold.
        tasks: list[asyncio.Future[Any]] = []
        try:
            checking: asyncio.Future[tuple[list[Source], list[str]]]
            if targets:
                listed = [Source(r, p) for r, p in targets]
                checking = asyncio.ensure_future(resolve_and_check())
            else:  # all projects (or none named: resolving says so): the project list decides
                checking = asyncio.get_running_loop().create_future()
                checking.set_result(await resolve_and_check())
                listed = checking.result()[0]
            loading = _load_parents(store, listed, options, emit)
            preparing = asyncio.ensure_future(ready(checking, loading))
            gate = asyncio.ensure_future(_parents_when_ready(preparing))
            tasks = [checking, loading, preparing, gate]
            run = await collect(
                client,
                listed,
                options,
                sink=writer,
                store=store,
                parents=gate,
                on_event=emit,
                journal=journal,
            )
            sources, warnings, parents = await preparing
        finally:
            for task in tasks:
                if not task.done():
                    _discard(task)
                elif not task.cancelled():
                    task.exception()  # seen (a failed load behind a failed check): no warning
        run.warnings[:0] = warnings
        emit(ev.Phase(PhaseName.COMMITTING, "committing the snapshot"))
        records = sorted(run.records, key=lambda item: (*item[0].key, item[0].secret_id))
        status = STATUS_PARTIAL if run.errors else STATUS_COMPLETE
        summary = SnapshotSummary(
            secrets=len(records),
            versions=run.versions,
            versions_read=run.versions_read,
            versions_reused=run.versions_reused,
            payload_bytes=sum(
                (v.size or 0) for r, _ in records for v in r.versions if v.payload is not None
            ),
            records_reused=run.unchanged,
            errors=len(run.errors),
            duration_seconds=round(time.monotonic() - started, 3),
        )
        header = await writer.commit(
            record_ids=[rid for _, rid in records],
            sources=tuple(
                SourceInfo(
                    provider="scaleway",
                    region=s.region,
                    organization_id=organization_id or "",
                    project_id=s.project_id,
                    project_name=s.project_name,
                )
                for s in sources
            ),
            parent=parents.parent_id,
            tags=snapshot_tags,
            environment=options.environment,
            data_class=options.data_class,
            host=socket.gethostname(),
            status=status,
            errors=tuple(run.errors),
            summary=summary,
            description=options.description,
        )
    emit(ev.Phase(PhaseName.DONE, "snapshot committed"))
    return BackupResult(
        snapshot_id=header.id,
        status=header.status,
        sources=list(sources),
        secrets=len(records),
        versions=run.versions,
        versions_read=run.versions_read,
        versions_reused=run.versions_reused,
        secrets_unchanged=run.unchanged,
        bytes_read=run.bytes_read,
        bytes_added=header.summary.bytes_added,
        errors=list(run.errors),
        warnings=list(run.warnings),
        parent=parents.parent_id,
        duration_seconds=time.monotonic() - started,
        header=header,
        records=[r for r, _ in records],
    )


def _load_parents(
    store: SnapshotStore, sources: Sequence[Source], options: BackupOptions, emit: EventSink
) -> asyncio.Task[ParentIndex]:
    emit(ev.Phase(PhaseName.LOADING, "reading parent snapshots"))
    return asyncio.create_task(
        load_parents(store, sources, read_data=options.rescan, on_event=emit)
    )


async def _resolve_and_check(
    client: SecretsAPI,
    options: BackupOptions,
    targets: list[tuple[str, str]] | None,
    *,
    organization_id: str | None,
    default_project_id: str | None,
    default_region: str | None,
    emit: EventSink,
) -> tuple[list[Source], list[str]]:
    """The sources with their names, and the permission check (beside the project list when
    the projects are named)."""
    resolving = resolve_sources(
        client,
        options,
        organization_id=organization_id,
        default_project_id=default_project_id,
        default_region=default_region,
        emit=emit,
    )
    if not options.preflight:
        return await resolving

    def check(pairs: list[tuple[str, str]]) -> Awaitable[list[PreflightReport]]:
        return require(
            client,
            pairs,
            operation="backup",
            organization_id=organization_id,
            include_disabled=options.include_disabled,
            on_event=emit,
        )

    if targets is not None:
        (sources, warnings), _ = await _together(resolving, check(targets))
        return sources, warnings
    sources, warnings = await resolving
    await check([(s.region, s.project_id) for s in sources])
    return sources, warnings


async def _parents_when_ready(
    preparing: Awaitable[tuple[list[Source], list[str], ParentIndex]],
) -> ParentIndex:
    return (await preparing)[2]


def _discard(task: asyncio.Future[Any]) -> None:
    """Cancel a task no longer wanted; its failure, if it had one, is not an error."""
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


def backup_error(result: BackupResult) -> KlosetError | None:
    """The error a caller raises for a partial backup (exit code 3), or None."""
    if not result.partial:
        return None
    from core.errors import PartialFailure

    ids = ", ".join(sorted({e.secret_id for e in result.errors})[:5])
    more = "" if len(result.errors) <= 5 else f" and {len(result.errors) - 5} more"
    return PartialFailure(
        f"snapshot {result.snapshot_id and result.snapshot_id[:8]} is partial: "
        f"{len(result.errors)} secret(s) failed ({ids}{more})",
        hint="see the errors in the report; fix the cause and back up again: the next backup "
        "re-reads what this one lacks",
        remedy=Remedy.SEE_REPORT,
        details={"operation": "backup"},
    )
