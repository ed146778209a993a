"""Profiles file: CRUD, validation naming the field, atomic 0600 writes, no secret in it."""

from __future__ import annotations

import stat
import threading
import tomllib
import uuid

import pytest

from cli.hints import hint_for
from core.credentials import get_store_location, get_store_passphrase, keyring_store
from core.credentials.keyring_store import KeyringUnavailableError
from core.credentials.profiles import (
    Profile,
    ProfileStore,
    add_profile,
    default_profiles_path,
    remove_profile,
    update_profile,
)
from core.credentials.testing import MemoryKeyring
from core.errors import ConfigError, Remedy
from tests.conftest import IsolatedEnv

SECRET = "0b6f5c1e-8a57-4c1e-bf4b-8d7f0e0c2a11"
ORG = "3f6ce9ab-57ab-4b0e-9d6b-1f0d5e1b2c3d"
PROJECT = "8a1e2b3c-4d5e-4f60-8172-93a4b5c6d7e8"


def _prod(**kw: str | None) -> Profile:
    fields: dict[str, str | None] = {
        "access_key": "SCWABCDEFGHJKMNPQRST",
        "organization_id": ORG,
        "default_project_id": PROJECT,
        "default_region": "nl-ams",
        "api_url": "http://127.0.0.1:8421",
    }
    fields.update(kw)
    return Profile(name="prod", **fields)


def test_default_path_is_under_xdg_config(isolated_env: IsolatedEnv) -> None:
    assert default_profiles_path() == isolated_env.config / "secret-kloset" / "profiles.toml"


def test_add_list_show_remove(memory_keyring: MemoryKeyring, isolated_env: IsolatedEnv) -> None:
    store = ProfileStore()
    assert store.profiles() == []
    assert store.default_name() is None
    saved = add_profile(_prod(), SECRET)
    assert saved == _prod()
    assert store.default_name() == "prod"  # the first profile becomes the default
    add_profile(Profile(name="dev"), str(uuid.uuid4()))
    assert [p.name for p in store.profiles()] == ["dev", "prod"]
    assert store.default_name() == "prod"
    assert store.get("prod") == saved
    assert keyring_store.get_secret_key("prod") == SECRET

    assert remove_profile("prod") == ["secret key"]
    assert store.find("prod") is None
    assert store.default_name() is None  # the default was removed
    assert keyring_store.get_secret_key("prod") is None
    assert memory_keyring.entries() == [("secret-kloset", "dev:secret-key")]


def test_file_is_toml_0600_in_a_0700_dir_and_has_no_secret(
    memory_keyring: MemoryKeyring, isolated_env: IsolatedEnv
) -> None:
    add_profile(_prod(store='s3://bucket/kloset "quoted" ünïcode'), SECRET)
    keyring_store.set_store_passphrase("prod", "passphrase-value-42")
    path = ProfileStore().path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    data = tomllib.loads(path.read_text())
    assert data["default_profile"] == "prod"
    assert data["profiles"]["prod"]["store"] == 's3://bucket/kloset "quoted" ünïcode'
    assert data["profiles"]["prod"]["access_key"] == "SCWABCDEFGHJKMNPQRST"
    assert "secret_key" not in data["profiles"]["prod"]
    for file in isolated_env.all_files():
        content = file.read_bytes()
        assert SECRET.encode() not in content, file
        assert b"passphrase-value-42" not in content, file
    # No temporary file left behind by the atomic write.
    assert sorted(p.name for p in path.parent.iterdir()) == ["profiles.toml", "profiles.toml.lock"]


def test_existing_profile_needs_replace(memory_keyring: MemoryKeyring) -> None:
    add_profile(_prod(), SECRET)
    with pytest.raises(ConfigError, match="already exists") as info:
        add_profile(_prod(default_region="fr-par"), SECRET)
    # core names the fix as a remedy; the CLI words it as --force (cli/hints.py)
    assert info.value.remedy is Remedy.REPLACE_EXISTING
    assert info.value.details == {"what": "profile", "name": "prod"}
    other = str(uuid.uuid4())
    add_profile(_prod(default_region="pl-waw"), other, replace_existing=True)
    assert ProfileStore().get("prod").default_region == "pl-waw"
    assert keyring_store.get_secret_key("prod") == other
    # Updating without a new secret key keeps the stored one.
    add_profile(_prod(default_region="fr-par"), None, replace_existing=True)
    assert keyring_store.get_secret_key("prod") == other


def test_profile_without_any_secret_key_is_refused(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ConfigError, match="no secret key"):
        add_profile(_prod(), None)
    assert ProfileStore().profiles() == []


@pytest.mark.parametrize(
    ("fields", "field_named"),
    [
        ({"access_key": "SCW123"}, "access_key"),
        ({"access_key": "ABCDEFGHIJKLMNOPQRST"}, "access_key"),
        ({"organization_id": "not-a-uuid"}, "organization_id"),
        ({"default_project_id": "1234"}, "default_project_id"),
        ({"default_region": "us-east-1"}, "default_region"),
        ({"api_url": "api.scaleway.com"}, "api_url"),
        ({"api_url": "https://api.scaleway.com/"}, "api_url"),
        ({"api_url": "ftp://api.scaleway.com"}, "api_url"),
        ({"api_url": "https://user:pw@api.scaleway.com"}, "api_url"),
    ],
)
def test_validation_errors_name_the_field(
    memory_keyring: MemoryKeyring, fields: dict[str, str], field_named: str
) -> None:
    with pytest.raises(ConfigError) as info:
        add_profile(_prod(**fields), SECRET)
    assert field_named in info.value.message
    assert info.value.hint
    assert ProfileStore().profiles() == []
    assert memory_keyring.entries() == []  # nothing stored when the fields are bad


