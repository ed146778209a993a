"""How many secrets an engine works on at once.

The client's adaptive limiter bounds the *requests* in flight (it starts at the configured
concurrency, grows to its ceiling while requests wait and answers are clean, halves under
throttling). An engine that starts fewer *secrets* than that ceiling caps the requests below
what the limiter would allow: at 100 ms a request, 32 secrets of 3 versions keep ~90 requests
in flight whatever the limiter says. So backup, restore and copy start as many secrets as the
ceiling allows, and leave the pace to the limiter.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class GrowingClient(Protocol):
    """A client whose adaptive limit grows to a ceiling (:class:`ScalewayClient`)."""

    @property
    def concurrency_ceiling(self) -> int: ...


def secrets_at_once(client: object, asked: int) -> int:
    """As many secrets at once as ``client``'s ceiling allows, never fewer than ``asked``
    (a client without a ceiling, a test double, gets ``asked``)."""
    if isinstance(client, GrowingClient):
        return max(asked, int(client.concurrency_ceiling))
    return asked


__all__ = ["GrowingClient", "secrets_at_once"]
