"""Global test isolation: every test runs with its own config/data/cache dirs, no ``SCW_*`` or
``SECRET_KLOSET_*`` variables from the developer's shell, and an in-memory keyring.

Fixtures offered to every test:

- ``isolated_env`` (autouse): the tmp ``home``, ``config``, ``data``, ``cache``, ``state`` dirs
  and the ``scw_config`` path (``SCW_CONFIG_PATH``, not created) as an :class:`IsolatedEnv`.
- ``memory_keyring`` (installed automatically, except for tests marked ``real_keyring``): the
  :class:`core.credentials.testing.MemoryKeyring` in use, to inspect what was stored.
  Child processes get ``PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring``, so a
  ``secret-kloset`` run as a subprocess can never reach the developer's real keyring.
- ``fail_keyring``: installs ``keyring.backends.fail.Keyring`` (the "no Secret Service" case).
- ``null_keyring``: installs ``keyring.backends.null.Keyring``.

Tests marked ``real_keyring`` keep whatever backend keyring detects (they talk to a real Secret
Service). ``SECRET_KLOSET_REQUIRE_REAL_KEYRING`` is the one variable kept from the environment:
``.ci/run`` sets it so that the real-keyring test fails instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.backends.null
import pytest
from keyring.backend import KeyringBackend

from core.credentials.testing import MemoryKeyring

# Environment variables kept for tests even though they match the removed prefixes.
_KEPT_VARIABLES = frozenset({"SECRET_KLOSET_REQUIRE_REAL_KEYRING"})
_REMOVED_PREFIXES = ("SCW_", "SECRET_KLOSET_", "SCALEWAY_")


@dataclass(frozen=True)
class IsolatedEnv:
    """Where this test's files go: all under one fresh temporary directory, ``root``."""

    root: Path
    home: Path
    config: Path  # XDG_CONFIG_HOME
    data: Path  # XDG_DATA_HOME
    cache: Path  # XDG_CACHE_HOME
    state: Path  # XDG_STATE_HOME
    scw_config: Path  # SCW_CONFIG_PATH (not created)

    def all_files(self) -> list[Path]:
        """Every regular file written anywhere under the isolated dirs."""
        return sorted(p for p in self.root.rglob("*") if p.is_file())


@contextmanager
def installed_keyring(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    """Make ``backend`` keyring's active backend for the ``with`` block, then restore."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> IsolatedEnv:
    root = tmp_path_factory.mktemp("isolated")
    env = IsolatedEnv(
        root=root,
        home=root / "home",
        config=root / "config",
        data=root / "data",
        cache=root / "cache",
        state=root / "state",
        scw_config=root / "home" / ".config" / "scw" / "config.yaml",
    )
    for path in (env.home, env.config, env.data, env.cache, env.state):
        path.mkdir()
    for name in list(os.environ):
        if name.startswith(_REMOVED_PREFIXES) and name not in _KEPT_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(env.home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(env.config))
    monkeypatch.setenv("XDG_DATA_HOME", str(env.data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(env.cache))
    monkeypatch.setenv("XDG_STATE_HOME", str(env.state))
    monkeypatch.setenv("SCW_CONFIG_PATH", str(env.scw_config))
    # keyring itself must not pick a backend from the developer's environment or keyringrc.
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    return env


@pytest.fixture(autouse=True)
def memory_keyring(
    request: pytest.FixtureRequest, isolated_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MemoryKeyring | None]:
    if request.node.get_closest_marker("real_keyring") is not None:
        yield None
        return
    # Child processes (a test running `secret-kloset` as a subprocess) cannot see this
    # in-memory keyring; make sure they get keyring's "fail" backend rather than the
    # developer's real keyring.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with installed_keyring(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


@pytest.fixture
def fail_keyring(memory_keyring: MemoryKeyring | None) -> Iterator[KeyringBackend]:
    with installed_keyring(keyring.backends.fail.Keyring()) as backend:
        yield backend


@pytest.fixture
def null_keyring(memory_keyring: MemoryKeyring | None) -> Iterator[KeyringBackend]:
    with installed_keyring(keyring.backends.null.Keyring()) as backend:
        yield backend
