"""Backup: Secret Manager projects × regions → one snapshot in the store.

How a run goes:

1. **Sources.** Projects (given, the credentials' default, or every project of the
   organization) × regions (given, the default, or all three). Project names come from the
   Account API when the key holds ``ProjectReadOnly``; without it they stay empty.
2. **Preflight** of every source (``core.engine.preflight``): a missing permission set stops
   the run before anything is read, with a message naming it.
3. **Parents.** For each source, the newest snapshots covering it, back to (and including) the
   newest complete one. Their records say which ``(secret, revision)`` data the store already
   holds: a version's data never changes once created, so it is never read twice. A partial
   snapshot is used only for what it does hold; what it lacks is read again.
4. **Listing and reading**, pipelined: each source's secrets are listed (both live and
   scheduled-for-deletion ones) and handed to a bounded pool of workers. A secret whose listed
   metadata equals its parent record (same ``updated_at``, ``version_count``, status, ...) and
   whose parent record is complete is carried over as is: no version listing, no read. Any
   other secret has its versions listed and only the revisions the parents lack are read.
   ``--rescan`` lists the versions of every secret (it catches version status changes, which
   the API does not reflect in the secret's own metadata).
5. **Disabled versions**: metadata always; data only with ``include_disabled``, which enables
   the version, reads it and disables it again (a change to the source: opt-in). Versions of
   secrets scheduled for deletion cannot be read (the API refuses), and versions that expire
   once accessed are never read (reading would trigger their expiry): both are recorded
   metadata only, reusing the parent's data when it has it.
6. **Errors** (403, 404 after listing, repeated 5xx) are per secret: the secret is recorded
   with its error, the snapshot is marked partial, and the result's status says so.
7. **Commit**: the snapshot becomes visible only now. A cancelled or failed run commits nothing.
"""

from __future__ import annotations

import asyncio
import socket
import time
import zlib
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from core.engine import events as ev
from core.engine.events import EventSink, Outcome, PhaseName, safe_sink
from core.engine.preflight import require
from core.engine.selectors import Selection
from core.errors import ConfigError, KlosetError, UsageError
from core.scaleway.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitedError,
    ScalewayError,
    ServerError,
    TransportError,
)
from core.scaleway.models import REGIONS, Project, Secret, SecretVersion, VersionStatus
from core.store.model import (
    STATUS_COMPLETE,
    STATUS_PARTIAL,
    PayloadRef,
    SecretRecord,
    SnapshotError,
    SnapshotHeader,
    SnapshotSummary,
    SourceInfo,
    VersionRecord,
)

DEFAULT_CONCURRENCY = 32
A = TypeVar("A")
B = TypeVar("B")
MAX_CONCURRENCY = 256
RETRY_PAUSE = 1.0  # seconds before the second pass over secrets that failed transiently


@dataclass(frozen=True)
class BackupOptions:
    """What to back up and how."""

    regions: tuple[str, ...] = ()
    all_regions: bool = False
    projects: tuple[str, ...] = ()
    all_projects: bool = False
    selection: Selection = field(default_factory=Selection)
    secret_tags: tuple[str, ...] = ()  # only secrets carrying every one of these tags
    snapshot_tags: tuple[str, ...] = ()  # tags of the snapshot itself
    environment: str | None = None
    data_class: str | None = None
    include_disabled: bool = False
    rescan: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    preflight: bool = True
    description: str = ""


@dataclass(frozen=True)
class Source:
    region: str
    project_id: str
    project_name: str = ""


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


class PayloadSink(Protocol):
    """Where a backup puts data and records (the store's writer, or memory for dry runs)."""

    async def put_payload(self, data: bytes) -> str: ...

    async def put_record(self, record: SecretRecord) -> str: ...


# --------------------------------------------------------------------------- parents


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


async def load_parents(store: Any, sources: Sequence[Source]) -> ParentIndex:
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


# --------------------------------------------------------------------------- sources


