"""The golden stores: a store written once by a format version must read back exactly.

``tests/fixtures/store-v1/store`` (format 1, flat trees), ``tests/fixtures/store-v2/store``
(format 2, chunked trees of two levels shared by three snapshots) and
``tests/fixtures/store-v3/store`` (format 3: a keyframe, a full chain of eight patches on it, a
keyframe again and a patch on that one) were each made by their
``regenerate.py`` (run by hand, never here) and committed with ``expected.json``, what they must
read back as. A change to the format, to the canonical encoding of records, headers and tree
blobs, or to the config and key-slot bodies that still reads its own output but not these
stores fails here. Re-encoding each decoded object must also give back the stored bytes
exactly (records and tree chunks: their blob ids).
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.store import SecretRecord, SnapshotHeader, Store, WrongPassphraseError, envelope
from core.store.config import encode_config
from core.store.crypto import BLOB_RECORD, BLOB_TREE
from core.store.keys import KeySlot, encode_slot
from core.store.ops.check import check_store
from core.store.tree import (
    TREE_V1,
    build_tree,
    decode_node,
    decode_patch,
    encode_patch,
    encode_v1,
    is_patch,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@functools.cache
def _expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name / "expected.json").read_text("utf-8"))
    return data


@dataclass(frozen=True)
class Golden:
    """One fixture and what is spelled out about it here, so it cannot drift with its
    expected.json (a shrunken expected.json must not pass)."""

    name: str
    version: int
    passphrase: str
    snapshots: int
    names: frozenset[str]

    @property
    def expected(self) -> dict[str, Any]:
        return _expected(self.name)

    def records(self, snapshot: dict[str, Any]) -> list[dict[str, Any]]:
        """A snapshot's expected records ``{record_id, record, values}``, by record id (v1
        lists them per snapshot; v2 holds each record once and the tree's ids per snapshot)."""
        if "records" in snapshot:
            return list(snapshot["records"])
        by_id = self.expected["records"]
        return sorted(
            ({"record_id": rid, **by_id[rid]} for rid in snapshot["tree"]["record_ids"]),
            key=lambda r: r["record_id"],
        )


V1 = Golden(
    "store-v1", 1, "golden passphrase v1", 2, frozenset({"clé-api-été", "秘密", "db-password"})
)
V2 = Golden(
    "store-v2",
    2,
    "golden passphrase v2",
    3,
    frozenset({"clé-api-été", "秘密", "db-password", "late-arrival", "svc-00", "svc-55"}),
)
V3 = Golden(
    "store-v3",
    3,
    "golden passphrase v3",
    11,
    frozenset({"clé-api-été", "秘密", "db-password", "late-arrival", "svc-00", "svc-55"}),
)
GOLDENS = [pytest.param(V1, id="v1"), pytest.param(V2, id="v2"), pytest.param(V3, id="v3")]


@pytest.fixture(params=GOLDENS)
def golden(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Golden, str]:
    """A copy of the fixture (opening and checking take locks: the fixture stays untouched)."""
    spec: Golden = request.param
    target = tmp_path / spec.name
    shutil.copytree(FIXTURES / spec.name / "store", target)
    return spec, str(target)


async def test_golden_store_opens_checks_and_reads_back_exactly(golden: tuple[Golden, str]) -> None:
    spec, location = golden
    expected = spec.expected
    assert expected["passphrases"][0] == spec.passphrase
    store = await Store.open(location, spec.passphrase, cache_dir=":memory:")
    try:
        assert store.id == expected["store_id"]
        assert store.config.version == spec.version
        assert store.config.pack_size == expected["pack_size"]
        report = await check_store(store, read_data=True)
        assert report.ok, report.lines()
        assert report.problems == []
        assert report.snapshots == spec.snapshots
        assert report.unused_blobs == 0

        headers = await store.list_snapshots()
        assert [h.to_dict() for h in headers] == [s["header"] for s in expected["snapshots"]]
        assert len(headers) == spec.snapshots
        for earlier, later in itertools.pairwise(headers):
            assert later.parent == earlier.id
        for header, want in zip(headers, expected["snapshots"], strict=True):
            want_records = spec.records(want)
            records = await store.read_tree(header)
            ids = await store.read_tree_ids(header)
            got = sorted(zip(ids, records, strict=True), key=lambda pair: pair[0])
            assert [rid for rid, _ in got] == [r["record_id"] for r in want_records]
            for (rid, record), exp in zip(got, want_records, strict=True):
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
        assert spec.names <= names
    finally:
        await store.close()


