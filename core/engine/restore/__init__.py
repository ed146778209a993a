"""Restore: a snapshot (or part of it) back into Secret Manager, planned first, idempotent.

Modules: ``model`` (actions, plan and result types), ``plan`` (``plan_restore``), ``apply``
(``apply_plan``), ``journal`` (what earlier restores wrote and read back, so a re-run need not
read values back), ``cap`` (the destination's version cap).

``plan_restore`` compares the selected records of a snapshot with the destination project and
region and lists one :class:`PlannedAction` per secret:

- ``create``: the secret does not exist at the destination (same path and name): create it
  with its name, path, type, tags, description, protected flag and ephemeral policy (which the
  API only accepts at creation), then add the chosen versions in revision order, with their
  CRC32, disabling again those that were disabled.
- ``recover``: the destination secret is scheduled for deletion: restore it (the restore
  endpoint) rather than create a duplicate, then add a version if its data differs.
- ``add_version``: the secret exists and the data differs from the destination's latest
  enabled version (the ``new-version`` conflict policy, the default), or the destination holds the
  beginning of the snapshot's history (an interrupted earlier restore): add what is missing.
- ``skip_identical``: the destination already holds the data: nothing to do. This is what
  makes a second identical restore change nothing.
- ``skip``: the destination differs and the ``skip`` policy says leave it; or the snapshot
  holds no data for the chosen versions.
- ``conflict``: the destination differs and the ``fail`` policy: ``apply_plan`` refuses to
  change anything while the plan holds a conflict.

"Already there" is decided on data, never on ids: the destination version's CRC32 (from the
access endpoint) and then its bytes are compared with the snapshot's. A destination version
the restore journal vouches for (same revision and ``created_at`` as when a restore wrote or
read it) is compared from the store instead of being read back (:mod:`.journal`).

``apply_plan`` runs the actions with bounded concurrency (versions of one secret in order),
records every outcome, optionally verifies every restored version by reading it back,
re-checks the destination's latest revision before the first version it adds to a secret
that existed (re-planning a secret that moved; after that, each create's answer is the
check, and a racing restore's copy is taken back), and on cancellation starts no further write, cancels the requests in flight and
reports what it did and what it left half-done (:class:`RestoreInterrupted`). A secret that
cannot be planned, or whose data is over the API's 64 KiB limit, is a failed action.
"""

from core.engine.restore.apply import apply_plan, restore_error
from core.engine.restore.model import (
    DEFAULT_CONCURRENCY,
    Action,
    OnConflict,
    PayloadReader,
    PlannedAction,
    RestoreConflict,
    RestoreInterrupted,
    RestorePlan,
    RestoreResult,
    VersionsMode,
    VersionToAdd,
)
from core.engine.restore.plan import choose_versions, plan_restore

__all__ = [
    "DEFAULT_CONCURRENCY",
    "Action",
    "OnConflict",
    "PayloadReader",
    "PlannedAction",
    "RestoreConflict",
    "RestoreInterrupted",
    "RestorePlan",
    "RestoreResult",
    "VersionToAdd",
    "VersionsMode",
    "apply_plan",
    "choose_versions",
    "plan_restore",
    "restore_error",
]
