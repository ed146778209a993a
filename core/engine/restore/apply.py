"""Applying a plan: bounded concurrency, versions of one secret in order, a second pass for
transient failures, verification, and a stop between API calls on cancellation.

Stop means stop: when the restore is cancelled, the :class:`_Gate` closes and every write
checks it first, so no write starts afterwards; requests in flight are cancelled, not awaited.
A write that was on the wire may or may not have landed: the action is reported as
interrupted half-way (partial), naming what was done and what was in flight, and running the
same restore again completes it (planning decides on data, so nothing is added twice).
Another writer (a racing restore, a person) is watched for with about one request per version
written: before the first version added to a secret that already existed (the plan read its
latest revision a while ago) the engine reads it again (a cheap get) and re-plans the secret
when it moved, writing nothing; after that, and for a secret it has just created, each
create's answer is the check (a revision past the one expected: another writer came in
between, and a copy of ours among its versions is taken back before the secret is re-planned).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from typing import ParamSpec, TypeVar

from core.engine import events as ev
from core.engine.events import EventSink, Outcome, PhaseName, safe_sink
from core.engine.protocols import SecretsAPI, SnapshotStore
from core.engine.restore.cap import fit_action_to_cap
from core.engine.restore.journal import Written, journal_changes, vouched_actions
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
    error_text,
)
from core.engine.restore.payloads import PayloadsAhead, reader_for
from core.engine.restore.plan import (
    access_data,
    choose_versions,
    decide,
    find_destination,
    latest_revision,
)
from core.errors import KlosetError, Remedy
from core.scaleway.errors import (
    AlreadyExistsError,
    AuthenticationError,
    RateLimitedError,
    ScalewayError,
    ServerError,
    TransportError,
)

T = TypeVar("T")
P = ParamSpec("P")
RETRY_PAUSE = 1.0  # seconds before the second pass over actions that failed transiently
MAX_REPLANS = 3  # a destination that keeps moving under us fails the action after this
RACE_LOOKBACK = 20  # the other writer's versions read for a copy of ours (the version cap)


class _Gate:
    """The cancel gate: closed once the restore is cancelled; every write checks it first."""

    def __init__(self) -> None:
        self.closed = False

    def check(self) -> None:
        if self.closed:
            raise asyncio.CancelledError


class _Moved(Exception):
    """The destination secret changed since it was planned: plan it again before writing."""


class _Applier:
    """One apply run: the client, the payload reader, the plan's choices and the gate."""

    def __init__(
        self, client: SecretsAPI, read: PayloadReader, plan: RestorePlan, verify: bool
    ) -> None:
        self.client = client
        self.read = read
        self.plan = plan
        self.verify = verify
        self.gate = _Gate()
        self.written: dict[int, Written] = {}  # by id(action): what the journal records

    def done(self, action: PlannedAction) -> Written:
        return self.written.setdefault(id(action), Written())

    async def write(
        self,
        action: PlannedAction,
        call: Callable[P, Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """One write to the destination, behind the gate, with its in-flight bookkeeping:
        the call is only made (its coroutine only created) once the gate said go."""
        self.gate.check()
        action.in_flight = getattr(call, "__name__", "write")
        result = await call(*args, **kwargs)
        action.in_flight = None
        action.writes += 1
        return result

    async def add_versions(
        self,
        action: PlannedAction,
        secret_id: str,
        versions: Iterable[VersionToAdd],
        known_latest: int | None,
        *,
        ours: bool = False,
    ) -> None:
        """Add ``versions`` in order, on top of ``known_latest`` (the destination's latest
        revision, None: not known).

        Where that knowledge came from decides the one check before writing: the plan's (or
        none) may be old, so the latest revision is read again before the first version and
        a secret that moved since is planned again, nothing written; ``ours`` (the answer to
        our own create of the secret) needs no check. From there on, each create's answer is
        the check: a revision past the one expected means another writer came in between
        (:meth:`_racing_copy`), and the next version builds on the answer."""
        client, region = self.client, action.region
        latest = known_latest
        checked = ours
        for v in versions:
            data = await self.read(v.payload)
            crc = zlib.crc32(data)
            if v.crc32 is not None and crc != v.crc32:
                raise KlosetError(
                    f"secret {action.secret_id} revision {v.revision}: the snapshot's data "
                    "does not match its CRC32",
                    hint="check the store, reading all its data",
                    remedy=Remedy.RUN_CHECK,
                    details={"read_data": "true"},
                )
            self.gate.check()
            if not checked:
                now = await latest_revision(client, region, secret_id)
                if latest is not None and now is not None and now != latest:
                    raise _Moved
                if latest is None:
                    latest = now
                checked = True
            created = await self.write(
                action,
                client.create_version,
                region,
                secret_id,
                data,
                description=v.description or None,
                data_crc32=crc,
                known_latest_revision=latest,
            )
            self.done(action).created.append((created, v.payload, crc))
            # A revision past the one expected: another writer added a version between what
            # we knew and our write. When one of those holds this same data (a racing
            # restore), ours is a duplicate: the later of the two takes its own back, and the
            # secret is planned again.
            if (
                latest is not None
                and created.revision != latest + 1
                and await self._racing_copy(region, secret_id, data, latest, created.revision)
            ):
                await self.write(action, client.delete_version, region, secret_id, created.revision)
                raise _Moved
            latest = created.revision
            action.restored_revisions.append(created.revision)
            action.added.append((created.revision, v))
            if v.disable:
                action.undisabled.append(created.revision)
                await self.write(
                    action, client.disable_version, region, secret_id, created.revision
                )
                action.undisabled.remove(created.revision)
                self.done(action).disabled.add(created.revision)

    async def _racing_copy(
        self, region: str, secret_id: str, data: bytes, latest: int, ours: int
    ) -> bool:
        """Whether a version another writer added between ``latest`` and ``ours`` holds
        ``data`` (newest first: a racing restore's copy is usually the one just before; it
        may be further back when that restore got ahead of us by more than one version)."""
        first = max(latest + 1, ours - RACE_LOOKBACK)
        for revision in range(ours - 1, first - 1, -1):
            if await access_data(self.client, region, secret_id, revision) == data:
                return True
        return False

    async def apply_one(self, action: PlannedAction) -> None:
        client, record = self.client, action.record
        if action.action == Action.CREATE:
            secret = await self.write(
                action,
                client.create_secret,
                action.region,
                name=record.name,
                project_id=action.project_id,
                protected=record.protected,
                tags=list(record.tags),
                description=record.description or None,
                type=record.type,
                path=record.path,
                ephemeral_policy=record.ephemeral_policy,
                key_id=action.key_id,
            )
            action.destination_secret_id = secret.id
            self.done(action).secret = secret
            await self.add_versions(
                action, secret.id, action.versions, secret.version_count, ours=True
            )
            action.detail = f"created with {len(action.restored_revisions)} version(s)"
        elif action.action == Action.RECOVER:
            assert action.destination_secret_id is not None
            sid = action.destination_secret_id
            await self.write(action, client.restore_secret, action.region, sid)
            to_add = list(action.versions)
            if to_add and action.only_if_differs:
                current = await access_data(client, action.region, sid, "latest_enabled")
                data = await self.read(to_add[0].payload)
                if current == data:
                    to_add = []
            await self.add_versions(action, sid, to_add, action.expected_latest)
            action.detail = f"recovered; {len(action.restored_revisions)} version(s) added"
        elif action.action == Action.ADD_VERSION:
            assert action.destination_secret_id is not None
            sid = action.destination_secret_id
            for revision in action.disable_revisions:
                await self.write(action, client.disable_version, action.region, sid, revision)
                self.done(action).disabled.add(revision)
            await self.add_versions(action, sid, action.versions, action.expected_latest)
            action.detail = f"{len(action.restored_revisions)} version(s) added"
            if action.disable_revisions:
                action.detail += f"; {len(action.disable_revisions)} disabled again"

    async def verify_one(self, action: PlannedAction) -> None:
        """Read every restored version back and compare its CRC32 with the snapshot's."""
        client, sid = self.client, action.destination_secret_id
        if sid is None or not action.added:
            return
        ok = True
        for dest_rev, src in action.added:
            if src.expires_once_accessed:
                continue  # reading it would expire it
            if src.disable:
                await self.write(action, client.enable_version, action.region, sid, dest_rev)
                try:
                    accessed = await client.access_version(action.region, sid, dest_rev)
                finally:
                    # Shielded, even after a stop: the one write that may follow a cancel
                    # puts back what this run itself toggled a moment ago.
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

    async def replan(
        self, action: PlannedAction, on_conflict: str, reader: SecretsAPI | None = None
    ) -> None:
        """Decide again what ``action`` does, against what its destination holds now
        (read through ``reader``, by default the client itself)."""
        dest = await find_destination(self.client, action)
        chosen, _ = choose_versions(action.record, self.plan.versions, self.plan.revision)
        await decide(
            reader or self.client,
            self.read,
            action,
            dest,
            chosen,
            self.plan.versions,
            on_conflict,
            explicit=True,
            notes=[],
        )
        # The destination's version cap holds for a re-planned secret too (never half-applied).
        await fit_action_to_cap(
            self.client, action, dest, newest_that_fit=self.plan.newest_that_fit
        )

    async def attempt(self, action: PlannedAction) -> None:
        """Apply (and verify) one action, recording its outcome; fatal errors propagate."""
        try:
            for replans in range(MAX_REPLANS + 1):
                try:
                    if action.changes:
                        await self.apply_one(action)
                    break
                except (_Moved, AlreadyExistsError):
                    if replans == MAX_REPLANS:
                        raise KlosetError(
                            f"the destination of secret {action.secret_id} kept changing "
                            "while it was restored",
                            hint="run the same restore again when nothing else writes to it",
                            remedy=Remedy.RUN_AGAIN,
                            details={"operation": "restore"},
                        ) from None
                    # Another writer moved it: our own partial work is never a conflict,
                    # someone else's follows the plan's policy.
                    policy = OnConflict.NEW_VERSION if action.writes else self.plan.on_conflict
                    self.done(action).replanned = True
                    await self.replan(action, policy)
                    if action.action == Action.CONFLICT:
                        action.outcome = Outcome.CONFLICT
                        return
            if self.verify:
                await self.verify_one(action)
            if action.outcome != Outcome.FAILED:
                action.outcome = Outcome.OK
        except (AuthenticationError, TransportError) as err:
            action.outcome = Outcome.FAILED
            action.error = error_text(err, action.secret_id)
            raise
        except ScalewayError as err:
            action.outcome = Outcome.FAILED
            action.error = error_text(err, action.secret_id)
            action.transient = isinstance(err, ServerError | RateLimitedError)
        except KlosetError as err:
            action.outcome = Outcome.FAILED
            action.error = error_text(err, action.secret_id)


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
    cancellation (no write starts after it; what was half-done is reported)."""
    started = time.monotonic()
    emit = safe_sink(on_event)
    ahead: PayloadsAhead | None = None
    if read_payload is None and not dry_run:
        # In the order the actions will ask: the plan's, each action's versions in turn.
        order = [v.payload for a in plan.actions if a.changes for v in a.versions]
        reader = reader_for(store, store.read_payload, order)
        ahead = reader if isinstance(reader, PayloadsAhead) else None
        read: PayloadReader = reader
    else:
        read = read_payload or store.read_payload
    try:
        return await _apply(client, plan, read, verify, dry_run, concurrency, emit, started)
    finally:
        if ahead is not None:
            await ahead.aclose()


async def _apply(
    client: SecretsAPI,
    plan: RestorePlan,
    read: PayloadReader,
    verify: bool,
    dry_run: bool,
    concurrency: int,
    emit: EventSink,
    started: float,
) -> RestoreResult:
    applier = _Applier(client, read, plan, verify)
    if verify and plan.journal is not None:
        await _replan_vouched(applier, plan, concurrency)
    if dry_run:
        for a in plan.actions:
            if a.action != Action.CONFLICT and a.outcome != Outcome.FAILED:
                a.outcome = Outcome.PLANNED if a.changes else Outcome.SKIPPED
        status = "conflict" if plan.conflicts else "dry_run"
        if status == "dry_run" and any(a.outcome == Outcome.FAILED for a in plan.actions):
            status = "partial"  # some secrets could not be planned
        return RestoreResult(plan, status, dry_run=True, verify=verify)
    if plan.conflicts and plan.on_conflict == OnConflict.FAIL:
        for a in plan.actions:
            if a.action != Action.CONFLICT and a.outcome != Outcome.FAILED:
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
        if a.outcome == Outcome.FAILED:
            continue  # it could not be planned: the second pass tries again if transient
        if a.action == Action.CONFLICT:
            a.outcome = Outcome.CONFLICT
        elif not a.changes:
            a.outcome = Outcome.UNCHANGED if a.action == Action.SKIP_IDENTICAL else Outcome.SKIPPED
    todo = [a for a in plan.actions if a.changes and a.outcome != Outcome.FAILED]
    total = len(todo)
    finished = 0
    errors = 0
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def run(action: PlannedAction) -> None:
        nonlocal finished, errors
        async with semaphore:
            applier.gate.check()
            await applier.attempt(action)
            finished += 1
            if action.outcome == Outcome.FAILED:
                errors += 1
            emit(_done_event(action))
            emit(ev.Progress(PhaseName.APPLYING, finished, total, unit="secrets", errors=errors))

    async def retry(action: PlannedAction) -> None:
        async with gate:
            applier.gate.check()
            action.error, action.transient = None, False
            action.outcome = Outcome.PLANNED
            applier.done(action).replanned = True
            try:
                # Our own partial work is never a conflict.
                await applier.replan(action, OnConflict.NEW_VERSION)
            except (AuthenticationError, TransportError):
                raise
            except (ScalewayError, KlosetError) as err:
                action.outcome = Outcome.FAILED
                action.error = error_text(err, action.secret_id)
                return
            if action.outcome in (Outcome.FAILED, Outcome.CONFLICT):
                pass  # refused by the plan (over the API's size limit, or its version cap)
            elif action.changes:
                await applier.attempt(action)
            else:
                action.outcome = Outcome.OK
            emit(_done_event(action))

    gate = asyncio.Semaphore(max(1, concurrency // 4))
    tasks: list[asyncio.Future[None]] = [asyncio.ensure_future(run(a)) for a in todo]
    try:
        await _all(tasks)
        again = [a for a in plan.actions if a.outcome == Outcome.FAILED and a.transient]
        if again:
            # A second pass for what failed transiently (5xx, 429 storms), in planning or
            # applying: re-plan each secret against what its destination holds now (the first
            # attempt may have done part of it), then apply what is still missing.
            emit(
                ev.Phase(
                    PhaseName.APPLYING, f"retrying {len(again)} action(s) after transient errors"
                )
            )
            await asyncio.sleep(RETRY_PAUSE)
            tasks = [asyncio.ensure_future(retry(a)) for a in again]
            await _all(tasks)
    except asyncio.CancelledError:
        applier.gate.closed = True  # no write starts from here on
        for task in tasks:
            task.cancel()  # in flight or waiting: cancelled, not awaited to completion
        await asyncio.gather(*tasks, return_exceptions=True)
        error = _interrupted(plan, todo, finished, total, verify, started)
        _save_journal(applier, plan)
        raise error from None
    failed = [a for a in plan.actions if a.outcome in (Outcome.FAILED, Outcome.CONFLICT)]
    if not failed:
        status = "ok"
    elif len(failed) == len(plan.actions):
        status = "failed"
    else:
        status = "partial"
    _save_journal(applier, plan)
    emit(ev.Phase(PhaseName.DONE, "restore finished"))
    return RestoreResult(plan, status, verify=verify, duration_seconds=time.monotonic() - started)


async def _replan_vouched(applier: _Applier, plan: RestorePlan, concurrency: int) -> None:
    """Verification trusts no journal: every secret planned on the journal's word is planned
    again, reading its destination back (what is read is journalled afresh)."""
    view = plan.journal
    assert view is not None
    view.trust = False
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(action: PlannedAction) -> None:
        async with semaphore:
            try:
                await applier.replan(action, plan.on_conflict, reader=view)
            except (AuthenticationError, TransportError):
                raise
            except (ScalewayError, KlosetError) as err:
                action.action = Action.SKIP
                action.versions = ()
                action.outcome = Outcome.FAILED
                action.error = error_text(err, action.secret_id)
                action.transient = isinstance(err, ServerError | RateLimitedError)

    await asyncio.gather(*(one(a) for a in vouched_actions(view, plan.actions)))


def _save_journal(applier: _Applier, plan: RestorePlan) -> None:
    """Record in the restore journal what this run wrote and saw (a cache: a failure to
    write it costs the next run its read-backs, never this run its result)."""
    view = plan.journal
    if view is None:
        return
    changes = journal_changes(view, plan, applier.written)
    with contextlib.suppress(OSError):
        view.journal.save(changes.versions, changes.secrets)


async def _all(tasks: list[asyncio.Future[None]]) -> None:
    """Wait for every task; the first fatal error cancels the others and propagates."""
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        raise
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _interrupted(
    plan: RestorePlan,
    todo: list[PlannedAction],
    finished: int,
    total: int,
    verify: bool,
    started: float,
) -> RestoreInterrupted:
    """The error for a cancelled restore: what was done, what was half-done, what was not."""
    half: list[PlannedAction] = []
    for action in plan.actions:
        if action.outcome != Outcome.PLANNED:
            continue
        if not action.writes and action.in_flight is None:
            action.outcome = Outcome.SKIPPED
            action.detail = "not started: the restore was interrupted"
            continue
        half.append(action)
        action.interrupted = True
        action.outcome = Outcome.FAILED
        parts = [f"{len(action.restored_revisions)} of {len(action.versions)} version(s) added"]
        if action.in_flight is not None:
            parts.append(f"a {action.in_flight} request was in flight and may have been applied")
        if action.undisabled:
            revs = ", ".join(str(r) for r in action.undisabled)
            parts.append(f"revision(s) {revs} added but not disabled again yet")
        action.error = (
            f"secret {action.secret_id}: interrupted half-way ({'; '.join(parts)}); "
            "restoring it again completes it"
        )
    result = RestoreResult(plan, "interrupted", verify=verify)
    result.duration_seconds = time.monotonic() - started
    done = sum(1 for a in todo if a.outcome == Outcome.OK)
    message = f"the restore was interrupted after {max(done, finished)} of {total} action(s)"
    if half:
        message += f"; {len(half)} secret(s) were left half-restored"
    return RestoreInterrupted(
        message,
        result=result,
        hint="run the same restore again: it skips what is already there and completes "
        "what was half-restored",
        remedy=Remedy.RUN_AGAIN,
        details={"operation": "restore", "partial": str(len(half))},
    )


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
