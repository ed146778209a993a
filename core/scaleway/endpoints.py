"""The one table of the Scaleway API operations this project speaks.

Each :class:`Operation` has one :class:`Endpoint`: HTTP method, path template, whether a
failed attempt may be repeated (:class:`Mode`), the narrowest IAM permission set that grants
it, what the request carries (a JSON body, the empty ``{}`` of an action, or nothing) and
which query parameters it takes. Three consumers read it instead of keeping their own copy:

* the client (:mod:`core.scaleway._calls`) builds each request's method and URL from it and
  picks the retry mode;
* the emulator builds its routes from it (path templates use Starlette's ``{name}`` syntax;
  ``ENDPOINTS`` is ordered so that ``/secrets/browse`` comes before ``/secrets/{secret_id}``)
  and enforces ``permission`` and ``denial``;
* :mod:`core.scaleway.permissions` derives ``REQUIRED_SET`` (what preflight and 403 hints
  name) from ``permission``.

Sources: the wire spec (``docs`` reference ``scaleway-api.md`` §3, §7, §8) and Scaleway's
IAM permission-set reference (``IAMReadOnly``: list and read users, applications, policies
and API keys).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Literal
from urllib.parse import quote

__all__ = [
    "ENDPOINTS",
    "ENDPOINT_LIST",
    "Body",
    "Endpoint",
    "Method",
    "Mode",
    "Operation",
    "PermissionSet",
    "endpoint",
]

Method = Literal["GET", "POST", "PATCH", "DELETE"]


class PermissionSet(StrEnum):
    """Scaleway IAM permission sets (the names policies grant)."""

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
    IAM_READ_ONLY = "IAMReadOnly"
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
    GET_API_KEY = "get_api_key"


class Mode(StrEnum):
    """What may be repeated after a failed attempt."""

    IDEMPOTENT = "idempotent"  # GET, PATCH, state-setting actions: repeat freely
    DELETE = "delete"  # repeat; a 404 after an ambiguous attempt means it was done
    CREATE = "create"  # repeat only when the request surely did not take effect


class Body(StrEnum):
    """What a request carries."""

    NONE = "none"  # no body (GET, DELETE)
    JSON = "json"  # a JSON object of the fields given
    EMPTY = "empty"  # the literal ``{}`` of an action endpoint (protect, enable, restore...)


_SM = "/secret-manager/v1beta1/regions/{region}"
_SECRET = _SM + "/secrets/{secret_id}"
_VERSION = _SECRET + "/versions/{revision}"
_PAGE = ("page", "page_size")
_FORMATTER = string.Formatter()
# What ``quote(value, safe="")`` leaves as it is: ids (UUIDs), regions and revisions are.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


@cache
def _path_params(path: str) -> tuple[str, ...]:
    """A template's parameters, parsed once (every request asked for them)."""
    return tuple(name for _, name, _, _ in _FORMATTER.parse(path) if name)


