"""The demo world is data (core/emulator/demo.toml) loaded by the config loader: its shape is pinned."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from datetime import UTC, datetime

from core.emulator import demo as d
from core.emulator import demo_material as pem
from core.emulator import demo_state
from core.emulator.config import parse_config
from core.scaleway.models import VersionStatus


def test_counts_and_known_values() -> None:
    state = demo_state()
    secrets = list(state.iter_secrets())
    assert len(state.projects) == 4 and len(secrets) == 53 and len(state.api_keys) == 3
    assert sum(len(s.versions) for s in secrets) == 70
    assert Counter(s.region for s in secrets) == {"fr-par": 37, "nl-ams": 4, "pl-waw": 12}
    assert state.settings.deletion_grace_days == d.DEMO_DELETION_GRACE_DAYS == 36500
    assert d.DEMO_ORGANIZATION_ID == "6f3a2d1c-8b4e-4c7a-9d2f-1e5b7a9c3d40"
    assert d.DEMO_ACCESS_KEY == "SCWDEMOKLOSET0000001"
    assert d.DEMO_SECRET_KEY == "3c1e9a52-7d4b-4f6e-a8c2-5b9d0e1f2a3b"
    assert d.DEMO_STAGING_PROJECT_ID == "b2c3d4e5-2222-4b6c-9d7e-1f2a3b4c5d6e"

    main = state.secrets["fr-par"]["8abc9322-592b-49c0-9207-8f4e2ed15aa6"]
    assert (main.project_id, main.path, main.name) == (
        d.DEMO_PRODUCTION_PROJECT_ID,
        "/prod/db",
        "postgres-main",
    )
    assert main.protected and main.created_at == datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)
    assert [v.status for v in main.versions] == ["disabled", "disabled", "enabled"]
    v1 = main.versions[0]
    assert json.loads(v1.data)["password"] == "Wq8#rT2!vLp9zXc4"
    assert v1.data_crc32 == zlib.crc32(v1.data)
    assert v1.updated_at == datetime(2026, 1, 25, 9, 0, 0, 123456, tzinfo=UTC)

    scheduled = [s for s in secrets if s.scheduled_for_deletion]
    assert len(scheduled) == 1
    assert scheduled[0].deletion_requested_at == datetime(
        2026, 11, 27, 16, 45, 12, 481516, tzinfo=UTC
    )
    assert sum(1 for s in secrets if s.ephemeral_policy is not None) == 2
    no_crc = [s.name for s in secrets if any(v.data_crc32 is None for v in s.versions)]
    assert no_crc == ["scw-cli-token"]
    production = state.projects[d.DEMO_PRODUCTION_PROJECT_ID]
    assert production.updated_at > production.created_at


def test_material_is_referenced_not_copied() -> None:
    state = demo_state()
    payloads = {v.data for s in state.iter_secrets() for v in s.versions}
    assert pem.API_CHAIN_PEM.encode() in payloads
    assert (pem.MTLS_CERT_PEM + pem.MTLS_KEY_PEM).encode() in payloads
    ssh = json.dumps({"ssh_private_key": pem.DEPLOY_SSH_PRIVATE_KEY}, separators=(",", ":"))
    assert ssh.encode() in payloads


def test_the_document_is_not_mutated_by_loading() -> None:
    before = json.dumps(d.demo_document(), default=str, sort_keys=True)
    state = parse_config(d.demo_document())
    assert len(list(state.iter_secrets())) == 53
    assert json.dumps(d.demo_document(), default=str, sort_keys=True) == before
    assert all(v.status != VersionStatus.DELETED for s in state.iter_secrets() for v in s.versions)
