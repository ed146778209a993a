"""Scaleway IAM permission sets and which API operation needs which.

The table follows the spec's IAM section. The client uses it to name the permission set a
403 is missing; the emulator uses it to enforce API keys' permission sets; the preflight uses
it to say what an operation needs before it starts.
"""

from __future__ import annotations

from enum import StrEnum


class PermissionSet(StrEnum):
    SECRET_READ_ONLY = "SecretManagerReadOnly"
    SECRET_ACCESS = "SecretManagerSecretAccess"
    SECRET_CREATE = "SecretManagerSecretCreate"
    SECRET_WRITE = "SecretManagerSecretWrite"
    SECRET_DELETE = "SecretManagerSecretDelete"
    SECRET_RESTORE = "SecretManagerSecretRestore"
    SECRET_FULL_ACCESS = "SecretManagerFullAccess"
    ALL_PRODUCTS_FULL_ACCESS = "AllProductsFullAccess"
    ALL_PRODUCTS_READ_ONLY = "AllProductsReadOnly"
    PROJECT_READ_ONLY = "ProjectReadOnly"
    PROJECT_MANAGER = "ProjectManager"
    IAM_MANAGER = "IAMManager"
    ORGANIZATION_MANAGER = "OrganizationManager"


class Operation(StrEnum):
    """Every API operation the client and the emulator know, by its SDK name."""

    CREATE_SECRET = "create_secret"
    LIST_SECRETS = "list_secrets"
    BROWSE_SECRETS = "browse_secrets"
    GET_SECRET = "get_secret"
    UPDATE_SECRET = "update_secret"
    DELETE_SECRET = "delete_secret"
    PROTECT_SECRET = "protect_secret"
    UNPROTECT_SECRET = "unprotect_secret"
    RESTORE_SECRET = "restore_secret"
    ADD_SECRET_OWNER = "add_secret_owner"
    CREATE_VERSION = "create_secret_version"
    LIST_VERSIONS = "list_secret_versions"
    GET_VERSION = "get_secret_version"
    UPDATE_VERSION = "update_secret_version"
    DELETE_VERSION = "delete_secret_version"
    ACCESS_VERSION = "access_secret_version"
    ACCESS_VERSION_BY_PATH = "access_secret_version_by_path"
    ENABLE_VERSION = "enable_secret_version"
    DISABLE_VERSION = "disable_secret_version"
    RESTORE_VERSION = "restore_secret_version"
    LIST_TAGS = "list_tags"
    LIST_SECRET_TYPES = "list_secret_types"
    LIST_PROJECTS = "list_projects"
    GET_PROJECT = "get_project"


# The narrowest permission set that grants each operation.
REQUIRED_SET: dict[Operation, PermissionSet] = {
    Operation.LIST_SECRETS: PermissionSet.SECRET_READ_ONLY,
    Operation.BROWSE_SECRETS: PermissionSet.SECRET_READ_ONLY,
    Operation.GET_SECRET: PermissionSet.SECRET_READ_ONLY,
    Operation.LIST_VERSIONS: PermissionSet.SECRET_READ_ONLY,
    Operation.GET_VERSION: PermissionSet.SECRET_READ_ONLY,
    Operation.LIST_TAGS: PermissionSet.SECRET_READ_ONLY,
    Operation.LIST_SECRET_TYPES: PermissionSet.SECRET_READ_ONLY,
    Operation.ACCESS_VERSION: PermissionSet.SECRET_ACCESS,
    Operation.ACCESS_VERSION_BY_PATH: PermissionSet.SECRET_ACCESS,
    Operation.CREATE_SECRET: PermissionSet.SECRET_CREATE,
    Operation.CREATE_VERSION: PermissionSet.SECRET_CREATE,
    Operation.UPDATE_SECRET: PermissionSet.SECRET_WRITE,
    Operation.UPDATE_VERSION: PermissionSet.SECRET_WRITE,
    Operation.PROTECT_SECRET: PermissionSet.SECRET_WRITE,
    Operation.UNPROTECT_SECRET: PermissionSet.SECRET_WRITE,
    Operation.ENABLE_VERSION: PermissionSet.SECRET_WRITE,
    Operation.DISABLE_VERSION: PermissionSet.SECRET_WRITE,
    Operation.ADD_SECRET_OWNER: PermissionSet.SECRET_WRITE,
    Operation.DELETE_SECRET: PermissionSet.SECRET_DELETE,
    Operation.DELETE_VERSION: PermissionSet.SECRET_DELETE,
    Operation.RESTORE_SECRET: PermissionSet.SECRET_RESTORE,
    Operation.RESTORE_VERSION: PermissionSet.SECRET_RESTORE,
    Operation.LIST_PROJECTS: PermissionSet.PROJECT_READ_ONLY,
    Operation.GET_PROJECT: PermissionSet.PROJECT_READ_ONLY,
}

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
    PermissionSet.IAM_MANAGER: frozenset({PermissionSet.PROJECT_READ_ONLY}),
    PermissionSet.ORGANIZATION_MANAGER: frozenset({PermissionSet.PROJECT_READ_ONLY}),
}

# Organization-scoped sets (the rest are project-scoped).
ORGANIZATION_SCOPED: frozenset[PermissionSet] = frozenset(
    {
        PermissionSet.PROJECT_READ_ONLY,
        PermissionSet.PROJECT_MANAGER,
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
