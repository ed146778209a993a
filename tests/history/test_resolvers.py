"""``restore --at`` (parse_when, resolve_at), ``--revision`` without a snapshot (tested end
to end in test_cli_history) and the destination's version cap (fit_under_cap), the last one
checked against the emulator's own refusal over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.engine.history import NoSnapshotAtError, parse_when, resolve_at
from core.engine.restore.cap import counts_toward_cap, fit_under_cap
from core.errors import ExitCode, UsageError
from core.scaleway.client import ScalewayClient
from core.scaleway.errors import QuotaExceededError
from core.scaleway.models import MAX_VERSIONS_PER_SECRET
from core.store import Store
from tests.e2e.conftest import running_emulator
from tests.engine.helpers import FULL_SECRET, ORG, SOURCE, emulator_config
from tests.history.helpers import PROJECT, T0, record, sid, write_snapshot

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_parse_when() -> None:
    assert parse_when("2026-03-01T10:00:00Z") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_when("2026-03-01T12:00:00+02:00") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_when("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_when("2d", now=NOW) == NOW - timedelta(days=2)
    assert parse_when("3h", now=NOW) == NOW - timedelta(hours=3)
    assert parse_when("1w", now=NOW) == NOW - timedelta(days=7)
    assert parse_when("1m", now=NOW) == datetime(2026, 5, 15, 12, tzinfo=UTC)  # months
    for bad in ("", "soon", "2026-13-45T00:00:00Z", "3x"):
        with pytest.raises(UsageError):
            parse_when(bad)


async def test_resolve_at_picks_the_newest_at_or_before(store: Store) -> None:
    other = "3e9c6f4b-8d5a-4b1c-8f0e-4a5b6c7d8e9f"
    r = record(sid(), "k", "/", [(1, "enabled")])
    h1 = await write_snapshot(store, [(r, {1: b"a"})], time=T0)
    h2 = await write_snapshot(store, [(r, {1: b"a"})], time=T0 + timedelta(days=1))
    r_other = record(sid(), "k", "/", [(1, "enabled")], project=other)
    h3 = await write_snapshot(
        store, [(r_other, {1: b"b"})], time=T0 + timedelta(days=1, hours=1), project=other
    )
    assert (await resolve_at(store, T0)).id == h1.id  # at: inclusive
    assert (await resolve_at(store, T0 + timedelta(hours=23), PROJECT)).id == h1.id
    assert (await resolve_at(store, T0 + timedelta(days=3), PROJECT, "fr-par")).id == h2.id
    assert (await resolve_at(store, T0 + timedelta(days=3))).id == h3.id
    assert (await resolve_at(store, T0 + timedelta(days=3), other)).id == h3.id
    with pytest.raises(NoSnapshotAtError) as err:
        await resolve_at(store, T0 - timedelta(seconds=1))
    assert err.value.exit_code == ExitCode.USAGE
    with pytest.raises(NoSnapshotAtError):
        await resolve_at(store, T0 + timedelta(days=3), PROJECT, "nl-ams")


def test_fit_under_cap_keeps_the_newest() -> None:
    planned = [5, 3, 4, 1, 2]
    fit = fit_under_cap(17, planned, revision=lambda r: r)
    assert fit.fit == (3, 4, 5) and fit.over == (1, 2) and fit.room == 3 and fit.overflows
    assert fit_under_cap(0, planned, revision=lambda r: r).over == ()
    full = fit_under_cap(20, planned, revision=lambda r: r)
    assert full.fit == () and full.over == (1, 2, 3, 4, 5) and full.room == 0
    assert fit_under_cap(25, [1], revision=lambda r: r).room == 0
    empty = fit_under_cap(3, [], revision=lambda r: r)
    assert empty.fit == () and empty.over == () and empty.room == 17 and not empty.overflows
    with pytest.raises(ValueError):
        fit_under_cap(-1, planned, revision=lambda r: r)
    assert counts_toward_cap("enabled") and counts_toward_cap("disabled")
    assert counts_toward_cap("scheduled_for_deletion") and not counts_toward_cap("deleted")


async def test_the_cap_agrees_with_the_emulator() -> None:
    """A destination with 15 versions: of 10 planned ones, the 5 newest fit, and the API
    refuses one more."""
    with running_emulator(emulator_config()) as emu:
        async with ScalewayClient(
            FULL_SECRET,
            api_url=emu.url,
            organization_id=ORG,
            default_project_id=SOURCE,
            default_region="fr-par",
        ) as client:
            secret = await client.create_secret("fr-par", name="capped", project_id=SOURCE)
            for n in range(15):
                await client.create_version("fr-par", secret.id, f"old-{n}".encode())
            existing = [
                v
                async for v in client.list_versions("fr-par", secret.id)
                if counts_toward_cap(str(v.status))
            ]
            plan = fit_under_cap(len(existing), list(range(1, 11)), revision=lambda r: r)
            assert plan.fit == (6, 7, 8, 9, 10) and plan.over == (1, 2, 3, 4, 5)
            assert MAX_VERSIONS_PER_SECRET == 20
            for r in plan.fit:
                await client.create_version("fr-par", secret.id, f"new-{r}".encode())
            with pytest.raises(QuotaExceededError):
                await client.create_version("fr-par", secret.id, b"one too many")
