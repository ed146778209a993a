"""Retention: which snapshots ``forget`` keeps, which it removes, and why.

The rules follow restic's ``forget`` so that they read the way users expect:

- snapshots are grouped (by source region and project by default, by SLA environment, or
  not at all) and each group is judged on its own, newest first;
- ``keep_last N`` keeps the N newest snapshots;
- ``keep_hourly/daily/weekly/monthly/yearly N`` keep the newest snapshot of each of the last N
  hours/days/ISO weeks/months/years that have a snapshot (buckets in UTC);
- ``keep_within D`` keeps every snapshot taken within D of the group's newest snapshot
  (relative to the newest snapshot, not to the clock, so a stalled backup job never lets
  ``forget`` empty a group);
- ``keep_tags`` keeps every snapshot that has all the tags of any one entry;
- a count of ``-1`` means "unlimited" (every hour/day/... that has a snapshot);
- pinned snapshots are always kept.

Each rule is applied independently: a snapshot can be kept by several rules, and the result
names all of them. A policy that keeps nothing, or that would remove every snapshot of a group
(or of the store), is refused unless ``allow_empty`` is set.

This module is pure logic over snapshot headers; :func:`forget` applies a decision to a store.
"""

from __future__ import annotations

import calendar
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from core.errors import Remedy, UsageError

if TYPE_CHECKING:
    from core.store.locks import LockHandle
    from core.store.model import SnapshotHeader
    from core.store.ops.prune import PruneReport
    from core.store.repository import Store

UNLIMITED = -1


class GroupBy(StrEnum):
    PROJECT = "project"  # source provider, region and project id
    ENVIRONMENT = "environment"  # SLA environment
    NONE = "none"  # one group for the whole store


class RetentionRefused(UsageError):
    """The policy would remove every snapshot of the store or of a group."""


# --------------------------------------------------------------------------- durations

_DURATION_PART = re.compile(r"(\d+)([ymwdh])")


