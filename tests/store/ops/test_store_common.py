"""cli.store_common: store location and passphrase resolution order."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from cli import store_common
from cli.options import store_options
from cli.store_common import (
    default_store_location,
    resolve_passphrase,
    resolve_store_location,
    run_passphrase_command,
)
from core.errors import ConfigError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    store_options(parser)
    return parser.parse_args(list(argv))


def test_arguments_are_added_once() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile")
    store_options(parser)
    store_options(parser)  # idempotent: no conflicting option error
    args = parser.parse_args(["--store", "/x", "--passphrase-command", "echo hi", "--profile", "p"])
    assert (args.store, args.passphrase_command, args.profile) == ("/x", "echo hi", "p")


def test_location_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve_store_location(parse()) == default_store_location()
    monkeypatch.setenv("SECRET_KLOSET_STORE", str(tmp_path / "env"))
    assert resolve_store_location(parse()) == str(tmp_path / "env")
    assert resolve_store_location(parse("--store", "memory://x")) == "memory://x"


def test_default_location_under_xdg_data(isolated_env: object) -> None:
    import os

    assert default_store_location() == os.path.join(
        os.environ["XDG_DATA_HOME"], "secret-kloset", "store"
    )


def test_passphrase_env_beats_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", "from-env")
    assert resolve_passphrase(parse("--passphrase-command", "echo from-cmd")) == "from-env"


def test_passphrase_command(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_passphrase(parse("--passphrase-command", "printf 'a b\\n'")) == "a b"
    assert run_passphrase_command("printf 'keep\\n\\n'") == "keep\n"  # only one newline stripped


def test_passphrase_command_failures() -> None:
    with pytest.raises(ConfigError, match="exit status 3"):
        run_passphrase_command("exit 3")
    with pytest.raises(ConfigError, match="empty"):
        run_passphrase_command("true")


def test_keyring_entry_of_the_profile_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.credentials import keyring_store
    from core.credentials.profiles import Profile, ProfileStore

    ProfileStore().put(Profile(name="work", store="memory://work-store"))
    keyring_store.set_store_passphrase("work", "from-keyring")
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", "from-env")
    args = parse("--profile", "work")
    assert resolve_passphrase(args) == "from-keyring"
    assert resolve_store_location(args) == "memory://work-store"
    monkeypatch.setenv("SECRET_KLOSET_PROFILE", "work")
    assert resolve_passphrase(parse()) == "from-keyring"


def test_default_profile_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.credentials import keyring_store
    from core.credentials.profiles import Profile, ProfileStore

    ProfileStore().put(Profile(name="main", store="memory://main"), make_default=True)
    assert resolve_store_location(parse()) == "memory://main"
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", "env")
    assert resolve_passphrase(parse()) == "env"  # no keyring entry: next source
    keyring_store.set_store_passphrase("main", "kr")
    assert resolve_passphrase(parse()) == "kr"


def test_unknown_explicit_profile_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no profile"):
        resolve_passphrase(parse("--profile", "nope"))


def test_unavailable_keyring_falls_back_to_env(
    monkeypatch: pytest.MonkeyPatch, fail_keyring: object
) -> None:
    from core.credentials.profiles import Profile, ProfileStore

    ProfileStore().put(Profile(name="main"), make_default=True)
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", "env")
    assert resolve_passphrase(parse()) == "env"
    assert resolve_passphrase(parse("--profile", "main")) == "env"


def test_no_tty_no_passphrase_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))  # noqa: SIM115
    with pytest.raises(ConfigError, match="not a terminal"):
        resolve_passphrase(parse())


def test_prompt_on_tty_asks_twice_to_confirm(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["one", "two", "good", "good"])
    monkeypatch.setattr(store_common, "_stdin_is_tty", lambda: True)
    monkeypatch.setattr(store_common.getpass, "getpass", lambda prompt="": next(answers))
    assert resolve_passphrase(parse(), confirm=True) == "good"


def test_scw_config_profile_selects_credentials_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--profile NAME`` may name an scw CLI profile: the store falls back to env/default."""
    import os

    config = Path(os.environ["SCW_CONFIG_PATH"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "access_key: SCWXXXXXXXXXXXXXXXXX\n"
        "secret_key: 11111111-1111-4111-8111-111111111111\n"
        "profiles:\n  ops:\n    default_region: nl-ams\n",
        encoding="utf-8",
    )
    args = parse("--profile", "ops")
    assert resolve_store_location(args) == default_store_location()
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", "from-env")
    assert resolve_passphrase(args) == "from-env"


def test_unknown_profile_is_still_an_error() -> None:
    with pytest.raises(ConfigError):
        resolve_store_location(parse("--profile", "nobody"))