def test_bad_secret_key_is_refused_without_echoing_it(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ConfigError, match="secret_key") as info:
        add_profile(_prod(), "hunter2-not-a-uuid")
    assert "hunter2" not in str(info.value)
    assert memory_keyring.entries() == []


def test_access_key_is_case_insensitive_and_fields_are_trimmed(
    memory_keyring: MemoryKeyring,
) -> None:
    saved = add_profile(
        Profile(name="p", access_key=" scwabcdefghjkmnpqrst ", default_region=" fr-par "),
        SECRET,
    )
    assert saved.access_key == "scwabcdefghjkmnpqrst"
    assert saved.default_region == "fr-par"


def test_unusable_keyring_leaves_no_profile(fail_keyring: object) -> None:
    with pytest.raises(KeyringUnavailableError):
        add_profile(_prod(), SECRET)
    assert ProfileStore().profiles() == []


def test_set_default_and_update(memory_keyring: MemoryKeyring) -> None:
    add_profile(_prod(), SECRET)
    add_profile(Profile(name="dev"), SECRET, make_default=True)
    store = ProfileStore()
    assert store.default_name() == "dev"
    store.set_default("prod")
    assert store.default_name() == "prod"
    with pytest.raises(ConfigError, match="no profile named 'nope'"):
        store.set_default("nope")
    updated = update_profile("prod", {"store": "/srv/kloset", "default_region": "pl-waw"})
    assert updated.store == "/srv/kloset"
    assert store.get("prod").default_region == "pl-waw"
    with pytest.raises(ConfigError, match="default_region"):
        update_profile("prod", {"default_region": "mars-1"})
    with pytest.raises(ConfigError, match="unknown profile field"):
        update_profile("prod", {"secret_key": SECRET})


def test_get_unknown_profile_lists_the_known_ones(memory_keyring: MemoryKeyring) -> None:
    add_profile(_prod(), SECRET)
    with pytest.raises(ConfigError, match=r"no profile named 'stage' \(profiles: prod\)") as info:
        ProfileStore().get("stage")
    assert info.value.hint and "profile add" not in info.value.hint  # core names no command
    assert "profile add stage" in (hint_for(info.value) or "")
    with pytest.raises(ConfigError, match="no profile named"):
        remove_profile("stage")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("this is = = not toml", "not valid TOML"),
        ('[profiles.p]\nsecret_key = "x"\n', "secrets must not be kept in this file"),
        ('[profiles.p]\npassphrase = "x"\n', "secrets must not be kept in this file"),
        ('[profiles.p]\nacess_key = "x"\n', "unknown field 'acess_key'"),
        ('colour = "blue"\n', "unknown field 'colour'"),
        ('default_profile = "ghost"\n', "names no profile"),
        ("version = 99\n", "format version"),
        ('[profiles.p]\ndefault_region = "xx-yyy"\n', "default_region"),
        ("[profiles.p]\ndefault_region = 3\n", "must be a string"),
    ],
)
def test_hand_edited_file_errors(text: str, message: str) -> None:
    path = default_profiles_path()
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        ProfileStore().profiles()
    assert str(path) in info.value.message


def test_hand_written_file_is_read(memory_keyring: MemoryKeyring) -> None:
    path = default_profiles_path()
    path.parent.mkdir(parents=True)
    path.write_text(
        'default_profile = "ops"\n[profiles.ops]\naccess_key = "SCWABCDEFGHJKMNPQRST"\n'
        f'organization_id = "{ORG}"\nstore = "/srv/kloset"\n'
    )
    store = ProfileStore()
    assert store.get("ops").organization_id == ORG
    assert store.default_name() == "ops"
    assert get_store_location(None) == "/srv/kloset"
    assert get_store_location("ops") == "/srv/kloset"
    assert get_store_location("unknown") is None
    assert get_store_passphrase(None) is None
    keyring_store.set_store_passphrase("ops", "pp")
    assert get_store_passphrase(None) == "pp"
    assert get_store_passphrase("ops") == "pp"
    assert get_store_passphrase("unknown") is None


def test_no_default_profile_means_no_store_helpers() -> None:
    assert get_store_location(None) is None
    assert get_store_passphrase(None) is None


def test_concurrent_writers_do_not_lose_profiles(memory_keyring: MemoryKeyring) -> None:
    errors: list[BaseException] = []

    def add(i: int) -> None:
        try:
            add_profile(Profile(name=f"p{i}"), str(uuid.uuid4()))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(p.name for p in ProfileStore().profiles()) == sorted(f"p{i}" for i in range(12))


def test_explicit_path(tmp_path: object, memory_keyring: MemoryKeyring) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    store = ProfileStore(tmp_path / "nested" / "p.toml")
    add_profile(_prod(), SECRET, store=store)
    assert store.path.exists()
    assert not default_profiles_path().exists()
