"""secret-kloset core: the async engine (Scaleway client, emulator, credentials, store, engines).

The curated public API is :data:`__all__` (guarded by ``tests/test_public_api.py``, shown in
``docs/API.md``): a script needs nothing else to back up and restore. Deeper modules
(``core.store.repository``, ``core.engine.backup.reader``, ...) may change between releases.

The client, the store and the engines are imported on first use (PEP 562 ``__getattr__``):
``import core`` stays as cheap as the errors, so the CLI's start-up does not pay for httpx,
PyNaCl or obstore before a command needs them. This package never imports Textual: the console
(``tui``) and the CLI (``cli``) sit on top of it.
"""

from __future__ import annotations

from importlib import import_module

from core._imports import defer_httpx_cli
from core.errors import (
    ConfigError,
    ExitCode,
    KlosetError,
    PartialFailure,
    Remedy,
    UsageError,
)

__version__ = "0.1.0"

defer_httpx_cli()  # before anything below core imports httpx (core._imports says why)

# public name -> (module, attribute), imported on first access
_LAZY: dict[str, tuple[str, str]] = {
    "Client": ("core.scaleway.client", "ScalewayClient"),
    "ScalewayError": ("core.scaleway.errors", "ScalewayError"),
    "Store": ("core.store.repository", "Store"),
    "KdfParams": ("core.store.crypto", "KdfParams"),
    "StoreError": ("core.store.errors", "StoreError"),
    "Selection": ("core.engine.selectors", "Selection"),
    "PreflightError": ("core.engine.preflight", "PreflightError"),
    "backup": ("core.engine.backup", "run_backup"),
    "BackupOptions": ("core.engine.backup", "BackupOptions"),
    "BackupResult": ("core.engine.backup", "BackupResult"),
    "plan_restore": ("core.engine.restore", "plan_restore"),
    "apply_plan": ("core.engine.restore", "apply_plan"),
    "OnConflict": ("core.engine.restore", "OnConflict"),
    "RestorePlan": ("core.engine.restore", "RestorePlan"),
    "RestoreResult": ("core.engine.restore", "RestoreResult"),
    "RestoreConflict": ("core.engine.restore", "RestoreConflict"),
    "RestoreInterrupted": ("core.engine.restore", "RestoreInterrupted"),
    "copy": ("core.engine.copy", "run_copy"),
    "CopyResult": ("core.engine.copy", "CopyResult"),
}

__all__ = [
    "BackupOptions",
    "BackupResult",
    "Client",
    "ConfigError",
    "CopyResult",
    "ExitCode",
    "KdfParams",
    "KlosetError",
    "OnConflict",
    "PartialFailure",
    "PreflightError",
    "Remedy",
    "RestoreConflict",
    "RestoreInterrupted",
    "RestorePlan",
    "RestoreResult",
    "ScalewayError",
    "Selection",
    "Store",
    "StoreError",
    "UsageError",
    "__version__",
    "apply_plan",
    "backup",
    "copy",
    "plan_restore",
]

TYPE_CHECKING = False  # not typing's: ``import core`` must not load ``typing`` for the CLI's start
if TYPE_CHECKING:
    from core.engine.backup import BackupOptions, BackupResult
    from core.engine.backup import run_backup as backup
    from core.engine.copy import CopyResult
    from core.engine.copy import run_copy as copy
    from core.engine.preflight import PreflightError
    from core.engine.restore import (
        OnConflict,
        RestoreConflict,
        RestoreInterrupted,
        RestorePlan,
        RestoreResult,
        apply_plan,
        plan_restore,
    )
    from core.engine.selectors import Selection
    from core.scaleway.client import ScalewayClient as Client
    from core.scaleway.errors import ScalewayError
    from core.store.crypto import KdfParams
    from core.store.errors import StoreError
    from core.store.repository import Store


def __getattr__(name: str) -> object:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'core' has no attribute {name!r}") from None
    value = getattr(import_module(module), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
