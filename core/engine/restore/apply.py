"""Applying a plan: bounded concurrency, versions of one secret in order, a second pass for
transient failures, verification, and a clean stop between actions on cancellation."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Iterable
from typing import Any

from core.engine import events as ev
from core.engine.events import EventSink, Outcome, PhaseName, safe_sink
from core.engine.protocols import SecretsAPI, SnapshotStore
from core.engine.restore.model import (
    DEFAULT_CONCURRENCY,
    Action,
    OnConflict,
    PayloadReader,
    PlannedAction,
    RestoreConflict,
    RestoreInterrupted,
    RestorePlan,
    RestoreResult,
    VersionToAdd,
)
from core.engine.restore.plan import access_data, choose_versions, decide, find_destination
from core.errors import KlosetError, Remedy
from core.scaleway.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RateLimitedError,
    ScalewayError,
    ServerError,
    TransportError,
)

RETRY_PAUSE = 1.0  # seconds before the second pass over actions that failed transiently


async def _add_versions(
    client: SecretsAPI,
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
                hint="check the store, reading all its data",
                remedy=Remedy.RUN_CHECK,
                details={"read_data": "true"},
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


async def _apply_one(client: SecretsAPI, read: PayloadReader, action: PlannedAction) -> None:
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
            current = await access_data(client, action.region, sid, "latest_enabled")
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


async def _verify_one(client: SecretsAPI, action: PlannedAction) -> None:
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


async def _attempt(
    client: SecretsAPI, read: PayloadReader, action: PlannedAction, verify: bool
) -> None:
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
    client: SecretsAPI,
    store: SnapshotStore,
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
            hint="see them in a dry run; choose the new-version conflict policy to add a "
            "version, or skip to leave them",
            remedy=Remedy.CHOOSE_CONFLICT_POLICY,
            details={"conflicts": str(len(plan.conflicts))},
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
            emit(_done_event(action))
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
            remedy=Remedy.RUN_AGAIN,
            details={"operation": "restore"},
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
                    dest = await find_destination(client, action)
                    chosen, _ = choose_versions(action.record, plan.versions, plan.revision)
                    await decide(
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
                emit(_done_event(action))

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


def _done_event(action: PlannedAction) -> ev.ActionDone:
    """The event for an action that ran (first pass or retry)."""
    return ev.ActionDone(
        action.secret_id,
        str(action.action),
        str(action.outcome),
        detail=action.error or action.detail,
        destination_secret_id=action.destination_secret_id,
        display=action.record.full_path,
    )


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
        hint="see each secret's error in the report; fix the cause and run the same restore "
        "again: what is already restored is skipped",
        remedy=Remedy.SEE_REPORT,
        details={"operation": "restore", "case": "restore"},
    )
