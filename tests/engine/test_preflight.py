"""The preflight on real ground (issue 14): what each probe's answer proves, with a key of
each permission set, on an API that checks permissions first (the emulator's default) and on
one that looks resources up first (``lookup_before_permission``), where it must say
``unknown``, never ``missing``."""

from __future__ import annotations

import uuid

import pytest

from core.emulator import ApiKey, EmulatorApp, parse_config
from core.engine.preflight import PreflightError, preflight, require, required_sets
from core.scaleway.permissions import PermissionSet
from tests.engine.conftest import make_client
from tests.engine.helpers import SOURCE, TARGET, emulator_config

READ = str(PermissionSet.SECRET_READ_ONLY)
ACCESS = str(PermissionSet.SECRET_ACCESS)
CREATE = str(PermissionSet.SECRET_CREATE)
WRITE = str(PermissionSet.SECRET_WRITE)
RESTORE = str(PermissionSet.SECRET_RESTORE)
NARROW = (READ, ACCESS, CREATE, WRITE, RESTORE)


def _app(*, lookup_first: bool = False) -> EmulatorApp:
    config = emulator_config()
    config.setdefault("settings", {})["lookup_before_permission"] = lookup_first
    return EmulatorApp(parse_config(config), seed=1)


def _key(app: EmulatorApp, sets: set[str]) -> str:
    secret = str(uuid.uuid4())
    access = "SCW" + uuid.uuid4().hex[:17].upper()
    with app.state.lock:
        app.state.add_api_key(ApiKey(access, secret, frozenset(sets)))
    return secret


async def _results(app: EmulatorApp, sets: set[str], operation: str, project: str) -> dict:
    async with make_client(app, _key(app, sets)) as client:
        report = await preflight(
            client, operation=operation, region="fr-par", project_id=project, check_projects=False
        )
    assert set(report.to_dict()) == {
        "operation",
        "region",
        "project_id",
        "required",
        "present",
        "missing",
        "unknown",
        "project_names",
        "notes",
    }
    return report.results


@pytest.mark.parametrize("lacking", [ACCESS, WRITE])
async def test_backup_probes_a_listed_secret_and_a_403_there_is_missing(lacking: str) -> None:
    app = _app()
    held = set(NARROW) - {lacking}
    results = await _results(app, held, "backup", SOURCE)
    wanted = required_sets("backup", include_disabled=True)
    async with make_client(app, _key(app, held)) as client:
        report = await preflight(
            client,
            operation="backup",
            region="fr-par",
            project_id=SOURCE,
            include_disabled=True,
            check_projects=False,
        )
    assert report.missing == (lacking,)
    assert set(report.present) == set(wanted) - {lacking}
    assert results[READ] == "present"
    # Nothing was read or changed: the probes targeted a revision that cannot exist.
    assert app.stats["disable_secret_version"] >= 1
    assert all(
        v.status != "disabled" or v.revision < 2**32 - 1
        for s in app.state.iter_secrets()
        for v in s.versions
    )


@pytest.mark.parametrize("lacking", [CREATE, WRITE, RESTORE])
async def test_restore_probes_in_an_empty_project_are_calibrated(lacking: str) -> None:
    """TARGET holds no secret: random ids, read with the calibration (the API answers an
    unknown id 404 when the permission is held), so a 403 is a missing set."""
    app = _app()
    results = await _results(app, set(NARROW) - {lacking}, "restore", TARGET)
    assert results[lacking] == "missing"
    assert all(results[s] == "present" for s in required_sets("restore") if s != lacking)


async def test_a_key_holding_everything_learns_no_order_and_says_unknown() -> None:
    """No probe was refused, so no answer shows the API checks permissions before lookups:
    the 404s prove nothing, and the preflight says so without blocking."""
    app = _app()
    async with make_client(app, _key(app, set(NARROW))) as client:
        reports = await require(client, [("fr-par", SOURCE)], operation="backup")
    report = reports[0]
    assert report.ok and report.results[READ] == "present"
    assert report.unknown == (ACCESS,)
    assert any("run will find out" in n for n in report.notes)


@pytest.mark.parametrize("lacking", [ACCESS, WRITE])
async def test_lookup_first_api_gives_unknown_not_missing(lacking: str) -> None:
    app = _app(lookup_first=True)
    async with make_client(app, _key(app, set(NARROW) - {lacking})) as client:
        report = await preflight(
            client,
            operation="backup",
            region="fr-par",
            project_id=SOURCE,
            include_disabled=True,
            check_projects=False,
        )
        assert report.ok and not report.missing
        assert lacking in report.unknown
        # ...and require() lets the run go on (it finds out per secret).
        await require(client, [("fr-par", SOURCE)], operation="backup", include_disabled=True)


async def test_lookup_first_api_in_an_empty_project_is_unknown_too() -> None:
    app = _app(lookup_first=True)
    results = await _results(app, {READ, ACCESS}, "restore", TARGET)
    assert {results[s] for s in (CREATE, WRITE, RESTORE)} == {"unknown"}


async def test_missing_read_still_blocks() -> None:
    app = _app()
    async with make_client(app, _key(app, {ACCESS})) as client:
        with pytest.raises(PreflightError) as refused:
            await require(client, [("fr-par", SOURCE)], operation="backup")
    assert READ in str(refused.value)


async def test_lookup_first_mode_answers_404_for_what_does_not_exist() -> None:
    app = _app(lookup_first=True)
    async with make_client(app, _key(app, {READ})) as client:
        secret = await anext(client.list_secrets("fr-par", project_id=SOURCE, page_size=1))
        from core.scaleway.errors import NotFoundError, PermissionDeniedError

        with pytest.raises(NotFoundError):
            await client.access_version("fr-par", str(uuid.uuid4()), "latest")
        with pytest.raises(NotFoundError) as gone:
            await client.access_version("fr-par", secret.id, 2**32 - 1)
        assert gone.value.resource == "secret_version"
        with pytest.raises(PermissionDeniedError):
            await client.access_version("fr-par", secret.id, "latest")
