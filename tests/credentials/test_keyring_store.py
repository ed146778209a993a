"""The keyring layer: round trips, and every unsafe backend refused with a fix in the hint."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.compat import properties

from core.credentials import keyring_store
from core.credentials.keyring_store import KeyringUnavailableError
from core.credentials.testing import MemoryKeyring
from core.errors import ConfigError
from tests.conftest import IsolatedEnv, installed_keyring

SECRET = "5f0c5a34-3c1b-4bd8-9f5e-4b4f3f7e8c11"


class PlaintextKeyring(KeyringBackend):
    """A stand-in for keyrings.alt's PlaintextKeyring: it writes passwords into a JSON file."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test backend: never auto-detected")

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def _load(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        data.pop(f"{service}/{username}")
        self.path.write_text(json.dumps(data))


class AltKeyring(MemoryKeyring):
    """Looks like it comes from keyrings.alt (module name), whatever its class name."""


AltKeyring.__module__ = "keyrings.alt.Windows"


class VaultKeyring(MemoryKeyring):
    """A file-backed backend that does not say so in its name: it has a ``file_path``."""

    file_path = "/tmp/somewhere.cfg"


class FakeChainer(keyring.backends.chainer.ChainerBackend):
    """A chainer with a fixed list of members (the real one discovers installed backends)."""

    members: list[KeyringBackend] = []
    viable = False

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test backend: never auto-detected")

    @properties.classproperty
    def backends(cls) -> list[KeyringBackend]:
        return cls.members


@pytest.fixture(autouse=True)
def trust_test_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake backends of this module derive from MemoryKeyring: trusted by the opt-in."""
    monkeypatch.setenv(keyring_store.TRUST_ENV, "LockedKeyring, BrokenBusKeyring")


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.InitError("Failed to create the collection: Prompt dismissed..")


def test_round_trip_of_both_secrets(memory_keyring: MemoryKeyring) -> None:
    keyring_store.set_secret_key("prod", SECRET)
    keyring_store.set_store_passphrase("prod", "a long passphrase")
    assert keyring_store.get_secret_key("prod") == SECRET
    assert keyring_store.get_store_passphrase("prod") == "a long passphrase"
    assert memory_keyring.entries() == [
        ("secret-kloset", "prod:secret-key"),
        ("secret-kloset", "prod:store-passphrase"),
    ]
    assert keyring_store.get_secret_key("other") is None
    assert keyring_store.delete_profile_secrets("prod") == ["secret key", "store passphrase"]
    assert memory_keyring.entries() == []
    assert keyring_store.delete_secret_key("prod") is False
    assert keyring_store.delete_profile_secrets("prod") == []


def test_replacing_a_secret_keeps_one_entry(memory_keyring: MemoryKeyring) -> None:
    keyring_store.set_secret_key("prod", SECRET)
    other = str(uuid.uuid4())
    keyring_store.set_secret_key("prod", other)
    assert keyring_store.get_secret_key("prod") == other
    assert len(memory_keyring.entries()) == 1


async def test_async_wrappers(memory_keyring: MemoryKeyring) -> None:
    await keyring_store.set_secret_key_async("p", SECRET)
    await keyring_store.set_store_passphrase_async("p", "pw")
    assert await keyring_store.get_secret_key_async("p") == SECRET
    assert await keyring_store.get_store_passphrase_async("p") == "pw"
    assert await keyring_store.delete_store_passphrase_async("p") is True
    assert await keyring_store.delete_secret_key_async("p") is True
    assert await keyring_store.delete_profile_secrets_async("p") == []
    status = await keyring_store.check_backend_async()
    assert status.usable


def test_empty_secret_and_bad_profile_names_are_refused(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ConfigError):
        keyring_store.set_secret_key("prod", "")
    for bad in ("", "a:b", "../x", "-x", "x" * 65, "a b"):
        with pytest.raises(ConfigError, match="invalid profile name"):
            keyring_store.set_secret_key(bad, SECRET)
    assert memory_keyring.entries() == []


def _assert_refused(err: KeyringUnavailableError, reason: str) -> None:
    assert reason in err.message
    assert err.hint is not None
    assert "Secret Service" in err.hint
    assert "SCW_SECRET_KEY" in err.hint
    assert SECRET not in str(err)


def test_fail_backend_is_refused(fail_keyring: KeyringBackend) -> None:
    with pytest.raises(KeyringUnavailableError) as info:
        keyring_store.set_secret_key("prod", SECRET)
    _assert_refused(info.value, "no OS keyring is available")
    with pytest.raises(KeyringUnavailableError):
        keyring_store.get_secret_key("prod")  # reading is refused too
    with pytest.raises(KeyringUnavailableError):
        keyring_store.delete_secret_key("prod")
    status = keyring_store.check_backend()
    assert not status.usable
    assert status.reason and "fail" in status.reason
    assert status.hint and "gnome-keyring" in status.hint
    assert status.description.startswith("none")
    assert isinstance(info.value, ConfigError)


def test_null_backend_is_refused(null_keyring: KeyringBackend) -> None:
    with pytest.raises(KeyringUnavailableError) as info:
        keyring_store.set_store_passphrase("prod", "pw")
    _assert_refused(info.value, "null")
    assert not keyring_store.check_backend().usable


def test_plaintext_file_backend_is_refused_and_writes_nothing(
    isolated_env: IsolatedEnv,
) -> None:
    path = isolated_env.data / "keyring_pass.cfg"
    with installed_keyring(PlaintextKeyring(path)):
        with pytest.raises(KeyringUnavailableError) as info:
            keyring_store.set_secret_key("prod", SECRET)
        _assert_refused(info.value, "stores secrets in a file")
        status = keyring_store.check_backend()
    assert not status.usable
    assert not path.exists()
    assert all(SECRET.encode() not in p.read_bytes() for p in isolated_env.all_files())


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (AltKeyring(), "keyrings.alt"),
        (VaultKeyring(), "stores secrets in a file"),
    ],
)
def test_other_file_backends_are_refused(backend: KeyringBackend, reason: str) -> None:
    with installed_keyring(backend):
        with pytest.raises(KeyringUnavailableError) as info:
            keyring_store.set_secret_key("prod", SECRET)
        _assert_refused(info.value, reason)
    assert isinstance(backend, MemoryKeyring)
    assert backend.entries() == []


def test_chain_of_only_unsafe_backends_is_refused(isolated_env: IsolatedEnv) -> None:
    plaintext = PlaintextKeyring(isolated_env.data / "p.json")
    FakeChainer.members = [plaintext, keyring.backends.null.Keyring()]
    with installed_keyring(FakeChainer()):
        with pytest.raises(KeyringUnavailableError) as info:
            keyring_store.set_secret_key("prod", SECRET)
        assert "no backend in keyring's chain is safe" in info.value.message
        assert "chain of unsafe backends" in keyring_store.backend_description()
    assert not plaintext.path.exists()


def test_empty_chain_is_refused() -> None:
    FakeChainer.members = []
    with installed_keyring(FakeChainer()), pytest.raises(KeyringUnavailableError):
        keyring_store.get_secret_key("prod")


def test_chain_with_a_safe_member_writes_only_there(isolated_env: IsolatedEnv) -> None:
    plaintext = PlaintextKeyring(isolated_env.data / "p.json")
    safe = MemoryKeyring()
    FakeChainer.members = [plaintext, safe]  # the plaintext one has the higher priority
    with installed_keyring(FakeChainer()):
        keyring_store.set_secret_key("prod", SECRET)
        assert keyring_store.get_secret_key("prod") == SECRET
        assert keyring_store.backend_description() == "in-memory (tests only) (via keyring's chain)"
        assert keyring_store.check_backend().usable
    assert safe.entries() == [("secret-kloset", "prod:secret-key")]
    assert not plaintext.path.exists()


def test_locked_keyring_says_to_unlock() -> None:
    with installed_keyring(LockedKeyring()):
        with pytest.raises(KeyringUnavailableError) as info:
            keyring_store.get_secret_key("prod")
        assert "locked" in info.value.message
        assert info.value.hint and "unlock" in info.value.hint
        with pytest.raises(KeyringUnavailableError) as info:
            keyring_store.set_secret_key("prod", SECRET)
        assert "locked" in info.value.message
        assert SECRET not in str(info.value)


def test_backend_description_names_the_backend(memory_keyring: MemoryKeyring) -> None:
    assert keyring_store.backend_description() == "in-memory (tests only)"
    status = keyring_store.check_backend()
    assert status.usable and status.reason is None and status.hint is None


def test_memory_backend_description_for_secret_service_class() -> None:
    from keyring.backends import SecretService

    # The class is safe by classification even where no Secret Service runs.
    assert keyring_store._unsafe_reason(SecretService.Keyring()) is None


class BrokenBusKeyring(MemoryKeyring):
    """Raises what secretstorage raises when D-Bus is gone (not a keyring.errors class)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise OSError("Environment variable DBUS_SESSION_BUS_ADDRESS is unset")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"backend echoing the value {password}")


