"""The ``scw`` CLI's configuration file, read the way Scaleway's SDKs read it.

Location (first that applies): an explicit path › ``$SCW_CONFIG_PATH`` (when non-empty) ›
``$XDG_CONFIG_HOME/scw/config.yaml`` (when ``XDG_CONFIG_HOME`` is set) ›
``~/.config/scw/config.yaml``.

YAML; the top level is the ``default`` profile, ``profiles:`` holds named profiles, and a
named profile is its own fields laid over the top-level ones (as the Python and Go SDKs do).

Which profile is used, when none is named explicitly: ``$SCW_PROFILE`` (read when needed, not
frozen at import time as the Python SDK does), then ``active_profile`` from the file (as the
``scw`` CLI and the Go SDK do; the Python SDK ignores it), then ``default``.

The file holds a secret key in clear; this module only reads it, and never puts a value from
it into an error message (YAML parser errors are reduced to their line and column, because
PyYAML quotes the offending line).

:class:`ScwConfig` and :class:`ScwProfile` are declared in ``_objects``, imported when a file
is read or one of them is named here: a run without an scw config file does not create them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from core._imports import lazy_names
from core.credentials.profiles import Profile, ProfileStore, add_profile
from core.credentials.validation import validate_profile_name, validate_secret_key
from core.errors import ConfigError, Remedy

if TYPE_CHECKING:  # declared in _objects, imported when a file is read (see the end)
    from core.credentials.scw_config._objects import ScwConfig, ScwProfile  # noqa: F401

DEFAULT_PROFILE = "default"

# scw config key -> our field name
_FIELDS = {
    "access_key": "access_key",
    "secret_key": "secret_key",
    "default_organization_id": "organization_id",
    "default_project_id": "project_id",
    "default_region": "region",
    "default_zone": "zone",
    "api_url": "api_url",
}


def scw_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the scw config file is (whether or not it exists)."""
    if explicit:
        return Path(explicit).expanduser()
    env_path = os.environ.get("SCW_CONFIG_PATH")
    if env_path:
        return Path(env_path).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "scw" / "config.yaml"
    return Path.home() / ".config" / "scw" / "config.yaml"


def _scalar_fields(raw: object, where: str, path: Path) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} of the scw config {path} is not a mapping")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if key not in _FIELDS or value is None:
            continue  # other keys (insecure, send_telemetry, s3_*, ...) do not concern us
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{key} in {where} of the scw config {path} must be a plain value")
        text = str(value).strip()
        if text:
            out[key] = text
    return out


def load_scw_config(
    path: str | os.PathLike[str] | None = None, *, required: bool = False
) -> ScwConfig | None:
    """Parse the scw config; None when the file does not exist (unless ``required``)."""
    location = scw_config_path(path)
    try:
        text = location.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required or path:
            raise ConfigError(
                f"no scw config file at {location}",
                hint="create one with 'scw init', or give its path",
                remedy=Remedy.FIX_CONFIG_FILE,
                details={"file": "scw_config", "problem": "missing", "case": "scw_config_missing"},
            ) from None
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the scw config {location}: {type(err).__name__}") from None
    import yaml  # only when there is a file to parse: ~10 ms of every run's start otherwise

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(
            f"the scw config {location} is not valid YAML{where}",
            hint="fix it, or recreate it with 'scw init'",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"the scw config {location} is not a YAML mapping")
    top = _scalar_fields(data, "the top level", location)
    named: dict[str, dict[str, str]] = {}
    raw_profiles = data.get("profiles") or {}
    if not isinstance(raw_profiles, dict):
        raise ConfigError(f"'profiles' in the scw config {location} is not a mapping")
    for name, raw in raw_profiles.items():
        named[str(name)] = _scalar_fields(raw, f"profile {str(name)!r}", location)
    active = data.get("active_profile")
    from core.credentials.scw_config._objects import ScwConfig

    return ScwConfig(
        path=location,
        top=top,
        named=named,
        active_profile=str(active) if active else None,
    )


def import_scw_profile(
    scw_profile: str | None = None,
    *,
    name: str | None = None,
    path: str | os.PathLike[str] | None = None,
    make_default: bool = False,
    replace_existing: bool = False,
    store: ProfileStore | None = None,
) -> Profile:
    """Copy a scw config profile into our profiles; its secret key goes to the OS keyring."""
    config = load_scw_config(path, required=True)
    assert config is not None
    source = config.profile(scw_profile)
    origin = f"scw config profile {source.name!r}"
    if not source.secret_key:
        raise ConfigError(
            f"the {origin} in {config.path} has no secret_key",
            hint="add one with 'scw init' (or 'scw config set secret-key=...'), then import again",
        )
    secret_key = validate_secret_key(source.secret_key, origin=origin)
    target = validate_profile_name(name or source.name)
    profile = Profile(
        name=target,
        access_key=source.access_key,
        organization_id=source.organization_id,
        default_project_id=source.project_id,
        default_region=source.region,
        api_url=source.api_url,
    ).validated(origin=origin)
    return add_profile(
        profile,
        secret_key,
        make_default=make_default,
        replace_existing=replace_existing,
        store=store,
    )


# ``ScwProfile`` and ``ScwConfig``, from ``_objects``: a run without an scw config file
# (credentials from the environment or a profile) never creates their dataclasses.
__getattr__ = lazy_names(
    globals(), "core.credentials.scw_config._objects", ("ScwConfig", "ScwProfile")
)
