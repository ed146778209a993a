"""Turn any failure into what the error dialog says: a title, what happened, what to do."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import KlosetError
from core.scaleway import errors as api


@dataclass(frozen=True, slots=True)
class ErrorReport:
    title: str
    message: str
    hint: str = ""


def describe(error: BaseException) -> ErrorReport:
    """What went wrong and what to do, ids only (error messages never carry values)."""
    if isinstance(error, api.PermissionDeniedError):
        needed = error.permission_set
        what = f"this needs the {needed} permission set" if needed else error.message
        hint = (
            f"Give the API key {needed} (IAM > API keys > policy) on this project, "
            "or use a profile whose key has it."
            if needed
            else (error.hint or "Check the API key's IAM policy.")
        )
        return ErrorReport("Permission denied", f"The API refused: {what}.", hint)
    if isinstance(error, api.AuthenticationError):
        return ErrorReport(
            "Authentication failed",
            error.message,
            error.hint or "The secret key is unknown or expired: update the profile (p).",
        )
    if isinstance(error, api.TransportError):
        return ErrorReport(
            "Cannot reach the API",
            error.message,
            error.hint or "Check the network and the profile's API URL, then retry.",
        )
    if isinstance(error, KlosetError):
        name = type(error).__name__
        title = {
            "WrongPassphraseError": "Wrong passphrase",
            "StoreNotFoundError": "No store there",
            "StoreExistsError": "A store is already there",
            "StoreLockedError": "Store locked",
            "CorruptStoreError": "Store damaged",
            "BlobNotFoundError": "Store damaged",
            "BackendError": "Cannot reach the store",
            "KeyringUnavailableError": "No safe keyring",
            "RestoreConflict": "Conflicts: nothing changed",
            "UsageError": "Not possible",
            "NotFoundError": "Not found",
            "PreflightError": "Missing permissions",
            "PartialFailure": "Finished with failures",
        }.get(name, "Error")
        return ErrorReport(title, error.message, error.hint or "")
    if isinstance(error, LookupError):
        return ErrorReport("Not available", str(error), "")
    if isinstance(error, OSError):
        return ErrorReport(
            "File or network error",
            f"{type(error).__name__}: {error.strerror or error}",
            "Check the path, its permissions and free space.",
        )
    return ErrorReport(
        "Internal error",
        f"Something unexpected failed ({type(error).__name__}).",
        "This is a bug: please report it with the steps that led here.",
    )