def test_any_backend_failure_becomes_a_clear_error() -> None:
    with installed_keyring(BrokenBusKeyring()):
        with pytest.raises(KeyringUnavailableError) as info:
            keyring_store.get_secret_key("prod")
        assert "could not read the secret key of profile 'prod'" in info.value.message
        assert "DBUS_SESSION_BUS_ADDRESS" in info.value.message
        with pytest.raises(KeyringUnavailableError) as info:
            keyring_store.set_secret_key("prod", SECRET)
        assert SECRET not in str(info.value)  # a backend message quoting the value is dropped
        assert "RuntimeError" in info.value.message


def test_a_backend_that_cannot_load_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> KeyringBackend:
        raise RuntimeError("pycryptodome/x required")

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.EncryptedKeyring")
    monkeypatch.setattr(keyring, "get_keyring", broken)
    with pytest.raises(KeyringUnavailableError) as info:
        keyring_store.set_secret_key("prod", SECRET)
    assert "could not be loaded (PYTHON_KEYRING_BACKEND=keyrings.alt.file.EncryptedKeyring)" in (
        info.value.message
    )
    assert info.value.hint and "unset PYTHON_KEYRING_BACKEND" in info.value.hint
    status = keyring_store.check_backend()
    assert not status.usable and status.description.startswith("none")


