"""Jobs and their history: the job document, and due-ness computed from the records.

A job's document (``run --json``, ``jobs --json``, the webhook body, the record in the store)
has the keys ``id, policy, source, status, snapshot_id, started_at, finished_at, steps,
errors`` (and ``warnings``). Steps are ``{"name", "status", "started_at", "finished_at",
"details", "errors"}`` with ``name`` one of backup, forget, check, sync, drill and
``details`` holding ids and counts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.store.jobrecords import JobRecords, SealingStore, new_job_id

from .clock import iso, parse_rfc3339

OK, PARTIAL, FAILED, SKIPPED = "ok", "partial", "failed", "skipped"
STATUSES = (OK, PARTIAL, FAILED, SKIPPED)
STEPS = ("backup", "forget", "check", "sync", "drill")


@dataclass
class Step:
    name: str
    status: str = OK
    started_at: datetime | None = None
    finished_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "details": dict(self.details),
            "errors": list(self.errors),
        }


@dataclass
class Job:
    policy: str
    source: str
    id: str = field(default_factory=new_job_id)
    status: str = OK
    snapshot_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    store: str = ""
    kind: str = "job"  # job | drill
    elapsed: float | None = None  # measured on the monotonic clock (the Clock may be fixed)

    def settle(self) -> str:
        """The job's status from its steps: failed without a backup, partial when any step
        after it failed or was partial."""
        if self.status == SKIPPED:
            return self.status
        by_name = {s.name: s for s in self.steps}
        backup = by_name.get("backup")
        if (backup is not None and backup.status == FAILED) or (
            self.errors and backup is None and not self.steps
        ):
            self.status = FAILED
        elif any(s.status in (FAILED, PARTIAL) for s in self.steps) or self.errors:
            self.status = PARTIAL
        else:
            self.status = OK
        return self.status

    def all_errors(self) -> list[str]:
        """The job's own errors, then each step's (prefixed by the step's name)."""
        return [*self.errors, *(f"{s.name}: {e}" for s in self.steps for e in s.errors)]

    @property
    def duration_seconds(self) -> float:
        if self.elapsed is not None:
            return max(self.elapsed, 0.0)
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return max((self.finished_at - self.started_at).total_seconds(), 0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "policy": self.policy,
            "source": self.source,
            "status": self.status,
            "snapshot_id": self.snapshot_id,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "steps": [s.to_json() for s in self.steps],
            "errors": self.all_errors(),
            "warnings": list(self.warnings),
            "store": self.store,
            "kind": self.kind,
            "duration_seconds": round(self.duration_seconds, 3),
        }

    def record(self) -> dict[str, Any]:
        """What is persisted (the same document, without the id: the object's name is it)."""
        out = self.to_json()
        out.pop("id")
        return out


def _time(record: dict[str, Any], key: str) -> datetime | None:
    value = record.get(key)
    if not value:
        return None
    try:
        return parse_rfc3339(str(value))
    except ValueError:
        return None


def _step(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    for step in record.get("steps") or ():
        if isinstance(step, dict) and step.get("name") == name:
            return step
    return None


@dataclass
class History:
    """The decrypted job records of one store, newest first, with the questions asked of them."""

    records: list[dict[str, Any]]

    def of(self, policy: str, source: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.records
            if r.get("policy") == policy and (source is None or r.get("source") == source)
        ]

    def last_run(self, policy: str, source: str) -> dict[str, Any] | None:
        for r in self.of(policy, source):
            if r.get("status") != SKIPPED and r.get("kind", "job") == "job":
                return r
        return None

    def last_success(self, policy: str, source: str) -> datetime | None:
        """When the last successful backup of this job started (None: never)."""
        for r in self.of(policy, source):
            step = _step(r, "backup")
            if step is not None and step.get("status") == OK:
                return _time(r, "started_at")
        return None

    def last_drill(self, policy: str, source: str) -> datetime | None:
        for r in self.of(policy, source):
            step = _step(r, "drill")
            if step is not None and step.get("status") == OK:
                return _time(step, "started_at") or _time(r, "started_at")
        return None

    def last_subset(self, policy: str) -> int | None:
        """``n`` of the last ``read-data-subset`` check this policy ran (``n/t``), if any."""
        for r in self.of(policy):
            step = _step(r, "check")
            subset = (step or {}).get("details", {}).get("subset") if step else None
            if isinstance(subset, str) and "/" in subset:
                try:
                    return int(subset.split("/", 1)[0])
                except ValueError:
                    return None
        return None

    def next_due(self, policy: str, source: str, every: timedelta) -> datetime | None:
        """When the job is next due (None: due now, it never succeeded)."""
        last = self.last_success(policy, source)
        return None if last is None else last + every

    def is_due(self, policy: str, source: str, every: timedelta, now: datetime) -> bool:
        due = self.next_due(policy, source, every)
        return due is None or due <= now

    def drill_due(self, policy: str, source: str, every: timedelta, now: datetime) -> bool:
        last = self.last_drill(policy, source)
        return last is None or last + every <= now


async def load_history(store: SealingStore, records: JobRecords | None = None) -> History:
    return History(await (records or JobRecords(store)).all())


__all__ = [
    "FAILED",
    "OK",
    "PARTIAL",
    "SKIPPED",
    "STATUSES",
    "STEPS",
    "History",
    "Job",
    "Step",
    "load_history",
]
