"""Every core raise site that names a remedy gets, from the CLI, the hint (and message) users
saw before core stopped naming flags, word for word.

Each case raises the error through core where that is cheap (a constructor, a check that runs
before any I/O); where the error needs a whole backup or restore, it is built with the
remedy and details its raise site sets (the site is named beside it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from cli import hints
from cli.main import main
from core.errors import KlosetError, PartialFailure, Remedy, UsageError

Factory = Callable[[Path], KlosetError]


def _raised(call: Callable[[], object]) -> KlosetError:
    with pytest.raises(KlosetError) as info:
        result = call()
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    return info.value


def _run(coro: Callable[[], Coroutine[Any, Any, object]]) -> KlosetError:
    return _raised(lambda: asyncio.run(coro()))


# --------------------------------------------------------------------------- credentials


def _profiles(tmp: Path, text: str = "") -> Any:
    from core.credentials.profiles import ProfileStore

    path = tmp / "profiles.toml"
    if text:
        path.write_text(text, encoding="utf-8")
    return ProfileStore(path)


def _profile(name: str = "prod") -> Any:
    from core.credentials.profiles import Profile

    return Profile(name=name)


def _scw_unknown_profile(tmp: Path) -> KlosetError:
    from core.credentials.scw_config import load_scw_config

    path = tmp / "config.yaml"
    path.write_text("secret_key: 11111111-1111-1111-1111-111111111111\n", encoding="utf-8")
    config = load_scw_config(path)
    assert config is not None
    return _raised(lambda: config.profile("nope"))


def _scw_missing(tmp: Path) -> KlosetError:
    from core.credentials.scw_config import load_scw_config

    return _raised(lambda: load_scw_config(tmp / "missing.yaml"))


def _secret_in_file(tmp: Path) -> KlosetError:
    store = _profiles(tmp, '[profiles.prod]\nsecret_key = "x"\n')
    return _raised(store.profiles)


def _bad_default(tmp: Path) -> KlosetError:
    store = _profiles(tmp, 'default_profile = "gone"\n[profiles.prod]\n')
    return _raised(store.profiles)


def _replace_existing(tmp: Path) -> KlosetError:
    store = _profiles(tmp)
    store.put(_profile())
    return _raised(lambda: store.put(_profile(), replace=False))


def _lookup_unknown(tmp: Path) -> KlosetError:
    from core.credentials.resolve import lookup_profile

    scw = tmp / "config.yaml"
    scw.write_text("profiles: {}\n", encoding="utf-8")
    return _raised(lambda: lookup_profile("ghost", profiles=_profiles(tmp), scw_config=scw))


def _secret_missing(tmp: Path) -> KlosetError:
    # core.credentials.resolve._from_profile (the keyring has no secret key for the profile)
    return KlosetError(
        "profile 'prod' has no secret key in the OS keyring (memory)",
        remedy=Remedy.ADD_PROFILE,
        details={"profile": "prod", "replace": "true", "case": "secret_missing"},
    )


CREDENTIALS: dict[str, tuple[Factory, str]] = {
    "scw profile unknown": (
        _scw_unknown_profile,
        "pick one of those (--scw-profile, or SCW_PROFILE)",
    ),
    "scw config missing": (
        _scw_missing,
        "create one with 'scw init', or give its path with --config",
    ),
    "secret in the profiles file": (
        _secret_in_file,
        "delete that line and store it in the OS keyring with 'secret-kloset profile add prod' "
        "(or 'profile passphrase prod')",
    ),
    "default_profile names none": (
        _bad_default,
        "run 'secret-kloset profile set-default NAME' with an existing profile",
    ),
    "ProfileStore.get unknown": (
        lambda tmp: _raised(lambda: _profiles(tmp).get("ghost")),
        "add it with 'secret-kloset profile add ghost', or import one with "
        "'secret-kloset profile import-scw'",
    ),
    "profile exists": (_replace_existing, "pass --force to replace it, or remove it first"),
    "set-default unknown": (
        lambda tmp: _raised(lambda: _profiles(tmp).set_default("ghost")),
        "list them with 'secret-kloset profile list'",
    ),
    "no credentials": (
        lambda tmp: __import__("core.credentials.resolve", fromlist=["x"])._missing_credentials(),
        "give them one of three ways: a profile ('secret-kloset profile add NAME', secret key "
        "kept in the OS keyring; pick it with --profile or SECRET_KLOSET_PROFILE), the "
        "environment (SCW_SECRET_KEY, with SCW_ACCESS_KEY, SCW_DEFAULT_ORGANIZATION_ID, "
        "SCW_DEFAULT_PROJECT_ID, SCW_DEFAULT_REGION), or the scw CLI's config file "
        "(~/.config/scw/config.yaml, 'scw init'; SCW_CONFIG_PATH, SCW_PROFILE)",
    ),
    "named profile unknown": (
        _lookup_unknown,
        "add it with 'secret-kloset profile add ghost', or import it from the scw config with "
        "'secret-kloset profile import-scw'",
    ),
    "profile secret missing": (
        _secret_missing,
        "store it again with 'secret-kloset profile add prod --force'",
    ),
}


# --------------------------------------------------------------------------- Scaleway client


def _client(**kwargs: Any) -> Any:
    from core.scaleway.client import ScalewayClient

    return ScalewayClient(**kwargs)


def _api(status: int, body: bytes = b"", operation: str | None = "list_secrets") -> KlosetError:
    from core.scaleway.endpoints import Operation
    from core.scaleway.errors import error_from_response

    return error_from_response(Operation(operation) if operation else None, status, body)


def _transport(tmp: Path) -> KlosetError:
    import httpx

    from core.scaleway.endpoints import Operation
    from core.scaleway.transport import transport_error

    return transport_error(Operation.LIST_SECRETS, httpx.ConnectError("x"), 1, "http://h")


CLIENT: dict[str, tuple[Factory, str]] = {
    "malformed secret key": (
        lambda tmp: _raised(lambda: _client(secret_key="has space")),
        "re-enter it with `secret-kloset profile add`, or fix SCW_SECRET_KEY",
    ),
    "API URL not http": (
        lambda tmp: _raised(
            lambda: _client(secret_key="11111111-1111-1111-1111-111111111111", api_url="ftp://x")
        ),
        "set SCW_API_URL (or the profile's api_url) to e.g. https://api.scaleway.com",
    ),
    "no project": (
        lambda tmp: _raised(
            lambda: _client(secret_key="11111111-1111-1111-1111-111111111111")._project(
                None, "list_secrets"
            )
        ),
        "pass a project id (--project) or set a default project in the profile "
        "(SCW_DEFAULT_PROJECT_ID)",
    ),
    "401": (
        lambda tmp: _api(401, b'{"type":"denied_authentication"}'),
        "check the secret key (the profile's key in the keyring, or SCW_SECRET_KEY); if the API "
        "key was deleted or has expired, create a new one in the Scaleway console "
        "(IAM → API keys)",
    ),
    "403 with a known set": (
        lambda tmp: _api(403, b'{"type":"permissions_denied"}', "list_secrets"),
        "grant SecretManagerReadOnly (or a set that includes it) to the API key's user or "
        "application in the Scaleway console (IAM → Policies), scoped to the project, or use "
        "an API key that has it",
    ),
    "403": (
        lambda tmp: _api(403, b'{"type":"permissions_denied"}', None),
        "check the IAM policy of the API key in the Scaleway console",
    ),
    "409": (
        lambda tmp: _api(409, b'{"type":"transient_state"}'),
        "the resource is locked or busy; try again later",
    ),
    "429": (
        lambda tmp: _api(429),
        "lower the concurrency (--concurrency) or try again in a moment",
    ),
    "503": (
        lambda tmp: _api(503),
        "this is on Scaleway's side; try again later (status.scaleway.com)",
    ),
    "unreachable": (
        _transport,
        "check the network connection and the API URL (SCW_API_URL or the profile's api_url)",
    ),
    "local region check": (
        lambda tmp: __import__("core.scaleway.errors", fromlist=["x"]).local_invalid(
            "list_secrets", "region", "unknown"
        ),
        "use one of fr-par, nl-ams, pl-waw",
    ),
}


# --------------------------------------------------------------------------- engines


def _sources(**options: Any) -> KlosetError:
    from core.engine.backup.sources import BackupOptions, resolve_sources

    class Client:
        async def list_projects(self, **kw: object) -> Any:
            from core.scaleway.errors import PermissionDeniedError

            raise PermissionDeniedError("list_projects: permission denied")
            yield  # pragma: no cover

    return _run(
        lambda: resolve_sources(
            Client(),  # type: ignore[arg-type]
            BackupOptions(**options),
            organization_id=None,
            default_project_id=None,
            default_region=None,
            emit=lambda event: None,
        )
    )


def _plan(**kwargs: Any) -> KlosetError:
    from core.engine.restore.plan import plan_restore

    return _run(lambda: plan_restore(None, None, "abcd", **kwargs))  # type: ignore[arg-type]


def _plan_records(**kwargs: Any) -> KlosetError:
    from core.engine.restore.plan import plan_restore
    from core.store.model import SecretRecord, VersionRecord

    class Header:
        id = "abcdef0123456789"

    class Store:
        async def resolve_snapshot(self, ref: str) -> Header:
            return Header()

        async def read_payload(self, payload_id: str) -> bytes:
            return b""

    record = SecretRecord(
        secret_id="11111111-1111-1111-1111-111111111111",
        project_id="22222222-2222-2222-2222-222222222222",
        region="fr-par",
        path="/",
        name="db",
        versions=(VersionRecord(1, "disabled"),),
    )
    return _run(
        lambda: plan_restore(
            None,  # type: ignore[arg-type]
            Store(),  # type: ignore[arg-type]
            "abcdef01",
            records=[record],
            preflight=False,
            **kwargs,
        )
    )


def _copy(**kwargs: Any) -> KlosetError:
    from core.engine.copy import run_copy

    return _run(lambda: run_copy(None, None, **kwargs))  # type: ignore[arg-type]


def _preflight(tmp: Path) -> KlosetError:
    from core.engine.preflight import Check, PreflightReport, missing_message

    report = PreflightReport(
        "restore", "fr-par", "p1", ("SecretManagerFullAccess",),
        {"SecretManagerFullAccess": Check.MISSING},
    )  # fmt: skip
    err = missing_message([report])
    assert err is not None
    return err


def _selection(text: str) -> Any:
    from core.engine.selectors import Selection

    return Selection.parse([text])


ENGINES: dict[str, tuple[Factory, str]] = {
    "regions and all regions": (
        lambda tmp: _sources(regions=("fr-par",), all_regions=True),
        "use one of them",
    ),
    "projects and all projects": (
        lambda tmp: _sources(projects=("p",), all_projects=True),
        "use one of them",
    ),
    "all projects without ProjectReadOnly": (
        lambda tmp: _sources(all_projects=True),
        "grant ProjectReadOnly (organization level) to the API key in IAM, or name the "
        "projects with --project",
    ),
    "no project to back up": (
        lambda tmp: _sources(),
        "pass --project ID (or --all-projects), or set a default project id in the profile or "
        "SCW_DEFAULT_PROJECT_ID",
    ),
    "unknown region": (
        lambda tmp: _raised(
            lambda: __import__("core.engine.selectors", fromlist=["x"]).check_region("mars")
        ),
        "use one of fr-par, nl-ams, pl-waw",
    ),
    "copy onto itself": (
        lambda tmp: _copy(project_id="p", region="fr-par", to_project="p"),
        "give --to-project and/or --to-region different from --project/--region",
    ),
    "missing permission sets": (
        _preflight,
        "grant them to the API key's IAM policy in the Scaleway console (IAM > Policies), for "
        "these projects, then run the command again",
    ),
    "revision below 1": (lambda tmp: _plan(revision=0), "revisions start at 1"),
    "unknown versions mode": (lambda tmp: _plan(versions="some"), "use all or latest"),
    "revision needed": (lambda tmp: _plan(versions="revision"), "pass --revision N"),
    "unknown conflict policy": (
        lambda tmp: _plan(on_conflict="merge"),
        "use skip, new-version or fail",
    ),
    "no secret matches": (
        lambda tmp: _plan_records(selection=_selection("/elsewhere/*")),
        "list the snapshot's secrets with `secret-kloset ls abcdef01`",
    ),
    "no secret has the revision": (
        lambda tmp: _plan_records(revision=7),
        "list the versions with `secret-kloset ls SNAPSHOT SELECTOR`",
    ),
    "revision without data": (
        lambda tmp: _plan_records(revision=1),
        "back up with --include-disabled to keep disabled versions' data, or choose another "
        "revision",
    ),
    # core.engine.restore.apply: CRC32 mismatch, conflicts, interrupted, restore_error
    "CRC32 mismatch": (
        lambda tmp: KlosetError(
            "secret s revision 1: the snapshot's data does not match its CRC32",
            remedy=Remedy.RUN_CHECK,
            details={"read_data": "true"},
        ),
        "run `secret-kloset check --read-data` on the store",
    ),
    "conflicts": (
        lambda tmp: KlosetError(
            "1 destination secret(s) differ from the snapshot (s); nothing was changed",
            remedy=Remedy.CHOOSE_CONFLICT_POLICY,
            details={"conflicts": "1"},
        ),
        "see them with --dry-run; use --on-conflict new-version to add a version, or skip to "
        "leave them",
    ),
    "restore interrupted": (
        lambda tmp: KlosetError(
            "the restore was interrupted after 1 of 2 action(s)",
            remedy=Remedy.RUN_AGAIN,
            details={"operation": "restore"},
        ),
        "run the same restore again: it skips what is already there",
    ),
    "restore partial": (
        lambda tmp: PartialFailure(
            "1 secret(s) could not be restored (s)",
            remedy=Remedy.SEE_REPORT,
            details={"operation": "restore", "case": "restore"},
        ),
        "see each secret's error in the report (--json); fix the cause and run the same "
        "restore again: what is already restored is skipped",
    ),
    # core.engine.backup.pipeline.backup_error
    "backup partial": (
        lambda tmp: PartialFailure(
            "snapshot abcdef01 is partial: 1 secret(s) failed (s)",
            remedy=Remedy.SEE_REPORT,
            details={"operation": "backup"},
        ),
        "see the errors in the report (--json); fix the cause and back up again: the next "
        "backup re-reads what this one lacks",
    ),
}


# --------------------------------------------------------------------------- store


def _store_error(name: str, *args: Any) -> KlosetError:
    from core.store import errors

    error: KlosetError = getattr(errors, name)(*args)
    return error


def _store_copy(tmp: Path) -> KlosetError:
    from core.store.ops.copy import copy_snapshots

    class Same:
        id = "s"

    return _run(lambda: copy_snapshots(Same(), Same(), []))  # type: ignore[arg-type]


def _forget(tmp: Path, **policy: Any) -> KlosetError:
    from datetime import UTC, datetime

    from core.store.model import SnapshotHeader
    from core.store.ops.forget import RetentionPolicy, apply_policy

    header = SnapshotHeader(id="ab" * 32, time=datetime(2026, 1, 1, tzinfo=UTC), tree="cd" * 32)
    return _raised(lambda: apply_policy([header], RetentionPolicy(**policy)))


def _locked(case: str | None) -> KlosetError:
    # core.store.locks: lost lock (refresh_failed), held by another run (held)
    from core.store.errors import StoreLockedError

    return StoreLockedError("the store is locked", details={"case": case} if case else None)


STORE: dict[str, tuple[Factory, str]] = {
    "no store": (
        lambda tmp: _store_error("StoreNotFoundError", "/nowhere"),
        "create one with 'secret-kloset store init', or check the location",
    ),
    "wrong passphrase": (
        lambda tmp: _store_error("WrongPassphraseError"),
        "check the passphrase (SECRET_KLOSET_PASSPHRASE, the profile's keyring entry, or the "
        "prompt)",
    ),
    "locked": (
        lambda tmp: _locked(None),
        "wait for the other process to finish; 'secret-kloset store unlock' removes stale locks",
    ),
    "lock held": (
        lambda tmp: _locked("held"),
        "wait for that process to finish; if it died, 'secret-kloset store unlock' removes "
        "stale locks",
    ),
    "lock lost": (
        lambda tmp: _locked("refresh_failed"),
        "check the connection to the store and retry; 'secret-kloset store unlock' removes "
        "stale locks",
    ),
    "corrupt": (
        lambda tmp: _store_error("CorruptStoreError", "bad"),
        "run 'secret-kloset store check --read-data' to list the damage; 'store prune' "
        "rebuilds the index from the packs that are intact",
    ),
    "blob missing": (
        lambda tmp: _store_error("BlobNotFoundError", "ab" * 32),
        "run 'secret-kloset store check --read-data' to list the damage; 'store prune' "
        "rebuilds the index from the packs that are intact",
    ),
    "prune refused": (
        lambda tmp: __import__("core.store.ops.prune", fromlist=["x"]).PruneRefused("damaged"),
        "run 'secret-kloset check --read-data' to see the damage; forget the damaged "
        "snapshot(s) if they cannot be repaired, then prune again",
    ),
    "no snapshot": (
        lambda tmp: _store_error("SnapshotNotFoundError", "abcd"),
        "list snapshots with 'secret-kloset snapshots'",
    ),
    "ambiguous snapshot": (
        lambda tmp: _store_error("AmbiguousSnapshotError", "a", 2),
        "give more characters of the snapshot id",
    ),
    "last key": (
        lambda tmp: _store_error("LastKeyError"),
        "add another passphrase first with 'secret-kloset store key add'",
    ),
    # core.store.keys.remove_key
    "no key slot": (
        lambda tmp: KlosetError("no key slot matches 'x'", remedy=Remedy.LIST_KEYS),
        "list them with 'store key list'",
    ),
    "session's own slot": (
        lambda tmp: UsageError(
            "refusing to remove key slot abcdef01: this session opened the store with it",
            remedy=Remedy.CHANGE_PASSPHRASE,
        ),
        "open the store with another passphrase to remove this one, or change it with "
        "'secret-kloset store key passwd'",
    ),
    "no store location": (
        lambda tmp: _raised(
            lambda: __import__("core.store.backends", fromlist=["x"]).open_backend("")
        ),
        "pass --store PATH or s3://bucket/prefix",
    ),
    "copy to the same store": (_store_copy, "copy to another store (a different --to-store)"),
    "no retention rule": (
        lambda tmp: _forget(tmp),
        "give at least one --keep-* option, or --allow-remove-all to really remove every snapshot",
    ),
    "policy empties a group": (
        lambda tmp: _forget(tmp, keep_tags=(frozenset({"never"}),)),
        "widen the policy (e.g. add --keep-last 1), change --group-by, or pass "
        "--allow-remove-all to remove them",
    ),
}

SITES = {**CREDENTIALS, **CLIENT, **ENGINES, **STORE}


@pytest.mark.parametrize(("factory", "hint"), list(SITES.values()), ids=list(SITES))
def test_the_cli_hint_is_the_one_before_the_restructure(
    factory: Factory, hint: str, tmp_path: Path
) -> None:
    err = factory(tmp_path)
    assert err.remedy is not None, "each site names a remedy"
    assert hints.hint_for(err) == hint


def test_every_remedy_raised_in_core_is_covered(tmp_path: Path) -> None:
    covered = set()
    for number, (factory, _) in enumerate(SITES.values()):
        (tmp_path / str(number)).mkdir()
        covered.add(factory(tmp_path / str(number)).remedy)
    unused = {Remedy.NARROW_SELECTION, Remedy.RUN_PRUNE, Remedy.RUN_REPAIR}  # no site in core
    assert covered | unused == set(Remedy)


# --------------------------------------------------------------------------- messages


def _keep(**counts: int) -> KlosetError:
    from core.store.ops.forget import RetentionPolicy

    return _raised(lambda: RetentionPolicy(**counts))


MESSAGES: dict[str, tuple[Callable[[], KlosetError], str]] = {
    "regions and all regions": (
        lambda: _sources(regions=("fr-par",), all_regions=True),
        "--region and --all-regions cannot be combined",
    ),
    "projects and all projects": (
        lambda: _sources(projects=("p",), all_projects=True),
        "--project and --all-projects cannot be combined",
    ),
    "all projects without ProjectReadOnly": (
        lambda: _sources(all_projects=True),
        "--all-projects needs to list the organization's projects, and the API key lacks the "
        "ProjectReadOnly permission set",
    ),
    "revision below 1": (lambda: _plan(revision=0), "--revision must be 1 or more"),
    "unknown versions mode": (lambda: _plan(versions="some"), "unknown --versions value 'some'"),
    "unknown conflict policy": (
        lambda: _plan(on_conflict="merge"),
        "unknown --on-conflict value 'merge'",
    ),
    "keep-last below -1": (
        lambda: _keep(keep_last=-5),
        "--keep-last must be a positive number, 0 (off) or -1 (unlimited)",
    ),
    "empty keep-tag": (
        lambda: _raised(
            lambda: __import__("core.store.ops.forget", fromlist=["x"]).parse_keep_tags([","])
        ),
        "empty --keep-tag value",
    ),
    # unchanged: the message names no flag
    "revision needed": (lambda: _plan(versions="revision"), "a revision is needed"),
}


@pytest.mark.parametrize(("factory", "message"), list(MESSAGES.values()), ids=list(MESSAGES))
def test_the_cli_message_names_the_flag_again(
    factory: Callable[[], KlosetError], message: str
) -> None:
    assert hints.message_for(factory()) == message


def test_the_printed_error_and_the_json_document_use_the_cli_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import json

    monkeypatch.setenv("SECRET_KLOSET_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", "x")
    assert main(["store", "init", "--kdf", "fast"]) == 0
    capsys.readouterr()
    code = main(["forget", "--keep-last", "-5", "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    message = "--keep-last must be a positive number, 0 (off) or -1 (unlimited)"
    assert f"secret-kloset: error: {message}" in err
    assert json.loads(out)["error"] == message
