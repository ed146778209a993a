"""The emulator world the process benchmarks serve (backup_bench.py, soak.py): one
organization, a default, a source and an empty target project, one full-access key; the
benchmark brings the secrets."""

from __future__ import annotations

from typing import Any

ORG = "0b6f3c1e-5a2d-4e8f-9c7b-1d2e3f4a5b6c"
SOURCE = "1c7a4d2f-6b3e-4f9a-8d8c-2e3f4a5b6c7d"
TARGET = "2d8b5e3a-7c4f-4a0b-9e9d-3f4a5b6c7d8e"
SECRET_KEY = "9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"


def world(secrets: list[dict[str, Any]], *, access_key: str) -> dict[str, Any]:
    """An emulator config (``parse_config``'s input) holding ``secrets``."""
    return {
        "organization_id": ORG,
        "projects": [
            {"id": ORG, "name": "default"},
            {"id": SOURCE, "name": "production"},
            {"id": TARGET, "name": "recovery"},
        ],
        "api_keys": [
            {
                "access_key": access_key,
                "secret_key": SECRET_KEY,
                "permission_sets": ["SecretManagerFullAccess", "ProjectReadOnly"],
            }
        ],
        "secrets": secrets,
    }
