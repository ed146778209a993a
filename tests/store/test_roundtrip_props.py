"""Property tests (hypothesis): blobs, packfiles, index deltas, trees, records and headers
round-trip exactly, and any single-byte change is detected."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.store import envelope
from core.store.crypto import (
    BLOB_DATA,
    BLOB_RECORD,
    BLOB_TREE,
    DecryptionError,
    Keys,
    compress_maybe,
    decompress,
)
from core.store.errors import CorruptStoreError
from core.store.index import IndexDelta, IndexEntry, open_delta, seal_delta
from core.store.model import (
    SecretRecord,
    SnapshotError,
    SnapshotHeader,
    SnapshotSummary,
    SourceInfo,
    VersionRecord,
    decode_tree,
    encode_tree,
)
from core.store.pack import PackBuilder, PackEntry, parse_pack

KEYS = Keys(os.urandom(32), os.urandom(32))
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

blob_types = st.sampled_from([BLOB_DATA, BLOB_RECORD, BLOB_TREE])
payloads = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=500).map(str.encode),
    st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=8), st.integers(1, 4000)),
)
times = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
text = st.text(max_size=40)
ids = st.binary(min_size=32, max_size=32).map(bytes.hex)


@SETTINGS
@given(blob_types, payloads)
def test_blob_roundtrip_and_binding(blob_type: int, data: bytes) -> None:
    bid = KEYS.blob_id(blob_type, data)
    sealed = KEYS.encrypt_blob(blob_type, bid, data)
    assert KEYS.decrypt_blob(blob_type, bid, sealed) == data
    # bound to type and id: the same bytes under another type or id do not open
    other_type = BLOB_DATA if blob_type != BLOB_DATA else BLOB_RECORD
    with pytest.raises(DecryptionError):
        KEYS.decrypt_blob(other_type, bid, sealed)
    with pytest.raises(DecryptionError):
        KEYS.decrypt_blob(blob_type, KEYS.blob_id(blob_type, data + b"x"), sealed)
    with pytest.raises(DecryptionError):
        KEYS.decrypt_blob(blob_type, bid, sealed[:-1])
    # another store (same master key, other store id) cannot read it
    with pytest.raises(DecryptionError):
        Keys(KEYS.master, os.urandom(32)).decrypt_blob(blob_type, bid, sealed)


@SETTINGS
@given(payloads, st.integers(min_value=0))
def test_any_flipped_byte_in_a_blob_is_detected(data: bytes, where: int) -> None:
    bid = KEYS.blob_id(BLOB_DATA, data)
    sealed = bytearray(KEYS.encrypt_blob(BLOB_DATA, bid, data))
    sealed[where % len(sealed)] ^= 0x40
    with pytest.raises(DecryptionError):
        KEYS.decrypt_blob(BLOB_DATA, bid, bytes(sealed))


@SETTINGS
@given(payloads, st.booleans())
def test_compression_roundtrip(data: bytes, metadata: bool) -> None:
    assert decompress(compress_maybe(data, metadata=metadata)) == data


@SETTINGS
@given(st.lists(st.tuples(blob_types, payloads), max_size=25), st.booleans())
def test_pack_roundtrip(blobs: list[tuple[int, bytes]], metadata: bool) -> None:
    builder = PackBuilder(KEYS, metadata=metadata)
    for t, d in blobs:
        builder.add(t, KEYS.blob_id(t, d), d)
    pack_id, data, entries = builder.finish()
    assert [e.blob_id for e in entries] == [KEYS.blob_id(t, d) for t, d in blobs]
    assert parse_pack(KEYS, data, pack_id) == entries
    for (t, d), e in zip(blobs, entries, strict=True):
        assert KEYS.decrypt_blob(t, e.blob_id, data[e.offset : e.offset + e.length]) == d
        assert e.raw_length == len(d)


@SETTINGS
@given(st.lists(st.tuples(blob_types, payloads), min_size=1, max_size=5), st.integers(min_value=0))
def test_any_flipped_byte_in_a_pack_is_detected(blobs: list[tuple[int, bytes]], where: int) -> None:
    builder = PackBuilder(KEYS, metadata=False)
    for t, d in blobs:
        builder.add(t, KEYS.blob_id(t, d), d)
    pack_id, data, _ = builder.finish()
    damaged = bytearray(data)
    damaged[where % len(damaged)] ^= 0x01
    with pytest.raises(CorruptStoreError):
        parse_pack(KEYS, bytes(damaged), pack_id)


def _located(entries: list[PackEntry], pack_id: bytes) -> list[IndexEntry]:
    return [
        IndexEntry(e.blob_id, e.blob_type, pack_id, e.offset, e.length, e.raw_length)
        for e in entries
    ]


@SETTINGS
@given(st.lists(st.tuples(blob_types, payloads), min_size=1, max_size=8), st.booleans())
def test_open_blobs_reads_what_decrypt_blob_reads(
    blobs: list[tuple[int, bytes]], metadata: bool
) -> None:
    """The batched open of a pack region gives every blob's plaintext, from any start."""
    builder = PackBuilder(KEYS, metadata=metadata)
    for t, d in blobs:
        builder.add(t, KEYS.blob_id(t, d), d)
    pack_id, data, found = builder.finish()
    located = _located(found, bytes.fromhex(pack_id))
    assert KEYS.open_blobs(data, 0, located) == [d for _t, d in blobs]
    first = located[0].offset
    assert KEYS.open_blobs(data[first:], first, located) == [d for _t, d in blobs]


