"""Reading the scw CLI config file, and importing a profile from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.credentials import keyring_store
from core.credentials.profiles import ProfileStore
from core.credentials.scw_config import import_scw_profile, load_scw_config, scw_config_path
from core.credentials.testing import MemoryKeyring
from core.errors import ConfigError
from tests.conftest import IsolatedEnv

TOP_SECRET = "11111111-2222-4333-8444-555555555555"
DEV_SECRET = "66666666-7777-4888-9999-aaaaaaaaaaaa"
ORG = "3f6ce9ab-57ab-4b0e-9d6b-1f0d5e1b2c3d"
PROJECT = "8a1e2b3c-4d5e-4f60-8172-93a4b5c6d7e8"
DEV_PROJECT = "9b2f3c4d-5e6f-4071-8283-a4b5c6d7e8f9"

CONFIG = f"""\
access_key: SCWABCDEFGHJKMNPQRST
secret_key: {TOP_SECRET}
default_organization_id: {ORG}
default_project_id: {PROJECT}
default_region: fr-par
default_zone: fr-par-1
send_telemetry: false
profiles:
  dev:
    access_key: SCWDEVDEVDEVDEVDEVDE
    secret_key: {DEV_SECRET}
    default_project_id: {DEV_PROJECT}
    default_region: nl-ams
    api_url: http://127.0.0.1:8421
  nokey:
    default_region: pl-waw
    secret_key: ""
