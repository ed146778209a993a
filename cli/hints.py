"""Core errors in the CLI's words: the one place that names flags and commands in a hint.

``core`` says *what* fixes an error (:class:`core.errors.Remedy`, plus ``details``) and a
flag-free ``hint``; :func:`hint_for` turns that into the sentence a CLI user acts on. Without
a remedy (or without wording for it), the error's own hint is shown as it is.

A wording is chosen by ``details["case"]`` (default ``""``) and filled from ``details`` and
``{hint}`` (the core's sentence). The cases and keys, for the engineers who set remedies:

==========================  ==========================================================
remedy                      cases (``details`` keys used)
==========================  ==========================================================
INIT_STORE                  ""
UNLOCK_STORE                "", "held", "refresh_failed"
CHECK_PASSPHRASE            ""
CHOOSE_CONFLICT_POLICY      ""
NARROW_SELECTION            "" (a snapshot prefix), "key", "secret"
INCLUDE_DISABLED            "", "cat"
CHOOSE_PROJECT              "", "client", "project_listing"
CHOOSE_REGION               "" (``regions``), "same_destination"
CHOOSE_SNAPSHOT             ""
GRANT_PERMISSION            "" (``{hint}``), "project_listing"
CONFIGURE_CREDENTIALS       "", "secret_key", "profile_secret_missing" / "profile_unknown"
                            (``profile``)
RETRY_LATER                 "" (``{hint}``), "rate_limited", "restore_interrupted",
                            "backup_partial", "restore_partial"
RUN_PRUNE                   ""
RUN_REPAIR                  "", "check"
FIX_CONFIG_FILE             "" (``{hint}``), "scw_config_missing", "secret_in_file"
                            (``profile``)
==========================  ==========================================================

The wordings are today's user-visible hints, word for word.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import KlosetError, Remedy

_UNLOCK = "'secret-kloset store unlock' removes stale locks"

WORDING: Mapping[Remedy, Mapping[str, str]] = {
    Remedy.INIT_STORE: {
        "": "create one with 'secret-kloset store init', or check the location",
    },
    Remedy.UNLOCK_STORE: {
        "": f"wait for the other process to finish; {_UNLOCK}",
        "held": f"wait for that process to finish; if it died, {_UNLOCK}",
        "refresh_failed": f"check the connection to the store and retry; {_UNLOCK}",
    },
    Remedy.CHECK_PASSPHRASE: {
        "": "check the passphrase (SECRET_KLOSET_PASSPHRASE, the profile's keyring entry, or "
        "the prompt)",
    },
    Remedy.CHOOSE_CONFLICT_POLICY: {
        "": "see them with --dry-run; use --on-conflict new-version to add a version, or skip "
        "to leave them",
    },
    Remedy.NARROW_SELECTION: {
        "": "give more characters of the snapshot id",
        "key": "give more characters",
        "secret": "name one secret: its full path or id:<secret id>",
    },
    Remedy.INCLUDE_DISABLED: {
        "": "back up with --include-disabled to keep disabled versions' data, or choose "
        "another revision",
        "cat": "disabled versions are only backed up with 'backup --include-disabled'",
    },
    Remedy.CHOOSE_PROJECT: {
        "": "pass --project ID (or --all-projects), or set a default project id in the profile "
        "or SCW_DEFAULT_PROJECT_ID",
        "client": "pass a project id (--project) or set a default project in the profile "
        "(SCW_DEFAULT_PROJECT_ID)",
        "project_listing": "grant ProjectReadOnly (organization level) to the API key in IAM, "
        "or name the projects with --project",
    },
    Remedy.CHOOSE_REGION: {
        "": "use one of {regions}",
        "same_destination": "give --to-project and/or --to-region different from "
        "--project/--region",
    },
    Remedy.CHOOSE_SNAPSHOT: {
        "": "list snapshots with 'secret-kloset snapshots'",
    },
    Remedy.GRANT_PERMISSION: {
        "": "{hint}",
        "project_listing": "grant ProjectReadOnly (organization level) to the API key in IAM, "
        "or name the projects with --project",
    },
    Remedy.CONFIGURE_CREDENTIALS: {
        "": "give them one of three ways: a profile ('secret-kloset profile add NAME', secret "
        "key kept in the OS keyring; pick it with --profile or SECRET_KLOSET_PROFILE), the "
        "SCW_* environment variables, or the scw CLI config",
        "secret_key": "re-enter it with `secret-kloset profile add`, or fix SCW_SECRET_KEY",
        "profile_secret_missing": "store it again with 'secret-kloset profile add {profile} "
        "--force'",
        "profile_unknown": "add it with 'secret-kloset profile add {profile}', or import it from "
        "the scw config with 'secret-kloset profile import-scw'",
    },
    Remedy.RETRY_LATER: {
        "": "{hint}",
        "rate_limited": "lower the concurrency (--concurrency) or try again in a moment",
        "restore_interrupted": "run the same restore again: it skips what is already there",
        "backup_partial": "see the errors in the report (--json); fix the cause and back up "
        "again: the next backup re-reads what this one lacks",
        "restore_partial": "see each secret's error in the report (--json); fix the cause and "
        "run the same restore again: what is already restored is skipped",
    },
    Remedy.RUN_PRUNE: {
        "": "'secret-kloset store prune' rebuilds the index from the packs that are intact",
    },
    Remedy.RUN_REPAIR: {
        "": "run 'secret-kloset store check --read-data' to list the damage; 'store prune' "
        "rebuilds the index from the packs that are intact",
        "check": "run `secret-kloset check --read-data` on the store",
    },
    Remedy.FIX_CONFIG_FILE: {
        "": "{hint}",
        "scw_config_missing": "create one with 'scw init', or give its path with --config",
        "secret_in_file": "delete that line and store it in the OS keyring with "
        "'secret-kloset profile add {profile}' (or 'profile passphrase {profile}')",
    },
}


def error_details(err: KlosetError) -> Mapping[str, str]:
    """``err.details`` as strings, ready to fill a wording or a JSON error document."""
    return {str(k): str(v) for k, v in err.details.items()}


def _regions() -> str:
    from core.scaleway.models import REGIONS

    return ", ".join(REGIONS)


def hint_for(err: KlosetError) -> str | None:
    """The hint a CLI user sees for ``err``: its remedy in CLI words, else its own hint."""
    if err.remedy is None:
        return err.hint
    details = error_details(err)
    cases = WORDING.get(err.remedy, {})
    template = cases.get(details.get("case", ""), cases.get(""))
    if template is None:
        return err.hint
    values = {"hint": err.hint or "", **details}
    if "{regions}" in template and "regions" not in values:
        values["regions"] = _regions()
    try:
        text = template.format_map(values)
    except (KeyError, ValueError, IndexError):
        return err.hint
    return text or err.hint
