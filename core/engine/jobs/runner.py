"""Running jobs: backup → forget by ``keep`` → check → sync → drill (when due).

A job is one (policy, source) pair. ``due`` runs only jobs whose last successful backup is
older than the policy's ``every`` (never run: due). Each job runs under a per-job file lock
(:func:`core._fs.file_lock`) and its due-ness is checked again once the lock is held, from the
records in the store: two ``run --due`` at once never run the same job twice (the second one
reports it ``skipped``).

The runner reaches credentials and stores through :class:`JobEnvironment`, so the CLI (and
the console) decide how a profile or a passphrase is resolved, and tests give real parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import platformdirs

from core._fs import file_lock
from core.engine.backup import BackupOptions, run_backup
from core.errors import ExitCode, KlosetError, UsageError
from core.scaleway.client import ScalewayClient
from core.store import SnapshotHeader, Store
from core.store.jobrecords import JobRecords

from . import notify
from .apikeys import KeyExpiry, read_expiry
from .clock import Clock
from .coverage import CoverageReport, coverage
from .drill import run_drill
from .history import FAILED, OK, PARTIAL, SKIPPED, History, Job, Step
from .policies import ALL, PolicyFile, PolicySpec, SourceSpec, StoreSpec

#: a step's (status, details: ids and counts, errors)
StepOutcome = tuple[str, dict[str, Any], list[str]]

HISTORY_KEEP = 500  # job records kept per (policy, source, kind); older ones are dropped
CHECK_SUBSETS = 10  # read-data-subset reads 1/10 of the packs per run, rotating
DEFAULT_CONCURRENCY = 16


class CredentialsLike(Protocol):
    """What a job needs of resolved credentials (``core.credentials.resolve.Credentials``)."""

    @property
    def access_key(self) -> str | None: ...

    @property
    def organization_id(self) -> str | None: ...

    @property
    def default_project_id(self) -> str | None: ...

    @property
    def default_region(self) -> str: ...

    @property
    def profile(self) -> str | None: ...

    def client(self, **kwargs: Any) -> ScalewayClient: ...


class JobEnvironment(Protocol):
    """How the runner gets credentials and opens stores (the CLI resolves them as usual)."""

    async def credentials(self, profile: str | None) -> CredentialsLike: ...

    async def open_store(self, spec: StoreSpec) -> Store: ...


def default_lock_dir() -> Path:
    return Path(platformdirs.user_state_dir("secret-kloset")) / "job-locks"


def policy_tag(name: str) -> str:
    return f"policy:{name}"


def source_tag(name: str) -> str:
    return f"source:{name}"


@dataclass
class RunReport:
    jobs: list[Job] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: warnings of the notifications sent after the document was (not in the document)
    late_warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if any(j.status in (PARTIAL, FAILED) for j in self.jobs):
            return int(ExitCode.PARTIAL)
        return int(ExitCode.OK)

    @property
    def healthy(self) -> bool:
        return self.exit_code == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "jobs": [j.to_json() for j in self.jobs],
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }


@dataclass
class _Session:
    """The clients and stores one run opened (closed together at the end)."""

    stack: contextlib.AsyncExitStack
    env: JobEnvironment
    creds: dict[str | None, CredentialsLike] = field(default_factory=dict)
    clients: dict[str | None, ScalewayClient] = field(default_factory=dict)
    stores: dict[str, Store] = field(default_factory=dict)
    records: dict[str, JobRecords] = field(default_factory=dict)
    concurrency: int = DEFAULT_CONCURRENCY

    async def client(self, profile: str | None) -> tuple[ScalewayClient, CredentialsLike]:
        if profile not in self.clients:
            creds = await self.env.credentials(profile)
            client = creds.client(max_concurrency=self.concurrency)
            self.clients[profile] = await self.stack.enter_async_context(client)
            self.creds[profile] = creds
        return self.clients[profile], self.creds[profile]

    async def store(self, spec: StoreSpec) -> Store:
        if spec.name not in self.stores:
            store = await self.env.open_store(spec)
            self.stack.push_async_callback(store.close)
            self.stores[spec.name] = store
            self.records[spec.name] = JobRecords(store)
        return self.stores[spec.name]

    async def history(self, spec: StoreSpec) -> History:
        await self.store(spec)
        return History(await self.records[spec.name].all())


def _lock_location(location: str) -> str:
    """The store location as every process spells it (a local path made absolute)."""
    if "://" in location:
        return location
    return os.path.abspath(os.path.expanduser(location))


@contextlib.asynccontextmanager
async def job_lock(lock_dir: Path, key: str) -> AsyncIterator[None]:
    """Hold the job's file lock (waiting for another process that holds it)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    manager = file_lock(lock_dir / f"{digest}.lock")
    await asyncio.to_thread(manager.__enter__)
    try:
        yield
    finally:
        manager.__exit__(None, None, None)


