"""The policy file's model: stores, sources (with SLA labels), policies, notifications.

Pure data and the rules that read it (matching, retention, restore window, durations); the
TOML parsing and validation that builds it is :mod:`core.engine.jobs.policies`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

import platformdirs

from core.errors import Remedy, UsageError
from core.store.ops.forget import GroupBy, RetentionDuration, RetentionPolicy

POLICIES_ENV = "SECRET_KLOSET_POLICIES"
CHECK_MODES = ("none", "structure", "read-data-subset")
KEEP_KEYS = ("last", "hourly", "daily", "weekly", "monthly", "yearly")
ALL: Literal["all"] = "all"

_DURATION = re.compile(r"^(?:(\d+)([smhd]))+$")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class PolicyFileError(UsageError):
    """The policy file is missing, unreadable or invalid (exit 2); names file, line, key."""

    def __init__(self, path: Path, line: int | None, key: str | None, problem: str) -> None:
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if key:
            where += f", key {key!r}"
        super().__init__(
            f"bad policy file {where}: {problem}",
            hint="fix the policy file (docs/OPERATIONS.md has a complete example)",
            remedy=Remedy.FIX_CONFIG_FILE,
            details={
                "file": str(path),
                "line": "" if line is None else str(line),
                "key": key or "",
            },
        )
        self.path = path
        self.line = line
        self.key = key
        self.problem = problem


def default_policy_path() -> Path:
    """``$SECRET_KLOSET_POLICIES``, else ``$XDG_CONFIG_HOME/secret-kloset/policies.toml``."""
    env = os.environ.get(POLICIES_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("secret-kloset")) / "policies.toml"


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``1h``, ``7d``, ``1h30m`` -> timedelta (ValueError otherwise)."""
    compact = text.strip().lower().replace(" ", "")
    if not _DURATION.match(compact):
        raise ValueError(f"{text!r} is not a duration (a number and s, m, h or d, e.g. 1h)")
    seconds = sum(int(n) * _UNIT[u] for n, u in _DURATION_PART.findall(compact))
    if seconds <= 0:
        raise ValueError(f"{text!r} is zero; give a positive duration")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest ``1d2h``-style spelling of a duration."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class StoreSpec:
    name: str
    location: str


@dataclass(frozen=True)
class SourceSpec:
    name: str
    profile: str | None = None
    projects: tuple[str, ...] | Literal["all"] = ()
    regions: tuple[str, ...] | Literal["all"] = ()
    environment: str | None = None
    data_class: str | None = None
    tags: tuple[str, ...] = ()
    residency: str | None = None
    exclude: tuple[str, ...] = ()

    def covers(
        self,
        project_id: str,
        region: str,
        *,
        default_project: str | None = None,
        default_region: str | None = None,
    ) -> bool:
        """True when this source backs up ``project_id`` in ``region`` (exclusions apply)."""
        if project_id in self.exclude:
            return False
        return self.names_project(project_id, default_project) and self.names_region(
            region, default_region
        )

    def names_project(self, project_id: str, default_project: str | None = None) -> bool:
        if self.projects == ALL:
            return True
        if not self.projects:
            return project_id == default_project
        return project_id in self.projects

    def names_region(self, region: str, default_region: str | None = None) -> bool:
        if self.regions == ALL:
            return True
        if not self.regions:
            return region == default_region
        return region in self.regions

    def excludes(self, project_id: str) -> bool:
        return project_id in self.exclude


@dataclass(frozen=True)
class Match:
    environment: str | None = None
    data_class: str | None = None
    tags: tuple[str, ...] = ()

    def matches(self, source: SourceSpec) -> bool:
        if self.environment is not None and source.environment != self.environment:
            return False
        if self.data_class is not None and source.data_class != self.data_class:
            return False
        return set(self.tags).issubset(source.tags)


@dataclass(frozen=True)
class DrillSpec:
    every: timedelta
    project: str
    region: str
    sample: int = 5


