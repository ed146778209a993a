"""Blob compression flags (FORMAT.md §5): zstd for data, deflate with the record dictionary for
metadata, zlib still readable; malformed or oversized bodies are refused, never allocated."""

from __future__ import annotations

import os
import zlib
from datetime import UTC, datetime

import blake3
import pytest
import zstandard

from core.store.crypto import (
    COMPRESSION_DEFLATE_DICT,
    COMPRESSION_NONE,
    COMPRESSION_ZLIB,
    COMPRESSION_ZSTD,
    RECORD_DICTIONARY_V1,
    compress_maybe,
    decompress,
)
from core.store.model import SecretRecord, VersionRecord


def test_the_record_dictionary_never_changes() -> None:
    # Part of the on-disk format: changing it would make every stored record unreadable.
    assert len(RECORD_DICTIONARY_V1) == 1364
    assert (
        blake3.blake3(RECORD_DICTIONARY_V1).hexdigest()
        == "c7b8f70ac1d1839bf2f4a02702f1c09ccb077df21a30c3cb464297bee9e3218f"
    )


def record() -> bytes:
    t = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    versions = tuple(
        VersionRecord(
            revision=r,
            status="enabled",
            created_at=t,
            updated_at=t,
            latest=r == 3,
            payload=os.urandom(32).hex(),
            crc32=123456789,
            size=321,
        )
        for r in (1, 2, 3)
    )
    return SecretRecord(
        region="fr-par",
        project_id="0b6c2a6e-7d2e-4a3c-9f50-6f1f2b3c4d5e",
        secret_id="5e2a8f6c-1b3d-4e5f-8a9b-0c1d2e3f4a5b",
        name="db-password",
        path="/prod/db",
        versions=versions,
        version_count=3,
        created_at=t,
        updated_at=t,
    ).to_bytes()


def test_metadata_uses_the_dictionary_and_pays() -> None:
    raw = record()
    stored = compress_maybe(raw, metadata=True)
    assert stored[0] == COMPRESSION_DEFLATE_DICT
    assert len(stored) < len(zlib.compress(raw, 9)) * 0.8
    assert decompress(stored) == raw


def test_data_uses_zstd_and_incompressible_data_is_stored() -> None:
    text = b"-----BEGIN CERTIFICATE-----\n" + os.urandom(3000).hex().encode()
    stored = compress_maybe(text, metadata=False)
    assert stored[0] == COMPRESSION_ZSTD and decompress(stored) == text
    noise = os.urandom(5000)
    assert compress_maybe(noise, metadata=False)[0] == COMPRESSION_NONE
    small = b"x" * 63
    assert compress_maybe(small, metadata=False) == bytes([COMPRESSION_NONE]) + small


def test_zlib_blobs_stay_readable() -> None:
    data = b"an old blob " * 50
    assert decompress(bytes([COMPRESSION_ZLIB]) + zlib.compress(data)) == data


@pytest.mark.parametrize(
    "stored",
    [
        b"",
        bytes([9]) + b"unknown flag",
        bytes([COMPRESSION_ZSTD]) + b"not a frame",
        # a frame that does not say how big it is
        bytes([COMPRESSION_ZSTD])
        + zstandard.ZstdCompressor(write_content_size=False).compressobj().compress(b"a" * 500)
        + zstandard.ZstdCompressor(write_content_size=False).compressobj().flush(),
        bytes([COMPRESSION_DEFLATE_DICT]) + b"\xff\xff garbage",
        bytes([COMPRESSION_DEFLATE_DICT]) + compress_maybe(record(), metadata=True)[1:-5],
    ],
)
def test_malformed_bodies_are_refused(stored: bytes) -> None:
    with pytest.raises((ValueError, zlib.error)):
        decompress(stored)
