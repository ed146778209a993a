"""IAM v1alpha1: ``GET /iam/v1alpha1/api-keys/{access_key}``, a key's metadata.

The answer has the real APIKey's fields in its order. The emulator has no IAM users or
applications, so what it does not model is answered with fixed, documented values
(docs/EMULATOR.md): the bearer is an application whose id derives from the access key,
the key was created with the organization's default project, from 127.0.0.1. The secret key
is never returned (``null``), as on Scaleway for any read after creation.
"""

from __future__ import annotations

import uuid

from core.emulator.context import Ctx, Handler, Reply
from core.emulator.errors import invalid, not_found
from core.emulator.state import ACCESS_KEY_RE, ApiKey
from core.scaleway.endpoints import Operation
from core.scaleway.models import format_time

_BEARER_NAMESPACE = uuid.UUID("8f2d7c1e-3b4a-4e5f-9a6b-0c1d2e3f4a5b")
CREATION_IP = "127.0.0.1"


def application_id(key: ApiKey) -> str:
    """The emulated bearer application's id: stable for a given access key."""
    return str(uuid.uuid5(_BEARER_NAMESPACE, key.access_key.upper()))


def api_key_payload(ctx: Ctx, key: ApiKey) -> dict[str, object]:
    default = ctx.state.projects.get(ctx.state.organization_id)
    created = format_time(default.created_at) if default is not None else None
    return {
        "access_key": key.access_key,
        "secret_key": None,
        "application_id": application_id(key),
        "user_id": None,
        "description": key.description,
        "created_at": created,
        "updated_at": created,
        "expires_at": format_time(key.expires_at),
        "default_project_id": key.projects[0] if key.projects else ctx.state.organization_id,
        "editable": True,
        "deletable": True,
        "managed": False,
        "creation_ip": CREATION_IP,
    }


def get_api_key(ctx: Ctx) -> Reply:
    access_key = ctx.params["access_key"]
    if not ACCESS_KEY_RE.match(access_key):
        raise invalid("access_key", "access_key must be SCW followed by 17 letters or digits")
    wanted = access_key.upper()
    for key in ctx.state.api_keys.values():
        if key.access_key.upper() == wanted:
            return Reply(200, api_key_payload(ctx, key))
    raise not_found("api_key", access_key)


HANDLERS: dict[Operation, Handler] = {Operation.GET_API_KEY: get_api_key}