@dataclass(frozen=True)
class Keep:
    """The forget rules of a policy (per source): counts, and an optional ``within``."""

    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0
    within: str | None = None

    def is_empty(self) -> bool:
        return not any(
            (
                self.last,
                self.hourly,
                self.daily,
                self.weekly,
                self.monthly,
                self.yearly,
                self.within,
            )
        )

    def retention(self) -> RetentionPolicy:
        """The store's forget policy for one job's series of snapshots."""
        return RetentionPolicy(
            keep_last=self.last,
            keep_hourly=self.hourly,
            keep_daily=self.daily,
            keep_weekly=self.weekly,
            keep_monthly=self.monthly,
            keep_yearly=self.yearly,
            keep_within=RetentionDuration.parse(self.within) if self.within else None,
            group_by=GroupBy.NONE,
        )

    def window(self, every: timedelta) -> timedelta:
        """How far back one can restore once the rules are applied (the longest rule wins)."""
        spans = [
            every * max(self.last - 1, 0),
            timedelta(hours=max(self.hourly - 1, 0)),
            timedelta(days=max(self.daily - 1, 0)),
            timedelta(weeks=max(self.weekly - 1, 0)),
            timedelta(days=30 * max(self.monthly - 1, 0)),
            timedelta(days=365 * max(self.yearly - 1, 0)),
        ]
        if self.within:
            d = RetentionDuration.parse(self.within)
            spans.append(timedelta(days=365 * d.years + 30 * d.months + d.days, hours=d.hours))
        return max(spans)

    def to_json(self) -> dict[str, int | str | None]:
        out: dict[str, int | str | None] = {k: getattr(self, k) for k in KEEP_KEYS}
        out["within"] = self.within
        return out


@dataclass(frozen=True)
class PolicySpec:
    name: str
    store: str
    every: timedelta
    match: Match = field(default_factory=Match)
    keep: Keep = field(default_factory=Keep)
    check: str = "none"
    sync_to: str | None = None
    drill: DrillSpec | None = None


@dataclass(frozen=True)
class WebhookSpec:
    url: str
    secret_env: str | None = None


@dataclass(frozen=True)
class NotifySpec:
    webhook: WebhookSpec | None = None
    healthchecks: str | None = None
    metrics_file: Path | None = None


@dataclass(frozen=True)
class PolicyFile:
    path: Path
    stores: dict[str, StoreSpec]
    sources: tuple[SourceSpec, ...]
    policies: tuple[PolicySpec, ...]
    notify: NotifySpec = field(default_factory=NotifySpec)

    def policy(self, name: str) -> PolicySpec:
        for p in self.policies:
            if p.name == name:
                return p
        raise UsageError(
            f"no policy named {name!r} in {self.path}",
            hint="list the policies to see their names",
            remedy=Remedy.FIX_CONFIG_FILE,
        )

    def source(self, name: str) -> SourceSpec:
        for s in self.sources:
            if s.name == name:
                return s
        raise UsageError(
            f"no source named {name!r} in {self.path}",
            hint="list the policies to see the sources they match",
            remedy=Remedy.FIX_CONFIG_FILE,
        )

    def sources_of(self, policy: PolicySpec) -> list[SourceSpec]:
        return [s for s in self.sources if policy.match.matches(s)]

    def policies_of(self, source: SourceSpec) -> list[PolicySpec]:
        return [p for p in self.policies if p.match.matches(source)]

    def pairs(self) -> list[tuple[PolicySpec, SourceSpec]]:
        """Every job: (policy, source) for each source each policy matches, in file order."""
        return [(p, s) for p in self.policies for s in self.sources_of(p)]

    def residency_of(
        self, project_id: str, region: str, *, tags: tuple[str, ...] = ()
    ) -> str | None:
        """The residency a snapshot of ``project_id``/``region`` must keep: that of the source
        its ``source:<name>`` tag names, else of every source covering it (the first found)."""
        for tag in tags:
            if tag.startswith("source:"):
                for s in self.sources:
                    if s.name == tag[len("source:") :] and s.residency:
                        return s.residency
        for s in self.sources:
            if s.residency and s.covers(project_id, region):
                return s.residency
        return None

    def shortest_every(self) -> timedelta | None:
        return min((p.every for p in self.policies), default=None)


__all__ = [
    "ALL",
    "CHECK_MODES",
    "KEEP_KEYS",
    "NAME_RE",
    "POLICIES_ENV",
    "DrillSpec",
    "Keep",
    "Match",
    "NotifySpec",
    "PolicyFile",
    "PolicyFileError",
    "PolicySpec",
    "SourceSpec",
    "StoreSpec",
    "WebhookSpec",
    "default_policy_path",
    "format_duration",
    "parse_duration",
]
