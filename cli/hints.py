"""Core errors in the CLI's words: the one place that names flags and commands in an error.

``core`` says *what* fixes an error (:class:`core.errors.Remedy`, plus ``details``) and a
flag-free ``hint``; :func:`hint_for` turns that into the sentence a CLI user acts on, and
:func:`message_for` puts back the flag a few messages name on the command line ("--revision
must be 1 or more"). Without a remedy (or without wording for it), the error's own hint and
message are shown as they are.

A wording is chosen by ``details["case"]`` (a case the CLI does not know gets the remedy's
default, ``""``) and filled from ``details`` and ``{hint}`` (the core's sentence); a detail it
needs that is missing gives the core's hint. Where one remedy needs two wordings, the raise
site sets the ``case``. The raise sites, for the engineers who set remedies:

======================  =========================  ========================================
remedy                  case (other details used)  raised by
======================  =========================  ========================================
INIT_STORE              ""                         StoreNotFoundError
UNLOCK_STORE            "", "held",                StoreLockedError; store.locks (lock held
                        "refresh_failed"           by another run; lost lock)
CHECK_PASSPHRASE        ""                         WrongPassphraseError
CHOOSE_CONFLICT_POLICY  "", "unknown" (``value``)  restore's conflicts; plan's policy check*
NARROW_SELECTION        ""                         (none in core)
INCLUDE_DISABLED        ""                         restore plan: revision without data
CHOOSE_PROJECT          "", "backup"               client's default project; backup sources
CHOOSE_REGION           ""                         check_region; the client's local check
CHOOSE_SNAPSHOT         "", "ambiguous"            SnapshotNotFoundError, AmbiguousSnapshot…
GRANT_PERMISSION        "" (``{hint}``),           API 403s, preflight; backup sources
                        "project_listing"          (--all-projects without ProjectReadOnly)
CONFIGURE_CREDENTIALS   "", "secret_key",          no credentials; the client's key and URL
                        "api_url",                 checks; API 401
                        "authentication",
                        "profile_secret_missing" / (these two: no core site today; they
                        "profile_unknown"          are ADD_PROFILE's words, kept for a
                        (``profile``)              profile problem worded as credentials)
RETRY_LATER             "" (``{hint}``)            API 409 and 5xx, transport failures
LOWER_CONCURRENCY       ""                         API 429
RUN_PRUNE, RUN_REPAIR   ""                         (none in core)
FIX_CONFIG_FILE         "" (``{hint}``),           scw config file missing
                        "scw_config_missing"
CONFLICTING_OPTIONS     "" (``option``, ``other``) backup sources*
CHOOSE_REVISION         "", "too_small"            restore plan*
CHOOSE_VERSIONS         "" (``value``)             restore plan*
CHOOSE_DESTINATION      "", "store"                engine copy; store copy
LIST_SNAPSHOT           "" (``snapshot``),         restore plan: no secret / no revision
                        "versions"                 matches
SEE_REPORT              "", "restore"              partial backup; failed restore
RUN_CHECK               ""                         restore: CRC32 mismatch
RUN_AGAIN               ""                         interrupted restore
ADD_PROFILE             "", "not_in_file",         profile lookup; ProfileStore.get; key
                        "secret_missing",          not in the keyring; secret in the
                        "secret_in_file"           profiles file (``profile``)
CHOOSE_PROFILE          "", "pick", "set_default"  set_default; scw profile; default_profile
REPLACE_EXISTING        ""                         profile add without --force
ADD_KEY                 ""                         LastKeyError
LIST_KEYS               ""                         remove_key: no slot matches
CHANGE_PASSPHRASE       ""                         remove_key: the session's own slot
CHECK_STORE             "", "prune_refused"        CorruptStoreError; PruneRefused
CHOOSE_STORE            ""                         no store location
WIDEN_RETENTION         "" (no rule),              forget's policy
                        "empty_group"
======================  =========================  ========================================

Starred: the CLI's parser refuses these first with its own text (``--revision`` takes 1 or more,
``--versions`` and ``--on-conflict`` have choices, backup checks --region/--all-regions and
--project/--all-projects itself); the wording is for the engine's own check, word for word.

:func:`message_for` words the messages of CONFLICTING_OPTIONS (its ``option`` and ``other``
as flags), GRANT_PERMISSION "project_listing", CHOOSE_REVISION "too_small", CHOOSE_VERSIONS
and CHOOSE_CONFLICT_POLICY "unknown" (``value``), and of any error whose ``details`` name a
forget ``rule`` (``keep-last`` is ``--keep-last``).

The wordings are the CLI's hints and messages before core stopped naming flags, word for word.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import KlosetError, Remedy

_UNLOCK = "'secret-kloset store unlock' removes stale locks"
_PROFILE_UNKNOWN = (
    "add it with 'secret-kloset profile add {profile}', or import it from the scw config with "
    "'secret-kloset profile import-scw'"
)
_PROFILE_SECRET_MISSING = "store it again with 'secret-kloset profile add {profile} --force'"

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
        "unknown": "use skip, new-version or fail",
    },
    Remedy.NARROW_SELECTION: {
        "": "name one secret: its full path or id:<secret id>",
    },
    Remedy.INCLUDE_DISABLED: {
        "": "back up with --include-disabled to keep disabled versions' data, or choose "
        "another revision",
    },
    Remedy.CHOOSE_PROJECT: {
        "": "pass a project id (--project) or set a default project in the profile "
        "(SCW_DEFAULT_PROJECT_ID)",
        "backup": "pass --project ID (or --all-projects), or set a default project id in the "
        "profile or SCW_DEFAULT_PROJECT_ID",
    },
    Remedy.CHOOSE_REGION: {
        "": "use one of {regions}",
    },
    Remedy.CHOOSE_SNAPSHOT: {
        "": "list snapshots with 'secret-kloset snapshots'",
        "ambiguous": "give more characters of the snapshot id",
    },
    Remedy.GRANT_PERMISSION: {
        "": "{hint}",
        "project_listing": "grant ProjectReadOnly (organization level) to the API key in IAM, "
        "or name the projects with --project",
    },
    Remedy.CONFIGURE_CREDENTIALS: {
        "": "give them one of three ways: a profile ('secret-kloset profile add NAME', secret "
        "key kept in the OS keyring; pick it with --profile or SECRET_KLOSET_PROFILE), the "
        "environment (SCW_SECRET_KEY, with SCW_ACCESS_KEY, SCW_DEFAULT_ORGANIZATION_ID, "
        "SCW_DEFAULT_PROJECT_ID, SCW_DEFAULT_REGION), or the scw CLI's config file "
        "(~/.config/scw/config.yaml, 'scw init'; SCW_CONFIG_PATH, SCW_PROFILE)",
        "secret_key": "re-enter it with `secret-kloset profile add`, or fix SCW_SECRET_KEY",
        "api_url": "set SCW_API_URL (or the profile's api_url) to e.g. https://api.scaleway.com",
        "authentication": "check the secret key (the profile's key in the keyring, or "
        "SCW_SECRET_KEY); if the API key was deleted or has expired, create a new one in the "
        "Scaleway console (IAM → API keys)",
        "profile_secret_missing": _PROFILE_SECRET_MISSING,
        "profile_unknown": _PROFILE_UNKNOWN,
    },
    Remedy.RETRY_LATER: {
        "": "{hint}",
    },
    Remedy.LOWER_CONCURRENCY: {
        "": "lower the concurrency (--concurrency) or try again in a moment",
    },
    Remedy.RUN_PRUNE: {
        "": "'secret-kloset store prune' rebuilds the index from the packs that are intact",
    },
    Remedy.RUN_REPAIR: {
        "": "run 'secret-kloset store check --read-data' to list the damage; 'store prune' "
        "rebuilds the index from the packs that are intact",
    },
    Remedy.FIX_CONFIG_FILE: {
        "": "{hint}",
        "scw_config_missing": "create one with 'scw init', or give its path with --config",
    },
    Remedy.CONFLICTING_OPTIONS: {
        "": "use one of them",
    },
    Remedy.CHOOSE_REVISION: {
        "": "pass --revision N",
        "too_small": "revisions start at 1",
    },
    Remedy.CHOOSE_VERSIONS: {
        "": "use all or latest",
    },
    Remedy.CHOOSE_DESTINATION: {
        "": "give --to-project and/or --to-region different from --project/--region",
        "store": "copy to another store (a different --to-store)",
    },
    Remedy.LIST_SNAPSHOT: {
        "": "list the snapshot's secrets with `secret-kloset ls {snapshot}`",
        "versions": "list the versions with `secret-kloset ls SNAPSHOT SELECTOR`",
    },
    Remedy.SEE_REPORT: {
        "": "see the errors in the report (--json); fix the cause and back up again: the next "
        "backup re-reads what this one lacks",
        "restore": "see each secret's error in the report (--json); fix the cause and run the "
        "same restore again: what is already restored is skipped",
    },
    Remedy.RUN_CHECK: {
        "": "run `secret-kloset check --read-data` on the store",
    },
    Remedy.RUN_AGAIN: {
        "": "run the same restore again: it skips what is already there",
    },
    Remedy.ADD_PROFILE: {
        "": _PROFILE_UNKNOWN,
        "not_in_file": "add it with 'secret-kloset profile add {profile}', or import one with "
        "'secret-kloset profile import-scw'",
        "secret_missing": _PROFILE_SECRET_MISSING,
        "secret_in_file": "delete that line and store it in the OS keyring with "
        "'secret-kloset profile add {profile}' (or 'profile passphrase {profile}')",
    },
    Remedy.CHOOSE_PROFILE: {
        "": "list them with 'secret-kloset profile list'",
        "pick": "pick one of those (--scw-profile, or SCW_PROFILE)",
        "set_default": "run 'secret-kloset profile set-default NAME' with an existing profile",
    },
    Remedy.REPLACE_EXISTING: {
        "": "pass --force to replace it, or remove it first",
    },
    Remedy.ADD_KEY: {
        "": "add another passphrase first with 'secret-kloset store key add'",
    },
    Remedy.LIST_KEYS: {
        "": "list them with 'store key list'",
    },
    Remedy.CHANGE_PASSPHRASE: {
        "": "open the store with another passphrase to remove this one, or change it with "
        "'secret-kloset store key passwd'",
    },
    Remedy.CHECK_STORE: {
        "": "run 'secret-kloset store check --read-data' to list the damage; 'store prune' "
        "rebuilds the index from the packs that are intact",
        "prune_refused": "run 'secret-kloset check --read-data' to see the damage; forget the "
        "damaged snapshot(s) if they cannot be repaired, then prune again",
    },
    Remedy.CHOOSE_STORE: {
        "": "pass --store PATH or s3://bucket/prefix",
    },
    Remedy.WIDEN_RETENTION: {
        "": "give at least one --keep-* option, or --allow-remove-all to really remove every "
        "snapshot",
        "empty_group": "widen the policy (e.g. add --keep-last 1), change --group-by, or pass "
        "--allow-remove-all to remove them",
    },
}

# Messages that name a flag on the command line, by remedy and case (exact: no default).
MESSAGES: Mapping[Remedy, Mapping[str, str]] = {
    Remedy.CONFLICTING_OPTIONS: {
        "": "{option_flag} and {other_flag} cannot be combined",
    },
    Remedy.GRANT_PERMISSION: {
        "project_listing": "--all-projects needs to list the organization's projects, and the "
        "API key lacks the ProjectReadOnly permission set",
    },
    Remedy.CHOOSE_REVISION: {
        "too_small": "--revision must be 1 or more",
    },
    Remedy.CHOOSE_VERSIONS: {
        "": "unknown --versions value {value!r}",
    },
    Remedy.CHOOSE_CONFLICT_POLICY: {
        "unknown": "unknown --on-conflict value {value!r}",
    },
}

# The flag of an option core names in ``details`` (``option``/``other``).
FLAGS: Mapping[str, str] = {
    "regions": "--region",
    "all_regions": "--all-regions",
    "projects": "--project",
    "all_projects": "--all-projects",
}


def error_details(err: KlosetError) -> Mapping[str, str]:
    """``err.details`` as strings, ready to fill a wording or a JSON error document."""
    details = err.details if isinstance(err.details, Mapping) else {}
    return {str(k): str(v) for k, v in details.items()}


def _regions() -> str:
    from core.scaleway.models import REGIONS

    return ", ".join(REGIONS)


def _fill(template: str, values: Mapping[str, str]) -> str | None:
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError):
        return None


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
    return _fill(template, values) or err.hint


def message_for(err: KlosetError) -> str:
    """The message a CLI user sees for ``err``: its own, with the flag put back where core
    names an option or a forget rule ("keep-last" is ``--keep-last``)."""
    details = error_details(err)
    rule = details.get("rule")
    if rule and rule in err.message and f"--{rule}" not in err.message:
        return err.message.replace(rule, f"--{rule}", 1)
    if err.remedy is None:
        return err.message
    template = MESSAGES.get(err.remedy, {}).get(details.get("case", ""))
    if template is None:
        return err.message
    values = dict(details)
    for key in ("option", "other"):
        if details.get(key) in FLAGS:
            values[f"{key}_flag"] = FLAGS[details[key]]
    return _fill(template, values) or err.message
