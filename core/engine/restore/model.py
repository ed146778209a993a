"""What a restore plans and reports: actions, policies, the plan and the result (no I/O)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from core.engine.events import Outcome
from core.errors import ExitCode, KlosetError, Remedy
from core.store.model import SecretRecord

if TYPE_CHECKING:
    from core.engine.restore.journal import JournalView

PayloadReader = Callable[[str], Awaitable[bytes]]

DEFAULT_CONCURRENCY = 32


class Action(StrEnum):
    CREATE = "create"
    RECOVER = "recover"
    ADD_VERSION = "add_version"
    SKIP_IDENTICAL = "skip_identical"
    SKIP = "skip"
    CONFLICT = "conflict"


class OnConflict(StrEnum):
    SKIP = "skip"
    NEW_VERSION = "new-version"
    FAIL = "fail"


class VersionsMode(StrEnum):
    ALL = "all"
    LATEST = "latest"
    REVISION = "revision"


class RestoreConflict(KlosetError):
    """The ``fail`` conflict policy met destination secrets that differ: nothing was changed.
    ``result`` holds the plan, with the conflicting actions marked."""

    def __init__(
        self,
        message: str,
        *,
        result: RestoreResult | None = None,
        hint: str | None = None,
        remedy: Remedy | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, remedy=remedy, details=details)
        self.result = result


class RestoreInterrupted(KlosetError):
    """The restore was cancelled; ``result`` says what was done before it stopped, and the
    actions left half-done are ``failed`` with ``interrupted`` set (``details["partial"]``
    counts them)."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(
        self,
        message: str,
        *,
        result: RestoreResult,
        hint: str | None = None,
        remedy: Remedy | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, remedy=remedy, details=details)
        self.result = result


@dataclass(frozen=True)
class VersionToAdd:
    """One snapshot version to add at the destination."""

    revision: int  # the revision in the snapshot
    payload: str  # blob id
    crc32: int | None
    size: int
    disable: bool  # it was disabled in the snapshot: disable it again after adding
    description: str = ""
    expires_once_accessed: bool = False


@dataclass
class PlannedAction:
    """What a restore does (or did) to one secret."""

    record: SecretRecord = field(repr=False)
    action: Action
    region: str  # destination
    project_id: str  # destination
    destination_secret_id: str | None = None
    versions: tuple[VersionToAdd, ...] = ()
    only_if_differs: bool = False  # recover: compare after recovery, add only if different
    detail: str = ""
    outcome: str = Outcome.PLANNED
    error: str | None = None
    restored_revisions: list[int] = field(default_factory=list)  # destination revisions
    added: list[tuple[int, VersionToAdd]] = field(default_factory=list, repr=False)
    verified: bool | None = None
    transient: bool = False  # the last failure was a 5xx/429 that outlasted the retries
    over_cap: tuple[int, ...] = ()  # snapshot revisions that would not fit the version cap
    # The destination's latest revision when planned (0: none): re-checked before the first
    # version apply adds (the create's answers are the check after that).
    expected_latest: int | None = field(default=None, repr=False)
    duplicates: int = 0  # consecutive identical destination versions seen while planning
    # Destination revisions to disable again (a stopped restore added them, not disabled yet).
    disable_revisions: tuple[int, ...] = ()
    # Stop bookkeeping: writes done, the write on the wire (if any), versions left enabled.
    writes: int = field(default=0, repr=False)
    in_flight: str | None = field(default=None, repr=False)
    undisabled: list[int] = field(default_factory=list, repr=False)
    interrupted: bool = False  # cancelled half-way: reported as partial, a re-run completes it
    # The Key Manager key a created secret gets (None: the platform's); set when planned,
    # whatever the action, so a create decided again at apply time keeps it.
    key_id: str | None = None
    key_id_dropped: bool = False  # the snapshot's key cannot follow to this destination

    @property
    def secret_id(self) -> str:
        return self.record.secret_id

    @property
    def changes(self) -> bool:
        return self.action in (Action.CREATE, Action.RECOVER, Action.ADD_VERSION)

    def planning_failed(self, err: BaseException) -> None:
        """This secret could not be planned (after the client's retries): it becomes a
        failed action that changes nothing, never the end of the run; a transient one (5xx,
        429) is planned again by apply's second pass."""
        from core.scaleway.errors import RateLimitedError, ServerError

        self.action = Action.SKIP
        self.versions = ()
        self.outcome = Outcome.FAILED
        self.error = error_text(err, self.secret_id)
        self.transient = isinstance(err, ServerError | RateLimitedError)
        self.detail = "could not be planned"

    def to_json(self) -> dict[str, Any]:
        return {
            "secret_id": self.record.secret_id,
            "path": self.record.path,
            "name": self.record.name,
            "source_region": self.record.region,
            "source_project_id": self.record.project_id,
            "region": self.region,
            "project_id": self.project_id,
            "action": str(self.action),
            "outcome": str(self.outcome),
            "revisions": [v.revision for v in self.versions],
            "destination_secret_id": self.destination_secret_id,
            "restored_revisions": list(self.restored_revisions),
            "verified": self.verified,
            "detail": self.detail,
            "error": None if self.error is None else str(self.error),  # plain, never QuotaText
            "over_cap": list(self.over_cap),
            "key_id": self.key_id if self.action == Action.CREATE else None,
            "key_id_dropped": self.action == Action.CREATE and self.key_id_dropped,
            "quota_exceeded": isinstance(self.error, QuotaText),
        }


