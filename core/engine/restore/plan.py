"""Planning: compare the snapshot's selected records with the destination; change nothing."""

from __future__ import annotations

import asyncio
import uuid
import zlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from core.engine import events as ev
from core.engine.events import EventSink, Outcome, PhaseName, safe_sink
from core.engine.preflight import require
from core.engine.protocols import SecretsAPI, SnapshotStore
from core.engine.restore.model import (
    Action,
    OnConflict,
    PayloadReader,
    PlannedAction,
    RestorePlan,
    VersionsMode,
    VersionToAdd,
)
from core.engine.selectors import Selection, check_region
from core.errors import KlosetError, Remedy, UsageError
from core.scaleway.errors import (
    AuthenticationError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitedError,
    ScalewayError,
    ServerError,
    TransportError,
)
from core.scaleway.models import (
    MAX_PAYLOAD_BYTES,
    Secret,
    SecretVersion,
    VersionStatus,
    normalize_path,
)
from core.store.model import SecretRecord, SnapshotHeader, VersionRecord


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


def to_add(v: VersionRecord) -> VersionToAdd:
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


def comparison_candidate(chosen: Sequence[VersionRecord]) -> VersionRecord | None:
    """The version an existing destination secret is compared with: the newest enabled one."""
    enabled = [v for v in chosen if v.status == VersionStatus.ENABLED]
    pool = enabled or list(chosen)
    return pool[-1] if pool else None


async def _dest_secrets(
    client: SecretsAPI, region: str, project_id: str
) -> dict[tuple[str, str], Secret] | None:
    """Destination secrets by (path, name); live ones win over scheduled-for-deletion ones.

    ``None`` when the listing still failed transiently (5xx, 429) after the client's
    retries: planning must not end there, so each secret then looks its own destination up
    (:func:`find_destination`), and a failure is that secret's failed action."""

    async def one_list(scheduled: bool) -> list[Secret]:
        # The API's largest page (the client's default), its later pages asked for ahead.
        return [
            s
            async for s in client.list_secrets(
                region, project_id=project_id, scheduled_for_deletion=scheduled
            )
        ]

    # Both lists at once (each waits for the other to end, failed or not).
    lists = await asyncio.gather(one_list(True), one_list(False), return_exceptions=True)
    for outcome in lists:
        if isinstance(outcome, ServerError | RateLimitedError):
            return None
        if isinstance(outcome, BaseException):
            raise outcome
    found: dict[tuple[str, str], Secret] = {}
    for secrets in lists:  # live ones are laid over scheduled ones
        assert not isinstance(secrets, BaseException)
        for secret in secrets:
            found[(normalize_path(secret.path), secret.name)] = secret
    return found


async def latest_revision(client: SecretsAPI, region: str, secret_id: str) -> int | None:
    """The destination secret's highest revision now (0: none), one cheap get; ``None`` when
    the secret itself is gone (the write that follows says so)."""
    try:
        version = await client.get_version(region, secret_id, "latest")
    except NotFoundError:
        return 0
    return version.revision


