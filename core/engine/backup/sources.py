"""What a backup reads: projects x regions (the sources), and which secrets of each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core.engine import events as ev
from core.engine.events import EventSink, PhaseName
from core.engine.protocols import SecretsAPI
from core.engine.selectors import Selection, check_region
from core.errors import ConfigError, Remedy, UsageError
from core.scaleway.errors import (
    AuthenticationError,
    PermissionDeniedError,
    ScalewayError,
    TransportError,
)
from core.scaleway.models import REGIONS, Project, Secret

DEFAULT_CONCURRENCY = 32


@dataclass(frozen=True)
class BackupOptions:
    """What to back up and how."""

    regions: tuple[str, ...] = ()
    all_regions: bool = False
    projects: tuple[str, ...] = ()
    all_projects: bool = False
    selection: Selection = field(default_factory=Selection)
    secret_tags: tuple[str, ...] = ()  # only secrets carrying every one of these tags
    snapshot_tags: tuple[str, ...] = ()  # tags of the snapshot itself
    environment: str | None = None
    data_class: str | None = None
    include_disabled: bool = False
    rescan: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    preflight: bool = True
    description: str = ""


@dataclass(frozen=True)
class Source:
    """One source of a backup: a project in a region (and the project's name, if known)."""

    region: str
    project_id: str
    project_name: str = ""


async def resolve_sources(
    client: SecretsAPI,
    options: BackupOptions,
    *,
    organization_id: str | None,
    default_project_id: str | None,
    default_region: str | None,
    emit: EventSink,
) -> tuple[list[Source], list[str]]:
    """Expand projects × regions; fetch project names when permitted."""
    warnings: list[str] = []
    if options.all_regions and options.regions:
        raise UsageError(
            "a list of regions and all regions cannot be combined",
            hint="ask for one of them",
            remedy=Remedy.CONFLICTING_OPTIONS,
            details={"option": "regions", "other": "all_regions"},
        )
    if options.all_projects and options.projects:
        raise UsageError(
            "a list of projects and all projects cannot be combined",
            hint="ask for one of them",
            remedy=Remedy.CONFLICTING_OPTIONS,
            details={"option": "projects", "other": "all_projects"},
        )
    regions = list(REGIONS) if options.all_regions else list(dict.fromkeys(options.regions))
    if not regions:
        regions = [default_region or "fr-par"]
    for region in regions:
        check_region(region)
    emit(ev.Phase(PhaseName.PROJECTS, "resolving projects"))
    names: dict[str, str] = {}
    projects: list[Project] = []
    try:
        async for project in client.list_projects(organization_id=organization_id):
            projects.append(project)
            names[project.id] = project.name
    except PermissionDeniedError as err:
        if options.all_projects:
            raise ConfigError(
                "backing up all projects needs to list the organization's projects, and the "
                "API key lacks the ProjectReadOnly permission set",
                hint="grant ProjectReadOnly (organization level) to the API key in IAM, "
                "or name the projects to back up",
                remedy=Remedy.GRANT_PERMISSION,
                details={
                    "permission_set": "ProjectReadOnly",
                    "or": "name_projects",
                    "case": "project_listing",
                },
            ) from err
        warnings.append("ProjectReadOnly not granted: project names are not recorded")
    except (AuthenticationError, TransportError):
        raise
    except ScalewayError as err:
        if options.all_projects:
            raise
        warnings.append(f"projects could not be listed ({type(err).__name__}): names not recorded")
    if options.all_projects:
        project_ids = [p.id for p in projects]
        if not project_ids:
            raise ConfigError(
                "the organization has no project visible to this API key",
                hint="check the organization id and the key's IAM policy",
            )
    else:
        project_ids = list(dict.fromkeys(options.projects))
        if not project_ids and default_project_id:
            project_ids = [default_project_id]
        if not project_ids:
            raise ConfigError(
                "no project to back up",
                hint="name a project (or all projects), or set a default project id in the "
                "profile or SCW_DEFAULT_PROJECT_ID",
                remedy=Remedy.CHOOSE_PROJECT,
                details={"operation": "backup", "case": "backup"},
            )
    for w in warnings:
        emit(ev.EngineWarning(w))
    sources = [Source(r, p, names.get(p, "")) for p in project_ids for r in regions]
    return sources, warnings


def explicit_targets(
    options: BackupOptions, default_project_id: str | None, default_region: str | None
) -> list[tuple[str, str]]:
    """(region, project) pairs of a backup that names its projects (not all projects)."""
    regions = list(REGIONS) if options.all_regions else list(dict.fromkeys(options.regions))
    regions = regions or [default_region or "fr-par"]
    projects = list(dict.fromkeys(options.projects)) or (
        [default_project_id] if default_project_id else []
    )
    return [(r, p) for p in projects for r in regions if r in REGIONS]


def matches(options: BackupOptions, secret: Secret) -> bool:
    if not options.selection.matches(secret.path, secret.name, secret.id):
        return False
    return all(t in secret.tags for t in options.secret_tags)


async def list_source(
    client: SecretsAPI,
    source: Source,
    options: BackupOptions,
    *,
    emit: EventSink,
    put: Callable[[Secret], Awaitable[None]],
) -> None:
    """List one source's secrets (live and scheduled for deletion) and ``put`` the selected."""
    emit(ev.SourceStarted(source.region, source.project_id))
    listed = 0
    selected = 0
    seen: set[str] = set()  # a secret deleted between the two lists is in both
    every = not options.selection.selectors and not options.secret_tags  # no per-secret test

    async def one_list(scheduled: bool) -> None:
        nonlocal listed, selected
        async for secret in client.list_secrets(
            source.region,
            project_id=source.project_id,
            scheduled_for_deletion=scheduled,
        ):
            if secret.id in seen:
                continue
            seen.add(secret.id)
            listed += 1
            if not every and not matches(options, secret):
                continue
            selected += 1
            await put(secret)

    # Live secrets and those scheduled for deletion are two lists; fetch them together.
    await asyncio.gather(one_list(False), one_list(True))
    emit(ev.SecretsListed(source.region, source.project_id, selected, listed=listed))
