"""Nothing secret-bearing reaches the backend or the local cache in the clear.

Known values, names, paths, tags, descriptions and project names are written through the
store; then every byte the store wrote (the backend's objects, the SQLite cache and its
WAL) is scanned for each of them, raw and in the encodings a careless implementation would
use (UTF-8, UTF-16, base64, hex, JSON-escaped).
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

from core.store import KdfParams, SecretRecord, SnapshotError, SourceInfo, Store, VersionRecord
from core.store.backends.memory import MemoryBackend
from tests.store.conftest import PASSPHRASE, S3Server


def _needles() -> dict[str, str]:
    tag = secrets.token_hex(4)
    return {
        "value": f"hunter2-VALUE-{tag}-do-not-leak",
        "long_value": ("AKIA-LONG-VALUE-" + tag) * 40,  # compressible: must not survive zlib either
        "name": f"db-password-NAME-{tag}",
        "path": f"/prod/PATHSEG-{tag}/api",
        "tag": f"team-TAG-{tag}",
        "description": f"the DESCRIPTION {tag} of the secret",
        "version_description": f"rotated by VERDESC-{tag}",
        "project_name": f"Project NAME-{tag}",
        "snapshot_tag": f"snaptag-{tag}",
        "environment": f"env-{tag}",
        "passphrase": PASSPHRASE,
    }


def _encodings(text: str) -> list[bytes]:
    raw = text.encode()
    forms = [raw, text.encode("utf-16-le"), raw.hex().encode(), json.dumps(text).encode()]
    forms.append(base64.b64encode(raw)[:-4])  # prefix of base64 survives any alignment issue
    # a distinctive middle slice (catches truncation-tolerant leaks of long values)
    if len(raw) > 24:
        forms.append(raw[4:20])
    return [f for f in forms if len(f) >= 8]


async def _write_secrets(store: Store, needles: dict[str, str]) -> None:
    async with store.writer() as w:
        v1 = await w.put_payload(needles["value"].encode())
        v2 = await w.put_payload(needles["long_value"].encode())
        rec = SecretRecord(
            region="fr-par",
            project_id="11111111-2222-3333-4444-555555555555",
            secret_id="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            name=needles["name"],
            path=needles["path"],
            tags=(needles["tag"],),
            description=needles["description"],
            version_count=2,
            versions=(
                VersionRecord(
                    1, "enabled", description=needles["version_description"], payload=v1, size=10
                ),
                VersionRecord(2, "enabled", latest=True, payload=v2, size=10),
            ),
        )
        await w.put_record(rec)
        await w.commit(
            sources=[
                SourceInfo(
                    region="fr-par", project_id=rec.project_id, project_name=needles["project_name"]
                )
            ],
            tags=[needles["snapshot_tag"]],
            environment=needles["environment"],
            errors=[SnapshotError(rec.secret_id, "fr-par", rec.project_id, "timeout")],
        )
    # exercise the other writers of objects too: locks, key slots, amendments, reads
    await store.add_key("another " + needles["value"], kdf=KdfParams.for_tests())
    snap = (await store.list_snapshots())[0]
    await store.update_snapshot(snap.id, pinned=True)
    tree = await store.read_tree(snap.id)
    assert tree[0].name == needles["name"]
    assert await store.read_payload(v1) == needles["value"].encode()


def _scan(blobs: dict[str, bytes], needles: dict[str, str]) -> list[str]:
    leaks = []
    for label, text in needles.items():
        for form in _encodings(text):
            for where, data in blobs.items():
                if form in data:
                    leaks.append(f"{label} found in {where}")
    return leaks


def _files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


async def test_plaintext_scan_local_backend_and_cache(tmp_path: Path) -> None:
    needles = _needles()
    cache = tmp_path / "cache"
    location = tmp_path / "store"
    store = await Store.init(str(location), PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=cache)
    try:
        await _write_secrets(store, needles)
        # the cache is flushed to disk while open (WAL) and after close
        written = {**_files(location), **_files(cache)}
    finally:
        await store.close()
    written.update(_files(location))
    written.update(_files(cache))
    assert any("index.sqlite" in k for k in written)
    assert any("/packs/" in k for k in written)
    assert any("/trees/" in k for k in written)  # the sealed record cache
    assert _scan(written, needles) == []
    # the scanner itself works: a planted needle is found
    planted = {"probe": b"xx" + needles["name"].encode("utf-16-le") + b"yy"}
    assert _scan(planted, needles) == ["name found in probe"]


async def test_plaintext_scan_memory_backend(tmp_path: Path) -> None:
    needles = _needles()
    location = f"memory://scan-{secrets.token_hex(4)}"
    store = await Store.init(
        location, PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=tmp_path / "c"
    )
    try:
        await _write_secrets(store, needles)
        assert isinstance(store.backend, MemoryBackend)
        written = dict(store.backend.raw())
    finally:
        await store.close()
    written.update(_files(tmp_path / "c"))
    assert _scan(written, needles) == []


async def test_plaintext_scan_s3_backend(tmp_path: Path, s3_server: S3Server) -> None:
    needles = _needles()
    location = s3_server.location()
    store = await Store.init(
        location,
        PASSPHRASE,
        kdf=KdfParams.for_tests(),
        cache_dir=tmp_path / "c",
        **s3_server.options(),
    )
    try:
        await _write_secrets(store, needles)
    finally:
        await store.close()
    prefix = location.split("/", 3)[3]
    written = {k: v for k, v in s3_server.all_objects().items() if k.startswith(prefix + "/")}
    assert any("/packs/" in k for k in written)
    written.update(_files(tmp_path / "c"))
    assert _scan(written, needles) == []