@dataclass(frozen=True, slots=True)
class RetentionDuration:
    """A calendar duration such as ``1y6m``, ``2w``, ``36h`` (m = months, as in restic)."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0

    @classmethod
    def parse(cls, text: str) -> RetentionDuration:
        """Parse ``7d``, ``2w``, ``1y``, ``36h``, ``1y2m3d4h`` (units y, m, w, d, h)."""
        compact = text.strip().lower().replace(" ", "")
        if not compact:
            raise UsageError("empty duration", hint="use a duration such as 7d, 2w, 6m, 1y or 36h")
        pos = 0
        years = months = days = hours = 0
        seen: set[str] = set()
        for match in _DURATION_PART.finditer(compact):
            if match.start() != pos:
                break
            number, unit = int(match.group(1)), match.group(2)
            if unit in seen:
                raise UsageError(
                    f"duration {text!r} repeats the unit {unit!r}",
                    hint="use each unit once, e.g. 1y2m3d4h",
                )
            seen.add(unit)
            if unit == "y":
                years += number
            elif unit == "m":
                months += number
            elif unit == "w":
                days += 7 * number
            elif unit == "d":
                days += number
            else:
                hours += number
            pos = match.end()
        if pos != len(compact):
            raise UsageError(
                f"cannot read the duration {text!r}",
                hint="use a number and a unit: y (years), m (months), w, d, h; e.g. 7d, 2w, 1y6m, 36h",
            )
        return cls(years=years, months=months, days=days, hours=hours)

    def is_zero(self) -> bool:
        return not (self.years or self.months or self.days or self.hours)

    def before(self, moment: datetime) -> datetime:
        """``moment`` minus this duration (calendar years/months, clamped to month end)."""
        total_months = moment.year * 12 + (moment.month - 1) - (self.years * 12 + self.months)
        year, month = divmod(total_months, 12)
        month += 1
        if year < 1:
            return datetime.min.replace(tzinfo=moment.tzinfo)
        day = min(moment.day, calendar.monthrange(year, month)[1])
        shifted = moment.replace(year=year, month=month, day=day)
        try:
            return shifted - timedelta(days=self.days, hours=self.hours)
        except OverflowError:
            return datetime.min.replace(tzinfo=moment.tzinfo)

    def __str__(self) -> str:
        parts = [
            f"{value}{unit}"
            for value, unit in (
                (self.years, "y"),
                (self.months, "m"),
                (self.days, "d"),
                (self.hours, "h"),
            )
            if value
        ]
        return "".join(parts) or "0h"


# --------------------------------------------------------------------------- policy


def parse_keep_tags(values: Iterable[str]) -> tuple[frozenset[str], ...]:
    """``["a,b", "c"]`` -> keep snapshots having both a and b, or having c."""
    out: list[frozenset[str]] = []
    for value in values:
        tags = frozenset(t.strip() for t in value.split(",") if t.strip())
        if not tags:
            raise UsageError(
                "empty keep-tag value",
                hint="give a tag, or tags joined by commas",
                details={"rule": "keep-tag"},
            )
        out.append(tags)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    keep_last: int = 0
    keep_hourly: int = 0
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0
    keep_within: RetentionDuration | None = None
    keep_tags: tuple[frozenset[str], ...] = ()
    group_by: GroupBy = GroupBy.PROJECT
    allow_empty: bool = False

    def __post_init__(self) -> None:
        for name, value in self.counts():
            if value < UNLIMITED:
                raise UsageError(
                    f"keep-{name} must be a positive number, 0 (off) or -1 (unlimited)",
                    hint=f"got {value}",
                    details={"rule": f"keep-{name}"},
                )
        object.__setattr__(self, "group_by", GroupBy(self.group_by))

    def counts(self) -> list[tuple[str, int]]:
        return [
            ("last", self.keep_last),
            ("hourly", self.keep_hourly),
            ("daily", self.keep_daily),
            ("weekly", self.keep_weekly),
            ("monthly", self.keep_monthly),
            ("yearly", self.keep_yearly),
        ]

    def is_empty(self) -> bool:
        """True when no rule keeps anything (pinned snapshots aside)."""
        return (
            all(value == 0 for _, value in self.counts())
            and (self.keep_within is None or self.keep_within.is_zero())
            and not self.keep_tags
        )

    def describe(self) -> list[str]:
        out = [
            f"keep {'all' if value == UNLIMITED else value} {name}"
            for name, value in self.counts()
            if value
        ]
        if self.keep_within is not None and not self.keep_within.is_zero():
            out.append(f"keep within {self.keep_within}")
        for tags in self.keep_tags:
            out.append("keep tag " + ",".join(sorted(tags)))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "keep_last": self.keep_last,
            "keep_hourly": self.keep_hourly,
            "keep_daily": self.keep_daily,
            "keep_weekly": self.keep_weekly,
            "keep_monthly": self.keep_monthly,
            "keep_yearly": self.keep_yearly,
            "keep_within": None if self.keep_within is None else str(self.keep_within),
            "keep_tags": [sorted(t) for t in self.keep_tags],
            "group_by": str(self.group_by),
            "allow_empty": self.allow_empty,
        }


# --------------------------------------------------------------------------- header access


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def snapshot_time(header: SnapshotHeader) -> datetime:
    return _utc(header.time)


def snapshot_tags(header: SnapshotHeader) -> frozenset[str]:
    return frozenset(getattr(header, "tags", ()) or ())


def snapshot_pinned(header: SnapshotHeader) -> bool:
    return bool(getattr(header, "pinned", False))


def _sources(header: SnapshotHeader) -> list[tuple[str, str, str]]:
    return sorted(
        {
            (
                str(getattr(s, "provider", "") or ""),
                str(getattr(s, "region", "") or ""),
                str(getattr(s, "project_id", "") or ""),
            )
            for s in (getattr(header, "sources", ()) or ())
        }
    )


def group_key(header: SnapshotHeader, group_by: GroupBy) -> tuple[str, ...]:
    """The group a snapshot belongs to: its sources' provider/region/project, or environment."""
    if group_by == GroupBy.NONE:
        return ()
    if group_by == GroupBy.ENVIRONMENT:
        return (str(getattr(header, "environment", "") or ""),)
    sources = _sources(header)
    return (
        ",".join(p for p, _, _ in sources),
        ",".join(r for _, r, _ in sources),
        ",".join(i for _, _, i in sources),
    )


def group_label(key: tuple[str, ...], group_by: GroupBy) -> dict[str, str]:
    if group_by == GroupBy.NONE:
        return {}
    if group_by == GroupBy.ENVIRONMENT:
        return {"environment": key[0]}
    return {"provider": key[0], "region": key[1], "project_id": key[2]}


# --------------------------------------------------------------------------- decision


@dataclass(frozen=True, slots=True)
class ForgetDecision:
    snapshot: SnapshotHeader
    keep: bool
    reasons: tuple[str, ...]
    group: tuple[str, ...]

    @property
    def snapshot_id(self) -> str:
        return str(self.snapshot.id)


@dataclass(slots=True)
class ForgetGroup:
    key: tuple[str, ...]
    label: dict[str, str]
    decisions: list[ForgetDecision] = field(default_factory=list)

    @property
    def kept(self) -> list[ForgetDecision]:
        return [d for d in self.decisions if d.keep]

    @property
    def removed(self) -> list[ForgetDecision]:
        return [d for d in self.decisions if not d.keep]