def _quoted(value: object) -> str:
    """``quote(value, safe="")``, skipped for the values it would leave as they are."""
    text = str(value)
    return text if _UNRESERVED.fullmatch(text) else quote(text, safe="")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation on the wire.

    ``path`` is a template whose ``{names}`` are path parameters (``region``, ``secret_id``,
    ``revision``, ``project_id``, ``access_key``); ``query`` names every query parameter the
    operation takes (repeated keys for lists, ``page``/``page_size`` on paginated ones);
    ``items`` is the key of a paginated answer's list; ``denial`` is the IAM ``(action,
    resource)`` a 403 names in its details.
    """

    operation: Operation
    method: Method
    path: str
    mode: Mode
    permission: PermissionSet
    denial: tuple[str, str]
    body: Body = Body.NONE
    query: tuple[str, ...] = ()
    items: str | None = None

    @property
    def path_params(self) -> tuple[str, ...]:
        """The path parameters, in template order."""
        return _path_params(self.path)

    @property
    def regional(self) -> bool:
        """Whether the region is part of the path (Secret Manager: yes; Account, IAM: no)."""
        return "region" in self.path_params

    @property
    def paginated(self) -> bool:
        return self.items is not None

    def url(self, **params: str) -> str:
        """The path with each parameter percent-encoded as one segment (callers validate)."""
        return self.path.format_map({k: _quoted(v) for k, v in params.items()})


def _e(
    operation: Operation,
    method: Method,
    path: str,
    permission: PermissionSet,
    denial: tuple[str, str],
    *,
    mode: Mode | None = None,
    body: Body | None = None,
    query: tuple[str, ...] = (),
    items: str | None = None,
) -> Endpoint:
    if mode is None:
        mode = Mode.DELETE if method == "DELETE" else Mode.IDEMPOTENT
    if body is None:
        body = Body.JSON if method in ("POST", "PATCH") else Body.NONE
    return Endpoint(operation, method, path, mode, permission, denial, body, query, items)


_P = PermissionSet
_O = Operation
_SECRET_FILTERS = ("project_id", "order_by", "tags", "type")

# Ordered as routes must be tried: ``/secrets/browse`` before ``/secrets/{secret_id}``.
ENDPOINT_LIST: tuple[Endpoint, ...] = (
    _e(_O.CREATE_SECRET, "POST", _SM + "/secrets", _P.SECRET_CREATE, ("create", "secret"),
       mode=Mode.CREATE),
    _e(_O.LIST_SECRETS, "GET", _SM + "/secrets", _P.SECRET_READ_ONLY, ("read", "secret"),
       query=("organization_id", *_SECRET_FILTERS, "name", "path", "ephemeral",
              "scheduled_for_deletion", *_PAGE),
       items="secrets"),
    _e(_O.BROWSE_SECRETS, "GET", _SM + "/secrets/browse", _P.SECRET_READ_ONLY,
       ("read", "secret"), query=("prefix", *_SECRET_FILTERS, *_PAGE), items="items"),
    _e(_O.GET_SECRET, "GET", _SECRET, _P.SECRET_READ_ONLY, ("read", "secret")),
    _e(_O.UPDATE_SECRET, "PATCH", _SECRET, _P.SECRET_WRITE, ("write", "secret")),
    _e(_O.DELETE_SECRET, "DELETE", _SECRET, _P.SECRET_DELETE, ("delete", "secret")),
    _e(_O.PROTECT_SECRET, "POST", _SECRET + "/protect", _P.SECRET_WRITE, ("write", "secret"),
       body=Body.EMPTY),
    _e(_O.UNPROTECT_SECRET, "POST", _SECRET + "/unprotect", _P.SECRET_WRITE,
       ("write", "secret"), body=Body.EMPTY),
    _e(_O.RESTORE_SECRET, "POST", _SECRET + "/restore", _P.SECRET_RESTORE,
       ("restore", "secret"), body=Body.EMPTY),
    _e(_O.ADD_SECRET_OWNER, "POST", _SECRET + "/add-owner", _P.SECRET_WRITE,
       ("write", "secret")),
    _e(_O.CREATE_VERSION, "POST", _SECRET + "/versions", _P.SECRET_CREATE,
       ("create", "secret_version"), mode=Mode.CREATE),
    _e(_O.LIST_VERSIONS, "GET", _SECRET + "/versions", _P.SECRET_READ_ONLY,
       ("read", "secret_version"), query=("status", *_PAGE), items="versions"),
    _e(_O.GET_VERSION, "GET", _VERSION, _P.SECRET_READ_ONLY, ("read", "secret_version")),
    _e(_O.UPDATE_VERSION, "PATCH", _VERSION, _P.SECRET_WRITE, ("write", "secret_version")),
    _e(_O.DELETE_VERSION, "DELETE", _VERSION, _P.SECRET_DELETE, ("delete", "secret_version")),
    _e(_O.ACCESS_VERSION, "GET", _VERSION + "/access", _P.SECRET_ACCESS,
       ("access", "secret_version")),
    _e(_O.ENABLE_VERSION, "POST", _VERSION + "/enable", _P.SECRET_WRITE,
       ("write", "secret_version"), body=Body.EMPTY),
    _e(_O.DISABLE_VERSION, "POST", _VERSION + "/disable", _P.SECRET_WRITE,
       ("write", "secret_version"), body=Body.EMPTY),
    _e(_O.RESTORE_VERSION, "POST", _VERSION + "/restore", _P.SECRET_RESTORE,
       ("restore", "secret_version"), body=Body.EMPTY),
    _e(_O.ACCESS_VERSION_BY_PATH, "GET", _SM + "/secrets-by-path/versions/{revision}/access",
       _P.SECRET_ACCESS, ("access", "secret_version"),
       query=("secret_path", "secret_name", "project_id")),
    _e(_O.LIST_TAGS, "GET", _SM + "/tags", _P.SECRET_READ_ONLY, ("read", "secret"),
       query=("project_id", *_PAGE), items="tags"),
    _e(_O.LIST_SECRET_TYPES, "GET", _SM + "/secret-types", _P.SECRET_READ_ONLY,
       ("read", "secret"), query=("project_id", *_PAGE), items="types"),
    _e(_O.LIST_PROJECTS, "GET", "/account/v3/projects", _P.PROJECT_READ_ONLY,
       ("read", "project"),
       query=("organization_id", "name", "project_ids", "order_by", *_PAGE), items="projects"),
    _e(_O.GET_PROJECT, "GET", "/account/v3/projects/{project_id}", _P.PROJECT_READ_ONLY,
       ("read", "project")),
    _e(_O.GET_API_KEY, "GET", "/iam/v1alpha1/api-keys/{access_key}", _P.IAM_READ_ONLY,
       ("read", "api_key")),
)  # fmt: skip

ENDPOINTS: dict[Operation, Endpoint] = {e.operation: e for e in ENDPOINT_LIST}


def endpoint(operation: Operation) -> Endpoint:
    """The endpoint of ``operation`` (every operation has exactly one)."""
    return ENDPOINTS[operation]
