"""Backup: Secret Manager projects × regions → one snapshot in the store.

Modules: ``sources`` (what to back up, listing), ``parents`` (parent snapshots and reuse),
``reader`` (reading one secret's versions), ``toggles`` (the journal of versions enabled
to be read), ``pipeline`` (the orchestration and commit).

How a run goes:

1. **Sources.** Projects (given, the credentials' default, or every project of the
   organization) × regions (given, the default, or all three). Project names come from the
   Account API when the key holds ``ProjectReadOnly``; without it they stay empty.
2. **Preflight** of every source (``core.engine.preflight``): a missing permission set stops
   the run before anything is read, with a message naming it.
3. **Parents.** For each source, the newest snapshots covering it, back to (and including) the
   newest complete one. Their records say which ``(secret, revision)`` data the store already
   holds: a version's data never changes once created, so it is never read twice. A partial
   snapshot is used only for what it does hold; what it lacks is read again. A parent the
   store cannot read is skipped, and data blobs it would lend that are missing or damaged
   (``--rescan``: also decrypted) are read again from the API and written afresh. Its
   records come from the local record cache when it holds the tree (their blobs checked as
   the data's are; ``--rescan`` reads them from the store).
4. **Listing and reading**, pipelined: each source's secrets are listed (both live and
   scheduled-for-deletion ones) and handed to a bounded pool of workers. A secret whose listed
   metadata equals its parent record (same ``updated_at``, ``version_count``, status, ...) and
   whose parent record is complete is carried over as is: no version listing, no read. Any
   other secret has its versions listed and only the revisions the parents lack are read.
   ``rescan`` lists the versions of every secret (it catches version status changes, which
   the API does not reflect in the secret's own metadata).
5. **Disabled versions**: metadata always; data only with ``include_disabled``, which enables
   the version, reads it and disables it again (a change to the source: opt-in). Versions of
   secrets scheduled for deletion cannot be read (the API refuses), and versions that expire
   once accessed are never read (reading would trigger their expiry): both are recorded
   metadata only, reusing the parent's data when it has it.
6. **Errors** (403, 404 after listing, repeated 5xx) are per secret: the secret is recorded
   with its error, the snapshot is marked partial, and the result's status says so.
7. **The toggle journal** (``toggles``): before enabling a disabled version, its ids are
   written to a journal under the XDG state dir, and cleared once it is disabled again; every
   run first disables what an interrupted run left enabled (``heal_toggles``) and warns.
8. **Commit**: the snapshot becomes visible only now. A cancelled or failed run commits nothing.
"""

from core.engine.backup.parents import ParentIndex, load_parents
from core.engine.backup.pipeline import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    BackupResult,
    backup_error,
    collect,
    run_backup,
)
from core.engine.backup.reader import BackupRun
from core.engine.backup.sources import BackupOptions, Source, resolve_sources
from core.engine.backup.toggles import Toggle, ToggleJournal, heal_toggles
from core.engine.protocols import PayloadSink

backup = run_backup  # the public name (``core.backup``)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "BackupOptions",
    "BackupResult",
    "BackupRun",
    "ParentIndex",
    "PayloadSink",
    "Source",
    "Toggle",
    "ToggleJournal",
    "backup",
    "backup_error",
    "collect",
    "heal_toggles",
    "load_parents",
    "resolve_sources",
    "run_backup",
]
