"""The handlers of every operation of :mod:`core.scaleway.endpoints`, by resource.

Each takes the request's :class:`core.emulator.context.Ctx` (already authenticated and
authorized, under the state lock) and returns a :class:`core.emulator.context.Reply`, or
raises :class:`core.emulator.errors.ApiError`.
"""

from __future__ import annotations

from core.emulator.context import Handler
from core.emulator.handlers import iam, projects, secrets, versions
from core.scaleway.endpoints import Operation

HANDLERS: dict[Operation, Handler] = {
    **secrets.HANDLERS,
    **versions.HANDLERS,
    **projects.HANDLERS,
    **iam.HANDLERS,
}
"""Operation -> handler; every operation of the endpoint table has one (a test checks)."""

__all__ = ["HANDLERS"]
