"""Fixtures of the store tests: a moto S3 server on loopback, and a backend of each kind."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.store.backends import Backend, open_backend
from core.store.backends.memory import forget_memory_store


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    region: str = "us-east-1"

    def options(self) -> dict[str, object]:
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "allow_http": True,
        }

    def location(self, prefix: str | None = None) -> str:
        return f"s3://{self.bucket}/{prefix or secrets.token_hex(6)}"

    def all_objects(self) -> dict[str, bytes]:
        """Every object in the bucket (for the plaintext scan)."""
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )
        out: dict[str, bytes] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for obj in page.get("Contents", []):
                body = client.get_object(Bucket=self.bucket, Key=obj["Key"])["Body"].read()
                out[obj["Key"]] = body
        return out


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 server (moto's server mode) on 127.0.0.1, one bucket; stopped at the end."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        bucket = "kloset-tests"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_bucket(Bucket=bucket)
        yield S3Server(endpoint=endpoint, bucket=bucket)
    finally:
        server.stop()


BACKEND_KINDS = ("memory", "local", "s3")


@dataclass
class BackendFactory:
    kind: str
    tmp: Path
    s3: S3Server | None

    def location(self) -> str:
        if self.kind == "memory":
            return f"memory://{secrets.token_hex(6)}"
        if self.kind == "local":
            return str(self.tmp / f"store-{secrets.token_hex(4)}")
        assert self.s3 is not None
        return self.s3.location()

    def options(self) -> dict[str, object]:
        return self.s3.options() if self.kind == "s3" and self.s3 is not None else {}

    def open(self, location: str) -> Backend:
        return open_backend(location, **self.options())


@pytest.fixture(params=BACKEND_KINDS)
def backend_factory(request: pytest.FixtureRequest, tmp_path: Path) -> BackendFactory:
    s3 = request.getfixturevalue("s3_server") if request.param == "s3" else None
    return BackendFactory(kind=request.param, tmp=tmp_path, s3=s3)


@pytest.fixture
async def backend(backend_factory: BackendFactory) -> AsyncIterator[Backend]:
    location = backend_factory.location()
    be = backend_factory.open(location)
    try:
        yield be
    finally:
        await be.close()
        if backend_factory.kind == "memory":
            forget_memory_store(location)


PASSPHRASE = "correct horse battery staple"


@dataclass
class StoreFactory:
    """Creates and opens stores on one backend kind, with a per-test cache dir."""

    backends: BackendFactory
    cache_dir: Path
    opened: list[object]

    async def init(self, location: str | None = None, **kwargs: object) -> object:
        from core.store import KdfParams, Store

        loc = location or self.backends.location()
        kwargs.setdefault("kdf", KdfParams.for_tests())
        kwargs.setdefault("cache_dir", self.cache_dir)
        store = await Store.init(loc, PASSPHRASE, **kwargs, **self.backends.options())  # type: ignore[arg-type]
        self.opened.append(store)
        return store

    async def open(self, location: str, passphrase: str = PASSPHRASE, **kwargs: object) -> object:
        from core.store import Store

        kwargs.setdefault("cache_dir", self.cache_dir)
        store = await Store.open(location, passphrase, **kwargs, **self.backends.options())  # type: ignore[arg-type]
        self.opened.append(store)
        return store


@pytest.fixture
async def store_factory(
    backend_factory: BackendFactory, tmp_path: Path
) -> AsyncIterator[StoreFactory]:
    factory = StoreFactory(backend_factory, tmp_path / "cache", [])
    try:
        yield factory
    finally:
        for store in factory.opened:
            await store.close()  # type: ignore[attr-defined]
