"""Coverage: every project x region the credentials can see, and whether a policy backs it up.

Statuses: ``ok`` (every policy covering it succeeded within its RPO), ``late`` (some covering
policy's last success is older than its ``every``, or it never succeeded), ``uncovered`` (no
policy matches a source naming it), ``excluded`` (a source leaves it out deliberately with
``exclude``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.errors import KlosetError
from core.scaleway.client import ScalewayClient
from core.scaleway.models import REGIONS

from .clock import iso
from .history import History
from .policies import ALL, PolicyFile

OK, LATE, UNCOVERED, EXCLUDED = "ok", "late", "uncovered", "excluded"


@dataclass
class Covered:
    project_id: str
    region: str
    status: str
    project_name: str = ""
    policies: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    last_success: datetime | None = None
    jobs: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "project_name": self.project_name,
            "region": self.region,
            "status": self.status,
            "policies": list(self.policies),
            "sources": list(self.sources),
            "last_success": iso(self.last_success),
            "jobs": list(self.jobs),
        }


@dataclass
class CoverageReport:
    items: list[Covered]
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {OK: 0, LATE: 0, UNCOVERED: 0, EXCLUDED: 0}
        for item in self.items:
            out[item.status] += 1
        return out

    @property
    def uncovered(self) -> int:
        return self.counts()[UNCOVERED]

    def to_json(self) -> dict[str, Any]:
        return {
            "coverage": [i.to_json() for i in self.items],
            "counts": self.counts(),
            "warnings": list(self.warnings),
        }


async def visible_projects(client: ScalewayClient, organization_id: str | None) -> dict[str, str]:
    """Project id -> name of every project the key can list (empty without ProjectReadOnly)."""
    out: dict[str, str] = {}
    async for project in client.list_projects(organization_id):
        out[project.id] = project.name
    return out


def assess(
    policies: PolicyFile,
    projects: Mapping[str, str],
    histories: Mapping[str, History],
    now: datetime,
    *,
    regions: Sequence[str] = REGIONS,
    default_project: str | None = None,
    default_region: str | None = None,
) -> list[Covered]:
    """The coverage of ``projects`` x ``regions`` (projects named by sources are added)."""
    named: dict[str, str] = dict(projects)
    for source in policies.sources:
        if source.projects != ALL:
            for pid in source.projects:
                named.setdefault(pid, "")
        for pid in source.exclude:
            named.setdefault(pid, "")
        if not source.projects and default_project:
            named.setdefault(default_project, "")
    items: list[Covered] = []
    for project_id in sorted(named):
        for region in regions:
            item = Covered(project_id, region, UNCOVERED, project_name=named[project_id])
            excluded = False
            late = False
            successes: list[datetime] = []
            for source in policies.sources:
                if not source.names_region(region, default_region) or not source.names_project(
                    project_id, default_project
                ):
                    continue
                if source.excludes(project_id):
                    excluded = True
                    continue
                for policy in policies.policies_of(source):
                    history = histories.get(policy.store, History([]))
                    last = history.last_success(policy.name, source.name)
                    job_late = last is None or last + policy.every <= now
                    late = late or job_late
                    if last is not None:
                        successes.append(last)
                    if policy.name not in item.policies:
                        item.policies.append(policy.name)
                    if source.name not in item.sources:
                        item.sources.append(source.name)
                    item.jobs.append(
                        {
                            "policy": policy.name,
                            "source": source.name,
                            "last_success": iso(last),
                            "late": job_late,
                        }
                    )
            if item.policies:
                item.status = LATE if late else OK
                item.last_success = max(successes) if successes else None
            elif excluded:
                item.status = EXCLUDED
            items.append(item)
    return items


async def coverage(
    policies: PolicyFile,
    clients: Iterable[tuple[ScalewayClient, str | None]],
    histories: Mapping[str, History],
    now: datetime,
    *,
    default_project: str | None = None,
    default_region: str | None = None,
) -> CoverageReport:
    """Coverage across the projects every given (client, organization id) can list."""
    projects: dict[str, str] = {}
    warnings: list[str] = []
    for client, organization_id in clients:
        try:
            projects.update(await visible_projects(client, organization_id))
        except KlosetError as err:
            warnings.append(
                f"projects could not be listed ({err.message}); only the projects the policy "
                "file names are shown"
            )
    items = assess(
        policies,
        projects,
        histories,
        now,
        default_project=default_project,
        default_region=default_region,
    )
    return CoverageReport(items, warnings)


__all__ = ["EXCLUDED", "LATE", "OK", "UNCOVERED", "CoverageReport", "Covered", "assess", "coverage"]
