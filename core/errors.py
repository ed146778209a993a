"""Errors a user can act on, and the process exit codes they map to.

Every failure that reaches a user goes through :class:`KlosetError`: one message naming the
cause, one hint naming the fix. Messages never carry secret values, names or paths (ids only),
so they are safe to log and to show in ``repr``.
"""

from __future__ import annotations

from enum import IntEnum


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


class KlosetError(Exception):
    """An error with a cause a user can read and a fix they can apply."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

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
