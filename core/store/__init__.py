"""The encrypted, deduplicated snapshot store (format in docs/FORMAT.md).

```python
store = await Store.init(location, passphrase)        # or Store.open(...)
async with store.writer() as w:
    blob_id = await w.put_payload(data)
    await w.put_record(record)
    header = await w.commit(sources=[...])
```
"""

from typing import TYPE_CHECKING

from core._imports import lazy_names
from core.store.config import DEFAULT_PACK_SIZE, StoreConfig
from core.store.crypto import KdfParams
from core.store.errors import (
    AmbiguousSnapshotError,
    BackendError,
    BlobNotFoundError,
    CorruptStoreError,
    LastKeyError,
    SnapshotNotFoundError,
    StoreError,
    StoreExistsError,
    StoreLockedError,
    StoreNotFoundError,
    UnsupportedFormatError,
    WrongPassphraseError,
)
from core.store.keys import KeyInfo
from core.store.locks import LockHandle, LockInfo
from core.store.model import (
    PayloadRef,
    SecretRecord,
    SnapshotError,
    SnapshotHeader,
    SnapshotSummary,
    SourceInfo,
    VersionRecord,
)
from core.store.repository import Store, default_cache_dir
from core.store.writer import Writer

__all__ = [
    "DEFAULT_PACK_SIZE",
    "AmbiguousSnapshotError",
    "BackendError",
    "BlobNotFoundError",
    "CorruptStoreError",
    "KdfParams",
    "KeyInfo",
    "LastKeyError",
    "LockHandle",
    "LockInfo",
    "PayloadRef",
    "SecretRecord",
    "SnapshotError",
    "SnapshotHeader",
    "SnapshotNotFoundError",
    "SnapshotSummary",
    "SourceInfo",
    "Store",
    "StoreConfig",
    "StoreError",
    "StoreExistsError",
    "StoreLockedError",
    "StoreNotFoundError",
    "StoreStats",
    "UnsupportedFormatError",
    "VersionRecord",
    "Writer",
    "WrongPassphraseError",
    "default_cache_dir",
]

if TYPE_CHECKING:
    from core.store.stats import StoreStats


# ``StoreStats``, imported on first use (a backup or ``snapshots`` never asks for it).
__getattr__ = lazy_names(globals(), "core.store.stats", ("StoreStats",))
