"""The one codec of the store's records (core/store/codec.py, docs/FORMAT.md §15).

The golden store proves the bytes of real records; these pin the rules themselves: every
field written (null, never omitted), ``"v"`` first, times with six fraction digits, and the
lenient reading version-1 readers always had.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.store.codec import NewerVersionError, canonical_json, fast_decoder
from core.store.model import SecretRecord, SnapshotHeader, SourceInfo, VersionRecord

T = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_every_field_is_written_in_declaration_order_with_v_first() -> None:
    record = SecretRecord(region="fr-par", project_id="p", secret_id="s", name="ü")
    doc = record.to_dict()
    assert next(iter(doc)) == "v" and doc["v"] == 1
    assert doc["ephemeral_policy"] is None and doc["error"] is None and doc["versions"] == []
    assert list(doc)[1:5] == ["region", "project_id", "secret_id", "name"]
    assert record.to_bytes() == canonical_json(doc)
    assert b" " not in record.to_bytes() and "ü".encode() in record.to_bytes()


def test_times_have_six_fraction_digits_and_z() -> None:
    version = VersionRecord(revision=1, status="enabled", created_at=T)
    assert version.to_dict()["created_at"] == "2026-01-02T03:04:05.000000Z"
    assert VersionRecord.from_dict(version.to_dict()).created_at == T


def test_missing_and_null_fields_take_their_defaults() -> None:
    record = SecretRecord.from_dict(
        {"region": "r", "project_id": "p", "secret_id": "s", "name": "n", "tags": None}
    )
    assert record.path == "/" and record.tags == () and record.versions == ()
    with pytest.raises(KeyError):
        SecretRecord.from_dict({"region": "r", "project_id": "p", "secret_id": "s"})


def test_fallbacks_apply_to_empty_values_too() -> None:
    assert VersionRecord.from_dict({"revision": "2", "status": ""}).status == "unknown_status"
    assert VersionRecord.from_dict({"revision": "2"}).revision == 2
    assert SourceInfo.from_dict({"provider": ""}).provider == "scaleway"
    header = SnapshotHeader.from_dict({"id": "a", "time": "2026-01-02T03:04:05Z", "tree": "b"})
    assert header.status == "complete" and header.time == T


def test_a_newer_record_version_is_refused() -> None:
    raw = json.dumps({"v": 2, "region": "r"}).encode()
    with pytest.raises(NewerVersionError, match="secret record version 2"):
        SecretRecord.from_bytes(raw)
    with pytest.raises(ValueError, match="JSON object"):
        SnapshotHeader.from_bytes(b"[]")


def test_the_bulk_fast_decoder_agrees_with_from_bytes_or_declines() -> None:
    """fast_decoder (the snapshot read's decoder) gives from_bytes's record, or None where
    the lenient path must decide: a newer or odd "v", an empty fallback, a time not in UTC."""
    fast = fast_decoder(SecretRecord)
    version = VersionRecord(revision=1, status="enabled", created_at=T, payload="ab" * 32)
    record = SecretRecord(
        region="fr-par", project_id="p", secret_id="s", name="n", versions=(version,)
    )
    raw = record.to_bytes()
    assert fast(raw) == SecretRecord.from_bytes(raw) == record
    newer = raw.replace(b'"v":1,', b'"v":2,')
    assert fast(newer) is None
    with pytest.raises(NewerVersionError):
        SecretRecord.from_bytes(newer)
    nested = json.loads(raw)
    nested["ephemeral_policy"] = {"v": 2}  # a nested "v" is not the record's (read by msgspec)
    assert fast(canonical_json(nested)) == SecretRecord.from_bytes(canonical_json(nested))
    assert fast(canonical_json(nested)).ephemeral_policy == {"v": 2}  # type: ignore[union-attr]
    assert fast(canonical_json({**nested, "v": 2})) is None  # the record's own "v" decides
    repeated = raw.replace(b'"v":1,', b'"v":1,"v":2,')  # msgspec keeps the last, as from_bytes
    assert fast(repeated) is None
    with pytest.raises(NewerVersionError):
        SecretRecord.from_bytes(repeated)
    assert fast(raw.replace(b'"v":1,', b'"v":"1",')) is None  # not an integer: lenient path
    assert fast(raw.replace(b'"v":1,', b"")) == record  # no "v": version 1
    empty = raw.replace(b'"status":"enabled"', b'"status":""')
    assert fast(empty) is None
    assert SecretRecord.from_bytes(empty).versions[0].status == "unknown_status"
    paris = raw.replace(b'"2026-01-02T03:04:05.000000Z"', b'"2026-01-02T04:04:05.000000+01:00"')
    assert fast(paris) is None
    assert SecretRecord.from_bytes(paris) == record
    assert fast(b"[]") is None and fast(b"not json") is None


def test_a_newer_version_is_refused_however_its_key_is_spelled() -> None:
    """The "v" is what a JSON parser reads, not a search of the bytes: a key written with an
    escape (``"\\u0076"``) beside another key that merely ends in ``\\"v"`` is still version 2."""
    raw = SecretRecord(region="r", project_id="p", secret_id="s", name="n").to_bytes()
    disguised = raw.replace(b'"v":1,', b'"\\u0076":2,"x\\"v":1,')
    assert json.loads(disguised)["v"] == 2
    with pytest.raises(NewerVersionError, match="secret record version 2"):
        SecretRecord.from_bytes(disguised)
    assert fast_decoder(SecretRecord)(disguised) is None
