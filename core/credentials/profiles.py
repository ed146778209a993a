"""Profiles: named sets of non-secret credential fields, plus which one is the default.

The file is TOML, ``profiles.toml`` in ``platformdirs.user_config_dir("secret-kloset")``
(``~/.config/secret-kloset/profiles.toml`` on Linux), written atomically with mode 0600 in a
0700 directory, under an advisory lock so that two commands cannot lose each other's edit::

    # secret-kloset profiles. Secret keys and store passphrases are in the OS keyring.
    version = 1
    default_profile = "prod"

    [profiles."prod"]
    access_key = "SCWXXXXXXXXXXXXXXXXX"
    organization_id = "11111111-1111-1111-1111-111111111111"
    default_project_id = "22222222-2222-2222-2222-222222222222"
    default_region = "fr-par"
    api_url = "https://api.scaleway.com"
    store = "s3://bucket/kloset"

The secrets (Scaleway secret key, store passphrase) are never in this file: they live in the
OS keyring (see :mod:`core.credentials.keyring_store`). A ``secret_key`` or ``passphrase``
field found in the file is an error, and so is any unknown field (most likely a typo).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs

from core._fs import file_lock, write_atomic
from core.credentials import keyring_store
from core.credentials.validation import (
    validate_access_key,
    validate_api_url,
    validate_profile_name,
    validate_region,
    validate_secret_key,
    validate_uuid,
)
from core.errors import ConfigError, Remedy

APP_NAME = "secret-kloset"
PROFILES_FILE = "profiles.toml"
FORMAT_VERSION = 1

_FORBIDDEN_FIELDS = frozenset({"secret_key", "passphrase", "store_passphrase", "password"})


@dataclass(frozen=True)
class Profile:
    """The non-secret fields of a profile. Unset fields are None."""

    name: str
    access_key: str | None = None
    organization_id: str | None = None
    default_project_id: str | None = None
    default_region: str | None = None
    api_url: str | None = None
    store: str | None = None  # the profile's default store location

    def validated(self, *, origin: str | None = None) -> Profile:
        """This profile with every field checked (like Scaleway's SDKs) and normalised."""

        def opt(value: str | None) -> str | None:
            if value is None:
                return None
            value = value.strip()
            return value or None

        access_key = opt(self.access_key)
        organization_id = opt(self.organization_id)
        project_id = opt(self.default_project_id)
        region = opt(self.default_region)
        api_url = opt(self.api_url)
        return Profile(
            name=validate_profile_name(self.name),
            access_key=validate_access_key(access_key, origin=origin) if access_key else None,
            organization_id=(
                validate_uuid(organization_id, field="organization_id", origin=origin)
                if organization_id
                else None
            ),
            default_project_id=(
                validate_uuid(project_id, field="default_project_id", origin=origin)
                if project_id
                else None
            ),
            default_region=validate_region(region, origin=origin) if region else None,
            api_url=validate_api_url(api_url, origin=origin) if api_url else None,
            store=opt(self.store),
        )

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


_PROFILE_FIELDS = tuple(f.name for f in fields(Profile) if f.name != "name")


def default_profiles_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / PROFILES_FILE


@dataclass
class _Document:
    """The profiles file as read: its default profile and its profiles by name."""

    default: str | None
    profiles: dict[str, Profile]


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes, \\uXXXX for control chars).
    return json.dumps(value, ensure_ascii=False)


