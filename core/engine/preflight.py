"""Preflight: do these credentials hold what a backup, a restore or a copy needs?

Scaleway's IAM cannot be asked "what may this key do?", so the preflight probes cheap calls
that read no data and change nothing, and reads their answers for what they prove:

- ``SecretManagerReadOnly``: list secrets with ``page_size=1``. A list looks nothing up, so
  its 403 means missing. The secret it returns (if the project has one) is the real ground
  the other probes stand on.
- ``SecretManagerSecretAccess``: access a revision that cannot exist (``4294967295``) of that
  secret (a random secret id in an empty project). ``SecretManagerSecretWrite``: disable that
  revision (or update a random id). ``SecretManagerSecretCreate`` and
  ``SecretManagerSecretRestore``: create a version of, or restore, a random secret id (never a
  real one: a granted create would write).
- ``ProjectReadOnly`` (organization-scoped, optional): list projects. Without it project names
  are left empty in snapshots (and backing up all projects cannot work).

What an answer proves (the 403 body is the SDK's ``PermissionsDeniedError``: ``details`` lists
``{action, resource}``):

- 2xx: present. 403 on the real secret, naming the probe's action (or nothing): missing (the
  key can see the secret, so the denial is the action's).
- 403 on a random id: missing only if the API answers unknown ids with 404 when the permission
  is held (one calibration: the versions of a random id, which ``SecretManagerReadOnly``
  grants); an API that answers 403 to unknown ids makes it ``unknown``.
- 404 (or 400/409/412): present only if this preflight saw the API check permissions before it
  looks a resource up (some probe answered 403 on something that does not exist); otherwise
  ``unknown``: an API that looks up first answers 404 whatever the key holds.

``unknown`` never blocks: the run finds out per secret. The probes run concurrently. A failing
preflight raises :class:`PreflightError` naming the missing sets and the fix; the console shows
the :class:`PreflightReport` in "test connection".
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from core.engine.events import EventSink, Phase, PhaseName, safe_sink
from core.engine.protocols import SecretsAPI
from core.errors import KlosetError, Remedy
from core.scaleway.endpoints import ENDPOINTS
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

    def to_dict(self) -> dict[str, object]:
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


NO_SUCH_REVISION = 2**32 - 1
"""A revision no secret reaches (the API's revisions are uint32, counted from 1)."""


class Answer(StrEnum):
    """What one probe's call answered, before it is read as a :class:`Check`."""

    GRANTED = "granted"  # 2xx: proof
    DENIED = "denied"  # 403 permissions_denied naming the probe's action (or none)
    DENIED_OTHER = "denied_other"  # 403 naming another action: not about this set
    NOT_FOUND = "not_found"  # 404, or 400/409/412: past the lookup, or before it?
    UNAVAILABLE = "unavailable"  # 5xx, 429: nothing learned


@dataclass(frozen=True)
class _Probe:
    """One permission probe: the call to make, and whether it is on a real resource."""

    call: Callable[[], Awaitable[object]]
    real: bool  # on a resource that exists (the listed secret), not a random id


def _names_action(err: PermissionDeniedError) -> bool:
    """A 403's ``details`` (the SDK's ``PermissionsDeniedError.list``) name the action of
    the operation that was refused, or nothing at all."""
    details = err.body.get("details")
    if not isinstance(details, list) or not details or err.operation is None:
        return True
    action = ENDPOINTS[err.operation].denial[0]
    return any(isinstance(d, dict) and d.get("action") == action for d in details)


async def _answer(call: Callable[[], Awaitable[object]]) -> Answer:
    try:
        await call()
    except PermissionDeniedError as err:
        return Answer.DENIED if _names_action(err) else Answer.DENIED_OTHER
    except (AuthenticationError, TransportError):
        raise
    except ScalewayError as err:
        status = err.status_code or 0
        if status >= 500 or status == 429:
            return Answer.UNAVAILABLE
        return Answer.NOT_FOUND
    return Answer.GRANTED


async def _first(aiter: AsyncIterator[T]) -> T | None:
    async for item in aiter:
        return item
    return None


def _conclude(answer: Answer, *, real: bool, unknown_ids_404: bool, permissions_first: bool) -> str:
    """One probe's answer read with what the other probes showed about the API."""
    if answer == Answer.GRANTED:
        return Check.PRESENT
    if answer == Answer.DENIED:
        return Check.MISSING if real or unknown_ids_404 else Check.UNKNOWN
    if answer == Answer.NOT_FOUND:
        return Check.PRESENT if permissions_first else Check.UNKNOWN
    return Check.UNKNOWN


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
    read = str(PermissionSet.SECRET_READ_ONLY)

    # The read probe first: its secret is the ground the others probe.
    known = None
    try:
        known = await _first(client.list_secrets(region, project_id=project_id, page_size=1))
        results[read] = Check.PRESENT
    except PermissionDeniedError:
        results[read] = Check.MISSING
    except (AuthenticationError, TransportError):
        raise
    except ScalewayError:
        results[read] = Check.UNKNOWN

    real_id = known.id if known is not None else None
    probes: dict[str, _Probe] = {}
    if str(PermissionSet.SECRET_ACCESS) in required:
        if real_id is not None:
            sid = real_id
            probes[str(PermissionSet.SECRET_ACCESS)] = _Probe(
                lambda: client.access_version(region, sid, NO_SUCH_REVISION), real=True
            )
        else:
            rid_a = _random_id()
            probes[str(PermissionSet.SECRET_ACCESS)] = _Probe(
                lambda: client.access_version(region, rid_a, "latest"), real=False
            )
    if str(PermissionSet.SECRET_CREATE) in required:
        rid_c = _random_id()
        probes[str(PermissionSet.SECRET_CREATE)] = _Probe(
            lambda: client.create_version(region, rid_c, b"preflight", known_latest_revision=0),
            real=False,
        )
    if str(PermissionSet.SECRET_WRITE) in required:
        if real_id is not None:
            wid = real_id
            probes[str(PermissionSet.SECRET_WRITE)] = _Probe(
                lambda: client.disable_version(region, wid, NO_SUCH_REVISION), real=True
            )
        else:
            rid_w = _random_id()
            probes[str(PermissionSet.SECRET_WRITE)] = _Probe(
                lambda: client.update_secret(region, rid_w, description="preflight"), real=False
            )
    if str(PermissionSet.SECRET_RESTORE) in required:
        rid_r = _random_id()
        probes[str(PermissionSet.SECRET_RESTORE)] = _Probe(
            lambda: client.restore_secret(region, rid_r), real=False
        )

    async def calibrate() -> Answer:
        """How the API answers an unknown id when the permission is held (ReadOnly is)."""
        return await _answer(lambda: _first(client.list_versions(region, _random_id())))

    names = list(probes)
    answers = await asyncio.gather(
        *(_answer(probes[n].call) for n in names),
        calibrate() if results[read] == Check.PRESENT and names else _unavailable(),
    )
    by_name = dict(zip(names, answers[:-1], strict=True))
    unknown_ids_404 = answers[-1] == Answer.NOT_FOUND
    # A 403 where a lookup would have answered 404 (a revision that cannot exist of a real
    # secret; a random id, if the API answers unknown ids 404 when allowed): this API checks
    # permissions before it looks a resource up, so its 404s mean granted.
    permissions_first = any(
        a == Answer.DENIED and (probes[n].real or unknown_ids_404) for n, a in by_name.items()
    )
    for name, answer in by_name.items():
        results[name] = _conclude(
            answer,
            real=probes[name].real,
            unknown_ids_404=unknown_ids_404,
            permissions_first=permissions_first,
        )
    undecided = [n for n in names if results[n] == Check.UNKNOWN]
    if undecided:
        notes.append(
            f"could not tell whether {', '.join(undecided)} "
            f"{'is' if len(undecided) == 1 else 'are'} granted (the API looked the probe's "
            "resource up before, or instead of, checking the permission): the run will find "
            "out per secret"
        )

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


async def _unavailable() -> Answer:
    return Answer.UNAVAILABLE


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
