"""Progress events emitted by the engines (backup, restore, copy, preflight).

Engines take an ``on_event: EventSink`` (a plain synchronous callback) and call it for every
step worth showing. The CLI turns the events into a rich progress bar on stderr; the console
posts them as Textual messages. Events are frozen dataclasses so a consumer can keep them,
compare them and hand them across threads safely.

What an event may carry: ids, regions, revisions, counts, sizes, outcomes, and, for on-screen
display only, a secret's ``display`` path (``/prod/db/password``). Never a secret value: the
``display`` field is excluded from ``repr`` so that logging an event never leaks a name.

A consumer that wants totals for a progress bar listens for :class:`Progress` (``done`` out of
``total`` for the current phase, with running byte and error counts); a consumer that wants a
per-secret log listens for :class:`SecretDone` / :class:`ActionDone`; everything else is detail.

A consumer may say which kinds it reads (a ``listens_to`` attribute: :class:`Selective`); an
engine then does not build the per-secret events nobody reads (:func:`listens`): a cron run's
backup of 10,000 unchanged secrets built 60,000 events for a renderer that prints warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class PhaseName(StrEnum):
    """The phases an engine goes through, in order; each starts with a :class:`Phase` event."""

    PREFLIGHT = "preflight"
    PROJECTS = "projects"  # resolving sources (project names, all-projects expansion)
    LISTING = "listing"  # listing secrets and versions
    READING = "reading"  # reading version data not already held by the parent snapshot
    COMMITTING = "committing"  # writing the snapshot to the store
    LOADING = "loading"  # reading a snapshot's tree from the store
    PLANNING = "planning"  # comparing a snapshot with the destination
    APPLYING = "applying"  # creating secrets / adding versions
    VERIFYING = "verifying"  # reading restored versions back
    DONE = "done"


class Outcome(StrEnum):
    """How a secret (backup) or an action (restore) ended."""

    OK = "ok"  # backed up / applied
    UNCHANGED = "unchanged"  # backup: nothing new to read; restore: identical, nothing to do
    SKIPPED = "skipped"  # restore: left alone on purpose (on-conflict skip, dry-run)
    CONFLICT = "conflict"  # restore: on-conflict fail met a differing destination
    FAILED = "failed"  # an error; the detail says which (ids only)
    PLANNED = "planned"  # dry-run: would be applied


@dataclass(frozen=True, slots=True)
class Phase:
    """A new phase started; ``detail`` is a short human sentence (no names, no values)."""

    name: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SourceStarted:
    """The engine starts on one source (a project in a region)."""

    region: str
    project_id: str


@dataclass(frozen=True, slots=True)
class SecretsListed:
    """One source's secrets were listed (after filters): ``count`` of them will be processed."""

    region: str
    project_id: str
    count: int
    listed: int = 0  # before selector/tag filters


@dataclass(frozen=True, slots=True)
class SecretStarted:
    """Processing of one secret begins."""

    secret_id: str
    region: str
    project_id: str
    display: str = field(default="", repr=False)  # path/name, for the screen only


@dataclass(frozen=True, slots=True)
class VersionRead:
    """One version handled: ``skipped`` when its data was reused from the parent snapshot,
    ``metadata_only`` when its data was not read at all (disabled, scheduled for deletion)."""

    secret_id: str
    region: str
    revision: int
    size: int = 0
    skipped: bool = False
    metadata_only: bool = False


@dataclass(frozen=True, slots=True)
class BlobStored:
    """The store accepted a blob; ``bytes_added`` is 0 when it was already there (dedup)."""

    bytes_added: int
    size: int = 0


@dataclass(frozen=True, slots=True)
class SecretDone:
    """A secret is finished (``outcome`` from :class:`Outcome`; ``error`` names the cause)."""

    secret_id: str
    region: str
    project_id: str
    outcome: str
    versions: int = 0
    versions_read: int = 0
    error: str | None = None
    display: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class ActionPlanned:
    """A restore plan entry: ``action`` is one of ``core.engine.restore.Action``."""

    secret_id: str
    region: str
    project_id: str
    action: str
    revisions: tuple[int, ...] = ()
    detail: str = ""
    display: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class ActionDone:
    """A restore action was applied (or failed); ``detail`` says what was done, ids only."""

    secret_id: str
    action: str
    outcome: str
    detail: str = ""
    destination_secret_id: str | None = None
    display: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class EngineWarning:
    """Something the user should know that does not fail the run (ids only)."""

    message: str


# The name the team's brief uses; ``EngineWarning`` avoids shadowing the builtin on import.
Warning = EngineWarning


@dataclass(frozen=True, slots=True)
class Progress:
    """Overall progress of the current phase: ``done`` of ``total`` units (``unit`` names them).

    ``total`` may grow while listing is still under way (sources are discovered as they go);
    ``bytes`` and ``errors`` are running totals for the whole run.
    """

    phase: str
    done: int
    total: int
    unit: str = "secrets"
    bytes: int = 0
    errors: int = 0


Event = (
    Phase
    | SourceStarted
    | SecretsListed
    | SecretStarted
    | VersionRead
    | BlobStored
    | SecretDone
    | ActionPlanned
    | ActionDone
    | EngineWarning
    | Progress
)

EventSink = Callable[[Event], None]


@runtime_checkable
class Selective(Protocol):
    """An :data:`EventSink` that reads only some kinds of event."""

    listens_to: frozenset[type]

    def __call__(self, event: Event) -> None: ...


def listens(sink: EventSink, kind: type) -> bool:
    """Whether ``sink`` reads events of ``kind`` (a sink that does not say reads them all;
    :func:`null_sink` reads none)."""
    if sink is null_sink:
        return False
    return kind in sink.listens_to if isinstance(sink, Selective) else True


def null_sink(event: Event) -> None:
    """An :data:`EventSink` that ignores everything (the default of every engine)."""


class EventLog:
    """An :data:`EventSink` that keeps every event (tests, and the console's run log)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]

    def __len__(self) -> int:
        return len(self.events)


class _Safe:
    """A selective consumer behind a guard: it is handed only the kinds it reads, and its
    exceptions are swallowed."""

    __slots__ = ("listens_to", "sink")

    def __init__(self, sink: EventSink, listens_to: frozenset[type]) -> None:
        self.sink = sink
        self.listens_to = listens_to

    def __call__(self, event: Event) -> None:
        if type(event) not in self.listens_to:
            return
        try:
            self.sink(event)
        except Exception:  # a UI failure must not lose a backup
            pass


def safe_sink(sink: EventSink | None) -> EventSink:
    """Wrap a consumer so a bug in rendering never aborts a backup or a restore."""
    if sink is None or sink is null_sink:
        return null_sink
    if isinstance(sink, _Safe):
        return sink
    if isinstance(sink, Selective):
        return _Safe(sink, sink.listens_to)

    def emit(event: Event) -> None:
        try:
            sink(event)
        except Exception:  # a UI failure must not lose a backup
            pass

    return emit
