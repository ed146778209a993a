"""Helpers of the store-operations tests: a fast store, and snapshots of made-up secrets."""

from __future__ import annotations

import hashlib
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.store import KdfParams, SecretRecord, SnapshotHeader, SourceInfo, Store, VersionRecord

PASSPHRASE = "correct horse battery staple"
PROJECT = "11111111-1111-4111-8111-111111111111"
OTHER_PROJECT = "22222222-2222-4222-8222-222222222222"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def new_store(location: str, cache: Path | str = ":memory:", **kw: Any) -> Store:
    return await Store.init(location, PASSPHRASE, kdf=KdfParams.for_tests(), cache_dir=cache, **kw)


async def open_store(
    location: str, cache: Path | str = ":memory:", passphrase: str = PASSPHRASE
) -> Store:
    return await Store.open(location, passphrase, cache_dir=cache)


def secret_id(n: int) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(f"secret-{n}".encode()).digest()[:16], version=4))


def payload(n: int, revision: int, generation: int = 0, size: int | None = None) -> bytes:
    seed = f"value-{n}-{revision}-{generation}".encode()
    size = size if size is not None else 40 + (n * 37) % 400
    out = b""
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return out[:size]


@dataclass
class Written:
    header: SnapshotHeader
    payloads: dict[tuple[str, int], bytes]  # (secret id, revision) -> data


async def write_snapshot(
    store: Store,
    *,
    secrets: int = 5,
    versions: int = 2,
    generation: int = 0,
    project: str = PROJECT,
    region: str = "fr-par",
    tags: tuple[str, ...] = (),
    time: datetime | None = None,
    changed: set[int] | None = None,
    **commit: Any,
) -> Written:
    """One snapshot of ``secrets`` secrets with ``versions`` versions each.

    ``generation`` changes every value; ``changed`` changes only those secrets' last value.
    """
    data: dict[tuple[str, int], bytes] = {}
    async with store.writer(tags=tags) as w:
        for n in range(secrets):
            sid = secret_id(n)
            vrecs = []
            for rev in range(1, versions + 1):
                gen = generation
                if changed and n in changed and rev == versions:
                    gen += 1000
                value = payload(n, rev, gen)
                blob = await w.put_payload(value)
                data[(sid, rev)] = value
                vrecs.append(
                    VersionRecord(
                        revision=rev,
                        status="enabled",
                        created_at=T0 + timedelta(minutes=rev),
                        latest=rev == versions,
                        payload=blob,
                        crc32=zlib.crc32(value),
                        size=len(value),
                    )
                )
            await w.put_record(
                SecretRecord(
                    region=region,
                    project_id=project,
                    secret_id=sid,
                    name=f"secret-{n}",
                    path=f"/app/{n % 3}",
                    versions=tuple(vrecs),
                    version_count=versions,
                    tags=("t",),
                    description=f"description {n}",
                )
            )
        header = await w.commit(
            sources=[SourceInfo(region=region, project_id=project, project_name="Project Name")],
            time=time,
            **commit,
        )
    return Written(header, data)


async def read_all(store: Store, header: SnapshotHeader) -> dict[tuple[str, int], bytes]:
    out = {}
    for record in await store.read_tree(header.id):
        for v in record.versions:
            if v.payload is not None:
                out[(record.secret_id, v.revision)] = await store.read_payload(v.payload)
    return out


def flip_byte(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset % len(raw)] ^= 0x40
    path.write_bytes(bytes(raw))


def object_files(root: Path, kind: str) -> list[Path]:
    if kind == "config":
        return [root / "config"]
    return sorted(p for p in (root / kind).rglob("*") if p.is_file() and not p.name.startswith("."))
