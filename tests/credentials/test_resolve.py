"""Credential resolution: explicit profile > SCW_* environment > default profile > scw config."""

from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import pytest

from cli.hints import hint_for
from core.credentials import keyring_store
from core.credentials.keyring_store import KeyringUnavailableError
from core.credentials.profiles import Profile, ProfileStore, add_profile
from core.credentials.resolve import Credentials, resolve_credentials, resolve_credentials_async
from core.credentials.testing import MemoryKeyring
from core.errors import ConfigError
from tests.conftest import IsolatedEnv

NAMED_SECRET = "aaaaaaaa-0000-4000-8000-000000000001"
DEFAULT_SECRET = "aaaaaaaa-0000-4000-8000-000000000002"
ENV_SECRET = "aaaaaaaa-0000-4000-8000-000000000003"
SCW_SECRET = "aaaaaaaa-0000-4000-8000-000000000004"
SCW_DEV_SECRET = "aaaaaaaa-0000-4000-8000-000000000005"
ORG = "3f6ce9ab-57ab-4b0e-9d6b-1f0d5e1b2c3d"
PROJECT = "8a1e2b3c-4d5e-4f60-8172-93a4b5c6d7e8"
SCW_PROJECT = "9b2f3c4d-5e6f-4071-8283-a4b5c6d7e8f9"
ENV_PROJECT = "c0ffee00-1111-4222-8333-444455556666"

SCW_CONFIG = f"""\
access_key: SCWSCWSCWSCWSCWSCWSC
secret_key: {SCW_SECRET}
default_organization_id: {ORG}
default_project_id: {SCW_PROJECT}
default_region: nl-ams
profiles:
  dev:
    secret_key: {SCW_DEV_SECRET}
    default_region: pl-waw
"""


def _write_scw(env: IsolatedEnv, text: str = SCW_CONFIG) -> None:
    env.scw_config.parent.mkdir(parents=True, exist_ok=True)
    env.scw_config.write_text(text)


def _add_named(**kw: str) -> None:
    add_profile(
        Profile(name="named", access_key="SCWNAMEDNAMEDNAMEDNA", default_project_id=PROJECT, **kw),
        NAMED_SECRET,
    )


@pytest.mark.parametrize(
    ("explicit", "env", "default", "scw"),
    list(
        itertools.product(
            [None, "argument", "variable"], [False, True], [False, True], [False, True]
        )
    ),
)
def test_resolution_order(
    isolated_env: IsolatedEnv,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    explicit: str | None,
    env: bool,
    default: bool,
    scw: bool,
) -> None:
    _add_named()
    store = ProfileStore()
    if default:
        add_profile(
            Profile(name="main", default_region="pl-waw"), DEFAULT_SECRET, make_default=True
        )
    else:
        store.set_default(None)
    if env:
        monkeypatch.setenv("SCW_SECRET_KEY", ENV_SECRET)
        monkeypatch.setenv("SCW_DEFAULT_PROJECT_ID", ENV_PROJECT)
    if scw:
        _write_scw(isolated_env)
    if explicit == "variable":
        monkeypatch.setenv("SECRET_KLOSET_PROFILE", "named")
    profile_arg = "named" if explicit == "argument" else None

    if explicit:
        expected = (NAMED_SECRET, "profile 'named'")
    elif env:
        expected = (
            ENV_SECRET,
            "environment over scw config profile 'default'" if scw else "environment",
        )
    elif default:
        expected = (DEFAULT_SECRET, "profile 'main'")
    elif scw:
        expected = (SCW_SECRET, "scw config profile 'default'")
    else:
        with pytest.raises(ConfigError, match="no Scaleway credentials found") as info:
            resolve_credentials(profile_arg)
        hint = hint_for(info.value) or ""
        assert "--profile" not in (info.value.hint or "")  # core names no flag
        assert "profile add" in hint and "SCW_SECRET_KEY" in hint and "scw" in hint
        return
    creds = resolve_credentials(profile_arg)
    assert (creds.secret_key, creds.source) == expected


def test_explicit_profile_fields_and_defaults(memory_keyring: MemoryKeyring) -> None:
    _add_named()
    creds = resolve_credentials("named")
    assert creds == Credentials(
        secret_key=NAMED_SECRET,
        access_key="SCWNAMEDNAMEDNAMEDNA",
        organization_id=None,
        default_project_id=PROJECT,
        default_region="fr-par",
        api_url="https://api.scaleway.com",
        source="profile 'named'",
        profile="named",
        store=None,
    )


