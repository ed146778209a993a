"""Storage backends of the snapshot store: local directory, S3-compatible, in-memory."""

from core.store.backends.base import KINDS, Backend, ObjectInfo, open_backend

__all__ = ["KINDS", "Backend", "ObjectInfo", "open_backend"]
