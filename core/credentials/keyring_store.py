"""Secrets of a profile in the OS keyring (service ``secret-kloset``), and nowhere else.

Two secrets per profile, each one keyring entry under the service :data:`SERVICE`:

- the Scaleway secret key, user name ``<profile>:secret-key``;
- the store passphrase, user name ``<profile>:store-passphrase``.

Before any read or write the active ``keyring`` backend is checked: the ``fail`` backend (no
Secret Service), the ``null`` backend (discards everything), any plaintext or file backend
(``keyrings.alt``, or a class/module named like one), and a chain made only of those are
refused with :class:`KeyringUnavailableError`. There is no plaintext fallback, ever.

Only the known OS keyrings are accepted (:data:`KNOWN_SAFE`: Secret Service and libsecret,
macOS Keychain, Windows Credential Manager, KWallet; and the in-memory test backend). Any other
backend (a third-party one, say) is refused *by name*, unless the user trusts it explicitly:
``SECRET_KLOSET_TRUST_KEYRING=<class name>`` (comma-separated for several; ``module.Class``
works too; a base class's name trusts its subclasses). The opt-in never overrides the refusal
of a known-unsafe backend. A chain that has a safe member is used through its highest-priority
safe member directly, so a plaintext member of the chain never sees a secret.

The keyring calls block (D-Bus on Linux): async code uses the ``*_async`` wrappers, which run
them in a thread through :func:`asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from core.credentials.validation import validate_profile_name
from core.errors import ConfigError

if TYPE_CHECKING:
    import keyring
    import keyring.backends.chainer
    import keyring.backends.fail
    import keyring.backends.null
    import keyring.errors
    from keyring.backend import KeyringBackend
else:

    class _Keyring(ModuleType):
        """``keyring`` and the parts of it this module inspects, imported on first use: most
        unattended runs take their credentials and passphrase from the environment and never
        touch the keyring, and importing it (entry points, backends) costs ~50 ms a process."""

        def __getattr__(self, name: str) -> object:
            import keyring.backend
            import keyring.backends.chainer
            import keyring.backends.fail
            import keyring.backends.null
            import keyring.errors

            return getattr(keyring, name)

    keyring = _Keyring("keyring")

SERVICE = "secret-kloset"
SECRET_KEY = "secret-key"
STORE_PASSPHRASE = "store-passphrase"

# Class or module names of backends that keep secrets in a file (PlaintextKeyring, FileBacked,
# keyrings.cryptfile, ...). Case-sensitive "File" so that e.g. "profile" does not match.
_FILE_LIKE = re.compile(r"[Pp]lain_?[Tt]ext|File|(^|[._])file|cryptfile")

#: The environment variable that trusts a keyring backend this module does not know.
TRUST_ENV = "SECRET_KLOSET_TRUST_KEYRING"

#: Backends accepted without an opt-in, by ``module.Class`` (exact class, not subclasses): the
#: OS keyrings keyring ships, and our in-memory backend (never auto-detected; tests and demos).
KNOWN_SAFE = frozenset(
    {
        "keyring.backends.SecretService.Keyring",
        "keyring.backends.libsecret.Keyring",
        "keyring.backends.macOS.Keyring",
        "keyring.backends.Windows.WinVaultKeyring",
        "keyring.backends.kwallet.DBusKeyring",
        "keyring.backends.kwallet.DBusKeyringKWallet4",
        "core.credentials.testing.MemoryKeyring",
    }
)

_FIX_HINT = (
    "start a Secret Service and unlock it (GNOME Keyring, KWallet or KeePassXC; on a headless "
    "machine: dbus-run-session + 'gnome-keyring-daemon --unlock'), or, for this run only, give "
    "the credentials in the SCW_ACCESS_KEY / SCW_SECRET_KEY / SCW_DEFAULT_ORGANIZATION_ID / "
    "SCW_DEFAULT_PROJECT_ID environment variables (and the store passphrase in "
    "SECRET_KLOSET_PASSPHRASE)"
)


class KeyringUnavailableError(ConfigError):
    """No safe OS keyring: secrets can be neither stored nor read from it."""

    def __init__(self, message: str, *, hint: str | None = _FIX_HINT) -> None:
        super().__init__(message, hint=hint)


@dataclass(frozen=True)
class BackendStatus:
    """What :func:`check_backend` found, for the console and ``profile show``."""

    usable: bool
    description: str  # e.g. "SecretService (gnome-keyring)"
    reason: str | None = None  # why it is refused, when not usable
    hint: str | None = None  # how to fix it, when not usable


# -- backend classification -------------------------------------------------------------


def _class_path(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _trusted_names() -> set[str]:
    """The backend class names the user trusts through :data:`TRUST_ENV`."""
    raw = os.environ.get(TRUST_ENV, "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def _is_trusted(backend: KeyringBackend) -> bool:
    """Whether the user named ``backend``'s class (or a class it derives from) in the opt-in."""
    trusted = _trusted_names()
    if not trusted:
        return False
    for cls in type(backend).__mro__:
        if cls is keyring.backend.KeyringBackend or cls is object:
            break
        if cls.__qualname__ in trusted or f"{cls.__module__}.{cls.__qualname__}" in trusted:
            return True
    return False


