"""Shared test material for the engine and end-to-end tests: an emulator configuration that
exercises every kind of secret, and helpers to read a project back for comparison."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

from core.scaleway.models import VersionStatus

ORG = "0b6f3c1e-5a2d-4e8f-9c7b-1d2e3f4a5b6c"
SOURCE = "1c7a4d2f-6b3e-4f9a-8d8c-2e3f4a5b6c7d"
TARGET = "2d8b5e3a-7c4f-4a0b-9e9d-3f4a5b6c7d8e"
OTHER = "3e9c6f4b-8d5a-4b1c-8f0e-4a5b6c7d8e9f"

FULL_ACCESS = "SCWFULLACCESS0000001"
FULL_SECRET = "9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
READONLY_ACCESS = "SCWREADONLY000000001"
READONLY_SECRET = "8b2c3d4e-5f6a-4b7c-9d8e-9f0a1b2c3d4e"
BACKUP_ACCESS = "SCWBACKUPONLY0000001"
BACKUP_SECRET = "7c3d4e5f-6a7b-4c8d-8e9f-0a1b2c3d4e5f"

_RNG = random.Random(20261128)
BINARY = bytes(_RNG.getrandbits(8) for _ in range(1024))
BIG = bytes(_RNG.getrandbits(8) for _ in range(64 * 1024))  # the API's maximum
PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    + base64.encodebytes(bytes(range(256)) * 2).decode("ascii")
    + "-----END CERTIFICATE-----\n"
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _secret(name: str, path: str, versions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "project_id": SOURCE,
        "region": "fr-par",
        "name": name,
        "path": path,
        "versions": versions,
    }
    table.update(extra)
    return table


def source_secrets() -> list[dict[str, Any]]:
    """Every type, binary and 64 KiB data, unicode in tags/descriptions/data, nested paths,
    disabled versions, protected and ephemeral secrets, one scheduled for deletion."""
    return [
        _secret(
            "stripe-key",
            "/prod/api",
            [
                {"data": "sk_live_v1", "status": "disabled", "description": "first"},
                {"data": "sk_live_v2", "description": "rotated ✓"},
                {"data": "sk_live_v3 ünïcödé ✓"},
            ],
            tags=["prod", "payments", "équipe"],
            description="clé de paiement — prod ✓",
        ),
        _secret("blob", "/prod/bin", [{"data_base64": _b64(BINARY)}], tags=["binary"]),
        _secret("big", "/prod/bin", [{"data_base64": _b64(BIG)}]),
        _secret("tls", "/prod/certs", [{"data": PEM}], type="certificate"),
        _secret(
            "settings",
            "/prod/app",
            [{"data": json.dumps({"mode": "fast", "région": "paris ✓"}, ensure_ascii=False)}],
            type="key_value",
        ),
        _secret(
            "admin",
            "/prod/app",
            [{"data": json.dumps({"username": "root", "password": "p@ss"})}],
            type="basic_credentials",
        ),
        _secret(
            "primary",
            "/prod/db/eu/west/primary",
            [
                {
                    "data": json.dumps(
                        {
                            "engine": "postgres",
                            "username": "app",
                            "password": "pw1",
                            "host": "db.internal",
                            "dbname": "app",
                            "port": "5432",
                        }
                    )
                },
                {
                    "data": json.dumps(
                        {
                            "engine": "postgres",
                            "username": "app",
                            "password": "pw2",
                            "host": "db.internal",
                            "dbname": "app",
                            "port": "5432",
                        }
                    )
                },
            ],
            type="database_credentials",
            tags=["prod", "db"],
        ),
        _secret(
            "deploy",
            "/prod/ssh",
            [
                {
                    "data": json.dumps(
                        {"ssh_private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"}
                    )
                }
            ],
            type="ssh_key",
        ),
        _secret("root-token", "/prod", [{"data": "do-not-delete"}], protected=True),
        _secret(
            "session",
            "/prod/tmp",
            [{"data": "short-lived"}],
            ephemeral_policy={"time_to_live": "86400s", "action": "disable"},
        ),
        _secret(
            "one-shot",
            "/prod/tmp",
            [{"data": "read me once"}],
            ephemeral_policy={"expires_once_accessed": True, "action": "delete"},
        ),
        _secret("old", "/prod/legacy", [{"data": "legacy value"}], scheduled_for_deletion=True),
        _secret("only-disabled", "/prod/legacy", [{"data": "off", "status": "disabled"}]),
        _secret("amsterdam", "/", [{"data": "in nl-ams"}], region="nl-ams"),
        _secret("elsewhere", "/", [{"data": "other project"}], project_id=OTHER),
    ]


def emulator_config(extra_secrets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "organization_id": ORG,
        "projects": [
            {"id": ORG, "name": "default"},
            {"id": SOURCE, "name": "production"},
            {"id": TARGET, "name": "recovery"},
            {"id": OTHER, "name": "other"},
        ],
        "api_keys": [
            {
                "access_key": FULL_ACCESS,
                "secret_key": FULL_SECRET,
                "permission_sets": ["SecretManagerFullAccess", "ProjectReadOnly"],
            },
            {
                "access_key": READONLY_ACCESS,
                "secret_key": READONLY_SECRET,
                "permission_sets": ["SecretManagerReadOnly"],
            },
            {
                "access_key": BACKUP_ACCESS,
                "secret_key": BACKUP_SECRET,
                "permission_sets": ["SecretManagerReadOnly", "SecretManagerSecretAccess"],
            },
        ],
        "secrets": source_secrets() + list(extra_secrets or []),
    }


def many_secrets(count: int, versions: int = 3, project: str = SOURCE) -> list[dict[str, Any]]:
    return [
        _secret(
            f"s{i:05d}",
            f"/bulk/g{i % 10}",
            [{"data": f"value-{i}-{v}"} for v in range(versions)],
            project_id=project,
        )
        for i in range(count)
    ]


async def read_project(
    client: Any, region: str, project_id: str, *, with_disabled_data: bool = True
) -> dict[tuple[str, str], dict[str, Any]]:
    """A project's live secrets by (path, name): metadata and every version's data.

    Disabled versions are enabled, read and disabled again when ``with_disabled_data``;
    versions that expire once accessed are not read.
    """
    out: dict[tuple[str, str], dict[str, Any]] = {}
    async for secret in client.list_secrets(region, project_id=project_id):
        versions = []
        async for v in client.list_versions(region, secret.id):
            versions.append(v)
        versions.sort(key=lambda v: v.revision)
        data: list[tuple[str, bytes | None]] = []
        once = bool(secret.ephemeral_policy and secret.ephemeral_policy.expires_once_accessed)
        for v in versions:
            payload: bytes | None = None
            if not once and v.status == VersionStatus.ENABLED:
                payload = (await client.access_version(region, secret.id, v.revision)).data
            elif not once and v.status == VersionStatus.DISABLED and with_disabled_data:
                await client.enable_version(region, secret.id, v.revision)
                payload = (await client.access_version(region, secret.id, v.revision)).data
                await client.disable_version(region, secret.id, v.revision)
            data.append((str(v.status), payload))
        out[(secret.path, secret.name)] = {
            "id": secret.id,
            "type": str(secret.type),
            "tags": list(secret.tags),
            "description": secret.description,
            "protected": secret.protected,
            "ephemeral_policy": secret.ephemeral_policy.to_api()
            if secret.ephemeral_policy
            else None,
            "versions": data,
            "descriptions": [v.description for v in versions],
        }
    return out


def comparable(
    project: dict[tuple[str, str], dict[str, Any]],
) -> dict[tuple[str, str], dict[str, Any]]:
    """Drop what legitimately differs between a source and its restored copy (ids)."""
    return {k: {f: v for f, v in s.items() if f != "id"} for k, s in project.items()}


async def find_secret(
    client: Any, name: str, project_id: str = SOURCE, region: str = "fr-par"
) -> Any:
    """The live secret called ``name`` in the project (any path)."""
    async for secret in client.list_secrets(region, project_id=project_id, name=name):
        return secret
    raise AssertionError(f"no secret named {name!r}")
