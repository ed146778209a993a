"""Compatibility re-export: moved to :mod:`core.store.ops.prune` (remove once callers import it)."""

from core.store.ops.prune import *  # noqa: F403
from core.store.ops.prune import __all__  # noqa: F401
