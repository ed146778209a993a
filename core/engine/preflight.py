"""Preflight: do these credentials hold what a backup, a restore or a copy needs?

Scaleway's IAM cannot be asked "what may this key do?", so the preflight probes cheap calls
whose answer tells a missing permission set apart from everything else:

- ``SecretManagerReadOnly``: list secrets with ``page_size=1``. 403 means missing.
- ``SecretManagerSecretAccess``: access ``latest`` of a random secret id, which the API rejects
  with 403 before it looks the secret up (404) when the set is missing. No data is read.
- ``SecretManagerSecretCreate`` / ``SecretManagerSecretWrite`` / ``SecretManagerSecretRestore``:
  create a version of, update, or restore a random (non-existent) secret id. The permission
  check comes before the lookup, so 403 means missing and 404 means granted; nothing is ever
  changed.
- ``ProjectReadOnly`` (organization-scoped, optional): list projects. Without it project names
  are left empty in snapshots (and backing up all projects cannot work).

The probes run concurrently. A failing preflight raises :class:`PreflightError` naming the
missing sets and the fix; the console shows the :class:`PreflightReport` in "test connection".
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from core.engine.events import EventSink, Phase, PhaseName, safe_sink
from core.engine.protocols import SecretsAPI
from core.errors import KlosetError, Remedy
from core.scaleway.errors import (
    AuthenticationError,
    PermissionDeniedError,
    ScalewayError,
    TransportError,
)
from core.scaleway.permissions import (
    BACKUP_NEEDS,
    RESTORE_NEEDS,
    PermissionSet,
)


class Check(StrEnum):
    """What a probe concluded about one permission set."""

    PRESENT = "present"
    MISSING = "missing"
    UNKNOWN = "unknown"  # the probe could not tell (e.g. repeated 5xx)


T = TypeVar("T")


class PreflightError(KlosetError):
    """The credentials lack permission sets the operation needs."""


@dataclass(frozen=True)
class PreflightReport:
    """Which permission sets are present or missing, for one project in one region."""

    operation: str
    region: str
    project_id: str
    required: tuple[str, ...]
    results: dict[str, str] = field(default_factory=dict)
    project_names: bool = False  # ProjectReadOnly held: names can be recorded
    notes: tuple[str, ...] = ()

    @property
    def present(self) -> tuple[str, ...]:
        return tuple(s for s in self.required if self.results.get(s) == Check.PRESENT)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(s for s in self.required if self.results.get(s) == Check.MISSING)

    @property
    def unknown(self) -> tuple[str, ...]:
        return tuple(s for s in self.required if self.results.get(s) == Check.UNKNOWN)

    @property
    def ok(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "region": self.region,
            "project_id": self.project_id,
            "required": list(self.required),
            "present": list(self.present),
            "missing": list(self.missing),
            "unknown": list(self.unknown),
            "project_names": self.project_names,
            "notes": list(self.notes),
        }


def required_sets(
    operation: str, *, include_disabled: bool = False, verify: bool = False
) -> tuple[str, ...]:
    """The permission sets ``operation`` (``backup``/``restore``/``copy-source``) needs."""
    if operation == "backup" or operation == "copy-source":
        sets = [str(s) for s in BACKUP_NEEDS]
        if include_disabled:  # enable, read, disable again
            sets.append(str(PermissionSet.SECRET_WRITE))
        return tuple(sets)
    if operation in ("restore", "copy-destination"):
        return tuple(str(s) for s in RESTORE_NEEDS)
    raise ValueError(f"unknown operation {operation!r}")


def _random_id() -> str:
    return str(uuid.uuid4())


async def _probe(call: Callable[[], Awaitable[object]]) -> tuple[str, ScalewayError | None]:
    """Run one probe; 403 permissions_denied → missing, any other API answer → present."""
    try:
        await call()
    except PermissionDeniedError as err:
        return Check.MISSING, err
    except (AuthenticationError, TransportError):
        raise
    except ScalewayError as err:
        status = err.status_code or 0
        if status >= 500 or status == 429:
            return Check.UNKNOWN, err
        # 404 (random id), 412 (disabled version), 400...: the permission check passed.
        return Check.PRESENT, err
    return Check.PRESENT, None


async def _first(aiter: AsyncIterator[T]) -> T | None:
    async for item in aiter:
        return item
    return None


async def preflight(
    client: SecretsAPI,
    *,
    operation: str,
    region: str,
    project_id: str,
    organization_id: str | None = None,
    include_disabled: bool = False,
    check_projects: bool = True,
    on_event: EventSink | None = None,
) -> PreflightReport:
    """Probe what ``client``'s key may do in ``project_id``/``region`` for ``operation``."""
    emit = safe_sink(on_event)
    emit(Phase(PhaseName.PREFLIGHT, f"checking permissions for {operation}"))
    required = required_sets(operation, include_disabled=include_disabled)
    results: dict[str, str] = {}
    notes: list[str] = []

    async def read_probe() -> None:
        await _first(client.list_secrets(region, project_id=project_id, page_size=1))

    # Every other probe targets a random secret id, so no data is ever read or changed; all
    # of them run at once.
    probes: dict[str, Callable[[], Awaitable[object]]] = {
        str(PermissionSet.SECRET_READ_ONLY): read_probe
    }
    if str(PermissionSet.SECRET_ACCESS) in required:
        rid = _random_id()
        probes[str(PermissionSet.SECRET_ACCESS)] = lambda: client.access_version(
            region, rid, "latest"
        )
    if str(PermissionSet.SECRET_CREATE) in required:
        rid_c = _random_id()
        probes[str(PermissionSet.SECRET_CREATE)] = lambda: client.create_version(
            region, rid_c, b"preflight", known_latest_revision=0
        )
    if str(PermissionSet.SECRET_WRITE) in required:
        rid_w = _random_id()
        probes[str(PermissionSet.SECRET_WRITE)] = lambda: client.update_secret(
            region, rid_w, description="preflight"
        )
    if str(PermissionSet.SECRET_RESTORE) in required:
        rid_r = _random_id()
        probes[str(PermissionSet.SECRET_RESTORE)] = lambda: client.restore_secret(region, rid_r)

    names = list(probes)
    outcomes = await asyncio.gather(*(_probe(probes[n]) for n in names))
    for name, (state, _err) in zip(names, outcomes, strict=True):
        results[name] = state

    project_names = False
    if check_projects:
        try:
            await _first(client.list_projects(organization_id=organization_id, page_size=1))
            project_names = True
        except PermissionDeniedError:
            notes.append(
                "ProjectReadOnly is not granted (organization level): project names will not "
                "be recorded and --all-projects is unavailable"
            )
        except (AuthenticationError, TransportError):
            raise
        except ScalewayError:
            notes.append("the project list could not be read: project names will not be recorded")
    for name in required:
        results.setdefault(name, Check.UNKNOWN)
    return PreflightReport(
        operation=operation,
        region=region,
        project_id=project_id,
        required=required,
        results=results,
        project_names=project_names,
        notes=tuple(notes),
    )


