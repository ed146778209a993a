"""Compatibility re-export: moved to :mod:`core.store.ops.check` (remove once callers import it)."""

from core.store.ops.check import *  # noqa: F403
from core.store.ops.check import __all__  # noqa: F401
