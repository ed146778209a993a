"""The policy file: stores, sources (with SLA labels), policies and notifications.

``$XDG_CONFIG_HOME/secret-kloset/policies.toml`` (or any file given explicitly) is parsed and
validated completely before anything runs: a bad file raises :class:`PolicyFileError` (exit 2)
naming the file, the line and the key. docs/OPERATIONS.md has a complete example.

A policy matches a source when every label its ``match`` names (``environment``,
``data_class``) equals the source's, and the source carries every tag of ``match.tags``; a
source matched by several policies gets a job for each.
"""

from __future__ import annotations

import os
import re
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

import platformdirs

from core.errors import Remedy, UsageError
from core.scaleway.models import REGIONS
from core.store.forget import GroupBy, RetentionDuration, RetentionPolicy

from .residency import COUNTRIES

POLICIES_ENV = "SECRET_KLOSET_POLICIES"
CHECK_MODES = ("none", "structure", "read-data-subset")
KEEP_KEYS = ("last", "hourly", "daily", "weekly", "monthly", "yearly")
ALL: Literal["all"] = "all"

_DURATION = re.compile(r"^(?:(\d+)([smhd]))+$")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


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


# --------------------------------------------------------------------------- line lookup


_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*(?:\.\s*([A-Za-z0-9_\-]+))?\s*=")


class _Lines:
    """Where sections and keys are in the file's text (tomllib gives no positions)."""

    def __init__(self, text: str) -> None:
        self.headers: dict[tuple[str, int | None], int] = {}
        self.keys: dict[tuple[str, int | None, str], int] = {}
        counts: dict[str, int] = {}
        section: tuple[str, int | None] = ("", None)
        for number, line in enumerate(text.splitlines(), start=1):
            array = _ARRAY_HEADER.match(line)
            if array:
                name = array.group(1).replace(" ", "")
                index = counts.get(name, 0)
                counts[name] = index + 1
                section = (name, index)
                self.headers.setdefault(section, number)
                continue
            table = _TABLE_HEADER.match(line)
            if table:
                section = (table.group(1).replace(" ", "").replace('"', ""), None)
                self.headers.setdefault(section, number)
                continue
            key = _KEY.match(line)
            if key:
                first = key.group(1).strip('"')
                self.keys.setdefault((section[0], section[1], first), number)
                if key.group(2):
                    self.keys.setdefault(
                        (section[0], section[1], f"{first}.{key.group(2)}"), number
                    )

    def find(self, section: str, index: int | None, key: str | None) -> int | None:
        if key:
            for table in ((key, None), (key, 0)):
                if table in self.headers:
                    return self.headers[table]
            parts = key.split(".")
            for n in range(len(parts), 0, -1):
                found = self.keys.get((section, index, ".".join(parts[:n])))
                if found is not None:
                    return found
            # a sub-table such as [notify.webhook] holding the rest of the key
            for n in range(1, len(parts)):
                sub = f"{section}.{'.'.join(parts[:n])}" if section else ".".join(parts[:n])
                found = self.keys.get((sub, index, ".".join(parts[n:])))
                if found is not None:
                    return found
                found = self.headers.get((sub, index))
                if found is not None:
                    return found
        return self.headers.get((section, index))


