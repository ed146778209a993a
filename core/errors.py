"""Errors a user can act on, and the process exit codes they map to.

Every failure that reaches a user goes through :class:`KlosetError`: one message naming the
cause, one hint naming the fix. Messages never carry secret values, names or paths (ids only),
so they are safe to log and to show in ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    """Process exit codes of the CLI (documented in the README)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    PARTIAL = 3
    NO_STORE = 10
    LOCKED = 11
    WRONG_PASSPHRASE = 12
    INTERRUPTED = 130


class Remedy(StrEnum):
    """What fixes an error, as a code: each front end words it in its own terms.

    ``core`` never names a command-line flag or a console key. It says *what* would fix the
    error (``hint`` is a flag-free sentence for logs and library users); ``cli/hints.py`` and
    the console turn the remedy and its ``details`` into "pass --on-conflict ..." or "choose
    a conflict policy". A new remedy needs wording in both.
    """

    INIT_STORE = "init_store"
    UNLOCK_STORE = "unlock_store"
    CHECK_PASSPHRASE = "check_passphrase"
    CHOOSE_CONFLICT_POLICY = "choose_conflict_policy"
    NARROW_SELECTION = "narrow_selection"
    INCLUDE_DISABLED = "include_disabled"
    CHOOSE_PROJECT = "choose_project"
    CHOOSE_REGION = "choose_region"
    CHOOSE_SNAPSHOT = "choose_snapshot"
    GRANT_PERMISSION = "grant_permission"
    CONFIGURE_CREDENTIALS = "configure_credentials"
    RETRY_LATER = "retry_later"
    RUN_PRUNE = "run_prune"
    RUN_REPAIR = "run_repair"
    FIX_CONFIG_FILE = "fix_config_file"
    CONFLICTING_OPTIONS = "conflicting_options"  # details: option, other
    CHOOSE_REVISION = "choose_revision"
    CHOOSE_VERSIONS = "choose_versions"  # details: value, choices
    CHOOSE_DESTINATION = "choose_destination"
    LIST_SNAPSHOT = "list_snapshot"  # details: snapshot (short id), what (secrets | versions)
    SEE_REPORT = "see_report"  # details: operation (backup | restore)
    RUN_CHECK = "run_check"  # details: read_data ("true")
    RUN_AGAIN = "run_again"  # details: operation
    ADD_PROFILE = "add_profile"  # details: profile, and replace ("true") or field
    CHOOSE_PROFILE = "choose_profile"  # details: action (pick | set_default | list), source
    REPLACE_EXISTING = "replace_existing"  # details: what (profile), name


class KlosetError(Exception):
    """An error with a cause a user can read and a fix they can apply."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        remedy: Remedy | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.remedy = remedy
        self._details: Mapping[str, str] = dict(details or {})

    @property
    def details(self) -> Mapping[str, str]:
        """What the remedy needs (e.g. ``operation``); a read-only property, so a subclass
        with a ``details`` of its own (the API's field errors) keeps it."""
        return self._details

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigError(KlosetError):
    """Bad or missing configuration (profile, credentials, options)."""


class UsageError(KlosetError):
    """The command line asked for something impossible (bad selector, conflicting flags)."""

    exit_code = ExitCode.USAGE


class PartialFailure(KlosetError):
    """The operation completed, but some items failed; details are in its report."""

    exit_code = ExitCode.PARTIAL
