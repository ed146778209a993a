"""Every version ever seen: history across snapshots, ``find`` and the point-in-time resolvers.

- :func:`secret_history`: the secrets a selector matches (under any path/name they had in any
  snapshot; followed by id across renames and moves), each with one row per distinct version
  (secret id, revision, creation date): the snapshots that hold it and whether the source
  still has it. "The source" is the newest snapshot of the secret's project and region: the
  API is not asked (history works offline and costs no request).
- :func:`find_snapshots`: the snapshots holding secrets whose path or name *in that snapshot*
  matches, oldest first, with the oldest and the newest named first.
- :func:`parse_when`, :func:`resolve_at`: ``restore --at TIME``.
- :func:`find_revision`: ``restore --secret S --revision N`` without a snapshot.

All of it reads the history index (:mod:`core.store.history_index`), refreshed first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.engine.selectors import Selection
from core.errors import KlosetError, Remedy, UsageError
from core.scaleway.models import VersionStatus, join_path, parse_time
from core.store.history_catalog import (
    HistoryCatalog,
    HistoryStore,
    IndexedName,
    IndexedRecord,
    IndexedVersion,
)
from core.store.history_index import HistoryIndex, history_index
from core.store.model import SecretRecord, SnapshotHeader
from core.store.ops.forget import RetentionDuration

# A version is still "in the source" when the newest snapshot lists it with one of these.
_LIVE = frozenset({str(VersionStatus.ENABLED), str(VersionStatus.DISABLED)})


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class VersionHistory:
    """One distinct version of a secret across every snapshot that holds it."""

    revision: int
    created_at: str | None
    status: str  # in the newest snapshot holding it
    size: int | None
    crc32: int | None
    has_data: bool  # some snapshot holds its data
    snapshots: tuple[str, ...]  # ids, oldest first
    data_snapshots: tuple[str, ...]  # those that hold its data, oldest first
    in_source: bool

    @property
    def first_snapshot(self) -> str:
        return self.snapshots[0]

    @property
    def last_snapshot(self) -> str:
        return self.snapshots[-1]

    def to_json(self, headers: dict[str, SnapshotHeader]) -> dict[str, object]:
        return {
            "revision": self.revision,
            "created_at": self.created_at,
            "status": self.status,
            "size": self.size,
            "crc32": self.crc32,
            "has_data": self.has_data,
            "first_snapshot": self.first_snapshot,
            "last_snapshot": self.last_snapshot,
            "first_seen": _time(headers, self.first_snapshot),
            "last_seen": _time(headers, self.last_snapshot),
            "snapshots": list(self.snapshots),
            "in_source": self.in_source,
        }


@dataclass(frozen=True)
class SecretHistory:
    """A secret followed by id through every snapshot. ``path``/``name`` are its newest ones."""

    secret_id: str
    region: str
    project_id: str
    path: str = field(repr=False)
    name: str = field(repr=False)
    names_seen: tuple[str, ...] = field(repr=False)  # full paths, in order of first appearance
    snapshots: tuple[str, ...] = ()
    in_source: bool = False
    versions: tuple[VersionHistory, ...] = ()

    @property
    def full_path(self) -> str:
        return join_path(self.path, self.name)

    def to_json(self, headers: dict[str, SnapshotHeader]) -> dict[str, object]:
        return {
            "id": self.secret_id,
            "region": self.region,
            "project_id": self.project_id,
            "path": self.path,
            "name": self.name,
            "full_path": self.full_path,
            "names_seen": list(self.names_seen),
            "first_snapshot": self.snapshots[0] if self.snapshots else None,
            "last_snapshot": self.snapshots[-1] if self.snapshots else None,
            "in_source": self.in_source,
            "versions": [v.to_json(headers) for v in self.versions],
        }


@dataclass(frozen=True)
class HistoryResult:
    secrets: tuple[SecretHistory, ...]
    headers: dict[str, SnapshotHeader] = field(repr=False)

    def to_json(self) -> dict[str, object]:
        return {
            "snapshots": len(self.headers),
            "secrets": [s.to_json(self.headers) for s in self.secrets],
        }


@dataclass(frozen=True)
class FoundSecret:
    """A matching secret in one snapshot, under the path and name it had there."""

    secret_id: str
    region: str
    project_id: str
    path: str = field(repr=False)
    name: str = field(repr=False)
    revisions: tuple[int, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.secret_id,
            "region": self.region,
            "project_id": self.project_id,
            "path": self.path,
            "name": self.name,
            "full_path": join_path(self.path, self.name),
            "revisions": list(self.revisions),
        }


@dataclass(frozen=True)
class FindResult:
    """Snapshots holding matching secrets, oldest first."""

    snapshots: tuple[tuple[SnapshotHeader, tuple[FoundSecret, ...]], ...]

    @property
    def oldest(self) -> SnapshotHeader | None:
        return self.snapshots[0][0] if self.snapshots else None

    @property
    def newest(self) -> SnapshotHeader | None:
        return self.snapshots[-1][0] if self.snapshots else None

    def to_json(self) -> dict[str, object]:
        def brief(h: SnapshotHeader | None) -> dict[str, object] | None:
            if h is None:
                return None
            return {
                "id": h.id,
                "short_id": h.short_id,
                "time": _fmt(h.time),
                "sources": [{"region": s.region, "project_id": s.project_id} for s in h.sources],
            }

        return {
            "oldest": brief(self.oldest),
            "newest": brief(self.newest),
            "count": len(self.snapshots),
            "snapshots": [
                {**(brief(h) or {}), "secrets": [f.to_json() for f in found]}
                for h, found in self.snapshots
            ],
        }


def _fmt(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(headers: dict[str, SnapshotHeader], snapshot_id: str) -> str | None:
    h = headers.get(snapshot_id)
    return _fmt(h.time) if h is not None else None


# --------------------------------------------------------------------------- queries


async def _catalog(store: HistoryStore) -> tuple[HistoryCatalog, HistoryIndex]:
    index = history_index(store)
    return await index.up_to_date(store), index


def _in_scope(catalog: HistoryCatalog, sec: int, project: str | None, region: str | None) -> bool:
    s = catalog.secrets[sec]
    return (project is None or s.project_id == project) and (region is None or s.region == region)


_GLOB = frozenset("*?[")


def _candidates(catalog: HistoryCatalog, selection: Selection) -> Iterable[IndexedName]:
    """The names that may match ``selection`` (a superset; ``Selection.matches`` decides).

    Spares testing every name: an id selector names one secret, a literal name one entry, a
    path selector the names under its literal part (a path glob only matches full paths
    that start with what precedes its first wildcard, cut at the last ``/``)."""
    lookup = catalog.lookup
    if selection.everything:
        return lookup.names.values()
    found: dict[int, IndexedName] = {}
    for sel in selection.selectors:
        pattern = sel.pattern
        if sel.kind == "id":
            sec = lookup.by_secret_id.get(pattern)
            nids = lookup.by_sec.get(sec, []) if sec is not None else []
            found.update((n, lookup.names[n]) for n in nids)
        elif sel.kind == "name" and not _GLOB.intersection(pattern):
            found.update((n, lookup.names[n]) for n in lookup.by_name.get(pattern, ()))
        elif sel.kind == "path":
            cut = min((pattern.find(c) for c in _GLOB if c in pattern), default=-1)
            prefix = pattern if cut < 0 else pattern[: pattern.rfind("/", 0, cut)]
            found.update((n.nid, n) for n in lookup.with_prefix(prefix))
        else:
            return lookup.names.values()
    return found.values()


def _matching(
    catalog: HistoryCatalog, selection: Selection, project: str | None, region: str | None
) -> list[IndexedName]:
    return [
        n
        for n in _candidates(catalog, selection)
        if _in_scope(catalog, n.sec, project, region)
        and selection.matches(n.path, n.name, catalog.secrets[n.sec].secret_id)
    ]


async def secret_history(
    store: HistoryStore,
    selection: Selection,
    *,
    project: str | None = None,
    region: str | None = None,
) -> HistoryResult:
    """Every version of the secrets ``selection`` matches under any name they ever had."""
    result, _records = await _history(store, selection, project, region)
    return result


async def _history(
    store: HistoryStore, selection: Selection, project: str | None, region: str | None
) -> tuple[HistoryResult, dict[str, list[IndexedRecord]]]:
    """The history, and the indexed records of each secret (by secret id)."""
    catalog, index = await _catalog(store)
    secs = {n.sec for n in _matching(catalog, selection, project, region)}
    records, versions = await index.records(catalog, secs)
    order = {
        sid: i for i, sid in enumerate(sorted(catalog.headers, key=lambda s: _key(catalog, s)))
    }
    by_sec: dict[int, list[IndexedRecord]] = {}
    for r in records:
        if r.snapshots:  # records only in forgotten snapshots are history no more
            by_sec.setdefault(r.sec, []).append(r)
    out = []
    for sec, recs in by_sec.items():
        out.append(_secret_history(catalog, sec, recs, versions, order))
    out.sort(key=lambda s: (s.region, s.project_id, s.path, s.name, s.secret_id))
    by_id = {catalog.secrets[sec].secret_id: recs for sec, recs in by_sec.items()}
    return HistoryResult(tuple(out), catalog.headers), by_id


def _key(catalog: HistoryCatalog, snapshot_id: str) -> tuple[datetime, str]:
    return (catalog.headers[snapshot_id].time, snapshot_id)


@dataclass
class _Row:
    """One distinct version while it is gathered from its records' states."""

    state: IndexedVersion  # the state in the newest snapshot holding it
    state_at: int
    snaps: set[str] = field(default_factory=set)
    data: set[str] = field(default_factory=set)  # snapshots holding its data
    data_state: IndexedVersion | None = None
    data_at: int = -1