@SETTINGS
@given(
    st.lists(st.tuples(blob_types, payloads), min_size=1, max_size=5),
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=7),
)
def test_open_blobs_detects_any_flipped_byte_and_any_misplacement(
    blobs: list[tuple[int, bytes]], where: int, bit: int
) -> None:
    """A flipped bit anywhere in a blob, a wrong type, a wrong id, a short region: that blob
    is None (the others still read), never a wrong plaintext."""
    builder = PackBuilder(KEYS, metadata=True)
    for t, d in blobs:
        builder.add(t, KEYS.blob_id(t, d), d)
    pack_id, data, found = builder.finish()
    located = _located(found, bytes.fromhex(pack_id))
    want = [d for _t, d in blobs]
    victim = located[where % len(located)]
    damaged = bytearray(data)
    damaged[victim.offset + (where // len(located)) % victim.length] ^= 1 << bit
    got = KEYS.open_blobs(bytes(damaged), 0, located)
    assert got == [None if e is victim else d for e, d in zip(located, want, strict=True)]
    # the AEAD alone detects it: the bulk record reads, which skip the id hash, see it too
    assert KEYS.open_blobs(bytes(damaged), 0, located, verify_ids=False) == got
    other = BLOB_DATA if victim.blob_type != BLOB_DATA else BLOB_RECORD
    moved = [e._replace(blob_type=other) if e is victim else e for e in located]
    assert KEYS.open_blobs(data, 0, moved)[located.index(victim)] is None
    renamed = [e._replace(blob_id=bytes(32)) if e is victim else e for e in located]
    assert KEYS.open_blobs(data, 0, renamed)[located.index(victim)] is None
    short = data[: victim.offset + victim.length - 1]
    assert KEYS.open_blobs(short, 0, located)[located.index(victim)] is None
    late = KEYS.open_blobs(data[victim.offset + 1 :], victim.offset + 1, [victim])
    assert late == [None]


entries = st.builds(
    PackEntry,
    blob_type=blob_types,
    blob_id=st.binary(min_size=32, max_size=32),
    offset=st.integers(0, 2**32 - 1),
    length=st.integers(0, 2**32 - 1),
    raw_length=st.integers(0, 2**32 - 1),
)


@SETTINGS
@given(
    st.dictionaries(
        st.binary(min_size=32, max_size=32), st.lists(entries, max_size=10), max_size=6
    ),
    st.lists(st.binary(min_size=32, max_size=32), max_size=4),
)
def test_index_delta_roundtrip(
    packs: dict[bytes, list[PackEntry]], supersedes: list[bytes]
) -> None:
    delta = IndexDelta(packs=packs, supersedes=supersedes)
    name, obj = seal_delta(KEYS, delta)
    back = open_delta(KEYS, name, obj)
    assert back.packs == packs and back.supersedes == supersedes
    damaged = bytearray(obj)
    damaged[len(obj) // 2] ^= 0x80
    with pytest.raises(CorruptStoreError):
        open_delta(KEYS, name, bytes(damaged))


@SETTINGS
@given(st.lists(ids, max_size=50))
def test_tree_roundtrip(record_ids: list[str]) -> None:
    assert decode_tree(encode_tree(record_ids)) == record_ids


versions = st.builds(
    VersionRecord,
    revision=st.integers(1, 20),
    status=st.sampled_from(["enabled", "disabled", "deleted"]),
    created_at=times,
    updated_at=times,
    deleted_at=times,
    deletion_requested_at=times,
    description=text,
    latest=st.booleans(),
    ephemeral_properties=st.one_of(st.none(), st.fixed_dictionaries({"action": st.just("delete")})),
    payload=st.one_of(st.none(), ids),
    crc32=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    size=st.one_of(st.none(), st.integers(0, 65536)),
)
records = st.builds(
    SecretRecord,
    region=st.sampled_from(["fr-par", "nl-ams", "pl-waw"]),
    project_id=text,
    secret_id=text,
    name=text,
    path=text,
    tags=st.lists(text, max_size=4).map(tuple),
    description=text,
    protected=st.booleans(),
    ephemeral_policy=st.one_of(st.none(), st.fixed_dictionaries({"time_to_live": st.just("60s")})),
    key_id=st.one_of(st.none(), text),
    used_by=st.lists(text, max_size=2).map(tuple),
    created_at=times,
    version_count=st.integers(0, 20),
    versions=st.lists(versions, max_size=4).map(tuple),
    error=st.one_of(st.none(), text),
)


@SETTINGS
@given(records)
def test_record_roundtrip_and_determinism(rec: SecretRecord) -> None:
    raw = rec.to_bytes()
    back = SecretRecord.from_bytes(raw)
    assert back == rec
    assert back.to_bytes() == raw  # canonical: equal records, equal bytes, equal blob ids


headers = st.builds(
    SnapshotHeader,
    id=ids,
    time=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    tree=ids,
    sources=st.lists(
        st.builds(
            SourceInfo, region=text, organization_id=text, project_id=text, project_name=text
        ),
        max_size=3,
    ).map(tuple),
    parent=st.one_of(st.none(), ids),
    tags=st.lists(text, max_size=3).map(tuple),
    environment=st.one_of(st.none(), text),
    data_class=st.one_of(st.none(), text),
    host=text,
    status=st.sampled_from(["complete", "partial"]),
    errors=st.lists(st.builds(SnapshotError, text, text, text, text), max_size=3).map(tuple),
    summary=st.builds(
        SnapshotSummary,
        secrets=st.integers(0, 10**6),
        bytes_added=st.integers(0, 10**12),
        duration_seconds=st.floats(0, 1e6, allow_nan=False),
    ),
    pinned=st.booleans(),
)


@SETTINGS
@given(headers)
def test_snapshot_header_roundtrip_sealed(header: SnapshotHeader) -> None:
    assert SnapshotHeader.from_bytes(header.to_bytes()) == header
    body = KEYS.seal_object(envelope.KIND_SNAPSHOT, bytes.fromhex(header.id), header.to_bytes())
    obj = envelope.seal(KEYS, envelope.KIND_SNAPSHOT, body)
    plain = KEYS.open_object(
        envelope.KIND_SNAPSHOT,
        bytes.fromhex(header.id),
        envelope.open_(KEYS, obj, envelope.KIND_SNAPSHOT),
    )
    assert SnapshotHeader.from_bytes(plain) == header


def test_unknown_format_version_is_refused() -> None:
    from core.store.errors import UnsupportedFormatError

    obj = bytearray(envelope.seal(KEYS, envelope.KIND_INDEX, b"body"))
    # an authentic object (its MAC covers the version byte) of an unknown version: refused
    newer = bytes(obj[:5]) + bytes([9]) + bytes(obj[6:-32])
    with pytest.raises(UnsupportedFormatError):
        envelope.open_(KEYS, newer + KEYS.mac(newer), envelope.KIND_INDEX)
    # a flipped version byte fails the MAC first: damage, not a newer format (issue 10)
    obj[5] = 2
    with pytest.raises(CorruptStoreError):
        envelope.open_(KEYS, bytes(obj), envelope.KIND_INDEX)
    obj[5] = 1
    obj[4] = envelope.KIND_SNAPSHOT
    with pytest.raises(CorruptStoreError):
        envelope.open_(KEYS, bytes(obj), envelope.KIND_INDEX)


store_secrets = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=20),  # name
        st.sampled_from(["/", "/a", "/a/b"]),  # path
        st.lists(payloads, min_size=1, max_size=3),  # version data
    ),
    min_size=0,
    max_size=12,
    unique_by=lambda t: (t[0], t[1]),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(store_secrets, st.integers(min_value=4096, max_value=64 * 1024))
def test_store_snapshot_roundtrip(
    secrets_: list[tuple[str, str, list[bytes]]], pack_size: int
) -> None:
    """Whatever is written through a writer reads back exactly, in tree order, deduplicated."""
    import asyncio
    import secrets as pysecrets

    from core.store import KdfParams, SourceInfo, Store
    from core.store.backends.memory import forget_memory_store

    async def run() -> None:
        location = f"memory://prop-{pysecrets.token_hex(6)}"
        store = await Store.init(
            location, "pw", kdf=KdfParams.for_tests(), cache_dir=":memory:", pack_size=pack_size
        )
        try:
            written: list[SecretRecord] = []
            async with store.writer() as w:
                for i, (name, path, datas) in enumerate(secrets_):
                    vers = []
                    for rev, data in enumerate(datas, start=1):
                        blob = await w.put_payload(data)
                        assert blob == KEYS_FOR(store).blob_id(BLOB_DATA, data).hex()
                        vers.append(VersionRecord(rev, "enabled", payload=blob, size=len(data)))
                    rec = SecretRecord("fr-par", "p", f"id-{i}", name, path, versions=tuple(vers))
                    await w.put_record(rec)
                    written.append(rec)
                header = await w.commit(sources=[SourceInfo(region="fr-par", project_id="p")])
            reopened = await Store.open(location, "pw", cache_dir=":memory:")
            try:
                tree = await reopened.read_tree(header.id)
                assert tree == sorted(written, key=lambda r: (*r.key, r.secret_id))
                for rec, (_n, _p, datas) in zip(
                    sorted(written, key=lambda r: int(r.secret_id[3:])), secrets_, strict=True
                ):
                    for v, data in zip(rec.versions, datas, strict=True):
                        assert v.payload is not None
                        assert await reopened.read_payload(v.payload) == data
                distinct = {d for _n, _p, ds in secrets_ for d in ds}
                assert (
                    reopened.index_stats().blobs
                    == len(distinct) + len({r.to_bytes() for r in written}) + 1
                )
            finally:
                await reopened.close()
        finally:
            await store.close()
            forget_memory_store(location)

    asyncio.run(run())


def KEYS_FOR(store: object) -> Keys:
    keys = store.keys  # type: ignore[attr-defined]
    assert isinstance(keys, Keys)
    return keys


def test_only_the_id_hash_catches_a_key_holder_that_sealed_other_bytes() -> None:
    """What verify_ids=False gives up (docs/FORMAT.md §5): a blob sealed by a holder of the
    key under an id that is not the hash of its bytes (a faulty writer) authenticates; the
    id check (check, prune, repair, single reads) is what reports it."""
    data, other = b'{"a":1}' * 20, b'{"b":2}' * 20
    bid = KEYS.blob_id(BLOB_RECORD, other)
    sealed = KEYS.encrypt_blob(BLOB_RECORD, bid, data)  # the id of other bytes
    loc = [IndexEntry(bid, BLOB_RECORD, bytes(32), 0, len(sealed), len(data))]
    assert KEYS.open_blobs(sealed, 0, loc) == [None]
    assert KEYS.open_blobs(sealed, 0, loc, verify_ids=False) == [data]
    with pytest.raises(DecryptionError):
        KEYS.decrypt_blob(BLOB_RECORD, bid, sealed)
