"""Restore: a snapshot (or part of it) back into Secret Manager, planned first, idempotent.

``plan_restore`` compares the selected records of a snapshot with the destination project and
region and lists one :class:`PlannedAction` per secret:

- ``create``: the secret does not exist at the destination (same path and name): create it
  with its name, path, type, tags, description, protected flag and ephemeral policy (which the
  API only accepts at creation), then add the chosen versions in revision order, with their
  CRC32, disabling again those that were disabled.
- ``recover``: the destination secret is scheduled for deletion: restore it (the restore
  endpoint) rather than create a duplicate, then add a version if its data differs.
- ``add_version``: the secret exists and the data differs from the destination's latest
  enabled version (``--on-conflict new-version``, the default), or the destination holds the
  beginning of the snapshot's history (an interrupted earlier restore): add what is missing.
- ``skip_identical``: the destination already holds the data: nothing to do. This is what
  makes a second identical restore change nothing.
- ``skip``: the destination differs and ``--on-conflict skip`` says leave it; or the snapshot
  holds no data for the chosen versions.
- ``conflict``: the destination differs and ``--on-conflict fail``: ``apply_plan`` refuses to
  change anything while the plan holds a conflict.

"Already there" is decided on data, never on ids: the destination version's CRC32 (from the
access endpoint) and then its bytes are compared with the snapshot's.

``apply_plan`` runs the actions with bounded concurrency (versions of one secret in order),
records every outcome, optionally verifies every restored version by reading it back, and on
cancellation stops between actions and reports what it did (:class:`RestoreInterrupted`).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.engine import events as ev
from core.engine.events import EventSink, Outcome, PhaseName, safe_sink
from core.engine.preflight import require
from core.engine.selectors import Selection
from core.errors import ExitCode, KlosetError, UsageError
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
from core.scaleway.models import REGIONS, Secret, SecretVersion, VersionStatus, normalize_path
from core.store.model import SecretRecord, SnapshotHeader, VersionRecord

PayloadReader = Callable[[str], Awaitable[bytes]]

DEFAULT_CONCURRENCY = 32
RETRY_PAUSE = 1.0  # seconds before the second pass over actions that failed transiently


class Action(StrEnum):
    CREATE = "create"
    RECOVER = "recover"
    ADD_VERSION = "add_version"
    SKIP_IDENTICAL = "skip_identical"
    SKIP = "skip"
    CONFLICT = "conflict"


class OnConflict(StrEnum):
    SKIP = "skip"
    NEW_VERSION = "new-version"
    FAIL = "fail"


class VersionsMode(StrEnum):
    ALL = "all"
    LATEST = "latest"
    REVISION = "revision"


class RestoreConflict(KlosetError):
    """``--on-conflict fail`` met destination secrets that differ: nothing was changed.
    ``result`` holds the plan, with the conflicting actions marked."""

    def __init__(
        self, message: str, *, result: RestoreResult | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.result = result


class RestoreInterrupted(KlosetError):
    """The restore was cancelled; ``result`` says what was done before it stopped."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str, *, result: RestoreResult, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


@dataclass(frozen=True)
class VersionToAdd:
    """One snapshot version to add at the destination."""

    revision: int  # the revision in the snapshot
    payload: str  # blob id
    crc32: int | None
    size: int
    disable: bool  # it was disabled in the snapshot: disable it again after adding
    description: str = ""
    expires_once_accessed: bool = False