def _secret_history(
    catalog: HistoryCatalog,
    sec: int,
    recs: list[IndexedRecord],
    versions: dict[int, IndexedVersion],
    order: dict[str, int],
) -> SecretHistory:
    secret = catalog.secrets[sec]
    newest_source = catalog.newest_of(secret.region, secret.project_id)
    recs.sort(key=lambda r: order[r.snapshots[0]])
    names_seen: list[str] = []
    held: set[str] = set()
    for r in recs:
        n = catalog.names[r.nid]
        full = n.full_path
        if full not in names_seen:
            names_seen.append(full)
        held.update(r.snapshots)
    newest_rec = max(recs, key=lambda r: order[r.snapshots[-1]])
    newest_name = catalog.names[newest_rec.nid]
    # one row per (revision, created_at): its states across snapshots
    rows: dict[tuple[int, str | None], _Row] = {}
    for r in recs:
        last = order[r.snapshots[-1]]
        for vs in r.vstates:
            v = versions[vs]
            row = rows.get((v.revision, v.created_at))
            if row is None:
                row = rows[(v.revision, v.created_at)] = _Row(v, last)
            row.snaps.update(r.snapshots)
            if v.has_data:
                row.data.update(r.snapshots)
                if row.data_state is None or last > row.data_at:
                    row.data_state, row.data_at = v, last
            if last > row.state_at:
                row.state, row.state_at = v, last
    in_newest = newest_source is not None and newest_source in held
    newest_states: dict[tuple[int, str | None], str] = {}
    if in_newest:
        for r in recs:
            if newest_source in r.snapshots:
                for vs in r.vstates:
                    v = versions[vs]
                    newest_states[(v.revision, v.created_at)] = v.status
    out = []
    for (revision, created), row in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        sized = row.data_state or row.state  # size and CRC: from the newest state with data
        out.append(
            VersionHistory(
                revision=revision,
                created_at=created,
                status=row.state.status,
                size=sized.size,
                crc32=sized.crc32,
                has_data=bool(row.data),
                snapshots=tuple(sorted(row.snaps, key=order.__getitem__)),
                data_snapshots=tuple(sorted(row.data, key=order.__getitem__)),
                in_source=newest_states.get((revision, created)) in _LIVE,
            )
        )
    return SecretHistory(
        secret_id=secret.secret_id,
        region=secret.region,
        project_id=secret.project_id,
        path=newest_name.path,
        name=newest_name.name,
        names_seen=tuple(names_seen),
        snapshots=tuple(sorted(held, key=order.__getitem__)),
        in_source=in_newest,
        versions=tuple(out),
    )