async def access_data(
    client: SecretsAPI, region: str, secret_id: str, revision: int | str
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
    client: SecretsAPI,
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
        if len(dest_versions) > len(chosen):
            action.duplicates = await _count_duplicates(
                client, region, dest.id, dest_versions, chosen
            )
        if len(dest_versions) <= len(chosen):
            prefix = await _matching_prefix(client, read, region, dest.id, dest_versions, chosen)
            if prefix == len(dest_versions):
                rest = chosen[prefix:]
                # A stopped restore may have added the last version without disabling it
                # again: the snapshot holds it disabled, so disable it (and only that one).
                last = dest_versions[-1] if dest_versions else None
                if (
                    last is not None
                    and last.status == VersionStatus.ENABLED
                    and chosen[prefix - 1].status == VersionStatus.DISABLED
                ):
                    action.disable_revisions = (last.revision,)
                if not rest and not action.disable_revisions:
                    action.action = Action.SKIP_IDENTICAL
                    action.detail = "the destination holds every version already"
                elif not rest:
                    action.action = Action.ADD_VERSION
                    action.detail = (
                        f"the destination holds every version; revision {last and last.revision}"
                        " is enabled there but disabled in the snapshot: disabling it again"
                    )
                else:
                    action.action = Action.ADD_VERSION
                    action.versions = tuple(to_add(v) for v in rest)
                    action.detail = (
                        f"the destination holds the first {prefix} version(s); adding the rest"
                    )
                return
    candidate = comparison_candidate(chosen)
    if candidate is None:
        action.action = Action.SKIP
        action.detail = "the snapshot holds no data for the chosen versions"
        return
    if dest.version_count == 0:
        # An empty secret (e.g. left by an interrupted restore) is filled, never a conflict.
        action.action = Action.ADD_VERSION
        action.versions = tuple(to_add(v) for v in chosen)
        action.detail = "the destination secret has no version: adding the snapshot's"
        return
    current = await access_data(client, region, dest.id, "latest_enabled")
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
        action.versions = (to_add(candidate),)
        action.detail = "the destination's latest version differs: adding a new version"


async def _count_duplicates(
    client: SecretsAPI,
    region: str,
    secret_id: str,
    dest_versions: Sequence[SecretVersion],
    chosen: Sequence[VersionRecord],
) -> int:
    """Consecutive destination versions holding the same data as the one before, when that
    data is one of the snapshot's (what two restores racing into one secret leave)."""
    ours = {v.crc32 for v in chosen if v.crc32 is not None}
    count = 0
    previous: bytes | None = None
    for version in dest_versions:
        if version.status != VersionStatus.ENABLED:
            previous = None
            continue
        data = await access_data(client, region, secret_id, version.revision)
        if data is not None and data == previous and zlib.crc32(data) in ours:
            count += 1
        previous = data
    return count


@runtime_checkable
class VouchedData(Protocol):
    """A destination view that can vouch for a version's data without reading it (the
    restore journal's :class:`~core.engine.restore.journal.JournalView`)."""

    def holds(self, region: str, secret_id: str, revision: int, payload: str | None) -> bool: ...


async def _matching_prefix(
    client: SecretsAPI,
    read: PayloadReader,
    region: str,
    secret_id: str,
    dest_versions: Sequence[SecretVersion],
    chosen: Sequence[VersionRecord],
) -> int:
    """How many leading destination versions hold the same data as the chosen ones."""
    count = 0
    vouched = client if isinstance(client, VouchedData) else None
    for dest_v, src_v in zip(dest_versions, chosen, strict=False):
        if vouched is not None and vouched.holds(region, secret_id, dest_v.revision, src_v.payload):
            pass  # the journal says it holds this very data: nothing read, nothing compared
        elif dest_v.status == VersionStatus.DISABLED:
            # Disabled data cannot be read without changing the destination; a disabled
            # version matches a version that was disabled in the snapshot too.
            if src_v.status != VersionStatus.DISABLED:
                return count
        else:
            data = await access_data(client, region, secret_id, dest_v.revision)
            if not await _same(read, src_v, data):
                return count
        count += 1
    return count


def choose_key(
    record: SecretRecord, region: str, project_id: str, key_id: str | None
) -> str | None:
    """The Key Manager key a secret created from ``record`` at ``region``/``project_id`` gets.

    A key belongs to one project and region, so the snapshot's key follows only a restore
    into the same ones; elsewhere (or for a secret that had none) the chosen ``key_id``, else
    none (the platform's)."""
    same = region == record.region and project_id.lower() == record.project_id.lower()
    if record.key_id and same:
        return record.key_id
    return key_id


KEY_DROPPED_NOTE = (
    "its Key Manager key cannot follow to another project or region: created without one "
    "(the platform's key); choose a key for the created secrets to use one"
)
KEY_REPLACED_NOTE = (
    "its Key Manager key cannot follow to another project or region: created with the chosen key"
)


def check_key_id(key_id: str | None) -> str | None:
    """A chosen key id in its canonical form (the 8-4-4-4-12 UUID), else a usage error."""
    if key_id is None:
        return None
    text = key_id.strip()
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        parsed = None
    if parsed is None or len(text) != 36:
        raise UsageError(
            "the key id is not an id (expected the 8-4-4-4-12 form of a Key Manager key)",
            hint="copy the key's id from Key Manager",
            details={"case": "key_id"},
        )
    return str(parsed)


async def decide(
    client: SecretsAPI,
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
    action.versions, action.disable_revisions, action.duplicates = (), (), 0
    too_big = [v for v in chosen if (v.size or 0) > MAX_PAYLOAD_BYTES]
    if too_big:
        # The API refuses such data: refuse the whole secret here rather than create it
        # empty or with a history that lacks versions.
        revs = ", ".join(str(v.revision) for v in too_big)
        action.action = Action.SKIP
        action.destination_secret_id = dest.id if dest is not None else None
        action.outcome = Outcome.FAILED
        action.detail = "refused: over the API's size limit"
        action.error = (
            f"secret {record.secret_id}: revision(s) {revs} hold more than "
            f"{MAX_PAYLOAD_BYTES // 1024} KiB, which the API refuses; nothing is restored "
            "for this secret"
        )
        return
    if record.deletion_requested_at is not None and not explicit:
        action.action = Action.SKIP
        action.destination_secret_id = dest.id if dest is not None else None
        action.detail = (
            "scheduled for deletion when the snapshot was taken; select it explicitly "
            "(--secret) to restore it"
        )
    elif dest is None:
        action.action = Action.CREATE
        action.versions = tuple(to_add(v) for v in chosen)
        action.detail = f"create the secret with {len(chosen)} version(s)"
    elif dest.deletion_requested_at is not None:
        action.action = Action.RECOVER
        action.destination_secret_id = dest.id
        candidate = comparison_candidate(chosen)
        action.versions = (to_add(candidate),) if candidate is not None else ()
        action.only_if_differs = True
        action.detail = (
            "the destination secret is scheduled for deletion: recover it, then add a "
            "version if its data differs"
        )
        action.expected_latest = None  # taken at the first write (after the recovery)
    else:
        action.destination_secret_id = dest.id
        if dest.type != record.type:
            notes.append(f"the destination's type is {dest.type}, the snapshot's {record.type}")
        # Read before what the plan is decided on: a write that lands in between makes the
        # re-check before our first write see it moved.
        action.expected_latest = await latest_revision(client, action.region, dest.id)
        await _plan_existing(client, read, action, dest, chosen, mode, on_conflict)
        if action.duplicates:
            notes.append(
                f"the destination holds {action.duplicates} duplicate version(s) (consecutive "
                "identical versions of the snapshot's data)"
            )


async def find_destination(client: SecretsAPI, action: PlannedAction) -> Secret | None:
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
    client: SecretsAPI,
    store: SnapshotStore,
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
    newest_that_fit: bool = False,
    key_id: str | None = None,
) -> RestorePlan:
    """Compare the snapshot's selected secrets with the destination; change nothing.

    An action that would pass the destination's version cap is refused, or with
    ``newest_that_fit`` keeps the newest versions that fit (:mod:`core.engine.restore.cap`).
    A created secret keeps its Key Manager key in the same project and region; elsewhere it
    gets ``key_id`` (a secret without a key too), else none, and the plan says so
    (:func:`choose_key`)."""
    emit = safe_sink(on_event)
    selection = selection or Selection()
    key_id = check_key_id(key_id)
    if revision is not None:
        versions = VersionsMode.REVISION
        if revision < 1:
            raise UsageError(
                "the revision must be 1 or more",
                hint="revisions start at 1",
                remedy=Remedy.CHOOSE_REVISION,
                details={"case": "too_small"},
            )
    if versions not in (VersionsMode.ALL, VersionsMode.LATEST, VersionsMode.REVISION):
        raise UsageError(
            f"unknown versions mode {versions!r}",
            hint="use all or latest",
            remedy=Remedy.CHOOSE_VERSIONS,
            details={"value": str(versions), "choices": "all,latest"},
        )
    if versions == VersionsMode.REVISION and revision is None:
        raise UsageError(
            "a revision is needed", hint="give a revision number", remedy=Remedy.CHOOSE_REVISION
        )
    if on_conflict not in tuple(OnConflict):
        raise UsageError(
            f"unknown conflict policy {on_conflict!r}",
            hint="use skip, new-version or fail",
            remedy=Remedy.CHOOSE_CONFLICT_POLICY,
            details={
                "value": str(on_conflict),
                "choices": "skip,new-version,fail",
                "case": "unknown",
            },
        )
    if to_region is not None:
        check_region(to_region)

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
            hint="list the snapshot's secrets to see what it holds",
            remedy=Remedy.LIST_SNAPSHOT,
            details={"snapshot": snapshot_id[:8], "what": "secrets"},
        )
    if versions == VersionsMode.REVISION:
        having = [r for r in selected if r.version(int(revision or 0)) is not None]
        if not having:
            raise UsageError(
                f"no selected secret has revision {revision} in snapshot {snapshot_id[:8]}",
                hint="list the selected secrets' versions in the snapshot",
                remedy=Remedy.LIST_SNAPSHOT,
                details={"snapshot": snapshot_id[:8], "what": "versions", "case": "versions"},
            )
        selected = [
            r for r in having if (r.version(int(revision or 0)) or VersionRecord(0, "")).payload
        ]
        if not selected:
            raise UsageError(
                f"snapshot {snapshot_id[:8]} holds no data for revision {revision} of the "
                "selected secret(s): the version was disabled (or could not be read) when the "
                "snapshot was taken",
                hint="back up including disabled versions to keep their data, or choose "
                "another revision",
                remedy=Remedy.INCLUDE_DISABLED,
                details={"revision": str(revision)},
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
    # Destination secrets by target, then (path, name). A target whose listing failed
    # transiently is absent: its secrets look their destinations up one by one.
    existing: dict[tuple[str, str], dict[tuple[str, str], Secret]] = {}
    listed = await asyncio.gather(*(_dest_secrets(client, r, p) for r, p in targets))
    for target, secrets in zip(targets, listed, strict=True):
        if secrets is not None:
            existing[target] = secrets
    looked_up: dict[tuple[str, str], dict[tuple[str, str], Secret]] = {}
    from core.engine.restore.journal import journal_view

    # The destination as the restore journal knows it: what it vouches for is not read back.
    view = journal_view(client, store, read, existing)
    reader: SecretsAPI = view or client

    actions: list[PlannedAction] = []
    seen: set[tuple[str, str, str, str]] = set()
    done = 0

    async def plan_one(record: SecretRecord) -> PlannedAction:
        nonlocal done
        region = to_region or record.region
        project = to_project or record.project_id
        action = PlannedAction(
            record=record,
            action=Action.CREATE,
            region=region,
            project_id=project,
            key_id=choose_key(record, region, project, key_id),
        )
        action.key_id_dropped = bool(record.key_id) and action.key_id is None
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
        # No semaphore of its own: the client's adaptive limiter bounds the requests (and
        # backs off under throttling). A secret that cannot be planned after the client's
        # retries becomes a failed action (the second pass of apply tries again), never
        # the end of the run.
        try:
            named = (normalize_path(record.path), record.name)
            if (region, project) in existing:
                dest = existing[(region, project)].get(named)
            else:
                dest = await find_destination(client, action)
                if dest is not None:
                    looked_up.setdefault((region, project), {})[named] = dest
            await decide(
                reader,
                read,
                action,
                dest,
                chosen,
                versions,
                on_conflict,
                explicit=not selection.everything,
                notes=notes,
            )
        except (AuthenticationError, TransportError):
            raise
        except (ScalewayError, KlosetError) as err:
            action.planning_failed(err)
        if action.action == Action.CREATE and record.key_id and action.key_id != record.key_id:
            notes.append(KEY_DROPPED_NOTE if action.key_id_dropped else KEY_REPLACED_NOTE)
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
    from core.engine.restore.cap import fit_plan_to_cap

    await fit_plan_to_cap(
        client, actions, {**existing, **looked_up}, newest_that_fit=newest_that_fit
    )
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
        key_id=key_id,
        journal=view,
        newest_that_fit=newest_that_fit,
    )