@dataclass(slots=True)
class ForgetResult:
    policy: RetentionPolicy
    groups: list[ForgetGroup]
    dry_run: bool = True
    removed_done: list[str] = field(default_factory=list)  # ids actually removed
    prune: PruneReport | None = None  # when forget --prune ran

    @property
    def decisions(self) -> list[ForgetDecision]:
        return [d for g in self.groups for d in g.decisions]

    @property
    def kept(self) -> list[ForgetDecision]:
        return [d for d in self.decisions if d.keep]

    @property
    def removed(self) -> list[ForgetDecision]:
        return [d for d in self.decisions if not d.keep]

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "dry_run": self.dry_run,
            "policy": self.policy.to_json(),
            "groups": [
                {
                    "group": g.label,
                    "keep": [
                        {
                            "id": d.snapshot_id,
                            "time": _iso(snapshot_time(d.snapshot)),
                            "reasons": list(d.reasons),
                        }
                        for d in g.kept
                    ],
                    "remove": [
                        {"id": d.snapshot_id, "time": _iso(snapshot_time(d.snapshot))}
                        for d in g.removed
                    ],
                }
                for g in self.groups
            ],
            "kept": len(self.kept),
            "removed": len(self.removed),
            "keep_ids": [d.snapshot_id for d in self.kept],
            "remove_ids": [d.snapshot_id for d in self.removed],  # decided (dry run or not)
            "removed_ids": list(self.removed_done),  # actually removed
        }
        if self.prune is not None:
            to_json = getattr(self.prune, "to_json", None)
            doc["prune"] = to_json() if callable(to_json) else None
        return doc


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_BUCKETS: dict[str, Callable[[datetime], Hashable]] = {
    "hourly": lambda t: (t.year, t.month, t.day, t.hour),
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: t.isocalendar()[:2],
    "monthly": lambda t: (t.year, t.month),
    "yearly": lambda t: t.year,
}


def _judge_group(
    headers: Sequence[SnapshotHeader], policy: RetentionPolicy
) -> list[tuple[SnapshotHeader, bool, tuple[str, ...]]]:
    """Decide one group; ``headers`` newest first."""
    remaining = {name: value for name, value in policy.counts()}
    last_bucket: dict[str, Hashable] = {}
    newest = snapshot_time(headers[0]) if headers else None
    within_cut = (
        policy.keep_within.before(newest)
        if newest is not None
        and policy.keep_within is not None
        and not policy.keep_within.is_zero()
        else None
    )
    out: list[tuple[SnapshotHeader, bool, tuple[str, ...]]] = []
    for index, header in enumerate(headers):
        moment = snapshot_time(header)
        reasons: list[str] = []
        if snapshot_pinned(header):
            reasons.append("pinned")
        if remaining["last"] != 0:
            reasons.append("last snapshot")
            if remaining["last"] > 0:
                remaining["last"] -= 1
        for name, bucket_of in _BUCKETS.items():
            if remaining[name] == 0:
                continue
            bucket = bucket_of(moment)
            if name in last_bucket and last_bucket[name] == bucket:
                continue
            last_bucket[name] = bucket
            reasons.append(f"{name} snapshot")
            if remaining[name] > 0:
                remaining[name] -= 1
        if within_cut is not None and moment >= within_cut:
            reasons.append(f"within {policy.keep_within} of the newest")
        tags = snapshot_tags(header)
        for wanted in policy.keep_tags:
            if wanted <= tags:
                reasons.append("tag " + ",".join(sorted(wanted)))
        del index
        out.append((header, bool(reasons), tuple(reasons)))
    return out