async def test_golden_store_trees_are_the_blobs_their_headers_name(
    golden: tuple[Golden, str],
) -> None:
    """v1: one flat tree blob per snapshot; v2: the chunks expected.json lists, in levels,
    shared between snapshots, and rebuilding the tree from its record ids gives the same
    chunk bytes (same blob ids), so the chunking rule cannot change silently; v3: keyframes
    as v2, patches with the chain, count and ops expected.json lists, re-encoding to their
    bytes."""
    spec, location = golden
    store = await Store.open(location, spec.passphrase, cache_dir=":memory:")
    try:

        def id_of(raw: bytes) -> bytes:
            return store.keys.blob_id(BLOB_TREE, raw)

        headers = await store.list_snapshots()
        chunk_sets = []
        for header, want in zip(headers, spec.expected["snapshots"], strict=True):
            walk = await store.read_tree_walk(header)
            blobs = await store.read_blobs(walk.node_ids, BLOB_TREE)
            assert walk.node_ids[0] == header.tree
            if spec.version == 1:
                assert walk.node_ids == [header.tree]
                assert blobs[header.tree] == encode_v1(walk.record_ids)
                root, nodes = build_tree(walk.record_ids, id_of, version=TREE_V1)
                assert root == header.tree
                assert {nid.hex(): raw for nid, raw in nodes} == blobs
                continue
            tree = want["tree"]
            assert header.tree == tree["root"]
            assert walk.record_ids == tree["record_ids"]
            assert sorted(walk.node_ids) == sorted(tree["nodes"])
            for nid, raw in blobs.items():
                assert id_of(raw).hex() == nid
                if is_patch(raw):
                    p = decode_patch(nid, raw)
                    ops = [[pos, removed, ids] for pos, removed, ids in p.ops]
                    assert {"chain": list(p.chain), "count": p.count, "ops": ops} == tree["nodes"][
                        nid
                    ]
                    assert encode_patch(p.chain, p.count, p.ops) == raw
                    continue
                level, ids = decode_node(nid, raw)
                assert {"level": level, "ids": ids} == tree["nodes"][nid]
            root_node = tree["nodes"][header.tree]
            if "chain" in root_node:  # a patch: its chain's keyframe rebuilds as v2 does
                keyframe = root_node["chain"][0]
                chunks = {n: b for n, b in blobs.items() if not is_patch(b)}
                kwalk = await store.read_tree_walk(next(h for h in headers if h.tree == keyframe))
                root, nodes = build_tree(kwalk.record_ids, id_of)
                assert root == keyframe
                assert {nid.hex(): raw for nid, raw in nodes} == chunks
            else:
                assert root_node["level"] >= 1  # more than one level
                root, nodes = build_tree(walk.record_ids, id_of)
                assert root == header.tree
                assert {nid.hex(): raw for nid, raw in nodes} == blobs
            chunk_sets.append(set(walk.node_ids))
        for a, b in itertools.pairwise(chunk_sets):
            assert a & b and a != b  # consecutive snapshots share chunks, and differ
        if spec.version >= 2:
            all_chunks, all_records = await store.tree_blobs([h.tree for h in headers])
            assert all_chunks == set().union(*chunk_sets)
            assert all_records == set(spec.expected["records"])
    finally:
        await store.close()


async def test_golden_store_objects_reencode_to_their_stored_bytes(
    golden: tuple[Golden, str],
) -> None:
    spec, location = golden
    store = await Store.open(location, spec.passphrase, cache_dir=":memory:")
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
        snapshots = await store.backend.list("snapshots")
        assert len(snapshots) == spec.snapshots
        for info in snapshots:
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


async def test_golden_store_second_key_slot_and_wrong_passphrase(
    golden: tuple[Golden, str],
) -> None:
    spec, location = golden
    second = spec.expected["passphrases"][1]
    store = await Store.open(location, second, cache_dir=":memory:")
    try:
        keys = await store.list_keys()
        assert len(keys) == 2
        assert sum(k.current for k in keys) == 1
    finally:
        await store.close()
    with pytest.raises(WrongPassphraseError):
        await Store.open(location, "not the passphrase", cache_dir=":memory:")


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