@dataclass
class PlannedAction:
    """What a restore does (or did) to one secret."""

    record: SecretRecord = field(repr=False)
    action: Action
    region: str  # destination
    project_id: str  # destination
    destination_secret_id: str | None = None
    versions: tuple[VersionToAdd, ...] = ()
    only_if_differs: bool = False  # recover: compare after recovery, add only if different
    detail: str = ""
    outcome: str = Outcome.PLANNED
    error: str | None = None
    restored_revisions: list[int] = field(default_factory=list)  # destination revisions
    added: list[tuple[int, VersionToAdd]] = field(default_factory=list, repr=False)
    verified: bool | None = None
    transient: bool = False  # the last failure was a 5xx/429 that outlasted the retries

    @property
    def secret_id(self) -> str:
        return self.record.secret_id

    @property
    def changes(self) -> bool:
        return self.action in (Action.CREATE, Action.RECOVER, Action.ADD_VERSION)

    def to_json(self) -> dict[str, Any]:
        return {
            "secret_id": self.record.secret_id,
            "path": self.record.path,
            "name": self.record.name,
            "source_region": self.record.region,
            "source_project_id": self.record.project_id,
            "region": self.region,
            "project_id": self.project_id,
            "action": str(self.action),
            "outcome": str(self.outcome),
            "revisions": [v.revision for v in self.versions],
            "destination_secret_id": self.destination_secret_id,
            "restored_revisions": list(self.restored_revisions),
            "verified": self.verified,
            "detail": self.detail,
            "error": self.error,
        }


@dataclass
class RestorePlan:
    snapshot_id: str
    actions: list[PlannedAction]
    versions: str
    revision: int | None
    on_conflict: str
    to_project: str | None
    to_region: str | None

    @property
    def conflicts(self) -> list[PlannedAction]:
        return [a for a in self.actions if a.action == Action.CONFLICT]

    def counts(self) -> dict[str, int]:
        out = {str(a): 0 for a in Action}
        for action in self.actions:
            out[str(action.action)] += 1
        return out


@dataclass
class RestoreResult:
    plan: RestorePlan
    status: str  # ok | partial | failed | conflict | dry_run | interrupted
    dry_run: bool = False
    verify: bool = False
    duration_seconds: float = 0.0

    @property
    def actions(self) -> list[PlannedAction]:
        return self.plan.actions

    @property
    def failed(self) -> list[PlannedAction]:
        """Actions that failed, and conflicts left unresolved (both make the exit non-zero)."""
        return [a for a in self.plan.actions if a.outcome in (Outcome.FAILED, Outcome.CONFLICT)]

    @property
    def exit_code(self) -> ExitCode:
        if self.status in ("ok", "dry_run"):
            return ExitCode.OK
        if self.status == "partial":
            return ExitCode.PARTIAL
        if self.status == "interrupted":
            return ExitCode.INTERRUPTED
        return ExitCode.ERROR

    def summary(self) -> dict[str, int]:
        counts = self.plan.counts()
        outcomes = {str(o): 0 for o in Outcome}
        for a in self.plan.actions:
            outcomes[str(a.outcome)] = outcomes.get(str(a.outcome), 0) + 1
        added = sum(len(a.restored_revisions) for a in self.plan.actions)
        verified = [a for a in self.plan.actions if a.verified is not None]
        return {
            "secrets": len(self.plan.actions),
            **{f"planned_{k}": v for k, v in counts.items()},
            **outcomes,
            "versions_added": added,
            "verified": sum(1 for a in verified if a.verified),
            "verify_failed": sum(1 for a in verified if not a.verified),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "snapshot_id": self.plan.snapshot_id,
            "dry_run": self.dry_run,
            "verify": self.verify,
            "versions": self.plan.versions,
            "revision": self.plan.revision,
            "on_conflict": self.plan.on_conflict,
            "to_project": self.plan.to_project,
            "to_region": self.plan.to_region,
            "summary": self.summary(),
            "actions": [a.to_json() for a in self.plan.actions],
            "duration_seconds": round(self.duration_seconds, 3),
        }


# --------------------------------------------------------------------------- planning


def choose_versions(
    record: SecretRecord, mode: str, revision: int | None
) -> tuple[list[VersionRecord], int]:
    """The versions to restore (with data) and how many chosen ones have no data."""
    # Versions being deleted when the snapshot was taken are not brought back, unless asked
    # for by revision.
    with_data = [
        v
        for v in sorted(record.versions, key=lambda v: v.revision)
        if v.payload and v.status in (VersionStatus.ENABLED, VersionStatus.DISABLED)
    ]
    if mode == VersionsMode.REVISION:
        chosen = [v for v in record.versions if v.revision == revision]
        return [v for v in chosen if v.payload], sum(1 for v in chosen if not v.payload)
    if mode == VersionsMode.LATEST:
        enabled = [v for v in with_data if v.status == VersionStatus.ENABLED]
        pick = (enabled or with_data)[-1:]
        return pick, 0 if pick or not record.versions else 1
    missing = sum(
        1
        for v in record.versions
        if not v.payload and v.status in (VersionStatus.ENABLED, VersionStatus.DISABLED)
    )
    return with_data, missing