def apply_policy(headers: Iterable[SnapshotHeader], policy: RetentionPolicy) -> ForgetResult:
    """Decide, for every snapshot, keep or remove and why. Pure; raises RetentionRefused."""
    groups: dict[tuple[str, ...], list[SnapshotHeader]] = {}
    for header in headers:
        groups.setdefault(group_key(header, policy.group_by), []).append(header)
    if policy.is_empty() and groups and not policy.allow_empty:
        raise RetentionRefused(
            "no retention rule given: forget would remove every snapshot that is not pinned",
            hint="give at least one keep rule, or allow removing every snapshot explicitly",
            remedy=Remedy.WIDEN_RETENTION,
            details={"case": "no_rule"},
        )
    result_groups: list[ForgetGroup] = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda h: (snapshot_time(h), str(h.id)), reverse=True)
        group = ForgetGroup(key=key, label=group_label(key, policy.group_by))
        for header, keep, reasons in _judge_group(members, policy):
            group.decisions.append(ForgetDecision(header, keep, reasons, key))
        if not group.kept and not policy.allow_empty:
            # ids only in messages: an environment name stays out of them (it is encrypted
            # in the store), its snapshots' short ids say which group it is
            if policy.group_by == GroupBy.PROJECT:
                where = f"region {key[1] or '(none)'}, project {key[2] or '(none)'}"
            elif policy.group_by == GroupBy.ENVIRONMENT:
                shown = ", ".join(str(h.id)[:8] for h in members[:5])
                where = (
                    f"the environment of snapshot(s) {shown}{', ...' if len(members) > 5 else ''}"
                )
            else:
                where = "the store"
            raise RetentionRefused(
                f"the policy would remove all {len(members)} snapshot(s) of the group ({where})",
                hint=(
                    "widen the policy (e.g. keep the last 1), group the snapshots differently, "
                    "or allow removing them all explicitly"
                ),
                remedy=Remedy.WIDEN_RETENTION,
                details={"case": "empty_group"},
            )
        result_groups.append(group)
    return ForgetResult(policy=policy, groups=result_groups)


# --------------------------------------------------------------------------- store side


async def forget(
    store: Store,
    policy: RetentionPolicy,
    *,
    dry_run: bool = True,
    snapshot_filter: Callable[[SnapshotHeader], bool] | None = None,
    lock_wait: float = 0.0,
) -> ForgetResult:
    """Apply ``policy`` to the snapshots of ``store``; remove the losers unless ``dry_run``.

    ``snapshot_filter`` restricts the candidates (e.g. to one project): snapshots it rejects
    are neither judged nor removed. Data is only reclaimed by a later prune. Removing takes
    the store's exclusive lock (confirmed right before the first deletion).
    """
    async with _exclusive(store, dry_run, lock_wait) as handle:
        headers = list(await store.list_snapshots())
        if snapshot_filter is not None:
            headers = [h for h in headers if snapshot_filter(h)]
        result = apply_policy(headers, policy)
        result.dry_run = dry_run
        if dry_run or not result.removed:
            return result
        ids = [d.snapshot_id for d in result.removed]
        await _delete(store, handle, ids)
        result.removed_done = ids
        return result


async def forget_ids(
    store: Store, refs: Sequence[str], *, dry_run: bool = True, lock_wait: float = 0.0
) -> ForgetResult:
    """Remove exactly the snapshots ``refs`` (ids or unique prefixes); pinned ones are refused."""
    async with _exclusive(store, dry_run, lock_wait) as handle:
        chosen: dict[str, SnapshotHeader] = {}
        for ref in refs:
            header = await store.resolve_snapshot(ref)
            chosen[str(header.id)] = header
        pinned = [h for h in chosen.values() if snapshot_pinned(h)]
        if pinned:
            raise UsageError(
                f"snapshot {pinned[0].id[:8]} is pinned; forget keeps pinned snapshots",
                hint="unpin it first if you really want to remove it",
            )
        policy = RetentionPolicy(group_by=GroupBy.NONE, allow_empty=True)
        group = ForgetGroup(key=(), label={})
        for header in sorted(
            chosen.values(), key=lambda h: (snapshot_time(h), str(h.id)), reverse=True
        ):
            group.decisions.append(ForgetDecision(header, False, (), ()))
        result = ForgetResult(
            policy=policy, groups=[group] if group.decisions else [], dry_run=dry_run
        )
        if not dry_run and chosen:
            ids = list(chosen)
            await _delete(store, handle, ids)
            result.removed_done = ids
        return result


@contextlib.asynccontextmanager
async def _exclusive(
    store: Store, dry_run: bool, lock_wait: float
) -> AsyncIterator[LockHandle | None]:
    """The exclusive lock for a forget that removes (none for a dry run)."""
    if dry_run:
        yield None
        return
    handle = await store.lock(exclusive=True, wait=lock_wait, purpose="forget")
    try:
        yield handle
    finally:
        await handle.release()


async def _delete(store: Store, handle: LockHandle | None, ids: list[str]) -> None:
    if handle is not None:
        await handle.confirm()  # a forget whose lock was taken away removes nothing
    await store.delete_snapshots(ids)


__all__ = [
    "UNLIMITED",
    "ForgetDecision",
    "ForgetGroup",
    "ForgetResult",
    "GroupBy",
    "RetentionDuration",
    "RetentionPolicy",
    "RetentionRefused",
    "apply_policy",
    "forget",
    "forget_ids",
    "group_key",
    "group_label",
    "parse_keep_tags",
    "snapshot_pinned",
    "snapshot_tags",
    "snapshot_time",
]
