"""The golden store: a store written once by format version 1 must read back exactly.

``tests/fixtures/store-v1/store`` was made by ``tests/fixtures/store-v1/regenerate.py`` (run by
hand, never here) and committed with ``expected.json``, what it must read back as. A change to
the format, to the canonical encoding of records and headers, or to the config and key-slot
bodies that still reads its own output but not this store's fails here. Re-encoding each
decoded object must also give back the stored bytes exactly (records: their blob ids).
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from core.store import SecretRecord, SnapshotHeader, Store, WrongPassphraseError, envelope
from core.store.config import encode_config
from core.store.crypto import BLOB_RECORD
from core.store.keys import KeySlot, encode_slot
from core.store.ops.check import check_store

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store-v1"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
PASSPHRASE = "golden passphrase v1"  # also in expected.json: spelled out so it cannot drift


@pytest.fixture
def golden(tmp_path: Path) -> str:
    """A copy of the fixture (opening and checking take locks: the fixture stays untouched)."""
    target = tmp_path / "store-v1"
    shutil.copytree(FIXTURE / "store", target)
    return str(target)


async def test_golden_store_opens_checks_and_reads_back_exactly(golden: str) -> None:
    assert EXPECTED["passphrases"][0] == PASSPHRASE
    store = await Store.open(golden, PASSPHRASE, cache_dir=":memory:")
    try:
        assert store.id == EXPECTED["store_id"]
        assert store.config.version == 1
        assert store.config.pack_size == EXPECTED["pack_size"]
        report = await check_store(store, read_data=True)
        assert report.ok, report.lines()
        assert report.problems == []
        assert report.snapshots == 2
        assert report.unused_blobs == 0

        headers = await store.list_snapshots()
        assert [h.to_dict() for h in headers] == [s["header"] for s in EXPECTED["snapshots"]]
        assert headers[1].parent == headers[0].id
        for header, want in zip(headers, EXPECTED["snapshots"], strict=True):
            records = await store.read_tree(header)
            ids = await store.read_tree_ids(header)
            got = sorted(zip(ids, records, strict=True), key=lambda pair: pair[0])
            assert [rid for rid, _ in got] == [r["record_id"] for r in want["records"]]
            for (rid, record), exp in zip(got, want["records"], strict=True):
                assert record.to_dict() == exp["record"]
                # the canonical encoding is byte-for-byte what was written: same blob id
                assert store.keys.blob_id(BLOB_RECORD, record.to_bytes()).hex() == rid
                assert SecretRecord.from_bytes(record.to_bytes()) == record
                for version in record.versions:
                    value = exp["values"][str(version.revision)]
                    if value is None:
                        assert version.payload is None
                    else:
                        assert await store.read_payload(version.payload) == base64.b64decode(value)
        names = {r.name for h in headers for r in await store.read_tree(h)}
        assert {"clé-api-été", "秘密", "db-password"} <= names
    finally:
        await store.close()


async def test_golden_store_objects_reencode_to_their_stored_bytes(golden: str) -> None:
    store = await Store.open(golden, PASSPHRASE, cache_dir=":memory:")
    try:
        raw_config = await store.backend.get("config", "config")
        body = envelope.body_of(raw_config, envelope.KIND_CONFIG, "config")
        assert encode_config(store.config) == body
        slots = await store.backend.list("keys")
        assert len(slots) == 2
        for info in slots:
            body = envelope.open_(
                store.keys, await store.backend.get("keys", info.name), envelope.KIND_KEY, info.name
            )
            assert encode_slot(KeySlot.from_dict(json.loads(body))) == body
        for info in await store.backend.list("snapshots"):
            sealed = envelope.open_(
                store.keys,
                await store.backend.get("snapshots", info.name),
                envelope.KIND_SNAPSHOT,
                info.name,
            )
            plain = store.keys.open_object(envelope.KIND_SNAPSHOT, bytes.fromhex(info.name), sealed)
            assert SnapshotHeader.from_bytes(plain).to_bytes() == plain
    finally:
        await store.close()


async def test_golden_store_second_key_slot_and_wrong_passphrase(golden: str) -> None:
    second = EXPECTED["passphrases"][1]
    store = await Store.open(golden, second, cache_dir=":memory:")
    try:
        keys = await store.list_keys()
        assert len(keys) == 2
        assert sum(k.current for k in keys) == 1
    finally:
        await store.close()
    with pytest.raises(WrongPassphraseError):
        await Store.open(golden, "not the passphrase", cache_dir=":memory:")


def test_record_dictionary_is_the_one_format_md_names() -> None:
    """docs/FORMAT.md §16 prints the dictionary and its hashes: a reader needs these bytes."""
    import hashlib

    import blake3

    from core.store.crypto import RECORD_DICTIONARY_V1

    assert len(RECORD_DICTIONARY_V1) == 1364
    assert (
        hashlib.sha256(RECORD_DICTIONARY_V1).hexdigest()
        == "feabfa7b4fb6fe3a2b6efea16b1b062b5ff42931c5cd2610bdc5ad315cabd7fb"
    )
    assert (
        blake3.blake3(RECORD_DICTIONARY_V1).hexdigest()
        == "c7b8f70ac1d1839bf2f4a02702f1c09ccb077df21a30c3cb464297bee9e3218f"
    )
    doc = (Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    start = doc.index("## 16. The record dictionary")
    block = doc[start:].split("```", 2)[1]
    assert block.replace("\n", "").encode() == RECORD_DICTIONARY_V1