class Runner:
    """Runs the jobs of one policy file (see the module docstring)."""

    def __init__(
        self,
        policies: PolicyFile,
        env: JobEnvironment,
        clock: Clock,
        *,
        lock_dir: Path | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        on_progress: Callable[[str], None] | None = None,
        contain_bugs: bool = True,
    ) -> None:
        self.policies = policies
        self.env = env
        self.clock = clock
        self.lock_dir = lock_dir or default_lock_dir()
        self.concurrency = concurrency
        self.webhook_transport = webhook_transport
        self.on_progress = on_progress or (lambda _line: None)
        #: an unexpected exception fails its job (named by type, no data) instead of the run
        self.contain_bugs = contain_bugs

    # ------------------------------------------------------------------ selection

    def select(
        self, *, policy: str | None = None, source: str | None = None
    ) -> list[tuple[PolicySpec, SourceSpec]]:
        if policy is not None:
            self.policies.policy(policy)  # UsageError for an unknown name
        if source is not None:
            self.policies.source(source)
        pairs = [
            (p, s)
            for p, s in self.policies.pairs()
            if (policy is None or p.name == policy) and (source is None or s.name == source)
        ]
        return pairs

    # ------------------------------------------------------------------ run

    async def run(
        self, *, due: bool = False, policy: str | None = None, source: str | None = None
    ) -> RunReport:
        """Run the selected jobs. KlosetError before any job (stores, credentials) propagates;
        failures inside a job are in its record."""
        pairs = self.select(policy=policy, source=source)
        report = RunReport()
        hc = self.policies.notify.healthchecks
        if hc:
            warning = await notify.ping(hc, "start", transport=self.webhook_transport)
            if warning:
                report.warnings.append(warning)
        async with contextlib.AsyncExitStack() as stack:
            session = _Session(stack, self.env, concurrency=self.concurrency)
            try:
                # Errors before any job: the stores and credentials every job needs.
                for p, s in pairs:
                    await session.store(self.policies.stores[p.store])
                    await session.client(s.profile)
            except KlosetError:
                if hc:
                    await notify.ping(hc, "fail", transport=self.webhook_transport)
                raise
            expiries = await self._expiries(session, report)
            for p, s in pairs:
                job = await self._maybe_run(session, p, s, due=due, expiries=expiries)
                if job is not None:
                    report.jobs.append(job)
            await self._write_metrics(session, report, expiries)
        await self._notify(report)
        return report

    async def _expiries(self, session: _Session, report: RunReport) -> list[KeyExpiry]:
        out = []
        for profile, client in session.clients.items():
            creds = session.creds[profile]
            expiry = await read_expiry(
                client, creds.access_key, profile or creds.profile or "default", self.clock.now()
            )
            if expiry is not None:
                out.append(expiry)
                if expiry.warning and expiry.warning not in report.warnings:
                    report.warnings.append(expiry.warning)
        return out

    async def _maybe_run(
        self,
        session: _Session,
        policy: PolicySpec,
        source: SourceSpec,
        *,
        due: bool,
        expiries: Sequence[KeyExpiry],
    ) -> Job | None:
        spec = self.policies.stores[policy.store]
        if due:
            history = await session.history(spec)
            if not history.is_due(policy.name, source.name, policy.every, self.clock.now()):
                return None
        key = f"{_lock_location(spec.location)}\n{policy.name}\n{source.name}"
        async with job_lock(self.lock_dir, key):
            history = await session.history(spec)
            if due and not history.is_due(policy.name, source.name, policy.every, self.clock.now()):
                job = Job(policy.name, source.name, status=SKIPPED, store=spec.name)
                job.started_at = job.finished_at = self.clock.now()
                job.warnings.append("another run did this job meanwhile")
                return job
            try:
                job = await self.run_job(session, policy, source, history, expiries)
            except Exception as err:  # this job fails, the others still run
                if not self.contain_bugs and not isinstance(err, KlosetError):
                    raise
                job = Job(policy.name, source.name, store=spec.name, status=FAILED)
                job.started_at = job.finished_at = self.clock.now()
                job.errors.append(
                    err.message
                    if isinstance(err, KlosetError)
                    else f"internal error ({type(err).__name__}); please report it"
                )
            await self._record(session, spec, job, history)
            return job

    async def _record(self, session: _Session, spec: StoreSpec, job: Job, history: History) -> None:
        """Write the job's record, and drop the oldest of its (policy, source, kind) past
        ``HISTORY_KEEP`` so reading the history stays cheap on any backend."""
        records = session.records[spec.name]
        try:
            await records.put(job.id, job.record())
            same = [
                r
                for r in history.of(job.policy, job.source)
                if r.get("kind", "job") == job.kind and r.get("id") != job.id
            ]
            for old in same[HISTORY_KEEP - 1 :]:
                await records.delete(str(old["id"]))
        except KlosetError as err:
            job.warnings.append(f"the job record could not be written ({err.message})")

    async def run_job(
        self,
        session: _Session,
        policy: PolicySpec,
        source: SourceSpec,
        history: History,
        expiries: Sequence[KeyExpiry] = (),
    ) -> Job:
        spec = self.policies.stores[policy.store]
        job = Job(policy.name, source.name, store=spec.name, started_at=self.clock.now())
        started = time.monotonic()
        self.on_progress(f"job {policy.name}/{source.name}: backup")
        store = await session.store(spec)
        client, creds = await session.client(source.profile)
        for expiry in expiries:
            if expiry.warning and expiry.access_key == creds.access_key:
                job.warnings.append(expiry.warning)
        backup = await self._backup(job, client, creds, store, policy, source)
        if backup.status != FAILED:
            if not policy.keep.is_empty():
                await self._step(job, "forget", self._forget(store, policy, source))
            if policy.check != "none":
                await self._step(job, "check", self._check(store, policy, history))
            if policy.sync_to:
                await self._step(
                    job, "sync", self._sync(session, store, policy, source, job.snapshot_id)
                )
            if policy.drill is not None and history.drill_due(
                policy.name, source.name, policy.drill.every, self.clock.now()
            ):
                self.on_progress(f"job {policy.name}/{source.name}: drill")
                header = await self._latest(store, policy, source)
                step = await run_drill(
                    client,
                    store,
                    header,
                    policy.drill,
                    source,
                    self.policies.sources,
                    clock=self.clock,
                    organization_id=creds.organization_id,
                    default_project=creds.default_project_id,
                )
                job.steps.append(step)
        job.finished_at = self.clock.now()
        job.elapsed = time.monotonic() - started
        job.settle()
        return job

    # ------------------------------------------------------------------ steps

    async def _step(self, job: Job, name: str, work: Awaitable[StepOutcome]) -> Step:
        step = Step(name, started_at=self.clock.now())
        try:
            status, details, errors = await work
            step.status, step.details, step.errors = status, details, errors
        except KlosetError as err:
            step.status = FAILED
            step.errors.append(err.message)
        step.finished_at = self.clock.now()
        job.steps.append(step)
        return step

    async def _backup(
        self,
        job: Job,
        client: ScalewayClient,
        creds: CredentialsLike,
        store: Store,
        policy: PolicySpec,
        source: SourceSpec,
    ) -> Step:
        step = Step("backup", started_at=self.clock.now())
        job.steps.append(step)
        try:
            options = await self._backup_options(client, creds, policy, source)
            result = await run_backup(
                client,
                store,
                options,
                organization_id=creds.organization_id,
                default_project_id=creds.default_project_id,
                default_region=creds.default_region,
            )
            job.snapshot_id = result.snapshot_id
            step.status = OK if not result.partial else PARTIAL
            step.details = {
                "snapshot_id": result.snapshot_id,
                "sources": len(result.sources),
                "secrets": result.secrets,
                "versions": result.versions,
                "versions_read": result.versions_read,
                "versions_reused": result.versions_reused,
                "secrets_unchanged": result.secrets_unchanged,
                "bytes_added": result.bytes_added,
                "errors": len(result.errors),
            }
            step.errors = [e.message for e in result.errors][:20]
            job.warnings.extend(result.warnings)
        except KlosetError as err:
            step.status = FAILED
            step.errors.append(err.message)
        step.finished_at = self.clock.now()
        return step

    async def _backup_options(
        self, client: ScalewayClient, creds: CredentialsLike, policy: PolicySpec, source: SourceSpec
    ) -> BackupOptions:
        projects: tuple[str, ...] = ()
        all_projects = False
        if source.projects == ALL:
            if source.exclude:
                from .coverage import visible_projects

                seen = await visible_projects(client, creds.organization_id)
                projects = tuple(p for p in sorted(seen) if p not in source.exclude)
                if not projects:
                    raise UsageError(
                        f"source {source.name!r} excludes every project it can see",
                        hint="narrow the exclusions of the source",
                    )
            else:
                all_projects = True
        else:
            projects = tuple(p for p in source.projects if p not in source.exclude)
        regions: tuple[str, ...] = () if source.regions == ALL else tuple(source.regions)
        return BackupOptions(
            projects=projects,
            all_projects=all_projects,
            regions=regions,
            all_regions=source.regions == ALL,
            environment=source.environment,
            data_class=source.data_class,
            snapshot_tags=(policy_tag(policy.name), source_tag(source.name)),
            concurrency=self.concurrency,
            description=f"job {policy.name}/{source.name}",
        )

    def _series(self, policy: PolicySpec, source: SourceSpec) -> Callable[[SnapshotHeader], bool]:
        wanted = {policy_tag(policy.name), source_tag(source.name)}
        return lambda header: wanted.issubset(set(header.tags))

    async def _latest(
        self, store: Store, policy: PolicySpec, source: SourceSpec
    ) -> SnapshotHeader | None:
        """The job's newest snapshot; without one, the newest complete snapshot of the
        source's projects and regions (e.g. a manual backup)."""
        headers = await store.list_snapshots()
        series = [h for h in headers if self._series(policy, source)(h)]
        if series:
            return series[-1]
        covering = [
            h
            for h in headers
            if h.complete and any(source.covers(s.project_id, s.region) for s in h.sources)
        ]
        return covering[-1] if covering else None

    async def _forget(self, store: Store, policy: PolicySpec, source: SourceSpec) -> StepOutcome:
        result = await store.forget(
            policy.keep.retention(), dry_run=False, snapshot_filter=self._series(policy, source)
        )
        return OK, {"kept": len(result.kept), "removed": len(result.removed_done)}, []

    async def _check(self, store: Store, policy: PolicySpec, history: History) -> StepOutcome:
        subset = None
        if policy.check == "read-data-subset":
            last = history.last_subset(policy.name)
            subset = ((last or 0) % CHECK_SUBSETS + 1, CHECK_SUBSETS)
        report = await store.check(read_data=subset is not None, subset=subset)
        details: dict[str, Any] = {
            "mode": policy.check,
            "subset": f"{subset[0]}/{subset[1]}" if subset else None,
            "problems": len(report.errors),
            "warnings": len(report.warnings),
        }
        errors = [p.message for p in report.errors][:20]
        return (OK if report.ok else FAILED), details, errors

    async def _sync(
        self,
        session: _Session,
        store: Store,
        policy: PolicySpec,
        source: SourceSpec,
        snapshot_id: str | None,
    ) -> StepOutcome:
        assert policy.sync_to is not None
        destination = await session.store(self.policies.stores[policy.sync_to])
        series = self._series(policy, source)
        ids = [h.id for h in await store.list_snapshots() if series(h)]
        if snapshot_id and snapshot_id not in ids:
            ids.append(snapshot_id)
        report = await store.copy_to(destination, ids)
        return (
            OK,
            {"to": policy.sync_to, "copied": len(report.copied), "present": len(report.skipped)},
            [],
        )

    # ------------------------------------------------------------------ drills, coverage, history

    async def drill(self, *, policy: str | None = None) -> RunReport:
        """Run the drills of the policies that have one (now, due or not); each is recorded
        as a job of kind ``drill``."""
        pairs = [(p, s) for p, s in self.select(policy=policy) if p.drill is not None]
        if not pairs:
            raise UsageError(
                "no policy with a drill" + (f" named {policy!r}" if policy else ""),
                hint="give the policy a drill table (every, project, region, sample)",
            )
        report = RunReport()
        async with contextlib.AsyncExitStack() as stack:
            session = _Session(stack, self.env, concurrency=self.concurrency)
            for p, s in pairs:
                await session.store(self.policies.stores[p.store])
                await session.client(s.profile)
            for p, s in pairs:
                assert p.drill is not None
                spec = self.policies.stores[p.store]
                store = await session.store(spec)
                client, creds = await session.client(s.profile)
                job = Job(
                    p.name, s.name, store=spec.name, kind="drill", started_at=self.clock.now()
                )
                header = await self._latest(store, p, s)
                job.snapshot_id = header.id if header is not None else None
                step = await run_drill(
                    client,
                    store,
                    header,
                    p.drill,
                    s,
                    self.policies.sources,
                    clock=self.clock,
                    organization_id=creds.organization_id,
                    default_project=creds.default_project_id,
                )
                job.steps.append(step)
                job.finished_at = self.clock.now()
                job.status = OK if step.status == OK else FAILED
                await self._record(session, spec, job, await session.history(spec))
                report.jobs.append(job)
        return report

    async def coverage(self) -> CoverageReport:
        """Coverage of every project x region the sources' credentials can see."""
        async with contextlib.AsyncExitStack() as stack:
            session = _Session(stack, self.env, concurrency=self.concurrency)
            profiles = list(dict.fromkeys([None, *(s.profile for s in self.policies.sources)]))
            for profile in profiles:
                await session.client(profile)
            histories, warnings = await self._histories(session)
            default = session.creds[None]
            report = await coverage(
                self.policies,
                [(c, session.creds[p].organization_id) for p, c in session.clients.items()],
                histories,
                self.clock.now(),
                default_project=default.default_project_id,
                default_region=default.default_region,
            )
            report.warnings[:0] = warnings
            return report

    async def histories(self) -> tuple[dict[str, History], list[str]]:
        """The job history of every store of the file (a store that cannot be opened is
        named in the warnings)."""
        async with contextlib.AsyncExitStack() as stack:
            session = _Session(stack, self.env, concurrency=self.concurrency)
            return await self._histories(session)

    async def _histories(self, session: _Session) -> tuple[dict[str, History], list[str]]:
        out: dict[str, History] = {}
        warnings: list[str] = []
        used = {p.store for p in self.policies.policies} or set(self.policies.stores)
        for name in sorted(used):
            try:
                out[name] = await session.history(self.policies.stores[name])
            except KlosetError as err:
                warnings.append(f"store {name!r}: {err.message}")
        return out, warnings

    # ------------------------------------------------------------------ after the run

    async def _write_metrics(
        self, session: _Session, report: RunReport, expiries: Sequence[KeyExpiry]
    ) -> None:
        path = self.policies.notify.metrics_file
        if path is None:
            return
        snap = notify.MetricsSnapshot()
        histories: dict[str, History] = {}
        try:
            for name in list(session.stores):
                histories[name] = await session.history(self.policies.stores[name])
                stats = await session.stores[name].stats()
                snap.store_bytes[name] = stats.total_bytes
        except KlosetError as err:
            report.warnings.append(f"store figures could not be read ({err.message})")
        for policy, source in self.policies.pairs():
            history = histories.get(policy.store)
            if history is None:
                continue
            last = history.last_success(policy.name, source.name)
            if last is not None:
                snap.last_success[(policy.name, source.name)] = last.timestamp()
            run = history.last_run(policy.name, source.name)
            if run is not None:
                key = (policy.name, source.name)
                snap.last_status[key] = 1 if run.get("status") == OK else 0
                snap.duration[key] = float(run.get("duration_seconds") or 0.0)
                for step in run.get("steps") or ():
                    if step.get("name") == "backup":
                        details = step.get("details") or {}
                        snap.versions_read[key] = int(details.get("versions_read") or 0)
        for expiry in expiries:
            if expiry.expires_at is not None:
                snap.key_expiry[expiry.profile] = expiry.expires_at.timestamp()
        try:
            clients = [
                (client, session.creds[profile].organization_id)
                for profile, client in session.clients.items()
            ]
            default = session.creds.get(None)
            cov = await coverage(
                self.policies,
                clients,
                histories,
                self.clock.now(),
                default_project=default.default_project_id if default else None,
                default_region=default.default_region if default else None,
            )
            snap.uncovered = cov.uncovered
        except KlosetError as err:
            report.warnings.append(f"coverage could not be computed ({err.message})")
        try:
            await asyncio.to_thread(notify.write_metrics, path, snap)
        except OSError as err:
            report.warnings.append(f"the metrics file could not be written ({err.strerror})")

    async def _notify(self, report: RunReport) -> None:
        spec = self.policies.notify
        if spec.webhook is not None:
            warning = await notify.send_webhook(
                spec.webhook, report.to_json(), transport=self.webhook_transport
            )
            if warning:
                report.late_warnings.append(warning)
        if spec.healthchecks:
            event = "success" if report.healthy else "fail"
            warning = await notify.ping(spec.healthchecks, event, transport=self.webhook_transport)
            if warning:
                report.late_warnings.append(warning)


__all__ = [
    "CredentialsLike",
    "JobEnvironment",
    "RunReport",
    "Runner",
    "default_lock_dir",
    "job_lock",
    "policy_tag",
    "source_tag",
]
