"""Shared fixtures of the conformance suite: one emulator over real HTTP, and the official SDK.

Fixtures (names are stable; the client suite ``test_client_*.py`` uses them too):

* ``conformance_config`` (session): a :class:`ConformanceConfig` with the organization, the
  projects and the API keys of the emulator, and ``path`` of the TOML file it was loaded from.
  Keys by name (``conformance_config.keys[name]`` or ``.key(name)``), each a :class:`KeyPair`:

  - ``full``: SecretManagerFullAccess + ProjectReadOnly, org-wide
  - ``readonly``: SecretManagerReadOnly only (metadata; access to data answers 403)
  - ``no_access``: every Secret Manager set except SecretManagerSecretAccess, + ProjectReadOnly
  - ``no_permissions``: a valid key holding no permission set (403 everywhere)
  - ``scoped``: SecretManagerFullAccess + ProjectReadOnly, scoped to ``other_project_id``
    (403 on other projects and on project listing)
  - ``expired``: full access, but expired (401 ``reason: expired``)
  - ``iam``: IAMReadOnly only, org-wide, expiring in 2099 (reads API keys, nothing else)
  - ``unknown``: well-formed but not configured (401 ``reason: not_found``)

  Projects: ``default_project_id`` (= organization id, named "default"), ``project_id``
  ("conformance"), ``other_project_id`` ("conformance-other"); ``projects`` maps name -> id.
* ``emulator_server`` (session): a started :class:`core.emulator.ThreadedServer` on
  127.0.0.1 and a free port; ``emulator_server.app`` is the :class:`EmulatorApp` (its
  ``state`` and ``stats``). Tests share it: use unique names/paths/tags, never global counts.
* ``emulator_url`` (session): its base URL (``http://127.0.0.1:<port>``).
* ``sdk_client``: an official ``scaleway.Client`` with the ``full`` key, the organization,
  ``project_id`` as default project and ``fr-par`` as default region.
* ``make_sdk_client``: ``make_sdk_client(key_name="full", **overrides)`` for other keys.
* ``secret_api`` / ``project_api``: ``SecretV1Beta1API`` / ``AccountV3ProjectAPI`` on ``sdk_client``.

The SDK blocks (``requests``): the server runs in its own thread, so call the SDK from plain
synchronous tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.emulator import EmulatorApp, ThreadedServer, load_config

ORGANIZATION_ID = "0c1e2a3b-4d5f-4a6b-8c7d-9e0f1a2b3c4d"
PROJECT_ID = "1d2f3b4c-5e6a-4b7c-9d8e-0f1a2b3c4d5e"
OTHER_PROJECT_ID = "2e3a4c5d-6f7b-4c8d-8e9f-1a2b3c4d5e6f"
REGION = "fr-par"


@dataclass(frozen=True)
class KeyPair:
    access_key: str
    secret_key: str
    permission_sets: tuple[str, ...] = ()
    projects: tuple[str, ...] | None = None
    expires_at: str | None = None
    configured: bool = True


@dataclass(frozen=True)
class ConformanceConfig:
    organization_id: str
    default_project_id: str
    project_id: str
    other_project_id: str
    projects: dict[str, str]
    keys: dict[str, KeyPair]
    path: Path
    region: str = REGION
    extra: dict[str, Any] = field(default_factory=dict)

    def key(self, name: str) -> KeyPair:
        return self.keys[name]


_KEYS: dict[str, KeyPair] = {
    "full": KeyPair(
        "SCWCONFORMFULL000001",
        "a0000000-0000-4000-8000-000000000001",
        ("SecretManagerFullAccess", "ProjectReadOnly"),
    ),
    "readonly": KeyPair(
        "SCWCONFORMREAD000002",
        "a0000000-0000-4000-8000-000000000002",
        ("SecretManagerReadOnly",),
    ),
    "no_access": KeyPair(
        "SCWCONFORMNOACC00003",
        "a0000000-0000-4000-8000-000000000003",
        (
            "SecretManagerReadOnly",
            "SecretManagerSecretCreate",
            "SecretManagerSecretWrite",
            "SecretManagerSecretDelete",
            "SecretManagerSecretRestore",
            "ProjectReadOnly",
        ),
    ),
    "no_permissions": KeyPair("SCWCONFORMNONE000004", "a0000000-0000-4000-8000-000000000004"),
    "scoped": KeyPair(
        "SCWCONFORMSCOPE00005",
        "a0000000-0000-4000-8000-000000000005",
        ("SecretManagerFullAccess", "ProjectReadOnly"),
        projects=(OTHER_PROJECT_ID,),
    ),
    "expired": KeyPair(
        "SCWCONFORMEXPIRED006",
        "a0000000-0000-4000-8000-000000000006",
        ("SecretManagerFullAccess", "ProjectReadOnly"),
        expires_at="2026-01-01T00:00:00Z",
    ),
    "iam": KeyPair(
        "SCWCONFORMIAMREAD008",
        "a0000000-0000-4000-8000-000000000008",
        ("IAMReadOnly",),
        expires_at="2099-01-01T00:00:00Z",
    ),
    "unknown": KeyPair(
        "SCWCONFORMUNKNOWN007",
        "a0000000-0000-4000-8000-000000000007",
        configured=False,
    ),
}


def _toml_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def conformance_toml() -> str:
    lines = [
        f'organization_id = "{ORGANIZATION_ID}"',
        "",
        "[[projects]]",
        f'id = "{ORGANIZATION_ID}"',
        'name = "default"',
        'created_at = "2026-01-02T03:04:05.123456Z"',
        "",
        "[[projects]]",
        f'id = "{PROJECT_ID}"',
        'name = "conformance"',
        'description = "main conformance project"',
        'created_at = "2026-02-03T04:05:06.234567Z"',
        "",
        "[[projects]]",
        f'id = "{OTHER_PROJECT_ID}"',
        'name = "conformance-other"',
        'created_at = "2026-03-04T05:06:07.345678Z"',
    ]
    for name, key in _KEYS.items():
        if not key.configured:
            continue
        lines += [
            "",
            "[[api_keys]]",
            f'access_key = "{key.access_key}"',
            f'secret_key = "{key.secret_key}"',
            f"permission_sets = {_toml_list(key.permission_sets)}",
            f'description = "conformance: {name}"',
        ]
        if key.projects is not None:
            lines.append(f"projects = {_toml_list(key.projects)}")
        if key.expires_at is not None:
            lines.append(f'expires_at = "{key.expires_at}"')
    lines += [
        "",
        "[[secrets]]",
        f'project_id = "{PROJECT_ID}"',
        'region = "fr-par"',
        'name = "seeded-db"',
        'path = "/seeded/db"',
        'type = "database_credentials"',
        'tags = ["seeded"]',
        "versions = [",
        '  { data = \'{"engine":"postgres","username":"u","password":"p1","host":"h","dbname":"d","port":"5432"}\', status = "disabled" },',
        '  { data = \'{"engine":"postgres","username":"u","password":"p2","host":"h","dbname":"d","port":"5432"}\' },',
        "]",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def conformance_config(tmp_path_factory: pytest.TempPathFactory) -> ConformanceConfig:
    path = tmp_path_factory.mktemp("conformance") / "emulator.toml"
    path.write_text(conformance_toml(), encoding="utf-8")
    return ConformanceConfig(
        organization_id=ORGANIZATION_ID,
        default_project_id=ORGANIZATION_ID,
        project_id=PROJECT_ID,
        other_project_id=OTHER_PROJECT_ID,
        projects={
            "default": ORGANIZATION_ID,
            "conformance": PROJECT_ID,
            "conformance-other": OTHER_PROJECT_ID,
        },
        keys=dict(_KEYS),
        path=path,
    )


@pytest.fixture(scope="session")
def emulator_server(conformance_config: ConformanceConfig) -> Iterator[ThreadedServer]:
    app = EmulatorApp(load_config(conformance_config.path))
    server = ThreadedServer(app, host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def emulator_url(emulator_server: ThreadedServer) -> str:
    return emulator_server.url


@pytest.fixture
def make_sdk_client(conformance_config: ConformanceConfig, emulator_url: str) -> Callable[..., Any]:
    from scaleway import Client

    def make(key_name: str = "full", **overrides: Any) -> Any:
        key = conformance_config.keys[key_name]
        options: dict[str, Any] = {
            "access_key": key.access_key,
            "secret_key": key.secret_key,
            "api_url": emulator_url,
            "default_organization_id": conformance_config.organization_id,
            "default_project_id": conformance_config.project_id,
            "default_region": conformance_config.region,
        }
        options.update(overrides)
        return Client(**options)

    return make


@pytest.fixture
def sdk_client(make_sdk_client: Callable[..., Any]) -> Any:
    return make_sdk_client("full")


@pytest.fixture
def secret_api(sdk_client: Any) -> Any:
    from scaleway.secret.v1beta1 import SecretV1Beta1API

    return SecretV1Beta1API(sdk_client)


@pytest.fixture
def project_api(sdk_client: Any) -> Any:
    from scaleway.account.v3 import AccountV3ProjectAPI

    return AccountV3ProjectAPI(sdk_client)
