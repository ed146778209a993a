"""Scaleway IAM permission sets and which API operation needs which.

Which set each operation needs is a column of the one endpoint table
(:mod:`core.scaleway.endpoints`, where ``PermissionSet`` and ``Operation`` are declared and
from where this module re-exports them); this module says how sets relate (``IMPLIES``,
organization scope) and what backup and restore need. The client uses it to name the
permission set a 403 is missing; the emulator uses it to enforce API keys' permission sets;
the preflight uses it to say what an operation needs before it starts.
"""

from __future__ import annotations

from core.scaleway.endpoints import ENDPOINTS, Operation, PermissionSet

__all__ = [
    "BACKUP_NEEDS",
    "IMPLIES",
    "ORGANIZATION_SCOPED",
    "REQUIRED_SET",
    "RESTORE_NEEDS",
    "Operation",
    "PermissionSet",
    "expand",
    "grants",
]


# The narrowest permission set that grants each operation, from the one endpoint table.
REQUIRED_SET: dict[Operation, PermissionSet] = {op: e.permission for op, e in ENDPOINTS.items()}

# Sets that include others (a key holding the left one is granted everything on the right).
IMPLIES: dict[PermissionSet, frozenset[PermissionSet]] = {
    PermissionSet.SECRET_FULL_ACCESS: frozenset(
        {
            PermissionSet.SECRET_READ_ONLY,
            PermissionSet.SECRET_ACCESS,
            PermissionSet.SECRET_CREATE,
            PermissionSet.SECRET_WRITE,
            PermissionSet.SECRET_DELETE,
            PermissionSet.SECRET_RESTORE,
        }
    ),
    PermissionSet.ALL_PRODUCTS_FULL_ACCESS: frozenset(
        {
            PermissionSet.SECRET_READ_ONLY,
            PermissionSet.SECRET_ACCESS,
            PermissionSet.SECRET_CREATE,
            PermissionSet.SECRET_WRITE,
            PermissionSet.SECRET_DELETE,
            PermissionSet.SECRET_RESTORE,
        }
    ),
    PermissionSet.ALL_PRODUCTS_READ_ONLY: frozenset({PermissionSet.SECRET_READ_ONLY}),
    PermissionSet.PROJECT_MANAGER: frozenset({PermissionSet.PROJECT_READ_ONLY}),
    # IAMManager: "all possible actions for ... API keys and all ProjectManager permissions".
    PermissionSet.IAM_MANAGER: frozenset(
        {PermissionSet.PROJECT_READ_ONLY, PermissionSet.IAM_READ_ONLY}
    ),
    # OrganizationManager: "all possible actions for Projects, IAM, billing ...".
    PermissionSet.ORGANIZATION_MANAGER: frozenset(
        {PermissionSet.PROJECT_READ_ONLY, PermissionSet.IAM_READ_ONLY}
    ),
}

# Organization-scoped sets (the rest are project-scoped).
ORGANIZATION_SCOPED: frozenset[PermissionSet] = frozenset(
    {
        PermissionSet.PROJECT_READ_ONLY,
        PermissionSet.PROJECT_MANAGER,
        PermissionSet.IAM_READ_ONLY,
        PermissionSet.IAM_MANAGER,
        PermissionSet.ORGANIZATION_MANAGER,
    }
)

BACKUP_NEEDS: tuple[PermissionSet, ...] = (
    PermissionSet.SECRET_READ_ONLY,
    PermissionSet.SECRET_ACCESS,
)
RESTORE_NEEDS: tuple[PermissionSet, ...] = (
    PermissionSet.SECRET_READ_ONLY,
    PermissionSet.SECRET_ACCESS,
    PermissionSet.SECRET_CREATE,
    PermissionSet.SECRET_WRITE,
    PermissionSet.SECRET_RESTORE,
)


def expand(sets: set[str] | frozenset[str] | list[str] | tuple[str, ...]) -> frozenset[str]:
    """All permission sets granted by holding ``sets`` (each set plus what it implies)."""
    granted: set[str] = set(sets)
    for name in list(granted):
        try:
            granted |= {str(s) for s in IMPLIES.get(PermissionSet(name), ())}
        except ValueError:
            continue
    return frozenset(granted)


def grants(held: set[str] | frozenset[str] | list[str] | tuple[str, ...], op: Operation) -> bool:
    """Whether holding the sets ``held`` allows ``op``."""
    return str(REQUIRED_SET[op]) in expand(held)