class _Parser:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = _Lines(text)

    def fail(
        self, section: str, index: int | None, key: str | None, problem: str
    ) -> PolicyFileError:
        line = self.lines.find(section, index, key)
        label = section if index is None else f"{section}[{index}]"
        full = ".".join(x for x in (label, key) if x)
        return PolicyFileError(self.path, line, full or None, problem)

    # typed getters ----------------------------------------------------------

    def table(
        self, raw: object, section: str, index: int | None, key: str | None
    ) -> dict[str, object]:
        if not isinstance(raw, dict):
            raise self.fail(section, index, key, "must be a table")
        return raw

    def known(
        self,
        raw: dict[str, object],
        allowed: tuple[str, ...],
        section: str,
        index: int | None,
        prefix: str = "",
    ) -> None:
        for k in raw:
            if k not in allowed:
                key = f"{prefix}{k}"
                raise self.fail(
                    section, index, key, f"unknown key (expected one of {', '.join(allowed)})"
                )

    def string(
        self,
        raw: dict[str, object],
        key: str,
        section: str,
        index: int | None,
        *,
        required: bool = False,
        prefix: str = "",
    ) -> str | None:
        value = raw.get(key)
        if value is None:
            if required:
                raise self.fail(
                    section,
                    index,
                    prefix + key if prefix else None,
                    f"missing required key {prefix}{key!s}",
                )
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(section, index, prefix + key, "must be a non-empty string")
        return value.strip()

    def name(self, raw: dict[str, object], section: str, index: int | None) -> str:
        value = self.string(raw, "name", section, index, required=True)
        assert value is not None
        if not _NAME.match(value):
            raise self.fail(
                section, index, "name", "names are letters, digits, '.', '_' and '-' (64 at most)"
            )
        return value

    def strings(
        self, raw: dict[str, object], key: str, section: str, index: int | None, prefix: str = ""
    ) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(section, index, prefix + key, "must be a list of strings")
        return tuple(value)

    def uuids(
        self,
        raw: dict[str, object],
        key: str,
        section: str,
        index: int | None,
        *,
        allow_all: bool,
        prefix: str = "",
    ) -> tuple[str, ...] | Literal["all"]:
        value = raw.get(key, [])
        if allow_all and value == ALL:
            return ALL
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(
                section,
                index,
                prefix + key,
                "must be a list of project ids" + (' or "all"' if allow_all else ""),
            )
        out = []
        for v in value:
            try:
                out.append(str(uuid.UUID(v)))
            except ValueError:
                raise self.fail(
                    section, index, prefix + key, f"{v!r} is not a project id (a UUID)"
                ) from None
        return tuple(out)

    def regions(
        self, raw: dict[str, object], section: str, index: int | None
    ) -> tuple[str, ...] | Literal["all"]:
        value = raw.get("regions", [])
        if value == ALL:
            return ALL
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(section, index, "regions", 'must be a list of regions or "all"')
        for v in value:
            if v not in REGIONS:
                raise self.fail(
                    section, index, "regions", f"unknown region {v!r} (use {', '.join(REGIONS)})"
                )
        return tuple(value)

    def duration(
        self, raw: dict[str, object], key: str, section: str, index: int | None, prefix: str = ""
    ) -> timedelta:
        value = raw.get(key)
        if value is None:
            raise self.fail(section, index, None, f"missing required key {prefix}{key}")
        if not isinstance(value, str):
            raise self.fail(section, index, prefix + key, 'must be a string such as "1h"')
        try:
            return parse_duration(value)
        except ValueError as err:
            raise self.fail(section, index, prefix + key, str(err)) from None

    # sections ------------------------------------------------------------

    def store(self, name: str, raw: object) -> StoreSpec:
        section = f"stores.{name}"
        table = self.table(raw, section, None, None)
        self.known(table, ("location",), section, None)
        if not _NAME.match(name):
            raise self.fail(section, None, None, f"bad store name {name!r}")
        location = self.string(table, "location", section, None, required=True)
        assert location is not None
        return StoreSpec(name, location)

    def source(self, raw: object, index: int) -> SourceSpec:
        s = "sources"
        table = self.table(raw, s, index, None)
        self.known(
            table,
            (
                "name",
                "profile",
                "projects",
                "regions",
                "environment",
                "data_class",
                "tags",
                "residency",
                "exclude",
            ),
            s,
            index,
        )
        residency = self.string(table, "residency", s, index)
        if residency is not None:
            residency = residency.upper()
            if residency not in COUNTRIES:
                raise self.fail(
                    s,
                    index,
                    "residency",
                    f"unknown country {residency!r} (use {', '.join(sorted(COUNTRIES))})",
                )
        exclude = self.uuids(table, "exclude", s, index, allow_all=False)
        assert exclude != ALL
        return SourceSpec(
            name=self.name(table, s, index),
            profile=self.string(table, "profile", s, index),
            projects=self.uuids(table, "projects", s, index, allow_all=True),
            regions=self.regions(table, s, index),
            environment=self.string(table, "environment", s, index),
            data_class=self.string(table, "data_class", s, index),
            tags=self.strings(table, "tags", s, index),
            residency=residency,
            exclude=exclude,
        )

    def policy(self, raw: object, index: int, stores: dict[str, StoreSpec]) -> PolicySpec:
        s = "policies"
        table = self.table(raw, s, index, None)
        self.known(
            table,
            ("name", "match", "store", "every", "keep", "check", "sync_to", "drill"),
            s,
            index,
        )
        name = self.name(table, s, index)
        match = Match()
        if "match" in table:
            m = self.table(table["match"], s, index, "match")
            self.known(m, ("environment", "data_class", "tags"), s, index, "match.")
            match = Match(
                environment=self.string(m, "environment", s, index, prefix="match."),
                data_class=self.string(m, "data_class", s, index, prefix="match."),
                tags=self.strings(m, "tags", s, index, prefix="match."),
            )
        store = self.string(table, "store", s, index)
        if store is None:
            if len(stores) != 1:
                raise self.fail(s, index, None, "missing required key store")
            store = next(iter(stores))
        if store not in stores:
            raise self.fail(s, index, "store", f"no store named {store!r} under [stores]")
        sync_to = self.string(table, "sync_to", s, index)
        if sync_to is not None and sync_to not in stores:
            raise self.fail(s, index, "sync_to", f"no store named {sync_to!r} under [stores]")
        if sync_to is not None and sync_to == store:
            raise self.fail(s, index, "sync_to", "must name another store than 'store'")
        every = self.duration(table, "every", s, index)
        keep = Keep()
        if "keep" in table:
            k = self.table(table["keep"], s, index, "keep")
            self.known(k, (*KEEP_KEYS, "within"), s, index, "keep.")
            counts: dict[str, int] = {}
            for key in KEEP_KEYS:
                value = k.get(key, 0)
                if not isinstance(value, int) or isinstance(value, bool) or value < -1:
                    raise self.fail(
                        s, index, f"keep.{key}", "must be a whole number (0 off, -1 unlimited)"
                    )
                counts[key] = value
            within = self.string(k, "within", s, index, prefix="keep.")
            if within is not None:
                try:
                    RetentionDuration.parse(within)
                except (ValueError, UsageError):
                    raise self.fail(
                        s, index, "keep.within", f"{within!r} is not a duration such as 30d"
                    ) from None
            keep = Keep(within=within, **counts)
            if keep.is_empty():
                raise self.fail(s, index, "keep", "keeps nothing: give at least one rule")
        check = table.get("check", "none")
        if check not in CHECK_MODES:
            raise self.fail(s, index, "check", f"must be one of {', '.join(CHECK_MODES)}")
        drill = None
        if "drill" in table:
            d = self.table(table["drill"], s, index, "drill")
            self.known(d, ("every", "project", "region", "sample"), s, index, "drill.")
            project = self.uuids(d, "project", s, index, allow_all=False, prefix="drill.")
            if not project or project == ALL or len(project) != 1:
                raise self.fail(s, index, "drill.project", "must be one project id")
            region = self.string(d, "region", s, index, prefix="drill.", required=True)
            if region not in REGIONS:
                raise self.fail(
                    s,
                    index,
                    "drill.region",
                    f"unknown region {region!r} (use {', '.join(REGIONS)})",
                )
            sample = d.get("sample", 5)
            if not isinstance(sample, int) or isinstance(sample, bool) or sample < 1:
                raise self.fail(s, index, "drill.sample", "must be a whole number, 1 or more")
            drill = DrillSpec(
                self.duration(d, "every", s, index, "drill."), project[0], region, sample
            )
        return PolicySpec(
            name=name,
            store=store,
            every=every,
            match=match,
            keep=keep,
            check=str(check),
            sync_to=sync_to,
            drill=drill,
        )

    def notify(self, raw: object) -> NotifySpec:
        s = "notify"
        table = self.table(raw, s, None, None)
        self.known(table, ("webhook", "healthchecks", "metrics_file"), s, None)
        webhook = None
        if "webhook" in table:
            raw_hook = table["webhook"]
            if isinstance(raw_hook, str):
                raw_hook = {"url": raw_hook}
            w = self.table(raw_hook, s, None, "webhook")
            self.known(w, ("url", "secret_env"), s, None, "webhook.")
            url = self.string(w, "url", s, None, required=True, prefix="webhook.")
            assert url is not None
            if not url.startswith(("http://", "https://")):
                raise self.fail(s, None, "webhook.url", "must be an http(s) URL")
            webhook = WebhookSpec(url, self.string(w, "secret_env", s, None, prefix="webhook."))
        hc = self.string(table, "healthchecks", s, None)
        if hc is not None and not hc.startswith(("http://", "https://")):
            raise self.fail(s, None, "healthchecks", "must be an http(s) URL")
        metrics = self.string(table, "metrics_file", s, None)
        return NotifySpec(webhook, hc, Path(metrics).expanduser() if metrics else None)


