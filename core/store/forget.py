"""Compatibility re-export: moved to :mod:`core.store.ops.forget` (remove once callers import it)."""

from core.store.ops.forget import *  # noqa: F403
from core.store.ops.forget import __all__  # noqa: F401