async def find_snapshots(
    store: HistoryStore,
    selection: Selection,
    *,
    project: str | None = None,
    region: str | None = None,
) -> FindResult:
    """The snapshots holding a secret whose path or name in that snapshot matches."""
    catalog, index = await _catalog(store)
    nids = {n.nid for n in _matching(catalog, selection, project, region)}
    records, versions = await index.records(catalog, {catalog.names[n].sec for n in nids})
    per_snapshot: dict[str, list[FoundSecret]] = {}
    for r in records:
        if r.nid not in nids:
            continue
        s = catalog.secrets[r.sec]
        n = catalog.names[r.nid]
        found = FoundSecret(
            s.secret_id,
            s.region,
            s.project_id,
            n.path,
            n.name,
            tuple(sorted(versions[vs].revision for vs in r.vstates)),
        )
        for sid in r.snapshots:
            per_snapshot.setdefault(sid, []).append(found)
    ordered = sorted(per_snapshot, key=lambda sid: _key(catalog, sid))
    return FindResult(
        tuple(
            (
                catalog.headers[sid],
                tuple(
                    sorted(
                        per_snapshot[sid], key=lambda f: (f.region, f.project_id, f.path, f.name)
                    )
                ),
            )
            for sid in ordered
        )
    )


# --------------------------------------------------------------------------- restore resolvers