class QuotaText(str):
    """A secret's error text when the API refused a write for a quota: still the ``str``
    ``apply`` stores as the action's error, and it keeps which quota, so a report can name it
    once for every secret it stopped (``resource``: "secrets", "secret_versions", ...)."""

    resource: str = ""
    current: int | None = None
    quota: int | None = None

    @classmethod
    def of(cls, err: BaseException, secret_id: str) -> QuotaText:
        body = getattr(err, "body", None) or {}
        detail = next(
            (d for d in body.get("details") or [] if isinstance(d, dict) and d.get("resource")),
            {},
        )
        resource = str(detail.get("resource") or "")
        current, quota = _int(detail.get("current")), _int(detail.get("quota"))
        what = quota_name(resource)
        of = f" ({current} of {quota})" if current is not None and quota is not None else ""
        # A create refused for the secrets quota wrote nothing; a version refused stopped
        # that secret's restore there (the plan keeps within the version cap, so only a
        # writer racing this restore gets it there).
        then = (
            "nothing was written for this secret"
            if resource == "secrets"
            else "no further version was written for this secret"
        )
        text = cls(f"secret {secret_id}: refused by the API: {what} is reached{of}; {then}")
        text.resource, text.current, text.quota = resource, current, quota
        return text


def quota_name(resource: str) -> str:
    """A quota as people say it."""
    if resource == "secrets":
        return "the organization's quota of secrets"
    if resource == "secret_versions":
        return "the secret's quota of versions"
    return f"the quota of {resource}" if resource else "a quota"


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def error_text(err: BaseException, secret_id: str) -> str:
    """One secret's error for its report (ids only, never a name or value)."""
    from core.scaleway.errors import PermissionDeniedError, QuotaExceededError

    if isinstance(err, QuotaExceededError):
        return QuotaText.of(err, secret_id)
    if isinstance(err, PermissionDeniedError):
        return f"secret {secret_id}: permission denied (needs {err.permission_set})"
    if isinstance(err, KlosetError):
        return f"secret {secret_id}: {err.message}"
    status = getattr(err, "status_code", None)
    return f"secret {secret_id}: {type(err).__name__}" + (f" (HTTP {status})" if status else "")


@dataclass
class RestorePlan:
    snapshot_id: str
    actions: list[PlannedAction]
    versions: str
    revision: int | None
    on_conflict: str
    to_project: str | None
    to_region: str | None
    key_id: str | None = None  # the key chosen for created secrets the snapshot's cannot follow
    # How planning read the destination (the restore journal's view), for apply to record
    # what it wrote; None: no journal.
    journal: JournalView | None = field(default=None, repr=False, compare=False)
    newest_that_fit: bool = False  # the cap's choice, kept for the secrets apply re-plans

    @property
    def conflicts(self) -> list[PlannedAction]:
        return [a for a in self.actions if a.action == Action.CONFLICT]

    def counts(self) -> dict[str, int]:
        out = {str(a): 0 for a in Action}
        for action in self.actions:
            out[str(action.action)] += 1
        return out


@dataclass
class RestoreResult:
    plan: RestorePlan
    status: str  # ok | partial | failed | conflict | dry_run | interrupted
    dry_run: bool = False
    verify: bool = False
    duration_seconds: float = 0.0

    @property
    def actions(self) -> list[PlannedAction]:
        return self.plan.actions

    @property
    def failed(self) -> list[PlannedAction]:
        """Actions that failed, and conflicts left unresolved (both make the exit non-zero)."""
        return [a for a in self.plan.actions if a.outcome in (Outcome.FAILED, Outcome.CONFLICT)]

    @property
    def exit_code(self) -> ExitCode:
        if self.status in ("ok", "dry_run"):
            return ExitCode.OK
        if self.status == "partial":
            return ExitCode.PARTIAL
        if self.status == "interrupted":
            return ExitCode.INTERRUPTED
        return ExitCode.ERROR

    def summary(self) -> dict[str, int]:
        counts = self.plan.counts()
        outcomes = {str(o): 0 for o in Outcome}
        for a in self.plan.actions:
            outcomes[str(a.outcome)] = outcomes.get(str(a.outcome), 0) + 1
        added = sum(len(a.restored_revisions) for a in self.plan.actions)
        verified = [a for a in self.plan.actions if a.verified is not None]
        return {
            "secrets": len(self.plan.actions),
            **{f"planned_{k}": v for k, v in counts.items()},
            **outcomes,
            "versions_added": added,
            "verified": sum(1 for a in verified if a.verified),
            "verify_failed": sum(1 for a in verified if not a.verified),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "snapshot_id": self.plan.snapshot_id,
            "dry_run": self.dry_run,
            "verify": self.verify,
            "versions": self.plan.versions,
            "revision": self.plan.revision,
            "on_conflict": self.plan.on_conflict,
            "to_project": self.plan.to_project,
            "to_region": self.plan.to_region,
            "key_id": self.plan.key_id,
            "summary": self.summary(),
            "actions": [a.to_json() for a in self.plan.actions],
            "duration_seconds": round(self.duration_seconds, 3),
        }