def _unsafe_reason(backend: KeyringBackend) -> str | None:
    """Why ``backend`` (not a chain) must not hold secrets, or None when it is safe."""
    reason = _known_unsafe_reason(backend)
    if reason is not None:
        return reason
    if _class_path(backend) in KNOWN_SAFE or _is_trusted(backend):
        return None
    name = type(backend).__qualname__
    return (
        f"the keyring backend {_class_path(backend)} is not a known OS keyring "
        f"(to trust it, set {TRUST_ENV}={name})"
    )


def _known_unsafe_reason(backend: KeyringBackend) -> str | None:
    """Why ``backend`` is known to be unsafe (fail, null, file-backed), or None."""
    if isinstance(backend, keyring.backends.fail.Keyring):
        return "no OS keyring is available (keyring fell back to its 'fail' backend)"
    if isinstance(backend, keyring.backends.null.Keyring):
        return "the keyring backend is keyring's 'null' backend, which discards secrets"
    for cls in type(backend).__mro__:
        module = cls.__module__ or ""
        if module == "keyrings.alt" or module.startswith("keyrings.alt."):
            return (
                f"the keyring backend {_class_path(backend)} comes from keyrings.alt, "
                "which keeps secrets in a file (often in plain text)"
            )
        if cls.__module__.startswith("keyring.") and cls.__module__ != "keyring.backend":
            continue  # keyring's own backends: SecretService, libsecret, kwallet, macOS, Windows
        if _FILE_LIKE.search(cls.__qualname__) or _FILE_LIKE.search(module):
            return (
                f"the keyring backend {_class_path(backend)} stores secrets in a file, "
                "not in an OS keyring"
            )
    if hasattr(backend, "file_path"):
        return f"the keyring backend {_class_path(backend)} stores secrets in a file"
    return None


def _chain_members(backend: KeyringBackend) -> list[KeyringBackend]:
    try:
        return list(backend.backends)  # type: ignore[attr-defined]
    except Exception:
        return []


def _select(backend: KeyringBackend) -> tuple[KeyringBackend | None, str | None]:
    """The concrete backend to use and, when there is none, why."""
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        members = _chain_members(backend)
        if not members:
            return None, "no OS keyring is available (keyring's chain of backends is empty)"
        reasons = []
        for member in members:
            reason = _unsafe_reason(member)
            if reason is None:
                return member, None
            reasons.append(reason)
        return None, "no backend in keyring's chain is safe: " + "; ".join(reasons)
    reason = _unsafe_reason(backend)
    if reason is not None:
        return None, reason
    return backend, None