_WHEN_HINT = "give an RFC 3339 time (2026-03-01T12:00:00Z) or an age such as 2d, 3h, 1w, 6m, 1y"


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """``--at``: an RFC 3339 time (UTC when it has no offset) or an age before now
    (``2d``, ``3h``, ``1w``, ``6m``: months, ``1y``, as ``forget --keep-within``)."""
    raw = (text or "").strip()
    if not raw:
        raise UsageError("the time is empty", hint=_WHEN_HINT)
    if raw[0].isdigit() and any(c in raw for c in "-:T"):
        try:
            parsed = parse_time(raw)
        except ValueError:
            raise UsageError("cannot read the time", hint=_WHEN_HINT) from None
        assert parsed is not None
        return parsed
    try:
        age = RetentionDuration.parse(raw)
    except UsageError:
        raise UsageError("cannot read the time", hint=_WHEN_HINT) from None
    return age.before(now or datetime.now(UTC))


class NoSnapshotAtError(KlosetError):
    """No snapshot of the chosen project/region was taken at or before the asked time."""

    exit_code = UsageError.exit_code

    def __init__(self, when: datetime) -> None:
        super().__init__(
            f"no snapshot of the chosen project and region was taken at or before {_fmt(when)}",
            hint="list the snapshots and their times, or choose a later time",
            remedy=Remedy.CHOOSE_SNAPSHOT,
        )


async def resolve_at(
    store: HistoryStore,
    when: datetime,
    project: str | None = None,
    region: str | None = None,
) -> SnapshotHeader:
    """The newest snapshot taken at or before ``when`` among those of ``project``/``region``."""
    headers = await store.list_snapshots(project=project, region=region)
    eligible = [h for h in headers if h.time <= when]
    if not eligible:
        raise NoSnapshotAtError(when)
    return max(eligible, key=lambda h: (h.time, h.id))


async def find_revision(
    store: HistoryStore,
    selection: Selection,
    revision: int,
    *,
    project: str | None = None,
    region: str | None = None,
) -> tuple[SnapshotHeader, SecretRecord]:
    """The newest snapshot holding the data of ``revision`` of the one secret ``selection``
    names, and that secret's record in it (for ``restore --secret S --revision N``)."""
    result, indexed = await _history(store, selection, project, region)
    matches = list(result.secrets)
    if len(matches) > 1:
        patterns = {str(sel) for sel in selection.selectors}
        exact = [s for s in matches if s.full_path in patterns or s.name in patterns]
        if len(exact) == 1:
            matches = exact
    if not matches:
        raise UsageError(
            "no secret in any snapshot matches the given selector",
            hint="see which snapshots hold a secret with 'find'",
            remedy=Remedy.NARROW_SELECTION,
        )
    if len(matches) > 1:
        ids = ", ".join(s.secret_id for s in matches[:5])
        raise UsageError(
            f"{len(matches)} secrets match the given selector (ids: {ids}"
            f"{', ...' if len(matches) > 5 else ''})",
            hint="name one secret: its full path or id:<secret id>",
            remedy=Remedy.NARROW_SELECTION,
        )
    secret = matches[0]
    found = [v for v in secret.versions if v.revision == revision]
    with_data = [v for v in found if v.data_snapshots]
    if not with_data:
        if found:
            raise KlosetError(
                f"no snapshot holds the data of revision {revision} of secret {secret.secret_id}",
                hint="disabled versions are only backed up when backups include disabled ones",
                remedy=Remedy.INCLUDE_DISABLED,
            )
        raise UsageError(
            f"no snapshot holds revision {revision} of secret {secret.secret_id}",
            hint="list its versions with 'history'",
            remedy=Remedy.CHOOSE_SNAPSHOT,
        )
    newest = max(
        (sid for v in with_data for sid in v.data_snapshots),
        key=lambda sid: (result.headers[sid].time, sid),
    )
    header = result.headers[newest]
    # the record of this secret in that snapshot: one blob read, not the snapshot's tree
    for rec in indexed.get(secret.secret_id, ()):
        if newest in rec.snapshots:
            [record] = await store.read_records([rec.record_id])
            return header, record
    raise KlosetError(  # pragma: no cover - the index said this snapshot holds it
        f"snapshot {header.short_id} does not hold secret {secret.secret_id} after all",
        hint="the history index is out of date; run the command again",
    )


__all__ = [
    "FindResult",
    "FoundSecret",
    "HistoryResult",
    "NoSnapshotAtError",
    "SecretHistory",
    "VersionHistory",
    "find_revision",
    "find_snapshots",
    "parse_when",
    "resolve_at",
    "secret_history",
]
