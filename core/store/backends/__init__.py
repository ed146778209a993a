"""Storage backends of the snapshot store, chosen by the location's scheme.

One table, :data:`SCHEMES`, says which backend serves which location: ``/path`` or
``file:///path`` (a local directory), ``s3://bucket/prefix`` (S3-compatible),
``memory://name`` (in-process, for tests). A backend module is imported only when a location
needs it (the S3 client is heavy). :func:`register_backend` adds a scheme (a test double, a
future backend) without touching this module or :mod:`core.store.backends.base`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from core.errors import Remedy
from core.store.backends.base import KINDS, Backend, ObjectInfo
from core.store.errors import StoreError

#: builds a backend from a location and its options
BackendFactory = Callable[..., Backend]

#: scheme -> "module:class" of its backend (imported on first use)
SCHEMES: dict[str, str] = {
    "file": "core.store.backends.local:LocalBackend",
    "s3": "core.store.backends.s3:S3Backend",
    "memory": "core.store.backends.memory:MemoryBackend",
}
_FACTORIES: dict[str, BackendFactory] = {}
DEFAULT_SCHEME = "file"  # a location without "scheme://" is a local path


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Serve ``scheme://...`` locations with ``factory(location, **options)``."""
    _FACTORIES[scheme] = factory


def scheme_of(location: str) -> str:
    """The location's scheme (``file`` for a plain path)."""
    return location.split("://", 1)[0] if "://" in location else DEFAULT_SCHEME


def _factory(scheme: str) -> BackendFactory | None:
    factory = _FACTORIES.get(scheme)
    if factory is None and scheme in SCHEMES:
        module, _, name = SCHEMES[scheme].partition(":")
        factory = _FACTORIES[scheme] = getattr(importlib.import_module(module), name)
    return factory


def open_backend(location: str, **options: object) -> Backend:
    """A backend for ``/path`` or ``file:///path``, ``s3://bucket/prefix`` or ``memory://name``.

    S3 options (each falls back to its ``AWS_*`` variable): ``endpoint``
    (AWS_ENDPOINT_URL), ``region`` (AWS_REGION, AWS_DEFAULT_REGION), ``access_key_id``,
    ``secret_access_key``, ``session_token``, ``allow_http`` (AWS_ALLOW_HTTP),
    ``virtual_hosted_style`` (AWS_VIRTUAL_HOSTED_STYLE_REQUEST).
    """
    if not location:
        raise StoreError(
            "no store location given",
            hint="give a store location: a local path or s3://bucket/prefix",
            remedy=Remedy.CHOOSE_STORE,
        )
    scheme = scheme_of(location)
    factory = _factory(scheme)
    if factory is None:
        raise StoreError(
            f"unsupported store location scheme {scheme!r}",
            hint="use a local path, file:///path, s3://bucket/prefix or memory://name",
        )
    return factory(location, **options)


__all__ = [
    "KINDS",
    "SCHEMES",
    "Backend",
    "BackendFactory",
    "ObjectInfo",
    "open_backend",
    "register_backend",
    "scheme_of",
]
