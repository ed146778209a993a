"""The global fixtures in ``tests/conftest.py`` really isolate each test."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import platformdirs
import pytest

from core.credentials.testing import MemoryKeyring
from tests.conftest import IsolatedEnv


def test_xdg_dirs_and_home_point_into_tmp(isolated_env: IsolatedEnv) -> None:
    assert Path(os.environ["HOME"]) == isolated_env.home
    assert Path(platformdirs.user_config_dir("secret-kloset")).is_relative_to(isolated_env.config)
    assert Path(platformdirs.user_data_dir("secret-kloset")).is_relative_to(isolated_env.data)
    assert Path(platformdirs.user_cache_dir("secret-kloset")).is_relative_to(isolated_env.cache)
    assert Path(os.environ["SCW_CONFIG_PATH"]) == isolated_env.scw_config
    assert not isolated_env.scw_config.exists()


def test_scw_and_kloset_variables_are_removed() -> None:
    leaked = [
        name
        for name in os.environ
        if name.startswith(("SCW_", "SECRET_KLOSET_"))
        and name not in ("SCW_CONFIG_PATH", "SECRET_KLOSET_REQUIRE_REAL_KEYRING")
    ]
    assert leaked == []


def test_memory_keyring_is_active(memory_keyring: MemoryKeyring | None) -> None:
    assert isinstance(keyring.get_keyring(), MemoryKeyring)
    assert memory_keyring is keyring.get_keyring()
    keyring.set_password("svc", "user", "pw")
    assert keyring.get_password("svc", "user") == "pw"
    assert memory_keyring.entries("svc") == [("svc", "user")]
    keyring.delete_password("svc", "user")
    with pytest.raises(keyring.errors.PasswordDeleteError):
        keyring.delete_password("svc", "user")


def test_each_test_gets_a_fresh_memory_keyring(memory_keyring: MemoryKeyring | None) -> None:
    assert memory_keyring is not None
    assert memory_keyring.entries() == []


def test_memory_keyring_is_never_detected_automatically() -> None:
    assert not MemoryKeyring.viable


def test_fail_keyring_fixture(fail_keyring: object) -> None:
    assert isinstance(keyring.get_keyring(), keyring.backends.fail.Keyring)
    with pytest.raises(keyring.errors.NoKeyringError):
        keyring.set_password("svc", "user", "pw")


def test_null_keyring_fixture(null_keyring: object) -> None:
    assert isinstance(keyring.get_keyring(), keyring.backends.null.Keyring)


@pytest.mark.real_keyring
def test_real_keyring_tests_do_not_get_the_memory_keyring(
    memory_keyring: MemoryKeyring | None,
) -> None:
    assert memory_keyring is None
    assert not isinstance(keyring.get_keyring(), MemoryKeyring)


def test_child_processes_cannot_reach_a_real_keyring(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = "import keyring; print(type(keyring.get_keyring()).__module__)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()
    assert out == "keyring.backends.fail"
