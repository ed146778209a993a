"""The destination's version cap in a restore plan: Scaleway keeps at most 20 versions per
secret (deleted ones excepted) and refuses a 21st (403 quotas_exceeded). A restore that would
pass it must never half-apply, so the plan decides first, secret by secret:

- by default an action whose versions would not all fit is refused (a ``conflict`` with the
  reason in its ``detail``; the rest of the plan proceeds), its ``over_cap`` naming the
  revisions that would not fit;
- with ``newest_that_fit`` it keeps only the newest versions that fit (``over_cap`` names the
  older ones left out); when none fits, it is skipped.

:func:`fit_under_cap` and :func:`counts_toward_cap` are the pure rules; :func:`fit_action_to_cap`
applies them to one action (also when apply plans a secret again), :func:`fit_plan_to_cap` to
a plan's, asking the API only for destinations that might overflow.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.engine.events import Outcome
from core.engine.protocols import SecretsAPI
from core.engine.restore.model import DEFAULT_CONCURRENCY, Action, PlannedAction
from core.scaleway.errors import AuthenticationError, ScalewayError, TransportError
from core.scaleway.models import MAX_VERSIONS_PER_SECRET, Secret, VersionStatus, normalize_path

T = TypeVar("T")


def counts_toward_cap(status: str) -> bool:
    """Whether a destination version counts toward the per-secret version quota (every
    version except deleted ones, as the API and its emulator count)."""
    return str(status) != str(VersionStatus.DELETED)


@dataclass(frozen=True)
class CapFit(Generic[T]):
    """How planned versions meet the destination's cap: ``fit`` (the newest ones, in order)
    would be restored, ``over`` (the older ones) would not fit."""

    fit: tuple[T, ...]
    over: tuple[T, ...]
    room: int  # versions the destination can still take
    cap: int

    @property
    def overflows(self) -> bool:
        return bool(self.over)


def fit_under_cap(
    existing: int,
    planned: Sequence[T],
    *,
    revision: Callable[[T], int] = lambda v: int(v.revision),  # type: ignore[attr-defined]
    cap: int = MAX_VERSIONS_PER_SECRET,
) -> CapFit[T]:
    """Split ``planned`` (versions to add to a destination secret that already holds
    ``existing`` versions counting toward the cap) into the newest ones that fit and the
    older ones that would not. Pure: the caller counts and decides."""
    if existing < 0 or cap < 1:
        raise ValueError("existing must be >= 0 and cap >= 1")
    ordered = sorted(planned, key=revision)
    room = max(0, cap - existing)
    cut = max(0, len(ordered) - room)
    return CapFit(fit=tuple(ordered[cut:]), over=tuple(ordered[:cut]), room=room, cap=cap)


async def _counted(client: SecretsAPI, region: str, secret_id: str) -> int:
    count = 0
    async for v in client.list_versions(region, secret_id):
        count += counts_toward_cap(v.status)
    return count


async def fit_action_to_cap(
    client: SecretsAPI,
    action: PlannedAction,
    dest: Secret | None,
    *,
    newest_that_fit: bool = False,
    cap: int = MAX_VERSIONS_PER_SECRET,
    semaphore: asyncio.Semaphore | None = None,
) -> None:
    """Refuse (or, with ``newest_that_fit``, trim) ``action`` when its versions would pass
    the destination's cap. ``dest``: its destination as listed (its ``version_count``, every
    version, deleted ones included, bounds the count, so only a destination that might
    overflow is counted), or None (counted). Raises the client's errors."""
    action.over_cap = ()  # recomputed (a re-plan may fit what the first plan did not)
    if not action.changes or not action.versions:
        return
    existing = 0
    if action.action != Action.CREATE and action.destination_secret_id is not None:
        bound = dest.version_count if dest is not None else cap
        if bound + len(action.versions) <= cap:
            return
        async with semaphore or contextlib.nullcontext():
            existing = await _counted(client, action.region, action.destination_secret_id)
    fit = fit_under_cap(existing, action.versions, cap=cap)
    if not fit.overflows:
        return
    action.over_cap = tuple(v.revision for v in fit.over)
    revisions = ("revision " if len(fit.over) == 1 else "revisions ") + ", ".join(
        str(r) for r in action.over_cap
    )
    where = f"the destination holds {existing} of its {cap} versions"
    if not newest_that_fit:
        action.action = Action.CONFLICT
        action.outcome = Outcome.CONFLICT
        action.detail = (
            f"{where}: {len(fit.over)} version(s) would not fit ({revisions}); "
            "refused rather than half-restored (restoring only the newest that fit is "
            "the other choice)"
        )
    elif fit.fit:
        action.versions = fit.fit
        action.detail = (
            f"{action.detail}; {where}: only the newest {len(fit.fit)} fit, {revisions} left out"
        )
    else:
        action.action = Action.SKIP
        action.versions = ()
        action.detail = f"{where}: no version fits ({revisions} left out)"


async def fit_plan_to_cap(
    client: SecretsAPI,
    actions: Sequence[PlannedAction],
    destinations: Mapping[tuple[str, str], Mapping[tuple[str, str], Secret]],
    *,
    newest_that_fit: bool = False,
    cap: int = MAX_VERSIONS_PER_SECRET,
) -> None:
    """:func:`fit_action_to_cap` for every planned action. ``destinations``: the destination
    secrets the plan found, by (region, project) then (path, name). A secret whose count
    fails (after the client's retries) is a failed action, never the end of the run."""
    semaphore = asyncio.Semaphore(DEFAULT_CONCURRENCY)

    async def one(action: PlannedAction) -> None:
        listed = destinations.get((action.region, action.project_id), {})
        dest = listed.get((normalize_path(action.record.path), action.record.name))
        try:
            await fit_action_to_cap(
                client,
                action,
                dest,
                newest_that_fit=newest_that_fit,
                cap=cap,
                semaphore=semaphore,
            )
        except (AuthenticationError, TransportError):
            raise
        except ScalewayError as err:
            # Counting is planning: the second pass of apply plans it again.
            action.planning_failed(err)

    await asyncio.gather(*(one(a) for a in actions))