async def resolve_sources(
    client: Any,
    options: BackupOptions,
    *,
    organization_id: str | None,
    default_project_id: str | None,
    default_region: str | None,
    emit: EventSink,
) -> tuple[list[Source], list[str]]:
    """Expand projects × regions; fetch project names when permitted."""
    warnings: list[str] = []
    if options.all_regions and options.regions:
        raise UsageError("--region and --all-regions cannot be combined", hint="use one of them")
    if options.all_projects and options.projects:
        raise UsageError("--project and --all-projects cannot be combined", hint="use one of them")
    regions = list(REGIONS) if options.all_regions else list(dict.fromkeys(options.regions))
    if not regions:
        regions = [default_region or "fr-par"]
    for region in regions:
        if region not in REGIONS:
            raise UsageError(f"unknown region {region!r}", hint=f"use one of {', '.join(REGIONS)}")
    emit(ev.Phase(PhaseName.PROJECTS, "resolving projects"))
    names: dict[str, str] = {}
    projects: list[Project] = []
    try:
        async for project in client.list_projects(organization_id=organization_id):
            projects.append(project)
            names[project.id] = project.name
    except PermissionDeniedError as err:
        if options.all_projects:
            raise ConfigError(
                "--all-projects needs to list the organization's projects, and the API key "
                "lacks the ProjectReadOnly permission set",
                hint="grant ProjectReadOnly (organization level) to the API key in IAM, "
                "or name the projects with --project",
            ) from err
        warnings.append("ProjectReadOnly not granted: project names are not recorded")
    except (AuthenticationError, TransportError):
        raise
    except ScalewayError as err:
        if options.all_projects:
            raise
        warnings.append(f"projects could not be listed ({type(err).__name__}): names not recorded")
    if options.all_projects:
        project_ids = [p.id for p in projects]
        if not project_ids:
            raise ConfigError(
                "the organization has no project visible to this API key",
                hint="check the organization id and the key's IAM policy",
            )
    else:
        project_ids = list(dict.fromkeys(options.projects))
        if not project_ids and default_project_id:
            project_ids = [default_project_id]
        if not project_ids:
            raise ConfigError(
                "no project to back up",
                hint="pass --project ID (or --all-projects), or set a default project id in "
                "the profile or SCW_DEFAULT_PROJECT_ID",
            )
    for w in warnings:
        emit(ev.EngineWarning(w))
    sources = [Source(r, p, names.get(p, "")) for p in project_ids for r in regions]
    return sources, warnings


def _explicit_targets(
    options: BackupOptions, default_project_id: str | None, default_region: str | None
) -> list[tuple[str, str]]:
    """(region, project) pairs of a backup that names its projects (not --all-projects)."""
    regions = list(REGIONS) if options.all_regions else list(dict.fromkeys(options.regions))
    regions = regions or [default_region or "fr-par"]
    projects = list(dict.fromkeys(options.projects)) or (
        [default_project_id] if default_project_id else []
    )
    return [(r, p) for p in projects for r in regions if r in REGIONS]


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


# --------------------------------------------------------------------------- the engine


def _unchanged(secret: Secret, record: SecretRecord) -> bool:
    """The listed metadata equals the parent record's (so its versions list is the same,
    except for status changes the API does not surface on the secret; see ``rescan``)."""
    current = SecretRecord.from_api(secret, ())
    return replace(current, versions=record.versions) == record


def _reads_expire(secret: Secret, version: SecretVersion) -> bool:
    props = version.ephemeral_properties
    if props is not None and props.expires_once_accessed:
        return True
    policy = secret.ephemeral_policy
    return bool(policy is not None and policy.expires_once_accessed)


