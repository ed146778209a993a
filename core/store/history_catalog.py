"""What the history index answers with: secrets, names, version states, records (with the
present snapshots holding each) and the catalog of one query, as plain typed data.

Names and paths are secret-bearing: no ``repr`` here shows them. Built by
:mod:`core.store.history_index`, read by :mod:`core.engine.history`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol, TypeVar

from core.scaleway.models import join_path
from core.store.model import SecretRecord, SnapshotHeader


class HistoryStore(Protocol):
    """The part of :class:`core.store.Store` the index reads."""

    @property
    def id(self) -> str: ...

    async def list_snapshots(
        self,
        project: str | None = None,
        region: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> list[SnapshotHeader]: ...

    async def read_tree_ids(self, snapshot: str | SnapshotHeader) -> list[str]: ...

    async def read_records(self, ids: Sequence[str]) -> list[SecretRecord]: ...


# --------------------------------------------------------------------------- what queries get


@dataclass(frozen=True, slots=True)
class IndexedSecret:
    sec: int
    secret_id: str
    region: str
    project_id: str


@dataclass(frozen=True, slots=True)
class IndexedName:
    """One (path, name) a secret had in some snapshot. Never printed: both are secret-bearing."""

    nid: int
    sec: int
    path: str = field(repr=False)
    name: str = field(repr=False)
    full_path: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class IndexedVersion:
    """One state of a version (a revision whose status, size, CRC or data presence differs
    between snapshots has several)."""

    vs: int
    sec: int
    revision: int
    created_at: str | None
    status: str
    size: int | None
    crc32: int | None
    has_data: bool


@dataclass(frozen=True, slots=True)
class IndexedRecord:
    """One secret record and the present snapshots that hold it (ids, oldest first)."""

    rec: int
    record_id: str
    sec: int
    nid: int
    vstates: tuple[int, ...]
    snapshots: tuple[str, ...]


K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")


class _Lazy(Mapping[K, V]):
    """A mapping that builds each value from its raw row on first access (a query touches a
    few of 20,000 names: building them all would cost more than the query)."""

    def __init__(self, rows: dict[K, R], build: Callable[[R], V]) -> None:
        self._rows = rows
        self._build = build
        self._made: dict[K, V] = {}

    def __getitem__(self, key: K) -> V:
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = self._build(self._rows[key])
        return made

    def __iter__(self) -> Iterator[K]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


class NameLookup:
    """Every secret and name of the index, with the lookups that spare a query from testing
    each name (by full path, sorted for a prefix; by name; by secret), built when first used."""

    def __init__(
        self,
        secrets: dict[int, tuple[str, int]],
        sources: dict[int, tuple[str, str]],
        names: dict[int, tuple[int, int, str, str]],
    ) -> None:
        self._secret_rows = secrets
        self._name_rows = names
        self.secrets: Mapping[int, IndexedSecret] = _Lazy(
            {sec: (sec, *row) for sec, row in secrets.items()},
            lambda r: IndexedSecret(r[0], r[1], *sources[r[2]]),
        )
        self.names: Mapping[int, IndexedName] = _Lazy(
            names, lambda r: IndexedName(r[0], r[1], r[2], r[3], join_path(r[2], r[3]))
        )

    @cached_property
    def by_secret_id(self) -> dict[str, int]:
        """Lower-case secret id -> secret (``id:`` selectors are lower-cased)."""
        return {row[0].lower(): sec for sec, row in self._secret_rows.items()}

    @cached_property
    def sorted_paths(self) -> list[tuple[str, int]]:
        return sorted((join_path(r[2], r[3]), nid) for nid, r in self._name_rows.items())

    @cached_property
    def by_name(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for nid, r in self._name_rows.items():
            out.setdefault(r[3], []).append(nid)
        return out

    @cached_property
    def by_sec(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for nid, r in self._name_rows.items():
            out.setdefault(r[1], []).append(nid)
        return out

    def with_prefix(self, prefix: str) -> list[IndexedName]:
        """The names whose full path starts with ``prefix``."""
        paths = self.sorted_paths
        out = []
        for full, nid in paths[bisect.bisect_left(paths, (prefix, -1)) :]:
            if not full.startswith(prefix):
                break
            out.append(self.names[nid])
        return out


@dataclass
class HistoryCatalog:
    """The index as of now: every secret and name, and the store's present snapshots."""

    lookup: NameLookup
    headers: dict[str, SnapshotHeader]  # present snapshots by id
    # per source (region, project): present snapshot ids holding it, oldest first
    source_snapshots: dict[tuple[str, str], list[str]]

    @property
    def secrets(self) -> Mapping[int, IndexedSecret]:
        return self.lookup.secrets

    @property
    def names(self) -> Mapping[int, IndexedName]:
        return self.lookup.names

    def newest_of(self, region: str, project_id: str) -> str | None:
        """The newest present snapshot of a source: what "the source still has it" compares to."""
        ids = self.source_snapshots.get((region, project_id))
        return ids[-1] if ids else None


@dataclass(frozen=True, slots=True)
class RefreshStats:
    indexed: int  # snapshots added to the index by this refresh
    rebuilt: bool
