"""Validation of credential fields, with the same rules as Scaleway's SDKs.

Every error is a :class:`core.errors.ConfigError` that names the field (or the environment
variable / file the value came from) and never echoes a secret value.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from core.errors import ConfigError

REGIONS: tuple[str, ...] = ("fr-par", "nl-ams", "pl-waw")
DEFAULT_REGION = "fr-par"
DEFAULT_API_URL = "https://api.scaleway.com"

_ACCESS_KEY_RE = re.compile(r"^SCW[A-Z0-9]{17}$", re.IGNORECASE)
_PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _where(field: str, origin: str | None) -> str:
    return f"{field} ({origin})" if origin else field


def validate_profile_name(name: str) -> str:
    if not _PROFILE_NAME_RE.fullmatch(name or ""):
        raise ConfigError(
            f"invalid profile name {name!r}",
            hint="use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


def validate_access_key(value: str, *, field: str = "access_key", origin: str | None = None) -> str:
    value = value.strip()
    if not _ACCESS_KEY_RE.fullmatch(value):
        raise ConfigError(
            f"{_where(field, origin)} is not a Scaleway access key",
            hint="an access key is 'SCW' followed by 17 letters or digits (e.g. SCWXXXXXXXXXXXXXXXXX)",
        )
    return value


def validate_secret_key(value: str, *, field: str = "secret_key", origin: str | None = None) -> str:
    """A Scaleway secret key is a UUID. The value is never put in the error."""
    value = value.strip()
    try:
        uuid.UUID(value)
    except ValueError:
        raise ConfigError(
            f"{_where(field, origin)} is not a Scaleway secret key (it must be a UUID)",
            hint="copy the secret key shown when the API key was created in the Scaleway console",
        ) from None
    if len(value) != 36:
        raise ConfigError(
            f"{_where(field, origin)} is not a Scaleway secret key (it must be a UUID)",
            hint="use the 8-4-4-4-12 form, e.g. 11111111-1111-1111-1111-111111111111",
        )
    return value


def validate_uuid(value: str, *, field: str, origin: str | None = None) -> str:
    value = value.strip()
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ConfigError(
            f"{_where(field, origin)} must be a UUID",
            hint="e.g. 11111111-1111-1111-1111-111111111111 (see the Scaleway console)",
        ) from None
    if len(value) != 36:
        raise ConfigError(
            f"{_where(field, origin)} must be a UUID in the 8-4-4-4-12 form",
            hint="e.g. 11111111-1111-1111-1111-111111111111",
        )
    return str(parsed)


def validate_region(value: str, *, field: str = "default_region", origin: str | None = None) -> str:
    value = value.strip()
    if value not in REGIONS:
        raise ConfigError(
            f"{_where(field, origin)}: unknown region {value!r}",
            hint=f"use one of {', '.join(REGIONS)}",
        )
    return value


def validate_api_url(value: str, *, field: str = "api_url", origin: str | None = None) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{_where(field, origin)} must be an http(s) URL with a host",
            hint="e.g. https://api.scaleway.com or http://127.0.0.1:8421 for the emulator",
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"{_where(field, origin)} must not contain a user name or password",
            hint="credentials go in the keyring or SCW_SECRET_KEY, never in the URL",
        )
    if value.endswith("/"):
        raise ConfigError(
            f"{_where(field, origin)} must not end with a slash",
            hint="remove the trailing slash (Scaleway's SDKs reject it too)",
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"{_where(field, origin)} must not have a query or fragment",
            hint="give only the scheme, host, port and optional path prefix",
        )
    return value