class ThirdPartyKeyring(KeyringBackend):
    """A backend keyring_store does not know (a plug-in from another package, say)."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test backend: never auto-detected")

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.items[(service, username)]


class DerivedThirdPartyKeyring(ThirdPartyKeyring):
    pass


def test_an_unknown_backend_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keyring_store.TRUST_ENV, raising=False)
    backend = ThirdPartyKeyring()
    with installed_keyring(backend):
        with pytest.raises(KeyringUnavailableError) as info:
            keyring_store.set_secret_key("prod", SECRET)
        message = info.value.message
        assert f"{__name__}.ThirdPartyKeyring is not a known OS keyring" in message
        assert "SECRET_KLOSET_TRUST_KEYRING=ThirdPartyKeyring" in message
        assert SECRET not in str(info.value)
        status = keyring_store.check_backend()
        assert not status.usable and status.reason and "ThirdPartyKeyring" in status.reason
    assert backend.items == {}


@pytest.mark.parametrize(
    "trusted",
    ["ThirdPartyKeyring", f"{__name__}.ThirdPartyKeyring", "Other, ThirdPartyKeyring"],
)
def test_the_opt_in_trusts_a_backend_by_name(monkeypatch: pytest.MonkeyPatch, trusted: str) -> None:
    monkeypatch.setenv(keyring_store.TRUST_ENV, trusted)
    backend = DerivedThirdPartyKeyring()  # a base class's name trusts its subclasses
    with installed_keyring(backend):
        keyring_store.set_secret_key("prod", SECRET)
        assert keyring_store.get_secret_key("prod") == SECRET
        assert keyring_store.check_backend().usable
    assert backend.items == {("secret-kloset", "prod:secret-key"): SECRET}


def test_the_opt_in_names_one_class_not_any(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keyring_store.TRUST_ENV, "SomeOtherKeyring,KeyringBackend")
    with installed_keyring(ThirdPartyKeyring()), pytest.raises(KeyringUnavailableError):
        keyring_store.get_secret_key("prod")


def test_the_opt_in_never_trusts_a_file_backend(
    monkeypatch: pytest.MonkeyPatch, isolated_env: IsolatedEnv
) -> None:
    monkeypatch.setenv(keyring_store.TRUST_ENV, "PlaintextKeyring,AltKeyring")
    plaintext = PlaintextKeyring(isolated_env.data / "p.json")
    for backend in (plaintext, AltKeyring()):
        with installed_keyring(backend), pytest.raises(KeyringUnavailableError):
            keyring_store.set_secret_key("prod", SECRET)
    assert not plaintext.path.exists()


def test_a_chain_skips_an_unknown_member_for_a_safe_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keyring_store.TRUST_ENV, raising=False)
    unknown, safe = ThirdPartyKeyring(), MemoryKeyring()
    FakeChainer.members = [unknown, safe]
    with installed_keyring(FakeChainer()):
        keyring_store.set_secret_key("prod", SECRET)
    assert unknown.items == {}
    assert safe.entries() == [("secret-kloset", "prod:secret-key")]


def test_the_os_keyrings_are_known_safe() -> None:
    from keyring.backends import SecretService, Windows, kwallet, libsecret

    for backend in (
        SecretService.Keyring(),
        libsecret.Keyring(),
        kwallet.DBusKeyring(),
        kwallet.DBusKeyringKWallet4(),
        Windows.WinVaultKeyring(),
    ):
        assert keyring_store._unsafe_reason(backend) is None, backend
    assert "keyring.backends.macOS.Keyring" in keyring_store.KNOWN_SAFE
