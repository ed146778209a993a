"""Helpers for the client's conformance tests against the emulator over real HTTP.

The tests add their own API keys to whatever world the shared emulator server holds (demo
data or the conformance config), so they do not depend on which keys that world ships: an
admin key, one key per permission set missing, and a key scoped to a single project.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.emulator import ApiKey, EmulatorApp
from core.scaleway.client import ScalewayClient
from core.scaleway.permissions import PermissionSet

SECRET_MANAGER_SETS: tuple[PermissionSet, ...] = (
    PermissionSet.SECRET_READ_ONLY,
    PermissionSet.SECRET_ACCESS,
    PermissionSet.SECRET_CREATE,
    PermissionSet.SECRET_WRITE,
    PermissionSet.SECRET_DELETE,
    PermissionSet.SECRET_RESTORE,
)
ALL_NARROW_SETS: tuple[PermissionSet, ...] = (
    *SECRET_MANAGER_SETS,
    PermissionSet.PROJECT_READ_ONLY,
    PermissionSet.IAM_READ_ONLY,
)


def _access_key(label: str) -> str:
    digits = str(uuid.UUID(int=uuid.uuid5(uuid.NAMESPACE_URL, label).int)).replace("-", "")
    return ("SCW" + digits.upper())[:20]


@dataclass
class World:
    """Ids and keys the conformance tests use on one emulator."""

    url: str
    app: EmulatorApp
    organization_id: str
    project_id: str
    other_project_id: str
    admin_key: str
    scoped_key: str  # full Secret Manager access to ``other_project_id`` only
    lacking: dict[str, str] = field(default_factory=dict)  # set name -> key without it

    def client(self, key: str | None = None, **kwargs: Any) -> ScalewayClient:
        options: dict[str, Any] = {
            "secret_key": key or self.admin_key,
            "api_url": self.url,
            "organization_id": self.organization_id,
            "default_project_id": self.project_id,
            "backoff_base": 0.01,
            "backoff_max": 0.1,
            "timeout": 10.0,
        }
        options.update(kwargs)
        return ScalewayClient(**options)


def _add_key(
    app: EmulatorApp, label: str, sets: Iterable[str], projects: tuple[str, ...] | None = None
) -> str:
    secret_key = str(uuid.uuid4())
    key = ApiKey(
        access_key=_access_key(label + secret_key),
        secret_key=secret_key,
        permission_sets=frozenset(str(s) for s in sets),
        projects=projects,
        description=f"client conformance: {label}",
    )
    with app.state.lock:
        app.state.add_api_key(key)
    return secret_key


def install_world(app: EmulatorApp, url: str, config: Any = None) -> World:
    """Add this suite's keys to ``app``; ids and the full/scoped keys come from the
    conformance config when given (``tests/conformance/conftest.py``), else from the state."""
    if config is not None:
        world = World(
            url=url,
            app=app,
            organization_id=config.organization_id,
            project_id=config.project_id,
            other_project_id=config.other_project_id,
            admin_key=config.key("full").secret_key,
            scoped_key=config.key("scoped").secret_key,
        )
    else:
        state = app.state
        with state.lock:
            projects = sorted(state.projects)
            organization_id = state.organization_id
        assert len(projects) >= 2, "the conformance world needs two projects"
        project_id = next((p for p in projects if p != organization_id), projects[0])
        other = next(p for p in projects if p != project_id)
        world = World(
            url=url,
            app=app,
            organization_id=organization_id,
            project_id=project_id,
            other_project_id=other,
            admin_key=_add_key(
                app, "admin", [PermissionSet.SECRET_FULL_ACCESS, PermissionSet.PROJECT_READ_ONLY]
            ),
            scoped_key=_add_key(
                app,
                "scoped",
                [PermissionSet.SECRET_FULL_ACCESS, PermissionSet.PROJECT_READ_ONLY],
                projects=(other,),
            ),
        )
    for missing in ALL_NARROW_SETS:
        world.lacking[str(missing)] = _add_key(
            app, f"lacks-{missing}", [s for s in ALL_NARROW_SETS if s != missing]
        )
    return world


def unique(prefix: str = "ct") -> str:
    """A name no other test (or earlier run on a persisted server) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