def _active() -> KeyringBackend:
    """keyring's active backend; a backend that cannot even load is a clear error."""
    try:
        return keyring.get_keyring()
    except Exception as err:  # e.g. PYTHON_KEYRING_BACKEND names a backend that cannot load
        chosen = os.environ.get("PYTHON_KEYRING_BACKEND")
        where = f" (PYTHON_KEYRING_BACKEND={chosen})" if chosen else ""
        raise KeyringUnavailableError(
            f"the keyring backend could not be loaded{where}: {type(err).__name__}: {err}",
            hint="unset PYTHON_KEYRING_BACKEND or fix keyring's configuration "
            "('python -m keyring diagnose'); " + _FIX_HINT,
        ) from None


def safe_backend() -> KeyringBackend:
    """The keyring backend secrets go to, or :class:`KeyringUnavailableError`."""
    chosen, reason = _select(_active())
    if chosen is None:
        raise KeyringUnavailableError(f"refusing to use the OS keyring: {reason}")
    return chosen


# -- descriptions -----------------------------------------------------------------------

_PROVIDERS = {
    "gnome-keyring-d": "gnome-keyring",
    "gnome-keyring-daemon": "gnome-keyring",
    "kwalletd5": "KWallet",
    "kwalletd6": "KWallet",
    "ksecretd": "KWallet",
    "keepassxc": "KeePassXC",
    "keepassxc-proxy": "KeePassXC",
    "secretd": "secretd",
    "oo7-daemon": "oo7",
}


def _secret_service_provider() -> str | None:
    """Which program owns ``org.freedesktop.secrets`` on the session bus (best effort)."""
    try:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection
    except ImportError:
        return None
    try:
        with open_dbus_connection(bus="SESSION") as conn:
            msg = message_bus.GetConnectionUnixProcessID("org.freedesktop.secrets")
            reply = conn.send_and_get_reply(msg, timeout=2)
            pid = int(reply.body[0])
        comm = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
    except Exception:
        return None
    return _PROVIDERS.get(comm, comm or None)


def _describe(backend: KeyringBackend) -> str:
    module = type(backend).__module__
    if module == "keyring.backends.SecretService" or module == "keyring.backends.libsecret":
        kind = "SecretService" if module.endswith("SecretService") else "libsecret"
        provider = _secret_service_provider()
        return f"{kind} ({provider})" if provider else kind
    if module.startswith("keyring.backends.macOS"):
        return "macOS Keychain"
    if module == "keyring.backends.Windows":
        return "Windows Credential Manager"
    if module == "keyring.backends.kwallet":
        return "KWallet"
    if isinstance(backend, keyring.backends.fail.Keyring):
        return "none (no OS keyring found)"
    if isinstance(backend, keyring.backends.null.Keyring):
        return "null (discards secrets)"
    if module == "core.credentials.testing":
        return "in-memory (tests only)"
    return _class_path(backend)


def backend_description() -> str:
    """A short human description of the keyring secrets would go to (blocking)."""
    try:
        active = _active()
    except KeyringUnavailableError:
        return "none (the keyring backend could not be loaded)"
    chosen, _reason = _select(active)
    if isinstance(active, keyring.backends.chainer.ChainerBackend):
        if chosen is not None:
            return f"{_describe(chosen)} (via keyring's chain)"
        return "chain of unsafe backends: " + ", ".join(
            _describe(m) for m in _chain_members(active)
        )
    return _describe(active)


def check_backend() -> BackendStatus:
    """Whether secrets can be kept in the keyring, and if not why and how to fix (blocking)."""
    description = backend_description()
    try:
        active = _active()
    except KeyringUnavailableError as err:
        return BackendStatus(False, description, err.message, err.hint)
    chosen, reason = _select(active)
    if chosen is None:
        return BackendStatus(False, description, reason, _FIX_HINT)
    return BackendStatus(True, description)


async def check_backend_async() -> BackendStatus:
    return await asyncio.to_thread(check_backend)


# -- reading and writing ----------------------------------------------------------------


def _username(profile: str, kind: str) -> str:
    return f"{validate_profile_name(profile)}:{kind}"