def missing_message(reports: Iterable[PreflightReport]) -> PreflightError | None:
    """One error naming every missing set of every report, or None when nothing is missing."""
    missing: dict[str, list[str]] = {}
    for report in reports:
        for name in report.missing:
            missing.setdefault(name, []).append(f"{report.project_id} ({report.region})")
    if not missing:
        return None
    sets = ", ".join(sorted(missing))
    where = sorted({w for ws in missing.values() for w in ws})
    return PreflightError(
        f"the API key lacks the permission set(s) {sets} needed here (project {', '.join(where)})",
        hint=(
            "grant them to the API key's IAM policy in the Scaleway console (IAM > Policies), "
            "for these projects, then run the command again"
        ),
        remedy=Remedy.GRANT_PERMISSION,
        details={"permission_sets": ",".join(sorted(missing))},
    )


async def require(
    client: SecretsAPI,
    targets: Sequence[tuple[str, str]],
    *,
    operation: str,
    organization_id: str | None = None,
    include_disabled: bool = False,
    on_event: EventSink | None = None,
) -> list[PreflightReport]:
    """Preflight every ``(region, project_id)`` target; raise :class:`PreflightError` if any
    permission set is missing."""
    reports = await asyncio.gather(
        *(
            preflight(
                client,
                operation=operation,
                region=region,
                project_id=project_id,
                organization_id=organization_id,
                include_disabled=include_disabled,
                check_projects=False,
                on_event=on_event,
            )
            for region, project_id in targets
        )
    )
    error = missing_message(reports)
    if error is not None:
        raise error
    return list(reports)
