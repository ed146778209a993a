"""The policy file: stores, sources (with SLA labels), policies and notifications.

``$XDG_CONFIG_HOME/secret-kloset/policies.toml`` (or any file given explicitly) is parsed and
validated completely before anything runs: a bad file raises :class:`PolicyFileError` (exit 2)
naming the file, the line and the key. docs/OPERATIONS.md has a complete example.

A policy matches a source when every label its ``match`` names (``environment``,
``data_class``) equals the source's, and the source carries every tag of ``match.tags``; a
source matched by several policies gets a job for each.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Literal

from core.errors import UsageError
from core.scaleway.models import REGIONS
from core.store.ops.forget import RetentionDuration

from .policy_model import (
    ALL,
    CHECK_MODES,
    KEEP_KEYS,
    NAME_RE,
    DrillSpec,
    Keep,
    Match,
    NotifySpec,
    PolicyFile,
    PolicyFileError,
    PolicySpec,
    SourceSpec,
    StoreSpec,
    WebhookSpec,
    default_policy_path,
    format_duration,
    parse_duration,
)
from .residency import COUNTRIES

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
                name = table.group(1).replace(" ", "").replace('"', "")
                owner = name.split(".", 1)[0]
                # [policies.drill] belongs to the latest [[policies]]
                section = (name, counts[owner] - 1 if owner in counts else None)
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
        if not NAME_RE.match(value):
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
        if not NAME_RE.match(name):
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