def _to_add(v: VersionRecord) -> VersionToAdd:
    props = v.ephemeral_properties or {}
    return VersionToAdd(
        revision=v.revision,
        payload=str(v.payload),
        crc32=v.crc32,
        size=v.size or 0,
        disable=v.status == VersionStatus.DISABLED,
        description=v.description,
        expires_once_accessed=bool(props.get("expires_once_accessed")),
    )


def _candidate(chosen: Sequence[VersionRecord]) -> VersionRecord | None:
    """The version an existing destination secret is compared with: the newest enabled one."""
    enabled = [v for v in chosen if v.status == VersionStatus.ENABLED]
    pool = enabled or list(chosen)
    return pool[-1] if pool else None


async def _dest_secrets(client: Any, region: str, project_id: str) -> dict[tuple[str, str], Secret]:
    """Destination secrets by (path, name); live ones win over scheduled-for-deletion ones."""
    found: dict[tuple[str, str], Secret] = {}
    for scheduled in (True, False):
        async for secret in client.list_secrets(
            region, project_id=project_id, scheduled_for_deletion=scheduled
        ):
            found[(normalize_path(secret.path), secret.name)] = secret
    return found


async def _access_data(
    client: Any, region: str, secret_id: str, revision: int | str
) -> bytes | None:
    """A destination version's data, or None when it cannot be read (absent, disabled)."""
    try:
        accessed = await client.access_version(region, secret_id, revision)
    except (NotFoundError, PreconditionFailedError):
        return None
    return bytes(accessed.data)


async def _same(read: PayloadReader, v: VersionRecord, data: bytes | None) -> bool:
    if data is None or v.payload is None:
        return False
    if v.crc32 is not None and zlib.crc32(data) != v.crc32:
        return False
    return await read(v.payload) == data


async def _plan_existing(
    client: Any,
    read: PayloadReader,
    action: PlannedAction,
    dest: Secret,
    chosen: list[VersionRecord],
    mode: str,
    on_conflict: str,
) -> None:
    """Decide what to do with a live destination secret."""
    region = action.region
    # Resume / identical history: the destination's versions are the start of the chosen ones.
    if mode == VersionsMode.ALL and chosen:
        listed: list[SecretVersion] = [
            v
            async for v in client.list_versions(region, dest.id)
            if v.status in (VersionStatus.ENABLED, VersionStatus.DISABLED)
        ]
        dest_versions = sorted(listed, key=lambda v: v.revision)
        if len(dest_versions) <= len(chosen):
            prefix = await _matching_prefix(client, read, region, dest.id, dest_versions, chosen)
            if prefix == len(dest_versions):
                rest = chosen[prefix:]
                if not rest:
                    action.action = Action.SKIP_IDENTICAL
                    action.detail = "the destination holds every version already"
                else:
                    action.action = Action.ADD_VERSION
                    action.versions = tuple(_to_add(v) for v in rest)
                    action.detail = (
                        f"the destination holds the first {prefix} version(s); adding the rest"
                    )
                return
    candidate = _candidate(chosen)
    if candidate is None:
        action.action = Action.SKIP
        action.detail = "the snapshot holds no data for the chosen versions"
        return
    if dest.version_count == 0:
        # An empty secret (e.g. left by an interrupted restore) is filled, never a conflict.
        action.action = Action.ADD_VERSION
        action.versions = tuple(_to_add(v) for v in chosen)
        action.detail = "the destination secret has no version: adding the snapshot's"
        return
    current = await _access_data(client, region, dest.id, "latest_enabled")
    if await _same(read, candidate, current):
        action.action = Action.SKIP_IDENTICAL
        action.detail = "the destination's latest version holds the same data"
        return
    if on_conflict == OnConflict.SKIP:
        action.action = Action.SKIP
        action.detail = "the destination differs (--on-conflict skip)"
    elif on_conflict == OnConflict.FAIL:
        action.action = Action.CONFLICT
        action.outcome = Outcome.CONFLICT
        action.detail = "the destination's latest version differs (--on-conflict fail)"
    else:
        action.action = Action.ADD_VERSION
        action.versions = (_to_add(candidate),)
        action.detail = "the destination's latest version differs: adding a new version"