class _Run:
    """State of one backup run, shared by its workers."""

    def __init__(
        self,
        client: Any,
        sink: PayloadSink | None,
        store: Any,
        options: BackupOptions,
        parents: ParentIndex,
        emit: EventSink,
    ) -> None:
        self.client = client
        self.sink = sink
        self.store = store
        self.options = options
        self.parents = parents
        self.emit = emit
        self.lock = asyncio.Lock()
        self.records: list[tuple[SecretRecord, str]] = []
        self.errors: list[SnapshotError] = []
        self.warnings: list[str] = []
        self.versions = 0
        self.versions_read = 0
        self.versions_reused = 0
        self.unchanged = 0
        self.bytes_read = 0
        self.done = 0
        self.total = 0
        self.blob_cache: dict[str, bool] = {}
        self.retry: list[Secret] = []

    def progress(self) -> None:
        self.emit(
            ev.Progress(
                PhaseName.READING,
                self.done,
                self.total,
                unit="secrets",
                bytes=self.bytes_read,
                errors=len(self.errors),
            )
        )

    async def blob_present(self, blob_id: str) -> bool:
        if self.store is None:
            return True
        known = self.blob_cache.get(blob_id)
        if known is None:
            known = bool(await self.store.has_blob(blob_id))
            self.blob_cache[blob_id] = known
        return known

    async def put_payload(self, data: bytes) -> str:
        assert self.sink is not None
        async with self.lock:
            return await self.sink.put_payload(data)

    async def put_record(self, record: SecretRecord) -> str:
        assert self.sink is not None
        async with self.lock:
            return await self.sink.put_record(record)

    # ---------------------------------------------------------------- one secret

    async def backup_secret(self, secret: Secret, *, final: bool = True) -> None:
        """Back up one secret. A secret that fails with only transient errors (5xx, 429,
        after the client's own retries) is deferred to a second pass unless ``final``."""
        region = secret.region
        display = secret.full_path
        self.emit(ev.SecretStarted(secret.id, region, secret.project_id, display=display))
        counters = (self.versions_read, self.versions_reused, self.bytes_read)
        error: str | None = None
        transient = False
        versions_read = 0
        reused_id: str | None = None  # an unchanged record is already in the store
        record: SecretRecord | None = None
        parent = self.parents.records.get((region, secret.id))
        try:
            if (
                parent is not None
                and not self.options.rescan
                and secret.ephemeral_policy is None
                and _unchanged(secret, parent)
                and await self._parent_complete(secret, parent)
            ):
                record = parent
                reused_id = self.parents.record_ids.get((region, secret.id))
                self.unchanged += 1
                for v in parent.versions:
                    self.emit(
                        ev.VersionRead(
                            secret.id,
                            region,
                            v.revision,
                            size=v.size or 0,
                            skipped=v.payload is not None,
                            metadata_only=v.payload is None,
                        )
                    )
                    if v.payload is not None:
                        self.versions_reused += 1
            else:
                record, versions_read, error, transient = await self._read_secret(secret)
        except (AuthenticationError, TransportError):
            raise
        except ScalewayError as err:
            error = _describe(err, secret.id)
            transient = _is_transient(err)
        if error is not None and transient and not final:
            self.versions_read, self.versions_reused, self.bytes_read = counters
            self.retry.append(secret)
            return
        if record is None:
            record = SecretRecord.from_api(secret, (), error=error)
        elif error is not None and record.error is None:
            record = replace(record, error=error)
        self.versions += len(record.versions)
        if record.error is not None:
            self.errors.append(SnapshotError(secret.id, region, secret.project_id, record.error))
        if reused_id is not None and record is parent:
            rec_id = reused_id
        else:
            rec_id = await self.put_record(record) if self.sink is not None else ""
        self.records.append((record, rec_id))
        self.done += 1
        self.emit(
            ev.SecretDone(
                secret.id,
                region,
                secret.project_id,
                Outcome.FAILED
                if record.error
                else (Outcome.OK if versions_read else Outcome.UNCHANGED),
                versions=len(record.versions),
                versions_read=versions_read,
                error=record.error,
                display=display,
            )
        )
        self.progress()

    async def _parent_complete(self, secret: Secret, parent: SecretRecord) -> bool:
        """The parent record holds every readable version's data, and the blobs exist."""
        if secret.version_count != len(parent.versions):
            return False
        for v in parent.versions:
            if v.payload is None:
                readable = v.status == VersionStatus.ENABLED or (
                    v.status == VersionStatus.DISABLED and self.options.include_disabled
                )
                if readable and not secret.scheduled_for_deletion:
                    expiring = (v.ephemeral_properties or {}).get("expires_once_accessed")
                    if not expiring:
                        return False
            elif not await self.blob_present(v.payload):
                return False
        return True

    async def _read_secret(self, secret: Secret) -> tuple[SecretRecord, int, str | None, bool]:
        """List a secret's versions and read those not held by a parent: (record, versions
        read, error or None, whether every error was transient)."""
        region = secret.region
        transient = True
        versions: list[SecretVersion] = [
            v async for v in self.client.list_versions(region, secret.id)
        ]
        payloads: dict[int, PayloadRef] = {}
        errors: list[str] = []

        async def one(version: SecretVersion) -> int:
            known = self.parents.payloads.get((region, secret.id, version.revision))
            if (
                known is not None
                and known.payload is not None
                and (known.created_at is None or known.created_at == version.created_at)
                and await self.blob_present(known.payload)
            ):
                payloads[version.revision] = PayloadRef(known.payload, known.crc32, known.size or 0)
                self.versions_reused += 1
                self.emit(
                    ev.VersionRead(
                        secret.id, region, version.revision, size=known.size or 0, skipped=True
                    )
                )
                return 0
            readable = version.status == VersionStatus.ENABLED
            toggle = version.status == VersionStatus.DISABLED and self.options.include_disabled
            if secret.scheduled_for_deletion or not (readable or toggle):
                self.emit(ev.VersionRead(secret.id, region, version.revision, metadata_only=True))
                return 0
            if _reads_expire(secret, version):
                note = (
                    f"secret {secret.id} revision {version.revision} expires once accessed: "
                    "its data was not read (metadata only)"
                )
                self.warnings.append(note)
                self.emit(ev.EngineWarning(note))
                self.emit(ev.VersionRead(secret.id, region, version.revision, metadata_only=True))
                return 0
            try:
                data, crc = await self._access(secret, version, toggle=toggle)
            except PreconditionFailedError:
                # Disabled between listing and reading: nothing to read, not an error.
                self.emit(ev.VersionRead(secret.id, region, version.revision, metadata_only=True))
                return 0
            except (AuthenticationError, TransportError):
                raise
            except ScalewayError as err:
                nonlocal transient
                transient = transient and _is_transient(err)
                errors.append(_describe(err, secret.id, version.revision))
                return 0
            if crc is not None and crc != zlib.crc32(data):
                errors.append(
                    f"secret {secret.id} revision {version.revision}: the data read does not "
                    "match its CRC32"
                )
                return 0
            blob_id = await self.put_payload(data) if self.sink is not None else ""
            payloads[version.revision] = PayloadRef(blob_id, zlib.crc32(data), len(data))
            self.bytes_read += len(data)
            self.emit(ev.VersionRead(secret.id, region, version.revision, size=len(data)))
            return 1

        counts = await asyncio.gather(*(one(v) for v in versions))
        read = sum(counts)
        self.versions_read += read
        error = "; ".join(errors) if errors else None
        record = SecretRecord.from_api(secret, versions, payloads, error=error)
        return record, read, error, transient

    async def _access(
        self, secret: Secret, version: SecretVersion, *, toggle: bool
    ) -> tuple[bytes, int | None]:
        region = secret.region
        if not toggle:
            accessed = await self.client.access_version(region, secret.id, version.revision)
            return accessed.data, accessed.data_crc32
        await self.client.enable_version(region, secret.id, version.revision)
        try:
            accessed = await self.client.access_version(region, secret.id, version.revision)
        finally:
            # Shielded: a cancelled run must still leave the version disabled as it found it.
            await asyncio.shield(self.client.disable_version(region, secret.id, version.revision))
        return accessed.data, accessed.data_crc32


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


