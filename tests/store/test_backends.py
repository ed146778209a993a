"""Backend conformance: the same contract on the memory, local and S3 (moto) backends."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from core.store.backends import Backend, open_backend
from core.store.backends.base import object_path
from core.store.backends.local import LocalBackend
from core.store.backends.memory import MemoryBackend
from core.store.backends.s3 import S3Backend
from core.store.errors import BackendError, ObjectExistsError, ObjectNotFoundError, StoreError
from tests.store.conftest import S3Server


def _name(i: int) -> str:
    return f"{i:064x}"


async def test_put_get_roundtrip_and_ranges(backend: Backend) -> None:
    data = os.urandom(5000)
    await backend.put("packs", _name(1), data)
    assert await backend.get("packs", _name(1)) == data
    assert await backend.get("packs", _name(1), 100, 200) == data[100:300]
    assert await backend.get("packs", _name(1), 4990) == data[4990:]
    assert await backend.get("packs", _name(1), 0, 0) == b""
    assert await backend.stat("packs", _name(1)) == 5000


async def test_config_object(backend: Backend) -> None:
    assert not await backend.exists("config", "config")
    await backend.put("config", "config", b"cfg")
    assert await backend.exists("config", "config")
    assert await backend.get("config", "config") == b"cfg"


async def test_missing_objects_raise_not_found(backend: Backend) -> None:
    with pytest.raises(ObjectNotFoundError):
        await backend.get("index", _name(7))
    with pytest.raises(ObjectNotFoundError):
        await backend.stat("index", _name(7))
    assert not await backend.exists("index", _name(7))
    await backend.delete("index", _name(7))  # deleting a missing object is fine


async def test_list_per_kind_sorted_with_sizes(backend: Backend) -> None:
    for i in (3, 1, 2):
        await backend.put("snapshots", _name(i), b"x" * i)
    await backend.put("packs", _name(0xAB), b"pack")
    await backend.put("index", _name(9), b"idx")
    snaps = await backend.list("snapshots")
    assert [o.name for o in snaps] == [_name(1), _name(2), _name(3)]
    assert [o.size for o in snaps] == [1, 2, 3]
    packs = await backend.list("packs")
    assert [o.name for o in packs] == [_name(0xAB)]
    assert await backend.list("locks") == []


async def test_overwrite_and_delete(backend: Backend) -> None:
    await backend.put("locks", _name(5), b"one")
    await backend.put("locks", _name(5), b"two")
    assert await backend.get("locks", _name(5)) == b"two"
    await backend.delete("locks", _name(5))
    assert not await backend.exists("locks", _name(5))
    assert await backend.list("locks") == []


async def test_create_only_refuses_existing(backend: Backend) -> None:
    await backend.put("keys", _name(4), b"first", create_only=True)
    with pytest.raises(ObjectExistsError):
        await backend.put("keys", _name(4), b"second", create_only=True)
    assert await backend.get("keys", _name(4)) == b"first"


async def test_concurrent_create_only_has_one_winner(backend: Backend) -> None:
    async def attempt(i: int) -> bool:
        try:
            await backend.put("locks", _name(77), f"w{i}".encode(), create_only=True)
        except ObjectExistsError:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(5)))
    assert sum(results) == 1


async def test_many_objects_listed(backend: Backend) -> None:
    await asyncio.gather(*(backend.put("packs", _name(i * 7919), b"p") for i in range(60)))
    names = [o.name for o in await backend.list("packs")]
    assert names == sorted(_name(i * 7919) for i in range(60))


async def test_bad_names_rejected(backend: Backend) -> None:
    with pytest.raises(ValueError):
        await backend.put("packs", "../../etc/passwd", b"x")
    with pytest.raises(ValueError):
        await backend.put("nope", _name(1), b"x")
    with pytest.raises(ValueError):
        await backend.put("config", _name(1), b"x")


async def test_destroy_removes_everything(backend: Backend) -> None:
    await backend.put("config", "config", b"c")
    await backend.put("packs", _name(1), b"p")
    await backend.destroy()
    assert not await backend.exists("config", "config")
    assert await backend.list("packs") == []


def test_layout_paths() -> None:
    assert object_path("config", "config") == "config"
    assert object_path("packs", "ab" + "0" * 62) == "packs/ab/ab" + "0" * 62
    assert object_path("snapshots", _name(1)) == f"snapshots/{_name(1)}"


def test_open_backend_schemes(tmp_path: Path) -> None:
    assert isinstance(open_backend(str(tmp_path)), LocalBackend)
    assert isinstance(open_backend(f"file://{tmp_path}"), LocalBackend)
    assert isinstance(open_backend("memory://x"), MemoryBackend)
    s3 = open_backend("s3://bucket/some/prefix", endpoint="http://127.0.0.1:1", region="x")
    assert isinstance(s3, S3Backend)
    assert s3.bucket == "bucket"
    assert s3.prefix == "some/prefix"
    with pytest.raises(StoreError):
        open_backend("ftp://host/x")
    with pytest.raises(StoreError):
        open_backend("")


def test_s3_takes_aws_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_REGION", "fr-par")
    be = open_backend("s3://b")
    assert isinstance(be, S3Backend)
    assert be.endpoint == "http://127.0.0.1:9"


async def test_local_leaves_no_temporary_files(tmp_path: Path) -> None:
    be = LocalBackend(str(tmp_path / "s"))
    await be.put("packs", _name(1), b"data")
    files = [p for p in (tmp_path / "s").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [_name(1)]
    # a crash leftover is ignored by list and cleaned up on request
    leftover = tmp_path / "s" / "packs" / "00" / ".tmp-deadbeef"
    leftover.write_bytes(b"half")
    os.utime(leftover, (0, 0))
    assert [o.name for o in await be.list("packs")] == [_name(1)]
    assert be.remove_temporary_files() == 1


async def test_transport_errors_are_retried_then_raised() -> None:
    be = MemoryBackend("memory://retry-test")
    await be.put("packs", _name(1), b"abc")
    be.fail_next["get"] = 2
    assert await be.get("packs", _name(1)) == b"abc"  # retried
    be.fail_next["get"] = 10
    with pytest.raises(BackendError):
        await be.get("packs", _name(1))
    assert not isinstance(BackendError("x"), ObjectNotFoundError)


async def test_s3_unreachable_is_a_transport_error() -> None:
    be = open_backend(
        "s3://bucket/p",
        endpoint="http://127.0.0.1:9",
        region="us-east-1",
        access_key_id="a",
        secret_access_key="b",
        allow_http=True,
        max_retries=0,
        timeout=2.0,
    )
    be.read_attempts = 1
    with pytest.raises(BackendError):
        await be.get("config", "config")


async def test_s3_missing_bucket(s3_server: S3Server) -> None:
    opts = {**s3_server.options(), "max_retries": 0}
    be = open_backend("s3://no-such-bucket/prefix", **opts)
    with pytest.raises(BackendError) as info:
        await be.put("packs", _name(1), b"x")
    assert "does not exist" in str(info.value)
    assert not await be.exists("config", "config")


async def test_s3_without_conditional_writes_falls_back(s3_server: S3Server) -> None:
    be = open_backend(s3_server.location(), **s3_server.options())
    assert isinstance(be, S3Backend)
    be.atomic_create = False  # as after a server answered 501 to If-None-Match
    await be.put("keys", _name(1), b"first", create_only=True)
    with pytest.raises(ObjectExistsError):
        await be.put("keys", _name(1), b"second", create_only=True)
    assert await be.get("keys", _name(1)) == b"first"


def test_unsupported_conditional_write_detection() -> None:
    from core.store.backends.s3 import _unsupported

    assert _unsupported(RuntimeError("501 Not Implemented: If-None-Match"))
    assert not _unsupported(RuntimeError("connection reset"))
