"""Restore drills: prove a snapshot restores, without touching anything that matters.

A drill restores ``sample`` secrets (their latest versions) from the newest snapshot of a
job into the policy's scratch project, reads every restored version back and compares its
CRC32 (restore's verify), then deletes every secret it created. It refuses, before writing
anything, a drill project that is backed up by a source (it would restore into production),
a region outside the source's residency, and a project that holds secrets it did not create.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from core.engine.events import Outcome
from core.engine.restore import (
    Action,
    OnConflict,
    PlannedAction,
    VersionsMode,
    apply_plan,
    plan_restore,
)
from core.errors import KlosetError
from core.scaleway.client import ScalewayClient
from core.store import Store
from core.store.model import SecretRecord, SnapshotHeader

from .clock import Clock
from .history import FAILED, OK, PARTIAL, Step
from .policies import DrillSpec, SourceSpec
from .residency import residency_violation


class DrillRefused(KlosetError):
    """The drill would write where it must not; nothing was written."""


def refusal(
    drill: DrillSpec,
    source: SourceSpec,
    sources: Sequence[SourceSpec],
    *,
    default_project: str | None = None,
) -> str | None:
    """Why this drill may not run (None when it may): the project is a source's, or the
    region is outside the source's residency."""
    for other in sources:
        if other.names_project(drill.project, default_project) and not other.excludes(
            drill.project
        ):
            return (
                f"the drill project {drill.project} is backed up by source {other.name!r}; "
                "drill into a scratch project"
            )
    reason = residency_violation(source.residency, drill.region)
    if reason is not None:
        return f"the drill region is refused: {reason}"
    return None


def _candidates(records: Sequence[SecretRecord]) -> list[SecretRecord]:
    """Records whose latest version's data the snapshot holds and a drill may restore."""
    out = []
    for r in records:
        if r.error is not None or r.deletion_requested_at is not None or r.managed:
            continue
        policy = r.ephemeral_policy or {}
        if policy.get("expires_once_accessed"):
            continue
        with_data = [v for v in r.versions if v.payload is not None]
        if not with_data:
            continue
        if max(with_data, key=lambda v: v.revision).status != "enabled":
            continue
        out.append(r)
    return out


def choose_sample(records: Sequence[SecretRecord], sample: int, seed: str) -> list[SecretRecord]:
    """A sample that changes from snapshot to snapshot (seeded by its id: reproducible)."""
    pool = sorted(_candidates(records), key=lambda r: r.secret_id)
    if len(pool) <= sample:
        return pool
    return random.Random(seed).sample(pool, sample)


async def _foreign_secrets(client: ScalewayClient, drill: DrillSpec) -> int:
    count = 0
    async for _secret in client.list_secrets(drill.region, project_id=drill.project):
        count += 1
    return count


async def run_drill(
    client: ScalewayClient,
    store: Store,
    header: SnapshotHeader | None,
    drill: DrillSpec,
    source: SourceSpec,
    sources: Sequence[SourceSpec],
    *,
    clock: Clock,
    organization_id: str | None = None,
    default_project: str | None = None,
) -> Step:
    """Run one drill; the returned step says what happened (it never raises for a failure
    of the drill itself)."""
    step = Step("drill", started_at=clock.now())
    step.details = {"project_id": drill.project, "region": drill.region, "sample": drill.sample}
    try:
        reason = refusal(drill, source, sources, default_project=default_project)
        if reason is None:
            foreign = await _foreign_secrets(client, drill)
            if foreign:
                reason = (
                    f"the drill project {drill.project} holds {foreign} secret(s) in "
                    f"{drill.region} that the drill did not create; use an empty scratch project"
                )
        if reason is not None:
            step.status = FAILED
            step.details["refused"] = True
            step.errors.append(f"drill refused: {reason}")
            return step
        if header is None:
            step.status = FAILED
            step.errors.append("no snapshot of this job to drill")
            return step
        step.details["snapshot_id"] = header.id
        records = await store.read_tree(header)
        chosen = choose_sample(records, drill.sample, header.id)
        step.details["chosen"] = len(chosen)
        if not chosen:
            step.status = FAILED
            step.errors.append(f"snapshot {header.id[:8]} holds no secret a drill can restore")
            return step
        plan = await plan_restore(
            client,
            store,
            header,
            records=chosen,
            versions=VersionsMode.LATEST,
            to_project=drill.project,
            to_region=drill.region,
            on_conflict=OnConflict.FAIL,
            organization_id=organization_id,
        )
        created: list[str] = []
        try:
            result = await apply_plan(client, store, plan, verify=True)
        finally:
            created = [a.destination_secret_id for a in plan.actions if a.destination_secret_id]
            step.details["deleted"] = await _clean_up(client, drill.region, created, step)
        verified = [a for a in plan.actions if _verified(a)]
        step.details["restored"] = sum(1 for a in plan.actions if a.outcome == Outcome.OK)
        step.details["verified"] = len(verified)
        step.details["verify_failed"] = sum(1 for a in plan.actions if a.verified is False)
        for action in plan.actions:
            if action.error:
                step.errors.append(f"secret {action.secret_id}: {action.error}")
        if result.status != "ok" or len(verified) < len(chosen):
            step.status = FAILED
            step.errors.append(
                f"{len(verified)} of {len(chosen)} sampled secret(s) restored and verified"
            )
        elif step.details["deleted"] < len(created):
            step.status = PARTIAL
        else:
            step.status = OK
    except KlosetError as err:
        step.status = FAILED
        step.errors.append(err.message)
    finally:
        step.finished_at = clock.now()
    return step


def _verified(action: PlannedAction) -> bool:
    """Restored and its bytes proven equal: read back by CRC32, or (a secret an earlier drill
    created and deleted, recovered by this one) compared with the snapshot's data."""
    if action.outcome != Outcome.OK:
        return False
    if action.verified:
        return True
    return (
        action.action == Action.RECOVER
        and action.only_if_differs
        and bool(action.versions)
        and not action.restored_revisions
    )


async def _clean_up(
    client: ScalewayClient, region: str, secret_ids: Sequence[str], step: Step
) -> int:
    deleted = 0
    for secret_id in dict.fromkeys(secret_ids):
        try:
            try:
                await client.delete_secret(region, secret_id)
            except KlosetError:
                await client.unprotect_secret(region, secret_id)  # restored as protected
                await client.delete_secret(region, secret_id)
            deleted += 1
        except KlosetError as err:
            step.errors.append(f"could not delete drill secret {secret_id}: {err.message}")
    return deleted


__all__ = ["DrillRefused", "choose_sample", "refusal", "run_drill"]