def _is_transient(err: ScalewayError) -> bool:
    """5xx and 429 that outlasted the client's retries: worth one more pass later."""
    return isinstance(err, ServerError | RateLimitedError) or (err.status_code or 0) >= 500


def _describe(err: ScalewayError, secret_id: str, revision: int | None = None) -> str:
    what = f"secret {secret_id}" + (f" revision {revision}" if revision is not None else "")
    if isinstance(err, PermissionDeniedError):
        needed = err.permission_set or "a permission set"
        return f"{what}: permission denied (needs {needed})"
    if isinstance(err, NotFoundError):
        return f"{what}: not found (deleted after it was listed?)"
    status = f"HTTP {err.status_code}" if err.status_code else type(err).__name__
    return f"{what}: {status} after retries"


def _matches(options: BackupOptions, secret: Secret) -> bool:
    if not options.selection.matches(secret.path, secret.name, secret.id):
        return False
    return all(t in secret.tags for t in options.secret_tags)


async def collect(
    client: Any,
    sources: Sequence[Source],
    options: BackupOptions,
    *,
    sink: PayloadSink | None,
    store: Any = None,
    parents: ParentIndex | asyncio.Task[ParentIndex] | None = None,
    on_event: EventSink | None = None,
) -> _Run:
    """List and read every selected secret of ``sources`` into ``sink`` (no commit).

    ``parents`` may still be loading (a task): listing starts at once, and the workers wait
    for it before their first secret.
    """
    emit = safe_sink(on_event)
    pending_parents = parents if isinstance(parents, asyncio.Task) else None
    ready = parents if isinstance(parents, ParentIndex) else ParentIndex()
    run = _Run(client, sink, store, options, ready, emit)
    workers = max(1, min(int(options.concurrency or DEFAULT_CONCURRENCY), MAX_CONCURRENCY))
    queue: asyncio.Queue[Secret | None] = asyncio.Queue(maxsize=workers * 4)
    emit(ev.Phase(PhaseName.LISTING, f"listing {len(sources)} source(s)"))

    async def lister(source: Source) -> None:
        emit(ev.SourceStarted(source.region, source.project_id))
        listed = 0
        selected = 0
        seen: set[str] = set()  # a secret deleted between the two lists is in both

        async def one_list(scheduled: bool) -> None:
            nonlocal listed, selected
            async for secret in client.list_secrets(
                source.region,
                project_id=source.project_id,
                scheduled_for_deletion=scheduled,
            ):
                if secret.id in seen:
                    continue
                seen.add(secret.id)
                listed += 1
                if not _matches(options, secret):
                    continue
                selected += 1
                run.total += 1
                await queue.put(secret)

        # Live secrets and those scheduled for deletion are two lists; fetch them together.
        await asyncio.gather(one_list(False), one_list(True))
        emit(ev.SecretsListed(source.region, source.project_id, selected, listed=listed))

    async def worker() -> None:
        if pending_parents is not None:
            run.parents = await pending_parents
        while True:
            secret = await queue.get()
            if secret is None:
                return
            await run.backup_secret(secret, final=False)

    async def produce() -> None:
        try:
            await asyncio.gather(*(lister(s) for s in sources))
        finally:
            emit(ev.Phase(PhaseName.READING, "reading new versions"))
        for _ in range(workers):
            await queue.put(None)

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
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
    client: Any,
    store: Any,
    options: BackupOptions,
    *,
    organization_id: str | None = None,
    default_project_id: str | None = None,
    default_region: str | None = None,
    on_event: EventSink | None = None,
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
    resolving = resolve_sources(
        client,
        options,
        organization_id=organization_id,
        default_project_id=default_project_id,
        default_region=default_region,
        emit=emit,
    )
    if options.preflight and not options.all_projects:
        # The sources are known without the project list: check permissions meanwhile.
        targets = _explicit_targets(options, default_project_id, default_region)
        (sources, warnings), _ = await _together(
            resolving,
            require(
                client,
                targets,
                operation="backup",
                organization_id=organization_id,
                include_disabled=options.include_disabled,
                on_event=emit,
            ),
        )
    else:
        sources, warnings = await resolving
        if options.preflight:
            await require(
                client,
                [(s.region, s.project_id) for s in sources],
                operation="backup",
                organization_id=organization_id,
                include_disabled=options.include_disabled,
                on_event=emit,
            )
    snapshot_tags = tuple(dict.fromkeys((*options.snapshot_tags, *options.secret_tags)))
    async with store.writer(tags=snapshot_tags) as writer:
        # Under the writer's lock (no prune can remove what the parents hold), and alongside
        # the listing: the two take about the same time on a large project.
        emit(ev.Phase(PhaseName.LOADING, "reading parent snapshots"))
        loading = asyncio.create_task(load_parents(store, sources))
        try:
            run = await collect(
                client, sources, options, sink=writer, store=store, parents=loading, on_event=emit
            )
        finally:
            if not loading.done():
                loading.cancel()
        parents = await loading
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
        hint="see the errors in the report (--json); fix the cause and back up again: the "
        "next backup re-reads what this one lacks",
    )