async def _matching_prefix(
    client: Any,
    read: PayloadReader,
    region: str,
    secret_id: str,
    dest_versions: Sequence[SecretVersion],
    chosen: Sequence[VersionRecord],
) -> int:
    """How many leading destination versions hold the same data as the chosen ones."""
    count = 0
    for dest_v, src_v in zip(dest_versions, chosen, strict=False):
        if dest_v.status == VersionStatus.DISABLED:
            # Disabled data cannot be read without changing the destination; a disabled
            # version matches a version that was disabled in the snapshot too.
            if src_v.status != VersionStatus.DISABLED:
                return count
        else:
            data = await _access_data(client, region, secret_id, dest_v.revision)
            if not await _same(read, src_v, data):
                return count
        count += 1
    return count


async def _decide(
    client: Any,
    read: PayloadReader,
    action: PlannedAction,
    dest: Secret | None,
    chosen: list[VersionRecord],
    mode: str,
    on_conflict: str,
    *,
    explicit: bool,
    notes: list[str],
) -> None:
    """Set ``action``'s action and versions for one record against its destination."""
    record = action.record
    if record.deletion_requested_at is not None and not explicit:
        action.action = Action.SKIP
        action.destination_secret_id = dest.id if dest is not None else None
        action.detail = (
            "scheduled for deletion when the snapshot was taken; select it explicitly "
            "(--secret) to restore it"
        )
    elif dest is None:
        action.action = Action.CREATE
        action.versions = tuple(_to_add(v) for v in chosen)
        action.detail = f"create the secret with {len(chosen)} version(s)"
    elif dest.deletion_requested_at is not None:
        action.action = Action.RECOVER
        action.destination_secret_id = dest.id
        candidate = _candidate(chosen)
        action.versions = (_to_add(candidate),) if candidate is not None else ()
        action.only_if_differs = True
        action.detail = (
            "the destination secret is scheduled for deletion: recover it, then add a "
            "version if its data differs"
        )
    else:
        action.destination_secret_id = dest.id
        if dest.type != record.type:
            notes.append(f"the destination's type is {dest.type}, the snapshot's {record.type}")
        await _plan_existing(client, read, action, dest, chosen, mode, on_conflict)


async def _find_destination(client: Any, action: PlannedAction) -> Secret | None:
    """The destination secret at the record's path and name (live first), if any."""
    found: Secret | None = None
    record = action.record
    wanted = normalize_path(record.path)
    for scheduled in (True, False):
        async for secret in client.list_secrets(
            action.region,
            project_id=action.project_id,
            name=record.name,
            path=wanted,
            scheduled_for_deletion=scheduled,
        ):
            if secret.name == record.name and normalize_path(secret.path) == wanted:
                found = secret
    return found


