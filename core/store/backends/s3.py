"""S3-compatible object storage (Scaleway Object Storage, AWS S3, MinIO) through obstore.

``s3://bucket/prefix``. Endpoint, region and credentials come from options or the usual
variables: AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ALLOW_HTTP (for a plain-http endpoint such as
a local MinIO), AWS_VIRTUAL_HOSTED_STYLE_REQUEST. Create-only puts use S3's conditional
write (``If-None-Match: *``).
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

import obstore
import obstore.exceptions as obx
from obstore.store import S3Store

from core.store.backends.base import Backend
from core.store.errors import BackendError, ObjectExistsError, ObjectNotFoundError, StoreError

_TRUE = {"1", "true", "yes", "on"}
log = logging.getLogger(__name__)


def _unsupported(err: Exception) -> bool:
    """The server does not implement ``If-None-Match`` on PUT."""
    if isinstance(err, obx.NotSupportedError):
        return True
    text = str(err).lower()
    return "notimplemented" in text or "not implemented" in text or "501" in text


def _env(*names: str) -> str | None:
    for n in names:
        v = os.environ.get(n)
        if v:
            return v
    return None


class S3Backend(Backend):
    scheme = "s3"
    atomic_create = True
    read_attempts = 3

    def __init__(
        self,
        location: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        allow_http: bool | None = None,
        virtual_hosted_style: bool | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        **_ignored: object,
    ) -> None:
        super().__init__(location.rstrip("/"))
        rest = location[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise StoreError(
                "an S3 store location needs a bucket", hint="use s3://bucket or s3://bucket/prefix"
            )
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        endpoint = endpoint or _env("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
        region = region or _env("AWS_REGION", "AWS_DEFAULT_REGION")
        if allow_http is None:
            allow_http = (_env("AWS_ALLOW_HTTP") or "").lower() in _TRUE or bool(
                endpoint and endpoint.startswith("http://")
            )
        if virtual_hosted_style is None:
            virtual_hosted_style = (_env("AWS_VIRTUAL_HOSTED_STYLE_REQUEST") or "").lower() in _TRUE
        config: dict[str, Any] = {"virtual_hosted_style_request": virtual_hosted_style}
        if endpoint:
            config["endpoint"] = endpoint
        if region:
            config["region"] = region
        key = access_key_id or _env("AWS_ACCESS_KEY_ID")
        secret = secret_access_key or _env("AWS_SECRET_ACCESS_KEY")
        if key and secret:
            config["access_key_id"] = key
            config["secret_access_key"] = secret
            token = session_token or _env("AWS_SESSION_TOKEN")
            if token:
                config["session_token"] = token
        self.endpoint = endpoint
        try:
            self._store = S3Store(
                bucket,
                prefix=self.prefix or None,
                config=config,  # type: ignore[arg-type]
                client_options={"allow_http": allow_http, "timeout": timedelta(seconds=timeout)},
                retry_config={
                    "max_retries": max_retries,
                    "retry_timeout": timedelta(seconds=timeout * 2),
                },
            )
        except Exception as err:  # obstore raises its own configuration errors
            raise StoreError(
                f"bad S3 configuration for bucket {bucket}: {type(err).__name__}",
                hint="check AWS_ENDPOINT_URL, AWS_REGION and the AWS credentials",
            ) from err

    def _translate(self, err: Exception, op: str, path: str) -> Exception:
        kind, _, name = path.partition("/")
        name = name.rsplit("/", 1)[-1] or kind
        if isinstance(err, obx.NotFoundError | FileNotFoundError):
            return ObjectNotFoundError(kind, name)
        if isinstance(err, obx.AlreadyExistsError | obx.PreconditionError | FileExistsError):
            return ObjectExistsError(kind, name)
        if isinstance(err, obx.PermissionDeniedError | obx.UnauthenticatedError):
            return BackendError(
                f"S3 refused to {op} {path} in bucket {self.bucket} ({type(err).__name__})",
                hint="check the credentials and the bucket policy",
            )
        return BackendError(f"could not {op} {path} in bucket {self.bucket} ({type(err).__name__})")

    async def _put(self, path: str, data: bytes, create_only: bool) -> None:
        if create_only and not self.atomic_create:
            # The server has no conditional writes: check, then write (not atomic; every name
            # we create is random or content-addressed, so a race only rewrites equal data).
            try:
                await self._stat(path)
            except ObjectNotFoundError:
                pass
            else:
                kind, _, name = path.partition("/")
                raise ObjectExistsError(kind, name.rsplit("/", 1)[-1])
            create_only = False
        try:
            await obstore.put_async(
                self._store,
                path,
                data,
                mode="create" if create_only else "overwrite",
                use_multipart=False,  # one PUT: atomic, and the conditional header applies
            )
        except Exception as err:
            if create_only and _unsupported(err):
                log.warning(
                    "the S3 server refuses conditional writes; falling back to check-then-put"
                )
                self.atomic_create = False
                await self._put(path, data, True)
                return
            if isinstance(err, obx.NotFoundError | FileNotFoundError):
                raise BackendError(
                    f"cannot write to bucket {self.bucket}: it does not exist",
                    hint="create the bucket first, or check the bucket name and the endpoint",
                ) from err
            raise self._translate(err, "write", path) from err

    async def _get(self, path: str, offset: int | None, length: int | None) -> bytes:
        try:
            if offset is None and length is None:
                result = await obstore.get_async(self._store, path)
                return bytes(await result.bytes_async())
            if length == 0:
                return b""
            start = offset or 0
            if length is None:
                size = await self._stat(path)
                length = size - start
                if length <= 0:
                    return b""
            return bytes(
                await obstore.get_range_async(self._store, path, start=start, length=length)
            )
        except (ObjectNotFoundError, BackendError):
            raise
        except Exception as err:
            if "range" in str(err).lower() and not isinstance(
                err, obx.NotFoundError | FileNotFoundError
            ):
                return b""  # past the end: a short read the store reports as damage
            raise self._translate(err, "read", path) from err

    async def _stat(self, path: str) -> int:
        try:
            meta = await obstore.head_async(self._store, path)
        except Exception as err:
            raise self._translate(err, "stat", path) from err
        return int(meta["size"])

    async def _list(self, prefix: str) -> list[tuple[str, int, str | None]]:
        out: list[tuple[str, int, str | None]] = []
        try:
            stream = obstore.list(self._store, prefix + "/", chunk_size=1000)
            async for batch in stream:
                for meta in batch:
                    tag = meta.get("e_tag")
                    out.append((str(meta["path"]), int(meta["size"]), str(tag) if tag else None))
        except Exception as err:
            raise self._translate(err, "list", prefix) from err
        return out

    async def _delete(self, path: str) -> None:
        try:
            await obstore.delete_async(self._store, path)
        except (obx.NotFoundError, FileNotFoundError):
            return
        except Exception as err:
            raise self._translate(err, "delete", path) from err
