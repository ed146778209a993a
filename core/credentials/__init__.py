"""Credentials: profiles (XDG config + OS keyring), SCW_* environment, scw config file.

The names most callers need::

    from core.credentials import resolve_credentials
    creds = resolve_credentials(profile=None)   # explicit profile > SCW_* env > default > scw
    client = creds.client()

``get_store_location(profile)`` and ``get_store_passphrase(profile)`` give a profile's store
location and keyring-kept store passphrase (profile None: the default profile).

See ``docs/CREDENTIALS.md`` for the user-facing rules.
"""

from core.credentials.keyring_store import (
    BackendStatus,
    KeyringUnavailableError,
    backend_description,
    check_backend,
)
from core.credentials.profiles import (
    Profile,
    ProfileStore,
    get_store_location,
    get_store_passphrase,
)
from core.credentials.resolve import Credentials, resolve_credentials, resolve_credentials_async

__all__ = [
    "BackendStatus",
    "Credentials",
    "KeyringUnavailableError",
    "Profile",
    "ProfileStore",
    "backend_description",
    "check_backend",
    "get_store_location",
    "get_store_passphrase",
    "resolve_credentials",
    "resolve_credentials_async",
]