async def plan_restore(
    client: Any,
    store: Any,
    snapshot: str | SnapshotHeader,
    *,
    selection: Selection | None = None,
    versions: str = VersionsMode.ALL,
    revision: int | None = None,
    to_project: str | None = None,
    to_region: str | None = None,
    on_conflict: str = OnConflict.NEW_VERSION,
    records: Sequence[SecretRecord] | None = None,
    read_payload: PayloadReader | None = None,
    preflight: bool = True,
    organization_id: str | None = None,
    on_event: EventSink | None = None,
) -> RestorePlan:
    """Compare the snapshot's selected secrets with the destination; change nothing."""
    emit = safe_sink(on_event)
    selection = selection or Selection()
    if revision is not None:
        versions = VersionsMode.REVISION
        if revision < 1:
            raise UsageError("--revision must be 1 or more", hint="revisions start at 1")
    if versions not in (VersionsMode.ALL, VersionsMode.LATEST, VersionsMode.REVISION):
        raise UsageError(f"unknown --versions value {versions!r}", hint="use all or latest")
    if versions == VersionsMode.REVISION and revision is None:
        raise UsageError("a revision is needed", hint="pass --revision N")
    if on_conflict not in tuple(OnConflict):
        raise UsageError(
            f"unknown --on-conflict value {on_conflict!r}", hint="use skip, new-version or fail"
        )
    if to_region is not None and to_region not in REGIONS:
        raise UsageError(f"unknown region {to_region!r}", hint=f"use one of {', '.join(REGIONS)}")

    emit(ev.Phase(PhaseName.LOADING, "reading the snapshot"))
    if isinstance(snapshot, SnapshotHeader):
        snapshot_id = snapshot.id
    elif records is not None:
        snapshot_id = snapshot
    else:
        header = await store.resolve_snapshot(snapshot)
        snapshot_id = header.id
    if records is None:
        records = await store.read_tree(snapshot_id)
    read: PayloadReader = read_payload or store.read_payload

    selected = [r for r in records if selection.matches(r.path, r.name, r.secret_id)]
    if not selected and not selection.everything:
        raise UsageError(
            f"no secret of snapshot {snapshot_id[:8]} matches the given selectors",
            hint=f"list the snapshot's secrets with `secret-kloset ls {snapshot_id[:8]}`",
        )
    if versions == VersionsMode.REVISION:
        having = [r for r in selected if r.version(int(revision or 0)) is not None]
        if not having:
            raise UsageError(
                f"no selected secret has revision {revision} in snapshot {snapshot_id[:8]}",
                hint="list the versions with `secret-kloset ls SNAPSHOT SELECTOR`",
            )
        selected = [
            r for r in having if (r.version(int(revision or 0)) or VersionRecord(0, "")).payload
        ]
        if not selected:
            raise UsageError(
                f"snapshot {snapshot_id[:8]} holds no data for revision {revision} of the "
                "selected secret(s): the version was disabled (or could not be read) when the "
                "snapshot was taken",
                hint="back up with --include-disabled to keep disabled versions' data, or "
                "choose another revision",
            )

    targets = sorted({(to_region or r.region, to_project or r.project_id) for r in selected})
    if preflight and targets:
        await require(
            client,
            targets,
            operation="restore",
            organization_id=organization_id,
            on_event=emit,
        )

    emit(ev.Phase(PhaseName.PLANNING, f"comparing {len(selected)} secret(s) with the destination"))
    existing: dict[tuple[str, str], dict[tuple[str, str], Secret]] = {}
    listed = await asyncio.gather(*(_dest_secrets(client, r, p) for r, p in targets))
    for target, secrets in zip(targets, listed, strict=True):
        existing[target] = secrets

    actions: list[PlannedAction] = []
    seen: set[tuple[str, str, str, str]] = set()
    semaphore = asyncio.Semaphore(DEFAULT_CONCURRENCY)
    done = 0

    async def plan_one(record: SecretRecord) -> PlannedAction:
        nonlocal done
        region = to_region or record.region
        project = to_project or record.project_id
        action = PlannedAction(
            record=record, action=Action.CREATE, region=region, project_id=project
        )
        chosen, no_data = choose_versions(record, versions, revision)
        notes: list[str] = []
        if no_data:
            notes.append(f"{no_data} version(s) have no data in the snapshot")
        if record.error:
            notes.append("the secret was incomplete in the snapshot")
        key = (region, project, normalize_path(record.path), record.name)
        if key in seen:
            action.action = Action.CONFLICT
            action.outcome = Outcome.CONFLICT
            action.detail = "another selected secret restores to the same path and name"
            return action
        seen.add(key)
        dest = existing[(region, project)].get((normalize_path(record.path), record.name))
        async with semaphore:
            await _decide(
                client,
                read,
                action,
                dest,
                chosen,
                versions,
                on_conflict,
                explicit=not selection.everything,
                notes=notes,
            )
        if notes:
            action.detail = (
                "; ".join([action.detail, *notes]) if action.detail else "; ".join(notes)
            )
        done += 1
        emit(ev.Progress(PhaseName.PLANNING, done, len(selected), unit="secrets"))
        return action

    ordered = sorted(selected, key=lambda r: (*r.key, r.secret_id))
    # Duplicate detection needs a deterministic order: assign keys first, then plan.
    actions = list(await asyncio.gather(*(plan_one(r) for r in ordered)))
    for action in actions:
        emit(
            ev.ActionPlanned(
                action.secret_id,
                action.region,
                action.project_id,
                str(action.action),
                revisions=tuple(v.revision for v in action.versions),
                detail=action.detail,
                display=action.record.full_path,
            )
        )
    return RestorePlan(
        snapshot_id=snapshot_id,
        actions=actions,
        versions=str(versions),
        revision=revision,
        on_conflict=str(on_conflict),
        to_project=to_project,
        to_region=to_region,
    )


