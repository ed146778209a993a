"""API key expiry: an expired key stops backups silently, so warn well before it does.

The key's ``expires_at`` is read through IAM (``GET /iam/v1alpha1/api-keys/{access_key}``)
with the client's ``get_api_key``, when the client has it and the key may read itself: a
403 (or 404, or a client without IAM support) is not an error, the expiry is just unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from core.errors import KlosetError

WARN_BEFORE = timedelta(days=14)


class ApiKeyLike(Protocol):
    @property
    def expires_at(self) -> datetime | None: ...


@runtime_checkable
class ApiKeyReader(Protocol):
    """The client's IAM read (``ScalewayClient.get_api_key``)."""

    async def get_api_key(self, access_key: str) -> ApiKeyLike: ...


@dataclass(frozen=True)
class KeyExpiry:
    profile: str
    access_key: str
    expires_at: datetime | None
    warning: str | None = None


async def read_expiry(
    client: object, access_key: str | None, profile: str, now: datetime
) -> KeyExpiry | None:
    """The key's expiry (None when it cannot be known), with a warning inside 14 days."""
    if not access_key or not isinstance(client, ApiKeyReader):
        return None
    try:
        key = await client.get_api_key(access_key)
    except KlosetError:
        return None  # 403: the key may not read itself; 404 or transport: unknown
    expires = getattr(key, "expires_at", None)
    if not isinstance(expires, datetime):
        return KeyExpiry(profile, access_key, None)
    warning = None
    left = expires - now
    if left <= timedelta(0):
        warning = f"the API key {access_key} of profile {profile} expired at {expires.isoformat()}"
    elif left <= WARN_BEFORE:
        days = max(int(left.total_seconds() // 86400), 0)
        warning = (
            f"the API key {access_key} of profile {profile} expires in {days} day(s), "
            f"at {expires.isoformat()}: renew it before backups stop"
        )
    return KeyExpiry(profile, access_key, expires, warning)


__all__ = ["WARN_BEFORE", "ApiKeyLike", "ApiKeyReader", "KeyExpiry", "read_expiry"]