def _failed(
    action: str, kind: str, profile: str, err: Exception, value: str | None = None
) -> KeyringUnavailableError:
    what = "secret key" if kind == SECRET_KEY else "store passphrase"
    detail = type(err).__name__
    text = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
    if text and (value is None or value not in text):
        detail = f"{detail}: {text}"
    if isinstance(err, keyring.errors.KeyringLocked) or "dismissed" in str(err).lower():
        return KeyringUnavailableError(
            f"could not {action} the {what} of profile {profile!r}: the keyring is locked ({detail})",
            hint="unlock your keyring (e.g. log in to the desktop session, or "
            "'gnome-keyring-daemon --unlock' on a headless machine) and retry",
        )
    return KeyringUnavailableError(
        f"could not {action} the {what} of profile {profile!r} in the OS keyring ({detail})"
    )


def _set(profile: str, kind: str, value: str) -> None:
    if not value:
        raise ConfigError(f"refusing to store an empty {kind.replace('-', ' ')}")
    backend = safe_backend()
    try:
        backend.set_password(SERVICE, _username(profile, kind), value)
    except Exception as err:  # D-Bus, secretstorage and OS errors too, not only KeyringError
        raise _failed("store", kind, profile, err, value) from None


def _get(profile: str, kind: str) -> str | None:
    backend = safe_backend()
    try:
        value = backend.get_password(SERVICE, _username(profile, kind))
    except Exception as err:  # D-Bus, secretstorage and OS errors too, not only KeyringError
        raise _failed("read", kind, profile, err) from None
    return value or None


def _delete(profile: str, kind: str) -> bool:
    backend = safe_backend()
    try:
        backend.delete_password(SERVICE, _username(profile, kind))
    except keyring.errors.PasswordDeleteError:
        return False
    except Exception as err:  # D-Bus, secretstorage and OS errors too, not only KeyringError
        raise _failed("delete", kind, profile, err) from None
    return True


def set_secret_key(profile: str, secret_key: str) -> None:
    """Store (or replace) the Scaleway secret key of ``profile``."""
    _set(profile, SECRET_KEY, secret_key)


def get_secret_key(profile: str) -> str | None:
    """The secret key of ``profile``, or None when the keyring has none."""
    return _get(profile, SECRET_KEY)


def delete_secret_key(profile: str) -> bool:
    """Delete the secret key of ``profile``; False when there was none."""
    return _delete(profile, SECRET_KEY)


def set_store_passphrase(profile: str, passphrase: str) -> None:
    """Store (or replace) the store passphrase of ``profile``."""
    _set(profile, STORE_PASSPHRASE, passphrase)


def get_store_passphrase(profile: str) -> str | None:
    """The store passphrase of ``profile``, or None when the keyring has none."""
    return _get(profile, STORE_PASSPHRASE)


def delete_store_passphrase(profile: str) -> bool:
    """Delete the store passphrase of ``profile``; False when there was none."""
    return _delete(profile, STORE_PASSPHRASE)


def delete_profile_secrets(profile: str) -> list[str]:
    """Delete both secrets of ``profile``; returns which were there ("secret key", ...)."""
    removed = []
    if delete_secret_key(profile):
        removed.append("secret key")
    if delete_store_passphrase(profile):
        removed.append("store passphrase")
    return removed


async def set_secret_key_async(profile: str, secret_key: str) -> None:
    await asyncio.to_thread(set_secret_key, profile, secret_key)


async def get_secret_key_async(profile: str) -> str | None:
    return await asyncio.to_thread(get_secret_key, profile)


async def delete_secret_key_async(profile: str) -> bool:
    return await asyncio.to_thread(delete_secret_key, profile)


async def set_store_passphrase_async(profile: str, passphrase: str) -> None:
    await asyncio.to_thread(set_store_passphrase, profile, passphrase)


async def get_store_passphrase_async(profile: str) -> str | None:
    return await asyncio.to_thread(get_store_passphrase, profile)


async def delete_store_passphrase_async(profile: str) -> bool:
    return await asyncio.to_thread(delete_store_passphrase, profile)


async def delete_profile_secrets_async(profile: str) -> list[str]:
    return await asyncio.to_thread(delete_profile_secrets, profile)
