"""Round trip through a real Secret Service (gnome-keyring) via keyring's SecretService backend.

Skips with the reason where no Secret Service is reachable (a laptop without one, a container
without D-Bus). ``.ci/run`` starts gnome-keyring under ``dbus-run-session`` and sets
``SECRET_KLOSET_REQUIRE_REAL_KEYRING=1``, which turns any skip into a failure: CI cannot pass
without really exercising the OS keyring.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from core.credentials import keyring_store
from core.credentials.profiles import Profile, ProfileStore, add_profile, remove_profile
from core.credentials.resolve import resolve_credentials
from core.errors import KlosetError
from tests.conftest import IsolatedEnv, installed_keyring

pytestmark = pytest.mark.real_keyring

REQUIRED = os.environ.get("SECRET_KLOSET_REQUIRE_REAL_KEYRING") == "1"


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"SECRET_KLOSET_REQUIRE_REAL_KEYRING=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _secret_tool(*args: str) -> str:
    result = subprocess.run(
        ["secret-tool", *args],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    # "search" exits 1 when nothing matches; anything else non-zero is a real failure.
    assert result.returncode in (0, 1), result.stderr
    return result.stdout + result.stderr


@pytest.fixture
def secret_service() -> Iterator[KeyringBackend]:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        _unavailable("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
    if shutil.which("secret-tool") is None:
        _unavailable("secret-tool (Debian package libsecret-tools) is not installed")
    try:
        from keyring.backends import SecretService
    except ImportError as err:  # pragma: no cover - keyring always ships it
        _unavailable(f"keyring's SecretService backend cannot be imported ({err})")
    try:
        SecretService.Keyring.priority  # noqa: B018 - raises when no Secret Service answers
    except RuntimeError as err:
        _unavailable(f"no Secret Service is reachable: {err}")
    backend = SecretService.Keyring()
    with installed_keyring(backend):
        probe = _profile_name()
        try:  # a locked collection with no prompter fails here ("Prompt dismissed")
            keyring_store.set_store_passphrase(probe, "probe")
            keyring_store.delete_store_passphrase(probe)
        except KlosetError as err:
            _unavailable(f"the Secret Service does not accept writes: {err.message}")
        yield backend


def _cleanup(name: str) -> None:
    with contextlib.suppress(KlosetError):
        keyring_store.delete_profile_secrets(name)


def _profile_name() -> str:
    return f"ci-{uuid.uuid4().hex[:12]}"


def _files_containing(env: IsolatedEnv, needle: str) -> list[str]:
    data = needle.encode()
    return [str(p) for p in env.all_files() if data in p.read_bytes()]


def test_secret_key_round_trips_through_gnome_keyring(
    secret_service: KeyringBackend, isolated_env: IsolatedEnv
) -> None:
    status = keyring_store.check_backend()
    assert status.usable, status
    assert status.description.startswith("SecretService"), status.description

    name = _profile_name()
    secret_key = str(uuid.uuid4())
    username = f"{name}:secret-key"
    try:
        add_profile(
            Profile(name=name, access_key="SCWXXXXXXXXXXXXXXXXX", default_region="nl-ams"),
            secret_key,
            make_default=True,
        )
        # Through keyring (a fresh backend instance, so nothing is cached in-process).
        assert keyring_store.get_secret_key(name) == secret_key
        creds = resolve_credentials()
        assert creds.secret_key == secret_key
        assert creds.source == f"profile {name!r}"
        assert secret_key not in repr(creds) and secret_key not in str(creds)

        # Really in the Secret Service, under our service name and user name.
        found = _secret_tool("search", "--all", "service", keyring_store.SERVICE)
        assert username in found
        assert secret_key in found
        assert _secret_tool("lookup", "service", keyring_store.SERVICE, "username", username) == (
            secret_key
        )

        # And in no file we wrote: the profiles file has the other fields only.
        assert ProfileStore().path.exists()
        assert _files_containing(isolated_env, secret_key) == []

        removed = remove_profile(name)
        assert removed == ["secret key"]
        assert keyring_store.get_secret_key(name) is None
        assert username not in _secret_tool("search", "--all", "service", keyring_store.SERVICE)
    finally:
        _cleanup(name)


def test_store_passphrase_round_trips_through_gnome_keyring(
    secret_service: KeyringBackend, isolated_env: IsolatedEnv
) -> None:
    name = _profile_name()
    passphrase = f"correct horse {uuid.uuid4().hex} battery staple"
    try:
        keyring_store.set_store_passphrase(name, passphrase)
        assert keyring_store.get_store_passphrase(name) == passphrase
        # A second instance of the backend (as another process would have) reads it too.
        assert keyring.get_keyring().get_password(
            keyring_store.SERVICE, f"{name}:store-passphrase"
        ) == (passphrase)
        found = _secret_tool("search", "--all", "service", keyring_store.SERVICE)
        assert f"{name}:store-passphrase" in found
        assert _files_containing(isolated_env, passphrase) == []
        assert keyring_store.delete_store_passphrase(name) is True
        assert keyring_store.get_store_passphrase(name) is None
        assert keyring_store.delete_store_passphrase(name) is False
    finally:
        _cleanup(name)


async def test_async_wrappers_against_gnome_keyring(secret_service: KeyringBackend) -> None:
    name = _profile_name()
    secret_key = str(uuid.uuid4())
    try:
        await keyring_store.set_secret_key_async(name, secret_key)
        assert await keyring_store.get_secret_key_async(name) == secret_key
        assert await keyring_store.delete_secret_key_async(name) is True
        assert await keyring_store.get_secret_key_async(name) is None
    finally:
        _cleanup(name)


_CLI = (
    "import sys, cli.main as m; m.COMMAND_MODULES = ('cli.commands.profile',); "
    "sys.exit(m.main(sys.argv[1:]))"
)


def _cli_process(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-c", _CLI, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        check=False,
    )


def test_separate_cli_processes_share_the_real_keyring(
    secret_service: KeyringBackend, isolated_env: IsolatedEnv
) -> None:
    assert "PYTHON_KEYRING_BACKEND" not in os.environ
    name = _profile_name()
    secret_key = str(uuid.uuid4())
    try:
        added = _cli_process(
            "profile", "add", name, "--access-key", "SCWXXXXXXXXXXXXXXXXX", stdin=secret_key + "\n"
        )
        assert added.returncode == 0, added.stderr
        assert "SecretService" in added.stdout
        shown = _cli_process("profile", "show", name, "--json")
        assert shown.returncode == 0, shown.stderr
        data = json.loads(shown.stdout)
        assert data["secret_key_stored"] is True
        assert data["keyring"].startswith("SecretService")
        for result in (added, shown):
            assert secret_key not in result.stdout + result.stderr
        username = f"{name}:secret-key"
        assert _secret_tool("lookup", "service", keyring_store.SERVICE, "username", username) == (
            secret_key
        )
        assert _files_containing(isolated_env, secret_key) == []
        removed = _cli_process("profile", "remove", name)
        assert removed.returncode == 0, removed.stderr
        assert keyring_store.get_secret_key(name) is None
    finally:
        _cleanup(name)


def _product(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The real command line (every command group), in its own process."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, SECRET_KLOSET_KDF="fast")
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=root,
        env=env,
        check=False,
    )


def test_a_profile_in_the_keyring_drives_init_and_backup(
    secret_service: KeyringBackend, isolated_env: IsolatedEnv
) -> None:
    from core.emulator import EmulatorApp, ThreadedServer, demo_state
    from core.emulator.demo import (
        DEMO_ACCESS_KEY,
        DEMO_ORGANIZATION_ID,
        DEMO_PRODUCTION_PROJECT_ID,
        DEMO_SECRET_KEY,
    )

    name = _profile_name()
    passphrase = f"store passphrase {uuid.uuid4().hex}"
    store = isolated_env.data / "store"
    with ThreadedServer(EmulatorApp(demo_state())) as server:
        try:
            steps = [
                _product(
                    "profile",
                    "add",
                    name,
                    "--access-key",
                    DEMO_ACCESS_KEY,
                    "--organization-id",
                    DEMO_ORGANIZATION_ID,
                    "--project-id",
                    DEMO_PRODUCTION_PROJECT_ID,
                    "--api-url",
                    server.url,
                    "--store",
                    str(store),
                    "--default",
                    stdin=DEMO_SECRET_KEY + "\n",
                ),
                _product("profile", "passphrase", name, stdin=passphrase + "\n"),
                _product("init"),  # location and passphrase from the profile
                _product("backup", "--json"),
            ]
            for step in steps:
                assert step.returncode == 0, step.stderr
                assert DEMO_SECRET_KEY not in step.stdout + step.stderr
                assert passphrase not in step.stdout + step.stderr
            backup = json.loads(steps[-1].stdout)
            assert backup["status"] == "complete"
            assert backup["secrets"] > 0
            assert store.is_dir()
            assert _files_containing(isolated_env, DEMO_SECRET_KEY) == []
            assert _files_containing(isolated_env, passphrase) == []
        finally:
            _cleanup(name)