class ProfileStore:
    """The profiles file. Every method reads the file afresh; writes are atomic and locked."""

    def __init__(self, path: Path | str | None = None) -> None:
        self._path = Path(path) if path is not None else None

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else default_profiles_path()

    # -- reading --------------------------------------------------------------------

    def _read(self) -> _Document:
        path = self.path
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return _Document(None, {})
        except OSError as err:
            raise ConfigError(
                f"cannot read the profiles file {path}: {err.strerror}",
                hint="check its permissions",
            ) from None
        import tomllib  # only when there is a file (~2 ms of every run's start otherwise)

        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(
                f"the profiles file {path} is not valid TOML: {err}",
                hint="fix it by hand, or move it away and add the profiles again",
            ) from None
        return self._parse(data, path)

    @staticmethod
    def _parse(data: dict[str, object], path: Path) -> _Document:
        version = data.get("version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ConfigError(
                f"the profiles file {path} has format version {version!r}, "
                f"this secret-kloset understands up to {FORMAT_VERSION}",
                hint="upgrade secret-kloset",
            )
        unknown_top = sorted(set(data) - {"version", "default_profile", "profiles"})
        if unknown_top:
            raise ConfigError(
                f"unknown field {unknown_top[0]!r} in the profiles file {path}",
                hint="remove it (known: version, default_profile, [profiles.NAME])",
            )
        default = data.get("default_profile")
        if default is not None and not isinstance(default, str):
            raise ConfigError(f"default_profile in {path} must be a string")
        table = data.get("profiles", {})
        if not isinstance(table, dict):
            raise ConfigError(f"'profiles' in {path} must be a table of [profiles.NAME]")
        profiles: dict[str, Profile] = {}
        for name, entry in table.items():
            origin = f"profile {name!r} in {path}"
            if not isinstance(entry, dict):
                raise ConfigError(f"{origin} must be a table")
            for key, value in entry.items():
                if key in _FORBIDDEN_FIELDS:
                    raise ConfigError(
                        f"{origin} has a {key!r} field: secrets must not be kept in this file",
                        hint="delete that line and keep that secret in the OS keyring instead, "
                        "through the profile's commands",
                        remedy=Remedy.ADD_PROFILE,
                        details={"profile": name, "field": key, "case": "secret_in_file"},
                    )
                if key not in _PROFILE_FIELDS:
                    raise ConfigError(
                        f"unknown field {key!r} in {origin}",
                        hint=f"known fields: {', '.join(_PROFILE_FIELDS)}",
                    )
                if not isinstance(value, str):
                    raise ConfigError(f"field {key!r} in {origin} must be a string")
            profiles[name] = Profile(name=name, **entry).validated(origin=origin)
        if default is not None and default not in profiles:
            raise ConfigError(
                f"default_profile {default!r} in {path} names no profile",
                hint="make an existing profile the default",
                remedy=Remedy.CHOOSE_PROFILE,
                details={"action": "set_default", "case": "set_default"},
            )
        return _Document(default, profiles)

    def profiles(self) -> list[Profile]:
        """Every profile, sorted by name."""
        doc = self._read()
        return [doc.profiles[n] for n in sorted(doc.profiles)]

    def default_name(self) -> str | None:
        return self._read().default

    def find(self, name: str) -> Profile | None:
        return self._read().profiles.get(name)

    def get(self, name: str) -> Profile:
        doc = self._read()
        try:
            return doc.profiles[name]
        except KeyError:
            known = ", ".join(sorted(doc.profiles)) or "none yet"
            raise ConfigError(
                f"no profile named {name!r} (profiles: {known})",
                hint="add a profile of that name, or import one from the scw CLI's config",
                remedy=Remedy.ADD_PROFILE,
                details={"profile": name, "case": "not_in_file"},
            ) from None

    # -- writing --------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[_Document]:
        """Read-modify-write under an exclusive lock; the caller mutates the document."""
        path = self.path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(
                f"cannot create the config directory {path.parent}: {err.strerror}"
            ) from None
        with file_lock(path.with_name(path.name + ".lock")):
            doc = self._read()
            yield doc
            self._write(doc)

    def _render(self, doc: _Document) -> str:
        lines = [
            "# secret-kloset profiles, written by 'secret-kloset profile ...'.",
            "# Secret keys and store passphrases are in the OS keyring "
            f"(service {keyring_store.SERVICE!r}), never here.",
            f"version = {FORMAT_VERSION}",
        ]
        if doc.default is not None:
            lines.append(f"default_profile = {_toml_string(doc.default)}")
        for name in sorted(doc.profiles):
            profile = doc.profiles[name]
            lines.append("")
            lines.append(f"[profiles.{_toml_string(name)}]")
            for key in _PROFILE_FIELDS:
                value = getattr(profile, key)
                if value is not None:
                    lines.append(f"{key} = {_toml_string(value)}")
        return "\n".join(lines) + "\n"

    def _write(self, doc: _Document) -> None:
        write_atomic(self.path, self._render(doc), mode=0o600)

    def put(self, profile: Profile, *, make_default: bool = False, replace: bool = True) -> Profile:
        """Write ``profile`` (validated). The first profile becomes the default."""
        profile = profile.validated()
        with self._locked() as doc:
            if not replace and profile.name in doc.profiles:
                raise ConfigError(
                    f"profile {profile.name!r} already exists",
                    hint="replace it explicitly, or remove it first",
                    remedy=Remedy.REPLACE_EXISTING,
                    details={"what": "profile", "name": profile.name},
                )
            doc.profiles[profile.name] = profile
            if make_default or doc.default is None:
                doc.default = profile.name
        return profile

    def delete(self, name: str) -> None:
        with self._locked() as doc:
            if name not in doc.profiles:
                raise ConfigError(f"no profile named {name!r}")
            del doc.profiles[name]
            if doc.default == name:
                doc.default = None

    def set_default(self, name: str | None) -> None:
        with self._locked() as doc:
            if name is not None and name not in doc.profiles:
                raise ConfigError(
                    f"no profile named {name!r}",
                    hint="list the profiles to see their names",
                    remedy=Remedy.CHOOSE_PROFILE,
                    details={"action": "list"},
                )
            doc.default = name