"""


def _write(path: Path, text: str = CONFIG) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_path_resolution_order(isolated_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    assert scw_config_path("/explicit.yaml") == Path("/explicit.yaml")
    assert scw_config_path() == isolated_env.scw_config  # SCW_CONFIG_PATH
    monkeypatch.setenv("SCW_CONFIG_PATH", "")  # empty: ignored
    assert scw_config_path() == isolated_env.config / "scw" / "config.yaml"  # XDG_CONFIG_HOME
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert scw_config_path() == isolated_env.home / ".config" / "scw" / "config.yaml"
    monkeypatch.setenv("SCW_CONFIG_PATH", "~/elsewhere.yaml")
    assert scw_config_path() == isolated_env.home / "elsewhere.yaml"


def test_missing_file(isolated_env: IsolatedEnv) -> None:
    assert load_scw_config() is None
    with pytest.raises(ConfigError, match="no scw config file"):
        load_scw_config(required=True)
    with pytest.raises(ConfigError, match="no scw config file"):
        load_scw_config(isolated_env.root / "nope.yaml")


def test_top_level_is_default_and_profiles_overlay(isolated_env: IsolatedEnv) -> None:
    _write(isolated_env.scw_config)
    config = load_scw_config()
    assert config is not None
    assert config.profile_names() == ["default", "dev", "nokey"]
    default = config.profile()
    assert default.name == "default"
    assert default.secret_key == TOP_SECRET
    assert default.project_id == PROJECT
    assert default.zone == "fr-par-1"
    dev = config.profile("dev")
    assert dev.secret_key == DEV_SECRET
    assert dev.project_id == DEV_PROJECT
    assert dev.organization_id == ORG  # inherited from the top level
    assert dev.region == "nl-ams"
    assert dev.api_url == "http://127.0.0.1:8421"
    nokey = config.profile("nokey")
    assert nokey.secret_key == TOP_SECRET  # an empty value does not blank the inherited one
    assert nokey.region == "pl-waw"
    with pytest.raises(ConfigError, match="has no profile 'ghost'"):
        config.profile("ghost")


def test_nothing_secret_in_reprs(isolated_env: IsolatedEnv) -> None:
    _write(isolated_env.scw_config)
    config = load_scw_config()
    assert config is not None
    for text in (repr(config), repr(config.profile("dev")), str(config.profile())):
        assert TOP_SECRET not in text and DEV_SECRET not in text
    public = config.profile("dev").public_dict()
    assert public["has_secret_key"] is True
    assert DEV_SECRET not in str(public)


def test_profile_selection(isolated_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(isolated_env.scw_config, CONFIG + "active_profile: dev\n")
    config = load_scw_config()
    assert config is not None
    assert config.selected_name() == "dev"  # active_profile, as the scw CLI does
    monkeypatch.setenv("SCW_PROFILE", "nokey")  # read at call time, and wins over the file
    assert config.selected_name() == "nokey"
    assert config.selected_name("default") == "default"  # explicit wins over everything
    assert config.profile().name == "nokey"


def test_yaml_errors_do_not_quote_the_file(isolated_env: IsolatedEnv) -> None:
    _write(isolated_env.scw_config, f"access_key: SCWX\nsecret_key: {TOP_SECRET}: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line 2") as info:
        load_scw_config()
    assert TOP_SECRET not in str(info.value)


@pytest.mark.parametrize("text", ["- a list\n", "profiles: [1, 2]\n", "access_key: [x]\n"])
def test_malformed_structure(isolated_env: IsolatedEnv, text: str) -> None:
    _write(isolated_env.scw_config, text)
    with pytest.raises(ConfigError):
        load_scw_config()


def test_empty_file_is_an_empty_config(isolated_env: IsolatedEnv) -> None:
    _write(isolated_env.scw_config, "")
    config = load_scw_config()
    assert config is not None
    assert config.profile().has_secret_key is False


def test_import_puts_the_secret_key_in_the_keyring_only(
    isolated_env: IsolatedEnv, memory_keyring: MemoryKeyring
) -> None:
    _write(isolated_env.scw_config)
    profile = import_scw_profile("dev")
    assert profile.name == "dev"
    assert profile.default_project_id == DEV_PROJECT
    assert profile.organization_id == ORG
    assert profile.api_url == "http://127.0.0.1:8421"
    assert keyring_store.get_secret_key("dev") == DEV_SECRET
    assert ProfileStore().default_name() == "dev"
    ours = ProfileStore().path.read_text()
    assert DEV_SECRET not in ours and TOP_SECRET not in ours

    renamed = import_scw_profile(None, name="scw-main", make_default=True)
    assert renamed.name == "scw-main"
    assert keyring_store.get_secret_key("scw-main") == TOP_SECRET
    assert ProfileStore().default_name() == "scw-main"
    with pytest.raises(ConfigError, match="already exists"):
        import_scw_profile("dev")
    import_scw_profile("dev", replace_existing=True)


def test_import_from_explicit_path(
    isolated_env: IsolatedEnv, memory_keyring: MemoryKeyring
) -> None:
    path = _write(isolated_env.root / "other.yaml")
    assert import_scw_profile(path=path).name == "default"


def test_import_without_secret_key(
    isolated_env: IsolatedEnv, memory_keyring: MemoryKeyring
) -> None:
    _write(isolated_env.scw_config, "access_key: SCWABCDEFGHJKMNPQRST\ndefault_region: fr-par\n")
    with pytest.raises(ConfigError, match="has no secret_key"):
        import_scw_profile()
    assert ProfileStore().profiles() == []


def test_import_validates_fields(isolated_env: IsolatedEnv, memory_keyring: MemoryKeyring) -> None:
    _write(isolated_env.scw_config, f"secret_key: {TOP_SECRET}\ndefault_region: moon-1\n")
    with pytest.raises(ConfigError, match=r"default_region \(scw config profile 'default'"):
        import_scw_profile()
    _write(isolated_env.scw_config, "secret_key: nope-not-a-uuid\n")
    with pytest.raises(ConfigError, match="secret_key") as info:
        import_scw_profile()
    assert "nope-not-a-uuid" not in str(info.value)
    assert memory_keyring.entries() == []


def test_import_refused_without_a_safe_keyring(
    isolated_env: IsolatedEnv, fail_keyring: object
) -> None:
    _write(isolated_env.scw_config)
    with pytest.raises(keyring_store.KeyringUnavailableError):
        import_scw_profile()
    assert ProfileStore().profiles() == []
