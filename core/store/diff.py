"""Compatibility re-export: moved to :mod:`core.store.ops.diff` (remove once callers import it)."""

from core.store.ops.diff import *  # noqa: F403
from core.store.ops.diff import __all__  # noqa: F401
