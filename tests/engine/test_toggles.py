"""The toggle journal (issue 9): the intent is written before a disabled version is enabled,
cleared after it is disabled again, and a later backup disables what a run left enabled."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from core.engine.backup import BackupOptions, ToggleJournal, heal_toggles, run_backup
from core.engine.events import EngineWarning, EventLog
from core.engine.preflight import NO_SUCH_REVISION
from core.scaleway.client import ScalewayClient
from core.scaleway.errors import TransportError
from core.scaleway.models import VersionStatus
from core.store import Store
from tests.engine.helpers import ORG, find_secret


async def test_a_clean_run_leaves_an_empty_journal(client: ScalewayClient, store: Store) -> None:
    result = await run_backup(client, store, BackupOptions(include_disabled=True))
    assert result.status == "complete"
    journal = ToggleJournal.for_organization(ORG)
    assert journal.entries() == [] and not journal.path.exists()
    assert str(journal.path).startswith(os.environ["XDG_STATE_HOME"])


async def test_a_run_that_dies_before_disabling_is_healed_by_the_next(
    client: ScalewayClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = client.disable_version

    async def dies(region: str, secret_id: str, revision: object) -> None:
        if revision == NO_SUCH_REVISION:  # the preflight's write probe, before any toggle
            return await probe(region, secret_id, revision)
        raise TransportError("the process died here")

    with monkeypatch.context() as mp:
        mp.setattr(client, "disable_version", dies)
        with pytest.raises(TransportError):
            await run_backup(client, store, BackupOptions(include_disabled=True, concurrency=1))
    journal = ToggleJournal.for_organization(ORG)
    (entry,) = journal.entries()  # the run died at its first toggle
    assert entry.pid == os.getpid()
    version = await client.get_version(entry.region, entry.secret_id, entry.revision)
    assert version.status == VersionStatus.ENABLED
    # A live owner keeps its entries; once it is gone (here: another pid), the next run heals.
    assert await heal_toggles(client, organization_id=ORG) == []
    journal.remove_sync({t.key for t in journal.entries()})
    journal.add_sync(replace(entry, pid=2**22 + 7))
    log = EventLog()
    result = await run_backup(client, store, BackupOptions(), on_event=log)
    assert any("left 1 disabled version(s) enabled" in w for w in result.warnings)
    assert any(isinstance(e, EngineWarning) and "interrupted" in e.message for e in log.events)
    version = await client.get_version(entry.region, entry.secret_id, entry.revision)
    assert version.status == VersionStatus.DISABLED
    assert journal.entries() == []


async def test_heal_leaves_versions_it_did_not_enable(client: ScalewayClient) -> None:
    secret = await find_secret(client, "stripe-key")
    journal = ToggleJournal.for_organization(ORG)
    await client.enable_version("fr-par", secret.id, 1)  # someone enabled it, not us
    assert await heal_toggles(client, journal=journal) == []
    assert (await client.get_version("fr-par", secret.id, 1)).status == VersionStatus.ENABLED