# --------------------------------------------------------------------------- applying


async def _add_versions(
    client: Any,
    read: PayloadReader,
    action: PlannedAction,
    secret_id: str,
    versions: Iterable[VersionToAdd],
    known_latest: int | None,
) -> None:
    latest = known_latest
    for v in versions:
        data = await read(v.payload)
        crc = zlib.crc32(data)
        if v.crc32 is not None and crc != v.crc32:
            raise KlosetError(
                f"secret {action.secret_id} revision {v.revision}: the snapshot's data does not "
                "match its CRC32",
                hint="run `secret-kloset check --read-data` on the store",
            )
        created = await client.create_version(
            action.region,
            secret_id,
            data,
            description=v.description or None,
            data_crc32=crc,
            known_latest_revision=latest,
        )
        latest = created.revision
        action.restored_revisions.append(created.revision)
        action.added.append((created.revision, v))
        if v.disable:
            await client.disable_version(action.region, secret_id, created.revision)


async def _apply_one(client: Any, read: PayloadReader, action: PlannedAction) -> None:
    record = action.record
    if action.action == Action.CREATE:
        secret = await client.create_secret(
            action.region,
            name=record.name,
            project_id=action.project_id,
            protected=record.protected,
            tags=list(record.tags),
            description=record.description or None,
            type=record.type,
            path=record.path,
            ephemeral_policy=record.ephemeral_policy,
        )
        action.destination_secret_id = secret.id
        await _add_versions(client, read, action, secret.id, action.versions, secret.version_count)
        action.detail = f"created with {len(action.restored_revisions)} version(s)"
    elif action.action == Action.RECOVER:
        assert action.destination_secret_id is not None
        sid = action.destination_secret_id
        await client.restore_secret(action.region, sid)
        to_add = list(action.versions)
        if to_add and action.only_if_differs:
            current = await _access_data(client, action.region, sid, "latest_enabled")
            data = await read(to_add[0].payload)
            if current == data:
                to_add = []
        await _add_versions(client, read, action, sid, to_add, None)
        action.detail = f"recovered; {len(action.restored_revisions)} version(s) added"
    elif action.action == Action.ADD_VERSION:
        assert action.destination_secret_id is not None
        await _add_versions(
            client, read, action, action.destination_secret_id, action.versions, None
        )
        action.detail = f"{len(action.restored_revisions)} version(s) added"


async def _verify_one(client: Any, action: PlannedAction) -> None:
    """Read every restored version back and compare its CRC32 with the snapshot's."""
    sid = action.destination_secret_id
    if sid is None or not action.added:
        return
    ok = True
    for dest_rev, src in action.added:
        if src.expires_once_accessed:
            continue  # reading it would expire it
        if src.disable:
            await client.enable_version(action.region, sid, dest_rev)
            try:
                accessed = await client.access_version(action.region, sid, dest_rev)
            finally:
                await asyncio.shield(client.disable_version(action.region, sid, dest_rev))
        else:
            accessed = await client.access_version(action.region, sid, dest_rev)
        crc = zlib.crc32(accessed.data)
        if src.crc32 is not None and crc != src.crc32:
            ok = False
    action.verified = ok
    if not ok:
        action.outcome = Outcome.FAILED
        action.error = f"secret {action.secret_id}: verification failed (CRC32 differs)"