def parse_policies(text: str, path: Path) -> PolicyFile:
    """Parse and validate the policy file's text; PolicyFileError names file, line, key."""
    parser = _Parser(path, text)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        found = re.search(r"line (\d+)", str(err))
        raise PolicyFileError(
            path, int(found.group(1)) if found else None, None, f"not valid TOML ({err})"
        ) from None
    parser.known(raw, ("stores", "sources", "policies", "notify"), "", None)
    stores_raw = parser.table(raw.get("stores", {}), "stores", None, None)
    stores = {name: parser.store(name, value) for name, value in stores_raw.items()}
    sources_raw = raw.get("sources", [])
    if not isinstance(sources_raw, list):
        raise parser.fail("", None, "sources", "must be an array of tables ([[sources]])")
    sources = tuple(parser.source(v, i) for i, v in enumerate(sources_raw))
    policies_raw = raw.get("policies", [])
    if not isinstance(policies_raw, list):
        raise parser.fail("", None, "policies", "must be an array of tables ([[policies]])")
    if policies_raw and not stores:
        raise parser.fail("", None, "stores", "policies need at least one [stores.NAME]")
    policies = tuple(parser.policy(v, i, stores) for i, v in enumerate(policies_raw))
    names: tuple[tuple[str, list[str]], ...] = (
        ("sources", [s.name for s in sources]),
        ("policies", [p.name for p in policies]),
    )
    for kind, listed in names:
        seen: set[str] = set()
        for i, item in enumerate(listed):
            if item in seen:
                raise parser.fail(kind, i, "name", f"duplicate name {item!r}")
            seen.add(item)
    notify = parser.notify(raw["notify"]) if "notify" in raw else NotifySpec()
    return PolicyFile(path, stores, sources, policies, notify)


def load_policies(path: Path | str | None = None) -> PolicyFile:
    """Read and validate the policy file (default: :func:`default_policy_path`)."""
    file = Path(path).expanduser() if path else default_policy_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyFileError(file, None, None, "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PolicyFileError(file, None, None, f"cannot be read ({type(err).__name__})") from None
    return parse_policies(text, file)


__all__ = [
    "ALL",
    "CHECK_MODES",
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
    "load_policies",
    "parse_duration",
    "parse_policies",
]