def test_explicit_profile_ignores_other_scw_variables(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_named(default_region="nl-ams", store="/srv/kloset")
    monkeypatch.setenv("SCW_DEFAULT_REGION", "pl-waw")
    monkeypatch.setenv("SCW_ACCESS_KEY", "SCWENVENVENVENVENVEN")
    creds = resolve_credentials("named")
    assert creds.default_region == "nl-ams"
    assert creds.access_key == "SCWNAMEDNAMEDNAMEDNA"
    assert creds.store == "/srv/kloset"


def test_scw_api_url_fills_a_profile_without_one(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_named()
    monkeypatch.setenv("SCW_API_URL", "http://127.0.0.1:8421")
    assert resolve_credentials("named").api_url == "http://127.0.0.1:8421"
    add_profile(
        Profile(name="pinned", api_url="http://127.0.0.1:9999"), NAMED_SECRET, make_default=True
    )
    assert resolve_credentials("pinned").api_url == "http://127.0.0.1:9999"
    assert resolve_credentials().api_url == "http://127.0.0.1:9999"


def test_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCW_SECRET_KEY", ENV_SECRET)
    monkeypatch.setenv("SCW_ACCESS_KEY", "SCWENVENVENVENVENVEN")
    monkeypatch.setenv("SCW_DEFAULT_ORGANIZATION_ID", ORG)
    monkeypatch.setenv("SCW_DEFAULT_PROJECT_ID", ENV_PROJECT)
    monkeypatch.setenv("SCW_DEFAULT_REGION", "pl-waw")
    monkeypatch.setenv("SCW_API_URL", "http://localhost:8421")
    creds = resolve_credentials()
    assert creds.public_dict() == {
        "source": "environment",
        "profile": None,
        "access_key": "SCWENVENVENVENVENVEN",
        "organization_id": ORG,
        "default_project_id": ENV_PROJECT,
        "default_region": "pl-waw",
        "api_url": "http://localhost:8421",
        "store": None,
    }
    assert creds.secret_key == ENV_SECRET


def test_environment_overlays_the_scw_config_field_by_field(
    isolated_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_scw(isolated_env)
    monkeypatch.setenv("SCW_SECRET_KEY", ENV_SECRET)
    monkeypatch.setenv("SCW_DEFAULT_REGION", "fr-par")
    creds = resolve_credentials()
    assert creds.secret_key == ENV_SECRET
    assert creds.default_region == "fr-par"  # from the environment
    assert creds.default_project_id == SCW_PROJECT  # from the file
    assert creds.organization_id == ORG
    assert creds.source == "environment over scw config profile 'default'"


def test_environment_wins_over_a_broken_keyring(
    fail_keyring: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCW_SECRET_KEY", ENV_SECRET)
    assert resolve_credentials().secret_key == ENV_SECRET


def test_scw_config_with_environment_overlay_and_scw_profile(
    isolated_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_scw(isolated_env)
    monkeypatch.setenv("SCW_DEFAULT_PROJECT_ID", ENV_PROJECT)
    creds = resolve_credentials()
    assert creds.secret_key == SCW_SECRET
    assert creds.default_project_id == ENV_PROJECT
    assert creds.default_region == "nl-ams"
    monkeypatch.setenv("SCW_PROFILE", "dev")
    creds = resolve_credentials()
    assert (creds.secret_key, creds.source) == (SCW_DEV_SECRET, "scw config profile 'dev'")
    assert creds.default_region == "pl-waw"
    assert creds.organization_id == ORG  # inherited from the top level
    monkeypatch.setenv("SCW_PROFILE", "ghost")
    with pytest.raises(ConfigError, match="has no profile 'ghost'"):
        resolve_credentials()


def test_scw_active_profile_is_honoured(isolated_env: IsolatedEnv) -> None:
    _write_scw(isolated_env, SCW_CONFIG + "active_profile: dev\n")
    assert resolve_credentials().source == "scw config profile 'dev'"


def test_scw_profile_without_secret_key(
    isolated_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_scw(
        isolated_env, "default_region: fr-par\nprofiles:\n  x:\n    default_region: nl-ams\n"
    )
    with pytest.raises(ConfigError, match="no Scaleway credentials found"):
        resolve_credentials()
    monkeypatch.setenv("SCW_PROFILE", "x")
    with pytest.raises(ConfigError, match=r"'x' .* has no secret_key"):
        resolve_credentials()


def test_explicit_name_falls_back_to_the_scw_config(
    isolated_env: IsolatedEnv, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_scw(isolated_env)
    monkeypatch.setenv("SCW_DEFAULT_REGION", "fr-par")  # not applied to an explicit choice
    creds = resolve_credentials("dev")
    assert (creds.secret_key, creds.source) == (SCW_DEV_SECRET, "scw config profile 'dev'")
    assert creds.default_region == "pl-waw"
    assert creds.profile is None


def test_unknown_explicit_profile(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_named()
    with pytest.raises(
        ConfigError, match=r"no profile named 'ghost' \(--profile\); profiles: named"
    ):
        resolve_credentials("ghost")
    monkeypatch.setenv("SECRET_KLOSET_PROFILE", "ghost")
    with pytest.raises(ConfigError, match="SECRET_KLOSET_PROFILE") as info:
        resolve_credentials()
    assert info.value.hint and "profile add" not in info.value.hint  # core names no command
    assert "profile add ghost" in (hint_for(info.value) or "")


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SCW_SECRET_KEY", "not-a-uuid-hunter2", "SCW_SECRET_KEY"),
        ("SCW_ACCESS_KEY", "SCW1", "SCW_ACCESS_KEY"),
        ("SCW_DEFAULT_ORGANIZATION_ID", "org", "SCW_DEFAULT_ORGANIZATION_ID"),
        ("SCW_DEFAULT_PROJECT_ID", "proj", "SCW_DEFAULT_PROJECT_ID"),
        ("SCW_DEFAULT_REGION", "eu-west-1", "SCW_DEFAULT_REGION"),
        ("SCW_API_URL", "https://api.scaleway.com/", "SCW_API_URL"),
    ],
)
def test_bad_environment_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv("SCW_SECRET_KEY", ENV_SECRET)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        resolve_credentials()
    assert named in info.value.message
    assert "hunter2" not in str(info.value)


def test_empty_environment_values_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCW_SECRET_KEY", ENV_SECRET)
    monkeypatch.setenv("SCW_DEFAULT_REGION", "")
    monkeypatch.setenv("SCW_API_URL", " ")
    creds = resolve_credentials()
    assert (creds.default_region, creds.api_url) == ("fr-par", "https://api.scaleway.com")


def test_profile_whose_key_is_gone_from_the_keyring(memory_keyring: MemoryKeyring) -> None:
    _add_named()
    memory_keyring.clear()
    with pytest.raises(ConfigError, match="no secret key in the OS keyring") as info:
        resolve_credentials()
    assert info.value.hint and "--force" not in info.value.hint  # core names no flag
    assert "profile add named --force" in (hint_for(info.value) or "")


def test_default_profile_with_a_broken_keyring_says_how_to_fix(
    memory_keyring: MemoryKeyring, fail_keyring: object
) -> None:
    path = ProfileStore().path
    path.parent.mkdir(parents=True)
    path.write_text('default_profile = "p"\n[profiles.p]\n')
    with pytest.raises(KeyringUnavailableError) as info:
        resolve_credentials()
    assert info.value.hint and "SCW_SECRET_KEY" in info.value.hint


def test_secret_key_never_in_repr_str_or_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCW_SECRET_KEY", ENV_SECRET)
    creds = resolve_credentials()
    for text in (repr(creds), str(creds), f"{creds}", f"{creds!r}", str(creds.public_dict())):
        assert ENV_SECRET not in text
    assert "environment" in str(creds)
    assert "secret_key" not in repr(creds)
    # It is still a plain value object (pickling keeps it, as the caller may need).
    assert pickle.loads(pickle.dumps(creds)) == creds


def test_client_is_built_from_the_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.scaleway.client import ScalewayClient

    monkeypatch.setenv("SCW_SECRET_KEY", ENV_SECRET)
    monkeypatch.setenv("SCW_DEFAULT_ORGANIZATION_ID", ORG)
    monkeypatch.setenv("SCW_DEFAULT_PROJECT_ID", ENV_PROJECT)
    monkeypatch.setenv("SCW_DEFAULT_REGION", "nl-ams")
    monkeypatch.setenv("SCW_API_URL", "http://127.0.0.1:8421")
    client = resolve_credentials().client(max_retries=1, timeout=5.0)
    assert isinstance(client, ScalewayClient)
    assert client.api_url == "http://127.0.0.1:8421"
    assert client.organization_id == ORG
    assert client.default_project_id == ENV_PROJECT
    assert client.default_region == "nl-ams"
    assert client.max_retries == 1
    assert ENV_SECRET not in repr(client)


async def test_async_resolution(memory_keyring: MemoryKeyring) -> None:
    _add_named()
    creds = await resolve_credentials_async()
    assert creds.secret_key == NAMED_SECRET


def test_alternate_profiles_file_and_scw_config(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    scw = tmp_path / "scw.yaml"
    scw.write_text(SCW_CONFIG)
    assert resolve_credentials(scw_config=scw).secret_key == SCW_SECRET
    store = ProfileStore(tmp_path / "p.toml")
    add_profile(Profile(name="x"), NAMED_SECRET, store=store)
    assert resolve_credentials(profiles=store).source == "profile 'x'"
    assert keyring_store.get_secret_key("x") == NAMED_SECRET


def test_scw_api_url_fills_an_explicit_scw_profile_without_one(
    isolated_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_scw(isolated_env)
    monkeypatch.setenv("SCW_API_URL", "http://127.0.0.1:8421")
    assert resolve_credentials("dev").api_url == "http://127.0.0.1:8421"
    assert resolve_credentials("default").api_url == "http://127.0.0.1:8421"
