"""Store operations over an open :class:`~core.store.Store`, each with a typed report.

restic keeps these apart from the repository (``internal/checker``, ``cmd_forget``,
``cmd_prune``, ``cmd_copy``, ``cmd_diff``): they only use the store's public reads and its
maintenance primitives. ``check`` -> :class:`CheckReport`, ``forget`` -> :class:`ForgetResult`,
``prune`` -> :class:`PruneReport`, ``copy`` -> :class:`CopyReport`, ``diff`` ->
:class:`SnapshotDiff`.
"""

from core.store.ops.check import CheckProblem, CheckReport, check_store
from core.store.ops.copy import CopyReport, copy_snapshots
from core.store.ops.diff import SnapshotDiff, diff_snapshots
from core.store.ops.forget import ForgetResult, RetentionPolicy, forget, forget_ids
from core.store.ops.prune import PruneRefused, PruneReport, prune

__all__ = [
    "CheckProblem",
    "CheckReport",
    "CopyReport",
    "ForgetResult",
    "PruneRefused",
    "PruneReport",
    "RetentionPolicy",
    "SnapshotDiff",
    "check_store",
    "copy_snapshots",
    "diff_snapshots",
    "forget",
    "forget_ids",
    "prune",
]