# -- operations that touch both the file and the keyring --------------------------------


def add_profile(
    profile: Profile,
    secret_key: str | None,
    *,
    make_default: bool = False,
    replace_existing: bool = False,
    store: ProfileStore | None = None,
) -> Profile:
    """Add (or, with ``replace_existing``, update) a profile and keep its secret key in the
    keyring. The keyring is written first, so an unusable keyring leaves nothing behind.

    ``secret_key`` may be None only when updating a profile whose key is already stored.
    """
    store = store or ProfileStore()
    profile = profile.validated()
    existing = store.find(profile.name)
    if existing is not None and not replace_existing:
        raise ConfigError(
            f"profile {profile.name!r} already exists",
            hint="replace it explicitly, or remove it first",
            remedy=Remedy.REPLACE_EXISTING,
            details={"what": "profile", "name": profile.name},
        )
    if secret_key is not None:
        secret_key = validate_secret_key(secret_key)
        keyring_store.set_secret_key(profile.name, secret_key)
    elif keyring_store.get_secret_key(profile.name) is None:
        raise ConfigError(
            f"profile {profile.name!r} has no secret key in the keyring",
            hint="give one (it is read from a hidden prompt or standard input)",
        )
    try:
        return store.put(profile, make_default=make_default, replace=replace_existing)
    except BaseException:
        if existing is None and secret_key is not None:
            with contextlib.suppress(Exception):
                keyring_store.delete_secret_key(profile.name)
        raise


def remove_profile(name: str, *, store: ProfileStore | None = None) -> list[str]:
    """Remove a profile and its keyring entries; returns what was removed from the keyring."""
    store = store or ProfileStore()
    store.get(name)  # a clear error when it does not exist
    removed = keyring_store.delete_profile_secrets(name)
    store.delete(name)
    return removed


def update_profile(
    name: str, changes: dict[str, str | None], *, store: ProfileStore | None = None
) -> Profile:
    """Change non-secret fields of an existing profile (``changes``: field -> new value)."""
    store = store or ProfileStore()
    current = store.get(name)
    unknown = sorted(set(changes) - set(_PROFILE_FIELDS))
    if unknown:
        raise ConfigError(f"unknown profile field {unknown[0]!r}")
    merged = {**current.to_dict(), **changes}
    merged.pop("name")
    return store.put(Profile(name=name, **merged), replace=True)


def get_store_location(profile: str | None = None) -> str | None:
    """The store location recorded by ``profile`` (by default: the default profile).

    None when the profile records none, when ``profile`` is None and there is no default
    profile, or when ``profile`` is not one of ours (e.g. an scw config profile).
    """
    store = ProfileStore()
    name = profile or store.default_name()
    if not name:
        return None
    found = store.find(name)
    return found.store if found is not None else None


def get_store_passphrase(profile: str | None = None) -> str | None:
    """The store passphrase kept in the keyring for ``profile`` (by default: the default
    profile); None when there is none or the profile is not one of ours. Blocking.

    Raises :class:`~core.credentials.keyring_store.KeyringUnavailableError` when the profile
    exists but the keyring is unusable.
    """
    store = ProfileStore()
    name = profile or store.default_name()
    if not name or store.find(name) is None:
        return None
    return keyring_store.get_store_passphrase(name)