async def _attempt(client: Any, read: PayloadReader, action: PlannedAction, verify: bool) -> None:
    """Apply (and verify) one action, recording its outcome; fatal errors propagate."""
    try:
        await _apply_one(client, read, action)
        if verify:
            await _verify_one(client, action)
        if action.outcome != Outcome.FAILED:
            action.outcome = Outcome.OK
    except (AuthenticationError, TransportError) as err:
        action.outcome = Outcome.FAILED
        action.error = _error_text(err, action)
        raise
    except ScalewayError as err:
        action.outcome = Outcome.FAILED
        action.error = _error_text(err, action)
        action.transient = isinstance(err, ServerError | RateLimitedError)
    except KlosetError as err:
        action.outcome = Outcome.FAILED
        action.error = _error_text(err, action)


def _error_text(err: BaseException, action: PlannedAction) -> str:
    if isinstance(err, PermissionDeniedError):
        return f"secret {action.secret_id}: permission denied (needs {err.permission_set})"
    if isinstance(err, KlosetError):
        return f"secret {action.secret_id}: {err.message}"
    return f"secret {action.secret_id}: {type(err).__name__}"


async def apply_plan(
    client: Any,
    store: Any,
    plan: RestorePlan,
    *,
    verify: bool = False,
    dry_run: bool = False,
    read_payload: PayloadReader | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_event: EventSink | None = None,
) -> RestoreResult:
    """Carry out ``plan``; every action gets an outcome. Raises :class:`RestoreConflict` (and
    changes nothing) when the plan holds conflicts, :class:`RestoreInterrupted` on
    cancellation (after the actions in flight finished)."""
    started = time.monotonic()
    emit = safe_sink(on_event)
    read: PayloadReader = read_payload or store.read_payload
    if dry_run:
        for a in plan.actions:
            if a.action != Action.CONFLICT:
                a.outcome = Outcome.PLANNED if a.changes else Outcome.SKIPPED
        status = "conflict" if plan.conflicts else "dry_run"
        return RestoreResult(plan, status, dry_run=True, verify=verify)
    if plan.conflicts and plan.on_conflict == OnConflict.FAIL:
        for a in plan.actions:
            if a.action != Action.CONFLICT:
                a.outcome = Outcome.SKIPPED
        raise RestoreConflict(
            f"{len(plan.conflicts)} destination secret(s) differ from the snapshot "
            f"({', '.join(a.secret_id for a in plan.conflicts[:5])}); nothing was changed",
            result=RestoreResult(plan, "conflict", verify=verify),
            hint="see them with --dry-run; use --on-conflict new-version to add a version, or "
            "skip to leave them",
        )
    emit(ev.Phase(PhaseName.APPLYING, f"applying {len(plan.actions)} action(s)"))
    for a in plan.actions:
        if a.action == Action.CONFLICT:
            a.outcome = Outcome.CONFLICT
        elif not a.changes:
            a.outcome = Outcome.UNCHANGED if a.action == Action.SKIP_IDENTICAL else Outcome.SKIPPED
    todo = [a for a in plan.actions if a.changes]
    total = len(todo)
    finished = 0
    errors = 0
    semaphore = asyncio.Semaphore(max(1, concurrency))

    in_progress: set[int] = set()

    async def run(action: PlannedAction) -> None:
        nonlocal finished, errors
        async with semaphore:
            in_progress.add(id(action))
            await _attempt(client, read, action, verify)
            finished += 1
            if action.outcome == Outcome.FAILED:
                errors += 1
            emit(
                ev.ActionDone(
                    action.secret_id,
                    str(action.action),
                    str(action.outcome),
                    detail=action.error or action.detail,
                    destination_secret_id=action.destination_secret_id,
                    display=action.record.full_path,
                )
            )
            emit(ev.Progress(PhaseName.APPLYING, finished, total, unit="secrets", errors=errors))

    tasks = [asyncio.ensure_future(run(a)) for a in todo]
    gathered = asyncio.gather(*tasks)
    try:
        # Each action runs to its end even when the restore is cancelled: stop between actions.
        await asyncio.shield(gathered)
    except asyncio.CancelledError:
        for task, action in zip(tasks, todo, strict=True):
            if not task.done() and id(action) not in in_progress:
                task.cancel()  # still waiting for its turn: it never touched the destination
        await asyncio.gather(*tasks, return_exceptions=True)
        _retrieve(gathered)
        for action in todo:
            if action.outcome == Outcome.PLANNED:
                action.outcome = Outcome.SKIPPED
                action.detail = "not started: the restore was interrupted"
        result = RestoreResult(plan, "interrupted", verify=verify)
        result.duration_seconds = time.monotonic() - started
        raise RestoreInterrupted(
            f"the restore was interrupted after {finished} of {total} action(s)",
            result=result,
            hint="run the same restore again: it skips what is already there",
        ) from None
    except (AuthenticationError, TransportError):
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    again = [a for a in todo if a.outcome == Outcome.FAILED and a.transient]
    if again:
        # A second pass for what failed transiently (5xx, 429 storms): re-plan each secret
        # against what its destination holds now (the first attempt may have done part of
        # it), then apply what is still missing.
        emit(
            ev.Phase(PhaseName.APPLYING, f"retrying {len(again)} action(s) after transient errors")
        )
        await asyncio.sleep(RETRY_PAUSE)
        gate = asyncio.Semaphore(max(1, concurrency // 4))

        async def retry(action: PlannedAction) -> None:
            async with gate:
                action.error, action.transient = None, False
                action.outcome = Outcome.PLANNED
                try:
                    dest = await _find_destination(client, action)
                    chosen, _ = choose_versions(action.record, plan.versions, plan.revision)
                    await _decide(
                        client,
                        read,
                        action,
                        dest,
                        chosen,
                        plan.versions,
                        OnConflict.NEW_VERSION,  # our own partial work is never a conflict
                        explicit=True,
                        notes=[],
                    )
                except (ScalewayError, KlosetError) as err:
                    action.outcome = Outcome.FAILED
                    action.error = _error_text(err, action)
                    return
                if action.changes:
                    await _attempt(client, read, action, verify)
                else:
                    action.outcome = Outcome.OK
                emit(
                    ev.ActionDone(
                        action.secret_id,
                        str(action.action),
                        str(action.outcome),
                        detail=action.error or action.detail,
                        destination_secret_id=action.destination_secret_id,
                        display=action.record.full_path,
                    )
                )

        await asyncio.gather(*(retry(a) for a in again))
    failed = [a for a in plan.actions if a.outcome in (Outcome.FAILED, Outcome.CONFLICT)]
    if not failed:
        status = "ok"
    elif len(failed) == len(plan.actions):
        status = "failed"
    else:
        status = "partial"
    emit(ev.Phase(PhaseName.DONE, "restore finished"))
    return RestoreResult(plan, status, verify=verify, duration_seconds=time.monotonic() - started)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a finished future's exception as seen (no "never retrieved" warning)."""
    if future.done() and not future.cancelled():
        future.exception()


def restore_error(result: RestoreResult) -> KlosetError | None:
    """The error for a restore that did not fully succeed (exit code per its status)."""
    failed = result.failed
    if not failed:
        return None
    from core.errors import PartialFailure

    ids = ", ".join(a.secret_id for a in failed[:5])
    more = "" if len(failed) <= 5 else f" and {len(failed) - 5} more"
    cls = PartialFailure if result.status == "partial" else KlosetError
    return cls(
        f"{len(failed)} secret(s) could not be restored ({ids}{more})",
        hint="see each secret's error in the report (--json); fix the cause and run the same "
        "restore again: what is already restored is skipped",
    )
