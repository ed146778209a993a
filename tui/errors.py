"""Turn any failure into what the error dialog says: a title, what happened, what to do."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from core.errors import KlosetError, Remedy
from core.scaleway import errors as api
from tui.actions import key_of, key_text


def _key(action_id: str) -> str:
    """The first default key of an action, as the help writes it."""
    return key_text(key_of(action_id).split(",")[0])


# What fixes an error, in the console's terms (the CLI words the same codes with its flags).
REMEDIES: Mapping[Remedy, Callable[[Mapping[str, str]], str]] = {
    Remedy.INIT_STORE: lambda d: (
        f"Create or open a store (Snapshots tab, or press {_key('store_care')})."
    ),
    Remedy.UNLOCK_STORE: lambda d: (
        "Another run holds the store's lock: wait for it to end, or remove stale locks in "
        f"Store care ({_key('store_care')}, Locks)."
    ),
    Remedy.CHECK_PASSPHRASE: lambda d: "Check the passphrase and try again.",
    Remedy.CHOOSE_CONFLICT_POLICY: lambda d: (
        "Go back to the destination step and pick “new version” or “skip”."
    ),
    Remedy.NARROW_SELECTION: lambda d: "Mark the secrets you mean (space), then try again.",
    Remedy.INCLUDE_DISABLED: lambda d: (
        "Tick “Include the data of disabled versions” in the backup form."
    ),
    Remedy.CHOOSE_PROJECT: lambda d: (
        f"Pick a project in the Projects tab ({_key('tab_projects')}), or open one by id "
        f"({_key('enter_project_id')})."
    ),
    Remedy.CHOOSE_REGION: lambda d: f"Switch the region ({_key('next_region')}).",
    Remedy.CHOOSE_SNAPSHOT: lambda d: (
        f"Pick a snapshot in the Snapshots tab ({_key('tab_snapshots')})."
    ),
    Remedy.GRANT_PERMISSION: lambda d: (
        f"Give the API key {d.get('permission_set') or 'the permission set it lacks'} "
        "(IAM > API keys > policy), or use a profile whose key has it."
    ),
    Remedy.CONFIGURE_CREDENTIALS: lambda d: f"Add or fix a profile (press {_key('profile')}).",
    Remedy.RETRY_LATER: lambda d: "Wait a moment, then retry.",
    Remedy.RUN_PRUNE: lambda d: (
        f"Apply retention (forget + prune) in Store care ({_key('store_care')}, Retention)."
    ),
    Remedy.RUN_REPAIR: lambda d: (
        f"Run a check in Store care ({_key('store_care')}) to see what is damaged and which "
        "snapshots it affects."
    ),
    Remedy.FIX_CONFIG_FILE: lambda d: (
        "Fix the file the message names, then open the console again."
    ),
    Remedy.CONFLICTING_OPTIONS: lambda d: "Choose one of the two, not both, then try again.",
    Remedy.CHOOSE_REVISION: lambda d: (
        f"Pick “one revision” in the restore wizard, then the revision in the versions "
        f"({_key('versions')}); revisions start at 1."
    ),
    Remedy.CHOOSE_VERSIONS: lambda d: "Pick “all” or “latest only” versions in the restore wizard.",
    Remedy.CHOOSE_DESTINATION: lambda d: (
        "Open another store as the destination."
        if d.get("case") == "store"
        else "Pick a destination project or region different from the source."
    ),
    Remedy.LIST_SNAPSHOT: lambda d: (
        f"Open the snapshot in the Snapshots tab ({_key('tab_snapshots')}) to see its secrets "
        f"and their versions ({_key('versions')})."
    ),
    Remedy.SEE_REPORT: lambda d: (
        f"See each failure in the report (Activity tab, {_key('tab_activity')}); fix the cause "
        f"and run the {d.get('operation') or 'operation'} again."
    ),
    Remedy.RUN_CHECK: lambda d: (
        f"Run a check with “Read and verify all data” in Store care ({_key('store_care')}, Check)."
    ),
    Remedy.RUN_AGAIN: lambda d: (
        f"Run the same {d.get('operation') or 'operation'} again: what is done is skipped."
    ),
    Remedy.ADD_PROFILE: lambda d: (
        f"Add or fix the profile {d['profile']!r} (press {_key('profile')})."
        if d.get("profile")
        else f"Add or fix a profile (press {_key('profile')})."
    ),
    Remedy.CHOOSE_PROFILE: lambda d: f"Pick an existing profile (press {_key('profile')}).",
    Remedy.REPLACE_EXISTING: lambda d: (
        f"Use another name, or edit the existing {d.get('what') or 'one'} instead."
    ),
    Remedy.ADD_KEY: lambda d: (
        f"Add another passphrase first in Store care ({_key('store_care')}, Passphrases)."
    ),
    Remedy.LIST_KEYS: lambda d: (
        f"See the key slots in Store care ({_key('store_care')}, Passphrases)."
    ),
    Remedy.CHANGE_PASSPHRASE: lambda d: (
        f"Open the store with another passphrase to remove this one, or change it in Store care "
        f"({_key('store_care')}, Passphrases)."
    ),
    Remedy.CHECK_STORE: lambda d: (
        f"Run a check with “Read and verify all data” in Store care ({_key('store_care')}, "
        "Check) to see what is damaged and which snapshots it affects."
    ),
    Remedy.CHOOSE_STORE: lambda d: "Create or open a store: give its location (a path or s3://).",
    Remedy.WIDEN_RETENTION: lambda d: (
        f"Widen the keep rules (e.g. last 1) in Store care ({_key('store_care')}, Retention), "
        "then Preview."
    ),
    Remedy.LOWER_CONCURRENCY: lambda d: "Wait a moment, then retry (the API is rate limiting).",
}


def remedy_text(error: KlosetError) -> str:
    """The console's wording of ``error.remedy``, else its flag-free hint."""
    word = REMEDIES.get(error.remedy) if error.remedy is not None else None
    if word is None:
        return error.hint or ""
    return word(error.details)


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
            else (remedy_text(error) or "Check the API key's IAM policy.")
        )
        return ErrorReport("Permission denied", f"The API refused: {what}.", hint)
    if isinstance(error, api.AuthenticationError):
        return ErrorReport(
            "Authentication failed",
            error.message,
            remedy_text(error)
            or f"The secret key is unknown or expired: update the profile ({_key('profile')}).",
        )
    if isinstance(error, api.TransportError):
        return ErrorReport(
            "Cannot reach the API",
            error.message,
            remedy_text(error) or "Check the network and the profile's API URL, then retry.",
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
        return ErrorReport(title, error.message, remedy_text(error))
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


def failure_text(error: BaseException | None) -> str:
    """One line for the activity log: what failed, in the dialog's words (a preflight
    failure names the missing permission set), never just the exception's class."""
    if error is None:
        return ""
    lines = describe(error).message.strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 160 else text[:159] + "…"
