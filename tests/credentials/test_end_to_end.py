"""Credentials end to end: a profile added through the CLI (or imported from an scw config that
the official SDK also reads) drives the project's client against the emulator over real HTTP."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import cli.main
from core.credentials.resolve import resolve_credentials_async
from core.credentials.testing import MemoryKeyring
from core.emulator import EmulatorApp, ThreadedServer, demo_state
from core.emulator.demo import (
    DEMO_ACCESS_KEY,
    DEMO_ORGANIZATION_ID,
    DEMO_PRODUCTION_PROJECT_ID,
    DEMO_PROJECTS,
    DEMO_READONLY_ACCESS_KEY,
    DEMO_READONLY_SECRET_KEY,
    DEMO_SECRET_KEY,
)
from core.scaleway.errors import AuthenticationError
from tests.conftest import IsolatedEnv


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    server = ThreadedServer(EmulatorApp(demo_state()), host="127.0.0.1", port=0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _cli(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr(cli.main, "COMMAND_MODULES", ("cli.commands.profile",))
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli.main.main(list(argv))


async def test_profile_added_by_the_cli_reaches_the_emulator(
    emulator: str, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _cli(
        monkeypatch,
        "profile",
        "add",
        "demo",
        "--access-key",
        DEMO_ACCESS_KEY,
        "--organization-id",
        DEMO_ORGANIZATION_ID,
        "--project-id",
        DEMO_PRODUCTION_PROJECT_ID,
        "--api-url",
        emulator,
        stdin=DEMO_SECRET_KEY + "\n",
    )
    assert code == 0
    creds = await resolve_credentials_async()
    assert creds.source == "profile 'demo'"
    async with creds.client(max_retries=0) as client:
        projects = [p.id async for p in client.list_projects()]
        assert set(DEMO_PROJECTS.values()) <= set(projects)
        secrets = [s async for s in client.list_secrets("fr-par")]
    assert secrets, "the demo production project has secrets"
    assert {s.project_id for s in secrets} == {DEMO_PRODUCTION_PROJECT_ID}


async def test_wrong_secret_key_is_rejected_by_the_emulator(
    emulator: str, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCW_SECRET_KEY", "00000000-0000-4000-8000-000000000000")
    monkeypatch.setenv("SCW_API_URL", emulator)
    creds = await resolve_credentials_async()
    assert creds.source == "environment"
    async with creds.client(max_retries=0) as client:
        with pytest.raises(AuthenticationError):
            [p async for p in client.list_projects(DEMO_ORGANIZATION_ID)]


def _write_scw_config(config: Path, emulator: str) -> Path:
    config.parent.mkdir(parents=True)
    config.write_text(
        "access_key: SCWXXXXXXXXXXXXXXXXX\n"
        "secret_key: 11111111-1111-4111-8111-111111111111\n"
        f"default_organization_id: {DEMO_ORGANIZATION_ID}\n"
        "default_region: fr-par\n"
        "profiles:\n"
        "  emulator:\n"
        f"    access_key: {DEMO_ACCESS_KEY}\n"
        f"    secret_key: {DEMO_SECRET_KEY}\n"
        f"    default_project_id: {DEMO_PRODUCTION_PROJECT_ID}\n"
        "    default_region: nl-ams\n"
        f"    api_url: {emulator}\n"
    )
    return config


async def test_scw_config_read_alike_by_us_and_the_official_sdk(
    emulator: str,
    memory_keyring: MemoryKeyring,
    isolated_env: IsolatedEnv,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _write_scw_config(isolated_env.scw_config, emulator)
    # The official SDK's view of the same file and profile.
    from scaleway import Client

    sdk = Client.from_config_file_and_env(str(config), profile_name="emulator")
    assert sdk.secret_key == DEMO_SECRET_KEY
    assert sdk.default_organization_id == DEMO_ORGANIZATION_ID  # inherited from the top level
    assert sdk.default_region == "nl-ams"

    assert _cli(monkeypatch, "profile", "import-scw", "--scw-profile", "emulator") == 0
    monkeypatch.setenv("SECRET_KLOSET_PROFILE", "emulator")
    creds = await resolve_credentials_async()
    assert (creds.secret_key, creds.api_url) == (sdk.secret_key, sdk.api_url)
    assert (creds.organization_id, creds.default_project_id, creds.default_region) == (
        sdk.default_organization_id,
        sdk.default_project_id,
        sdk.default_region,
    )
    async with creds.client(max_retries=0) as client:
        names = [s.name async for s in client.list_secrets("fr-par")]
    assert names


def _add_demo_profile(
    monkeypatch: pytest.MonkeyPatch, name: str, access: str, secret: str, emulator: str
) -> None:
    code = _cli(
        monkeypatch,
        "profile",
        "add",
        name,
        "--access-key",
        access,
        "--organization-id",
        DEMO_ORGANIZATION_ID,
        "--project-id",
        DEMO_PRODUCTION_PROJECT_ID,
        "--api-url",
        emulator,
        stdin=secret + "\n",
    )
    assert code == 0


def test_profile_test_reports_the_permission_sets(
    emulator: str,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_demo_profile(monkeypatch, "full", DEMO_ACCESS_KEY, DEMO_SECRET_KEY, emulator)
    _add_demo_profile(
        monkeypatch, "readonly", DEMO_READONLY_ACCESS_KEY, DEMO_READONLY_SECRET_KEY, emulator
    )
    capsys.readouterr()

    assert _cli(monkeypatch, "profile", "test", "full", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["authenticated"] is True
    assert report["backup"]["missing"] == [] and report["restore"]["missing"] == []
    assert report["backup"]["project_names"] is True
    assert DEMO_SECRET_KEY not in json.dumps(report)

    assert _cli(monkeypatch, "profile", "test", "readonly", "--region", "nl-ams") == 1
    out = capsys.readouterr().out
    assert "MISSING SecretManagerSecretAccess" in out
    assert "region nl-ams" in out

    assert _cli(monkeypatch, "profile", "test", "full", "--project", "nope") == 1
    assert "--project must be a UUID" in capsys.readouterr().err


def test_profile_test_with_a_refused_key(
    emulator: str,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_demo_profile(
        monkeypatch, "wrong", DEMO_ACCESS_KEY, "00000000-0000-4000-8000-000000000000", emulator
    )
    capsys.readouterr()
    assert _cli(monkeypatch, "profile", "test", "wrong") == 1
    err = capsys.readouterr().err
    assert err.startswith("secret-kloset: error:")
    assert "Traceback" not in err
