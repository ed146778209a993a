"""State model, persistence (atomic save/load), time-based transitions, and the demo world."""

from __future__ import annotations

import json
import os
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core._fs import write_atomic
from core.emulator import EmulatorState, demo_state
from core.emulator import config as emulator_config
from core.emulator import demo as demo_mod
from core.emulator.state import SecretState, VersionState
from core.emulator.validation import validate_payload
from core.errors import ConfigError
from core.scaleway.models import (
    REGIONS,
    EphemeralProperties,
    SecretType,
    VersionStatus,
)
from core.scaleway.permissions import PermissionSet


def test_demo_is_deterministic() -> None:
    assert demo_state().dumps() == demo_state().dumps()


def test_demo_ephemeral_versions_never_expire_before_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tried in mid-2027 (past the fixed expiry dates), the demo still has live versions."""
    later = datetime(2027, 6, 1, tzinfo=UTC)

    today = [
        v.ephemeral_properties.expires_at
        for s in demo_state().iter_secrets()
        for v in s.versions
        if v.ephemeral_properties and v.ephemeral_properties.expires_at
    ]
    assert today and all(e > datetime(2026, 1, 1, tzinfo=UTC) for e in today)
    # the demo's "renew" expiry rule is the config loader's: its clock is the one to move
    monkeypatch.setattr(emulator_config, "utcnow", lambda: later)
    expiries = [
        v.ephemeral_properties.expires_at
        for s in demo_state().iter_secrets()
        for v in s.versions
        if v.ephemeral_properties and v.ephemeral_properties.expires_at
    ]
    assert len(expiries) == len(today) and all(e > later for e in expiries)


def test_demo_world_shape() -> None:
    state = demo_state()
    secrets = list(state.iter_secrets())
    assert 45 <= len(secrets) <= 60
    assert state.organization_id == demo_mod.DEMO_ORGANIZATION_ID
    assert state.projects[demo_mod.DEMO_ORGANIZATION_ID].name == "default"
    assert {p.name for p in state.projects.values()} == set(demo_mod.DEMO_PROJECTS)
    assert {s.region for s in secrets} == set(REGIONS)
    assert {s.type for s in secrets} == {str(t) for t in SecretType if t != SecretType.UNKNOWN}
    assert sum(s.protected for s in secrets) == 1
    assert sum(s.scheduled_for_deletion for s in secrets) == 1
    assert any(s.ephemeral_policy is not None for s in secrets)
    assert any(s.path.count("/") >= 3 for s in secrets)  # nested, e.g. /prod/api/stripe
    assert any(len(s.versions) >= 3 for s in secrets)
    assert any(v.status == VersionStatus.DISABLED for s in secrets for v in s.versions)
    assert all(s.tags or s.path == "/shared" for s in secrets)
    assert all(
        datetime(2025, 1, 1, tzinfo=UTC) <= s.created_at < datetime(2027, 1, 1, tzinfo=UTC)
        for s in secrets
    )
    # Every payload is valid for its type, and carries its CRC unless deliberately absent.
    for s in secrets:
        for v in s.versions:
            assert validate_payload(s.type, v.data) is None, (s.id, v.revision)
            assert v.data_crc32 in (None, zlib.crc32(v.data))
    ids = Counter(s.id for s in secrets)
    assert max(ids.values()) == 1


def test_demo_stays_stable_over_the_years() -> None:
    state = demo_state()
    before = state.dumps()
    assert state.expire(datetime(2027, 1, 1, tzinfo=UTC)) is False
    assert state.dumps() == before


def test_demo_keys() -> None:
    state = demo_state()
    full = state.key_for_token(demo_mod.DEMO_SECRET_KEY)
    assert full is not None and full.access_key == demo_mod.DEMO_ACCESS_KEY and full.org_wide
    assert {
        str(PermissionSet.SECRET_FULL_ACCESS),
        str(PermissionSet.PROJECT_READ_ONLY),
    } <= full.permission_sets
    ro = state.key_for_token(demo_mod.DEMO_READONLY_SECRET_KEY)
    assert ro is not None and ro.permission_sets == {str(PermissionSet.SECRET_READ_ONLY)}
    staging = state.key_for_token(demo_mod.DEMO_STAGING_SECRET_KEY)
    assert staging is not None and staging.projects == (demo_mod.DEMO_STAGING_PROJECT_ID,)
    assert demo_mod.DEMO_SECRET_KEY not in repr(full)


def test_demo_state_copies_are_independent() -> None:
    a = demo_state()
    next(a.iter_secrets()).name = "changed"
    assert all(s.name != "changed" for s in demo_state().iter_secrets())


def test_save_load_round_trip(tmp_path: Path) -> None:
    state = demo_state()
    path = tmp_path / "state.json"
    state.save(path)
    loaded = EmulatorState.load(path)
    assert loaded.dumps() == state.dumps()
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left


def test_save_replaces_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    write_atomic(path, b"old complete content")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        demo_state().save(path)
    assert path.read_bytes() == b"old complete content"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"format": "other"}', "not a secret-kloset emulator state"),
        (b'{"format": "secret-kloset-emulator-state", "version": 99}', "format version"),
        (b'{"format": "secret-kloset-emulator-state", "version": 1, "projects": [{}]}', "damaged"),
    ],
)
def test_load_errors_are_config_errors(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        EmulatorState.load(path)
    assert fragment in str(err.value)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        EmulatorState.load(tmp_path / "nope.json")


def test_state_file_never_holds_plain_json_of_secrets_data() -> None:
    # Payloads are stored base64-encoded (binary safe), never as raw text.
    state = demo_state()
    doc = json.loads(state.dumps())
    first = doc["secrets"][0]["versions"][0]
    assert set(first) >= {"revision", "data", "status", "data_crc32"}
    assert "postgres" not in first["data"]


def _secret_with(version: VersionState, **fields: object) -> SecretState:
    secret = SecretState(
        id="6a1b7a53-2d6e-4c44-9a63-3c3b9f8c1d11",
        project_id="p",
        region="fr-par",
        name="n",
        **fields,
    )  # type: ignore[arg-type]
    secret.versions.append(version)
    return secret


def test_expire_purges_after_grace_and_applies_ttl() -> None:
    state = EmulatorState("6a1b7a53-2d6e-4c44-9a63-3c3b9f8c1d10")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old = _secret_with(VersionState(1, b"x"), deletion_requested_at=now - timedelta(days=8))
    state.add_secret(old)
    v_sched = VersionState(
        1,
        b"y",
        status=VersionStatus.SCHEDULED_FOR_DELETION,
        deletion_requested_at=now - timedelta(days=7),
    )
    sched = _secret_with(v_sched)
    sched.id = "6a1b7a53-2d6e-4c44-9a63-3c3b9f8c1d12"
    state.add_secret(sched)
    expiring = VersionState(
        1,
        b"z",
        ephemeral_properties=EphemeralProperties(
            expires_at=now - timedelta(seconds=1), action="disable"
        ),
    )
    eph = _secret_with(expiring)
    eph.id = "6a1b7a53-2d6e-4c44-9a63-3c3b9f8c1d13"
    state.add_secret(eph)
    generation = state.generation

    assert state.expire(now) is True
    assert state.generation > generation
    assert state.find_secret(old.id) is None
    assert (
        v_sched.status == VersionStatus.DELETED
        and v_sched.deleted_at == now
        and v_sched.data == b""
    )
    assert expiring.status == VersionStatus.DISABLED
    assert state.expire(now) is False


def test_old_state_files_load_unchanged() -> None:
    """A state file written by the hand-written codec this one replaced loads, and is written
    back byte for byte (an ephemeral secret, a scheduled one, one without CRC, a version
    scheduled for deletion, a deleted one, an expiring key)."""
    old = Path(__file__).with_name("state-v1.json").read_bytes()
    state = EmulatorState.load(Path(__file__).with_name("state-v1.json"))
    assert state.dumps() == old
    secrets = list(state.iter_secrets())
    assert len(secrets) == 4 and any(s.scheduled_for_deletion for s in secrets)
    statuses = {v.status for s in secrets for v in s.versions}
    assert {"deleted", "scheduled_for_deletion", "enabled"} <= statuses
    assert any(k.expires_at is not None for k in state.api_keys.values())


def test_a_state_file_without_next_revision_never_reuses_one() -> None:
    doc = json.loads(Path(__file__).with_name("state-v1.json").read_bytes())
    for secret in doc["secrets"]:
        del secret["next_revision"]
    state = EmulatorState.from_dict(doc)
    for s in state.iter_secrets():
        assert s.next_revision == max(v.revision for v in s.versions) + 1
