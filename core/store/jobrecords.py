"""Job records: the control plane's history, kept in the store, encrypted like snapshots.

Each record is one object ``jobs/<name>`` (``name``: 64 random hex characters, the job's id),
sealed exactly as a snapshot header is (docs/FORMAT.md, "Job records"): the body is the
record's canonical JSON encrypted with the store's object key, bound to the store id, the
kind (7) and the name, inside the usual envelope with its MAC. Anyone who opens the store
sees the history; nobody else learns anything but how many jobs ran. Records hold ids,
counts, times and the operator's own policy/source names, never secret names or values.

The store's backend lists and reads only its six known kinds; job objects use its raw path
primitives under the ``jobs/`` prefix, so nothing else of the store changes.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from typing import Any, Protocol

from core.store import envelope
from core.store.crypto import DecryptionError, Keys
from core.store.errors import CorruptStoreError, ObjectNotFoundError, UnsupportedFormatError

KIND_JOB = 7
PREFIX = "jobs"
RECORD_VERSION = 1
_NAME = re.compile(r"^[0-9a-f]{64}$")
READ_CONCURRENCY = 16


class RawBackend(Protocol):
    """The store backend's path-level primitives (see core.store.backends.base)."""

    async def _put(self, path: str, data: bytes, create_only: bool) -> None: ...

    async def _get(self, path: str, offset: int | None, length: int | None) -> bytes: ...

    async def _list(self, prefix: str) -> list[tuple[str, int, str | None]]: ...

    async def _delete(self, path: str) -> None: ...


class SealingStore(Protocol):
    """What job records need of an open store: its keys and its backend."""

    @property
    def keys(self) -> Keys: ...

    @property
    def backend(self) -> Any: ...


def new_job_id() -> str:
    return secrets.token_hex(32)


def seal_record(keys: Keys, job_id: str, record: dict[str, Any]) -> bytes:
    """The whole object for one job record (envelope ‖ AEAD(canonical JSON) ‖ MAC)."""
    payload = {"v": RECORD_VERSION, **record, "id": job_id}
    plaintext = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")
    body = keys.seal_object(KIND_JOB, bytes.fromhex(job_id), plaintext)
    return envelope.seal(keys, KIND_JOB, body)


def open_record(keys: Keys, job_id: str, data: bytes) -> dict[str, Any]:
    """Verify and decrypt one job object; CorruptStoreError when it does not authenticate."""
    body = envelope.open_(keys, data, KIND_JOB, job_id)
    try:
        plaintext = keys.open_object(KIND_JOB, bytes.fromhex(job_id), body)
        record = json.loads(plaintext)
    except (DecryptionError, ValueError):
        raise CorruptStoreError(
            f"job record {job_id[:16]} fails authentication", kind=PREFIX, name=job_id
        ) from None
    if not isinstance(record, dict) or record.get("id") != job_id:
        raise CorruptStoreError(f"job record {job_id[:16]} is malformed", kind=PREFIX, name=job_id)
    if int(record.get("v", 0)) > RECORD_VERSION:
        raise UnsupportedFormatError(f"job record {job_id[:16]} is of a newer format")
    record.pop("v", None)
    return record


class JobRecords:
    """Read and write the job records of one open store (decrypted records are cached)."""

    def __init__(self, store: SealingStore) -> None:
        self._store = store
        self._cache: dict[str, dict[str, Any]] = {}
        self.damaged: list[str] = []

    @property
    def _raw(self) -> RawBackend:
        backend: RawBackend = self._store.backend
        return backend

    async def put(self, job_id: str, record: dict[str, Any]) -> None:
        """Write a record (once: a job's record is never rewritten)."""
        if not _NAME.match(job_id):
            raise ValueError("a job id is 64 hex characters")
        data = seal_record(self._store.keys, job_id, record)
        await self._raw._put(f"{PREFIX}/{job_id}", data, True)
        self._cache[job_id] = {**record, "id": job_id}

    async def names(self) -> list[str]:
        entries = await self._raw._list(PREFIX)
        out = []
        for rel, _size, _tag in entries:
            name = rel.rsplit("/", 1)[-1]
            if rel == f"{PREFIX}/{name}" and _NAME.match(name):
                out.append(name)
        return sorted(out)

    async def all(self) -> list[dict[str, Any]]:
        """Every readable record, newest first (by ``started_at``); damaged ones are skipped
        and named in ``damaged``."""
        names = await self.names()
        sem = asyncio.Semaphore(READ_CONCURRENCY)
        keys = self._store.keys

        async def load(name: str) -> None:
            if name in self._cache:
                return
            async with sem:
                try:
                    data = await self._raw._get(f"{PREFIX}/{name}", None, None)
                except ObjectNotFoundError:
                    return
            try:
                self._cache[name] = open_record(keys, name, data)
            except (CorruptStoreError, UnsupportedFormatError):
                if name not in self.damaged:
                    self.damaged.append(name)

        await asyncio.gather(*(load(n) for n in names))
        present = set(names)
        records = [r for n, r in self._cache.items() if n in present]
        records.sort(key=lambda r: (str(r.get("started_at") or ""), r["id"]), reverse=True)
        return records

    async def delete(self, job_id: str) -> None:
        await self._raw._delete(f"{PREFIX}/{job_id}")
        self._cache.pop(job_id, None)


__all__ = ["KIND_JOB", "JobRecords", "new_job_id", "open_record", "seal_record"]
