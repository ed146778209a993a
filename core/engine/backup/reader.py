"""Reading one secret: list its versions, reuse what the parents hold, read the rest."""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, replace

from core.engine import events as ev
from core.engine.backup.parents import ParentIndex, unchanged_since
from core.engine.backup.sources import BackupOptions
from core.engine.backup.toggles import ToggleJournal
from core.engine.events import EventSink, Outcome, PhaseName, listens
from core.engine.protocols import PayloadSink, SecretsAPI, SnapshotStore
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
from core.scaleway.models import MAX_PAYLOAD_BYTES, Secret, SecretVersion, VersionStatus
from core.store.model import (
    PayloadRef,
    SecretRecord,
    SnapshotError,
)


@dataclass
class _Tally:
    """What one attempt at one secret read (kept apart from the run's totals until the
    secret is recorded: an attempt deferred to the second pass must not count twice)."""

    versions_read: int = 0
    versions_reused: int = 0
    bytes_read: int = 0


def _reads_expire(secret: Secret, version: SecretVersion) -> bool:
    props = version.ephemeral_properties
    if props is not None and props.expires_once_accessed:
        return True
    policy = secret.ephemeral_policy
    return bool(policy is not None and policy.expires_once_accessed)


class BackupRun:
    """State of one backup run, shared by its workers."""

    def __init__(
        self,
        client: SecretsAPI,
        sink: PayloadSink | None,
        store: SnapshotStore | None,
        options: BackupOptions,
        parents: ParentIndex,
        emit: EventSink,
        journal: ToggleJournal | None = None,
    ) -> None:
        self.client = client
        self.journal = journal
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
        self.retry: list[Secret] = []
        # What the consumer reads (events.listens): an unchanged secret builds only those.
        self.tells_secrets = listens(emit, ev.SecretDone) or listens(emit, ev.SecretStarted)
        self.tells_versions = listens(emit, ev.VersionRead)
        self.tells_progress = listens(emit, ev.Progress)

    def progress(self) -> None:
        if not self.tells_progress:
            return
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

    async def put_payload(self, data: bytes) -> str:
        assert self.sink is not None
        async with self.lock:
            return await self.sink.put_payload(data)

    async def put_record(self, record: SecretRecord) -> str:
        assert self.sink is not None
        async with self.lock:
            return await self.sink.put_record(record)

    # ---------------------------------------------------------------- one secret

    def reuse_parent(self, secret: Secret) -> bool:
        """Record ``secret`` from its parent when the listing shows it unchanged and the
        parent holds all of it: no request, no await (the pipeline calls it as each listed
        secret arrives, so an unchanged project costs no worker, queue or task per secret).
        False: the secret must be read (:meth:`backup_secret`)."""
        region = secret.region
        key = (region, secret.id)
        parents = self.parents
        parent = parents.records.get(key)
        if (
            parent is None
            or self.options.rescan
            or secret.ephemeral_policy is not None
            or not unchanged_since(secret, parent)
        ):
            return False
        record_id = parents.record_ids.get(key)
        reused = self._parent_complete(secret, parent)
        if record_id is None or reused is None:
            return False
        display = self._started(secret)
        if self.tells_versions:
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
        self.unchanged += 1
        self.versions_reused += reused
        self._recorded(secret, parent, record_id, 0, display)
        return True

    def _started(self, secret: Secret) -> str:
        """Tell the consumer a secret's backup begins; the path it is shown under."""
        if not self.tells_secrets:
            return ""
        display = secret.full_path
        self.emit(ev.SecretStarted(secret.id, secret.region, secret.project_id, display=display))
        return display

    def _recorded(
        self, secret: Secret, record: SecretRecord, record_id: str, versions_read: int, display: str
    ) -> None:
        """Count ``record`` (stored as ``record_id``) in the run, and tell the consumer the
        secret is done."""
        self.versions += len(record.versions)
        if record.error is not None:
            self.errors.append(
                SnapshotError(secret.id, secret.region, secret.project_id, record.error)
            )
        self.records.append((record, record_id))
        self.done += 1
        if self.tells_secrets:
            self.emit(
                ev.SecretDone(
                    secret.id,
                    secret.region,
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

    async def backup_secret(self, secret: Secret, *, final: bool = True) -> None:
        """Back up one secret. A secret that fails with only transient errors (5xx, 429,
        after the client's own retries) is deferred to a second pass unless ``final``."""
        if self.reuse_parent(secret):
            return
        display = self._started(secret)
        tally = _Tally()  # this attempt's counts: added to the run only once it is recorded
        error: str | None = None
        transient = False
        versions_read = 0
        record: SecretRecord | None = None
        try:
            record, versions_read, error, transient = await self._read_secret(secret, tally)
        except (AuthenticationError, TransportError):
            raise
        except ScalewayError as err:
            error = _describe(err, secret.id)
            transient = _is_transient(err)
        if error is not None and transient and not final:
            # Deferred to the second pass: this attempt's reads are not counted (the retry
            # reads again), so versions_read and bytes_read stay true under faults.
            self.retry.append(secret)
            return
        self.versions_read += tally.versions_read
        self.versions_reused += tally.versions_reused
        self.bytes_read += tally.bytes_read
        if record is None:
            record = SecretRecord.from_api(secret, (), error=error)
        elif error is not None and record.error is None:
            record = replace(record, error=error)
        rec_id = await self.put_record(record) if self.sink is not None else ""
        self._recorded(secret, record, rec_id, versions_read, display)

    def _parent_complete(self, secret: Secret, parent: SecretRecord) -> int | None:
        """How many of the parent record's versions lend their data when it holds every
        readable version's data and the blobs exist; None when it does not."""
        if secret.version_count != len(parent.versions):
            return None
        usable = self.parents.usable
        lent = 0
        for v in parent.versions:
            if v.payload is None:
                readable = v.status == VersionStatus.ENABLED or (
                    v.status == VersionStatus.DISABLED and self.options.include_disabled
                )
                if readable and not secret.scheduled_for_deletion:
                    expiring = (v.ephemeral_properties or {}).get("expires_once_accessed")
                    if not expiring:
                        return None
            elif not usable(v.payload):
                return None
            else:
                lent += 1
        return lent

    async def _read_secret(
        self, secret: Secret, tally: _Tally
    ) -> tuple[SecretRecord, int, str | None, bool]:
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
            same = known is not None and known.created_at in (None, version.created_at)
            blob = known.payload if known is not None and same else None
            held = blob is not None  # a parent holds this version's data
            if known is not None and blob is not None and self.parents.usable(blob):
                payloads[version.revision] = PayloadRef(blob, known.crc32, known.size or 0)
                tally.versions_reused += 1
                self.emit(
                    ev.VersionRead(
                        secret.id, region, version.revision, size=known.size or 0, skipped=True
                    )
                )
                return 0
            readable = version.status == VersionStatus.ENABLED
            toggle = version.status == VersionStatus.DISABLED and self.options.include_disabled
            nonlocal transient
            if secret.scheduled_for_deletion or not (readable or toggle):
                if held:  # the store's copy is lost, and the API does not serve it now
                    why = (
                        "scheduled for deletion"
                        if secret.scheduled_for_deletion
                        else f"{version.status} at the source"
                    )
                    errors.append(_lost(secret.id, version.revision, why))
                    transient = False
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
                # Disabled between listing and reading: nothing to read, not an error, unless
                # the store's copy was lost too.
                if held:
                    errors.append(_lost(secret.id, version.revision, "disabled at the source"))
                    transient = False
                self.emit(ev.VersionRead(secret.id, region, version.revision, metadata_only=True))
                return 0
            except (AuthenticationError, TransportError):
                raise
            except ScalewayError as err:
                transient = transient and _is_transient(err)
                errors.append(_describe(err, secret.id, version.revision))
                return 0
            if crc is not None and crc != zlib.crc32(data):
                errors.append(
                    f"secret {secret.id} revision {version.revision}: the data read does not "
                    "match its CRC32"
                )
                return 0
            if len(data) > MAX_PAYLOAD_BYTES:
                # Kept (it is what the API holds), but no restore can write it back.
                note = (
                    f"secret {secret.id} revision {version.revision}: the API returned "
                    f"{len(data)} bytes, over its {MAX_PAYLOAD_BYTES // 1024} KiB limit; "
                    "a restore will refuse this version"
                )
                self.warnings.append(note)
                self.emit(ev.EngineWarning(note))
            blob_id = await self.put_payload(data) if self.sink is not None else ""
            payloads[version.revision] = PayloadRef(blob_id, zlib.crc32(data), len(data))
            tally.bytes_read += len(data)
            self.emit(ev.VersionRead(secret.id, region, version.revision, size=len(data)))
            return 1

        counts = await asyncio.gather(*(one(v) for v in versions))
        read = sum(counts)
        tally.versions_read += read
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
        journal, revision = self.journal, version.revision
        if journal is not None:
            await journal.add(region, secret.id, revision)  # the intent, before enabling
        try:
            await self.client.enable_version(region, secret.id, revision)
        except ScalewayError as err:
            if journal is not None and not _is_transient(err):
                await journal.remove(region, secret.id, revision)  # definitely not enabled
            raise
        try:
            accessed = await self.client.access_version(region, secret.id, revision)
        finally:
            # Shielded: a cancelled run must still leave the version disabled as it found it.
            # Killed before this lands, the journal entry stays and the next run disables it.
            await asyncio.shield(self._disable_again(region, secret.id, revision))
        return accessed.data, accessed.data_crc32

    async def _disable_again(self, region: str, secret_id: str, revision: int) -> None:
        await self.client.disable_version(region, secret_id, revision)
        if self.journal is not None:
            await self.journal.remove(region, secret_id, revision)


def _is_transient(err: ScalewayError) -> bool:
    """5xx and 429 that outlasted the client's retries: worth one more pass later."""
    return isinstance(err, ServerError | RateLimitedError) or (err.status_code or 0) >= 500


def _lost(secret_id: str, revision: int, why: str) -> str:
    return (
        f"secret {secret_id} revision {revision}: the store's copy of its data is missing or "
        f"damaged, and the API does not serve it now ({why}): kept as metadata only"
    )


def _describe(err: ScalewayError, secret_id: str, revision: int | None = None) -> str:
    what = f"secret {secret_id}" + (f" revision {revision}" if revision is not None else "")
    if isinstance(err, PermissionDeniedError):
        needed = err.permission_set or "a permission set"
        return f"{what}: permission denied (needs {needed})"
    if isinstance(err, NotFoundError):
        return f"{what}: not found (deleted after it was listed?)"
    status = f"HTTP {err.status_code}" if err.status_code else type(err).__name__
    return f"{what}: {status} after retries"
