"""Which credentials a command uses.

Order, first match wins:

1. an explicit profile: the ``profile`` argument (``--profile``) or ``$SECRET_KLOSET_PROFILE``.
   One of our profiles by that name; failing that, the scw config profile by that name.
2. the environment, when ``$SCW_SECRET_KEY`` is set: every ``SCW_*`` variable that is set
   overrides, field by field, the scw config file's selected profile (as Scaleway's SDKs do);
   fields set nowhere take their defaults.
3. our default profile (``secret-kloset profile set-default``), when one is configured.
4. the scw config file's selected profile (``$SCW_PROFILE`` › ``active_profile`` ›
   ``default``), with any ``SCW_*`` variable that is set overriding its field.

An explicitly chosen profile, and our default profile, are self-contained (our secret keys come
from the OS keyring); the one thing the environment adds to them is ``$SCW_API_URL``, used when
the profile sets no ``api_url``.
Defaults: region ``fr-par``, API URL ``https://api.scaleway.com``.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.credentials import keyring_store
from core.credentials.profiles import Profile, ProfileStore
from core.credentials.scw_config import DEFAULT_PROFILE, load_scw_config
from core.credentials.validation import (
    DEFAULT_API_URL,
    DEFAULT_REGION,
    validate_access_key,
    validate_api_url,
    validate_region,
    validate_secret_key,
    validate_uuid,
)
from core.errors import ConfigError, Remedy

if TYPE_CHECKING:
    from core.credentials.scw_config import ScwConfig, ScwProfile
    from core.scaleway.client import ScalewayClient

PROFILE_ENV = "SECRET_KLOSET_PROFILE"

# field -> environment variable
ENV_VARIABLES: dict[str, str] = {
    "access_key": "SCW_ACCESS_KEY",
    "secret_key": "SCW_SECRET_KEY",
    "organization_id": "SCW_DEFAULT_ORGANIZATION_ID",
    "default_project_id": "SCW_DEFAULT_PROJECT_ID",
    "default_region": "SCW_DEFAULT_REGION",
    "api_url": "SCW_API_URL",
}


@dataclass(frozen=True)
class Credentials:
    """Everything needed to talk to Scaleway. ``repr``/``str`` never show the secret key."""

    secret_key: str = field(repr=False)
    access_key: str | None
    organization_id: str | None
    default_project_id: str | None
    default_region: str
    api_url: str
    source: str  # e.g. "profile 'prod'", "environment", "scw config profile 'default'"
    profile: str | None = None  # our profile's name, when they come from one
    store: str | None = None  # that profile's store location, if it has one

    def __str__(self) -> str:
        return (
            f"credentials from {self.source} (access key {self.access_key or 'unset'}, "
            f"region {self.default_region}, API {self.api_url})"
        )

    def public_dict(self) -> dict[str, str | None]:
        """Every field except the secret key (for ``--json`` output and the console)."""
        return {
            "source": self.source,
            "profile": self.profile,
            "access_key": self.access_key,
            "organization_id": self.organization_id,
            "default_project_id": self.default_project_id,
            "default_region": self.default_region,
            "api_url": self.api_url,
            "store": self.store,
        }

    def client(self, **kwargs: Any) -> ScalewayClient:
        """A :class:`core.scaleway.client.ScalewayClient` for these credentials; ``kwargs``
        (timeout, max_retries, max_concurrency, transport, ...) are passed through."""
        from core.scaleway.client import ScalewayClient

        return ScalewayClient(
            secret_key=self.secret_key,
            api_url=self.api_url,
            organization_id=self.organization_id,
            default_project_id=self.default_project_id,
            default_region=self.default_region,
            **kwargs,
        )


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _environment_fields() -> dict[str, tuple[str, str]]:
    """field -> (value, origin) for every ``SCW_*`` variable that is set."""
    return {
        key: (value, variable)
        for key, variable in ENV_VARIABLES.items()
        if (value := _env(variable)) is not None
    }


def _missing_credentials() -> ConfigError:
    return ConfigError(
        "no Scaleway credentials found",
        hint=(
            "give them one of three ways: a profile (its secret key kept in the OS keyring; "
            "chosen by name or with SECRET_KLOSET_PROFILE), the environment (SCW_SECRET_KEY, with SCW_ACCESS_KEY, SCW_DEFAULT_ORGANIZATION_ID, "
            "SCW_DEFAULT_PROJECT_ID, SCW_DEFAULT_REGION), or the scw CLI's config file "
            "(~/.config/scw/config.yaml, 'scw init'; SCW_CONFIG_PATH, SCW_PROFILE)"
        ),
        remedy=Remedy.CONFIGURE_CREDENTIALS,
    )


def _build(values: dict[str, tuple[str, str]], source: str, **extra: str | None) -> Credentials:
    """Validate ``values`` (field -> (value, origin)) into :class:`Credentials`."""

    def get(key: str) -> tuple[str | None, str | None]:
        value, origin = values.get(key, (None, None))
        return value, origin

    secret, origin = get("secret_key")
    if not secret:
        raise _missing_credentials()
    secret = validate_secret_key(secret, origin=origin)
    access, origin = get("access_key")
    if access:
        access = validate_access_key(access, origin=origin)
    org, origin = get("organization_id")
    if org:
        org = validate_uuid(org, field="organization_id", origin=origin)
    project, origin = get("default_project_id")
    if project:
        project = validate_uuid(project, field="default_project_id", origin=origin)
    region, origin = get("default_region")
    region = validate_region(region, origin=origin) if region else DEFAULT_REGION
    api_url, origin = get("api_url")
    api_url = validate_api_url(api_url, origin=origin) if api_url else DEFAULT_API_URL
    return Credentials(
        secret_key=secret,
        access_key=access,
        organization_id=org,
        default_project_id=project,
        default_region=region,
        api_url=api_url,
        source=source,
        profile=extra.get("profile"),
        store=extra.get("store"),
    )


def _scw_values(scw: ScwProfile, origin: str) -> dict[str, tuple[str, str]]:
    pairs = {
        "secret_key": scw.secret_key,
        "access_key": scw.access_key,
        "organization_id": scw.organization_id,
        "default_project_id": scw.project_id,
        "default_region": scw.region,
        "api_url": scw.api_url,
    }
    return {k: (v, origin) for k, v in pairs.items() if v}


def _from_profile(profile: Profile, source: str) -> Credentials:
    secret = keyring_store.get_secret_key(profile.name)
    if secret is None:
        raise ConfigError(
            f"profile {profile.name!r} has no secret key in the OS keyring "
            f"({keyring_store.backend_description()})",
            hint="store the profile's secret key in the OS keyring again (replace the profile)",
            remedy=Remedy.ADD_PROFILE,
            details={"profile": profile.name, "replace": "true", "case": "secret_missing"},
        )
    origin = f"profile {profile.name!r}"
    values: dict[str, tuple[str, str]] = {"secret_key": (secret, "OS keyring")}
    for key in ("access_key", "organization_id", "default_project_id", "default_region"):
        value = getattr(profile, key)
        if value:
            values[key] = (value, origin)
    if profile.api_url:
        values["api_url"] = (profile.api_url, origin)
    elif (env_url := _env("SCW_API_URL")) is not None:
        values["api_url"] = (env_url, "SCW_API_URL")
    return _build(values, source, profile=profile.name, store=profile.store)


def _from_scw(config: ScwConfig, name: str | None, *, overlay_env: bool) -> Credentials:
    scw = config.profile(name)
    origin = f"scw config profile {scw.name!r}"
    values = _scw_values(scw, f"{origin} in {config.path}")
    if overlay_env:
        values.update(_environment_fields())
    elif "api_url" not in values and (env_url := _env("SCW_API_URL")) is not None:
        values["api_url"] = (env_url, "SCW_API_URL")
    return _build(values, origin)


def lookup_profile(
    name: str,
    *,
    via: str = "--profile",
    profiles: ProfileStore | None = None,
    scw_config: str | Path | None = None,
) -> tuple[Profile | None, ScwConfig | None]:
    """An explicitly named profile: ours as ``(profile, None)``, else the scw CLI's as
    ``(None, config)``; neither is a :class:`ConfigError` naming ``via``."""
    store = profiles or ProfileStore()
    ours = store.find(name)
    if ours is not None:
        return ours, None
    config = load_scw_config(scw_config)
    if config is not None and config.has_profile(name):
        return None, config
    known = ", ".join(p.name for p in store.profiles()) or "none yet"
    raise ConfigError(
        f"no profile named {name!r} ({via}); profiles: {known}",
        hint="add a profile of that name, or import it from the scw CLI's config",
        remedy=Remedy.ADD_PROFILE,
        details={"profile": name},
    )


def resolve_credentials(
    profile: str | None = None,
    *,
    profiles: ProfileStore | None = None,
    scw_config: str | Path | None = None,
) -> Credentials:
    """The credentials to use (see the module docstring for the order).

    ``profiles`` and ``scw_config`` override where our profiles file and the scw config file
    are read from (tests, ``--config``). Raises :class:`core.errors.ConfigError` (or its
    subclass :class:`~core.credentials.keyring_store.KeyringUnavailableError`).
    """
    store = profiles or ProfileStore()
    name = profile or _env(PROFILE_ENV)
    if name:
        via = "--profile" if profile else PROFILE_ENV
        ours, config = lookup_profile(name, via=via, profiles=store, scw_config=scw_config)
        if ours is not None:
            return _from_profile(ours, f"profile {name!r}")
        assert config is not None
        return _from_scw(config, name, overlay_env=False)

    env = _environment_fields()
    if "secret_key" in env:
        config = load_scw_config(scw_config)
        values: dict[str, tuple[str, str]] = {}
        source = "environment"
        if config is not None:
            selected = config.selected_name()
            if config.has_profile(selected):
                scw = config.profile(selected)
                values = _scw_values(scw, f"scw config profile {scw.name!r} in {config.path}")
                if any(k not in env for k in values):
                    source = f"environment over scw config profile {scw.name!r}"
        values.update(env)
        return _build(values, source)

    default = store.default_name()
    if default:
        return _from_profile(store.get(default), f"profile {default!r}")

    config = load_scw_config(scw_config)
    if config is not None:
        selected = config.selected_name()
        if selected == DEFAULT_PROFILE and not config.profile(selected).has_secret_key:
            raise _missing_credentials()
        if not config.profile(selected).has_secret_key:  # raises if SCW_PROFILE names none
            raise ConfigError(
                f"scw config profile {selected!r} in {config.path} has no secret_key",
                hint="add one with 'scw init', or pick another profile (SCW_PROFILE)",
            )
        return _from_scw(config, selected, overlay_env=True)
    raise _missing_credentials()


async def resolve_credentials_async(
    profile: str | None = None,
    *,
    profiles: ProfileStore | None = None,
    scw_config: str | Path | None = None,
) -> Credentials:
    """:func:`resolve_credentials` in a thread (it may block on the OS keyring)."""
    return await asyncio.to_thread(
        resolve_credentials, profile, profiles=profiles, scw_config=scw_config
    )
