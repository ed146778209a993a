"""Compatibility re-export: moved to :mod:`core.store.ops.copy` (remove once callers import it)."""

from core.store.ops.copy import *  # noqa: F403
from core.store.ops.copy import __all__  # noqa: F401
