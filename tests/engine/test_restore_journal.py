"""The restore journal: a second restore of the same snapshot into the same destination lists
the destination's secrets and nothing else (no version list, no value read back); what changed out of band is
seen and handled as without a journal; a lost journal falls back to reading back; verification
reads everything; the journal's bytes hold no name, path or value."""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import blake3
import pytest

from core.emulator import EmulatorApp, parse_config
from core.engine.backup import BackupOptions, run_backup
from core.engine.restore import Action, RestorePlan, RestoreResult, apply_plan, plan_restore
from core.engine.restore.journal import (
    FILE_NAME,
    Journal,
    JournalSecret,
    JournalVersion,
    seal,
    unseal,
    unseal_all,
)
from core.scaleway.client import ScalewayClient
from core.scaleway.models import VersionStatus
from core.store import KdfParams, Store
from core.store.crypto import Keys, aead_encrypt
from tests.engine.helpers import TARGET, emulator_config, many_secrets

COUNT = 24  # bulk secrets of 3 versions each, beside the helpers' varied ones


@pytest.fixture
def app() -> EmulatorApp:
    return EmulatorApp(parse_config(emulator_config(many_secrets(COUNT, 3))), seed=1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A store with a cache directory on disk (the journal is a file there)."""
    s = await Store.init(
        f"memory://journal-{uuid.uuid4().hex}",
        "test passphrase",
        kdf=KdfParams.for_tests(),
        cache_dir=tmp_path / "cache",
    )
    try:
        yield s
    finally:
        await s.close()


def journal_file(store: Store) -> Path:
    (found,) = list(Path(str(store.cache.path)).parent.glob(FILE_NAME))
    return found


async def snapshot(client: ScalewayClient, store: Store) -> str:
    result = await run_backup(client, store, BackupOptions(include_disabled=True))
    assert result.status == "complete"
    return result.snapshot_id or ""


async def plan_and_apply(
    app: EmulatorApp, client: ScalewayClient, store: Store, snap: str, **kwargs: Any
) -> tuple[RestorePlan, RestoreResult, dict[str, int]]:
    """One restore into TARGET (no preflight: only what the restore itself asks counts)."""
    verify = kwargs.pop("verify", False)
    app.stats.reset()
    plan = await plan_restore(client, store, snap, to_project=TARGET, preflight=False, **kwargs)
    result = await apply_plan(client, store, plan, verify=verify)
    counts = dict(app.stats.by_operation)
    counts["requests"] = app.stats.requests
    return plan, result, counts


def decisions(plan: RestorePlan) -> list[tuple[str, str, tuple[int, ...], tuple[int, ...]]]:
    return [
        (
            a.secret_id,
            str(a.action),
            tuple(v.revision for v in a.versions),
            a.disable_revisions,
        )
        for a in plan.actions
    ]


def live_destinations(plan: RestorePlan) -> int:
    return sum(1 for a in plan.actions if a.destination_secret_id is not None)


async def test_a_second_restore_reads_nothing_back(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await snapshot(client, store)
    first_plan, first, one = await plan_and_apply(app, client, store, snap)
    assert first.status == "ok"
    assert journal_file(store).stat().st_size > 0

    reads = 0
    real_read = store.read_payload

    async def read_payload(blob_id: str) -> bytes:
        nonlocal reads
        reads += 1
        return await real_read(blob_id)

    store.read_payload = read_payload  # type: ignore[method-assign]
    plan, second, two = await plan_and_apply(app, client, store, snap)
    del store.read_payload
    assert second.status == "ok"
    # Nor from the store: what the journal vouches for is compared by blob id, not by bytes.
    assert reads == 0
    assert sum(a.action == Action.SKIP_IDENTICAL for a in plan.actions) >= COUNT
    assert not any(a.changes for a in plan.actions)
    assert second.summary()["versions_added"] == 0
    # No value read back, no "latest" get, no version list but the ephemeral secrets': every
    # other destination secret is listed as the journal recorded it (the next test counts).
    assert two.get("access_secret_version", 0) == 0
    assert two.get("get_secret_version", 0) == 0
    assert two.get("list_secret_versions", 0) <= 2
    assert live_destinations(plan) >= COUNT
    assert two["requests"] <= 0.2 * one["requests"], (one, two)

    # The same decisions as a restore without a journal (lost: it reads everything back).
    journal_file(store).unlink()
    lost_plan, lost, three = await plan_and_apply(app, client, store, snap)
    assert lost.status == "ok"
    assert decisions(lost_plan) == decisions(plan)
    enabled = sum(
        1
        for a in lost_plan.actions
        for v in a.record.versions
        if a.action == Action.SKIP_IDENTICAL and v.status == VersionStatus.ENABLED and v.payload
    )
    assert three["access_secret_version"] >= enabled - 2  # "one-shot" data is never read
    # ... and what it read back is journalled again: the next run reads nothing.
    _, _, four = await plan_and_apply(app, client, store, snap)
    assert four.get("access_secret_version", 0) == 0
    assert first_plan.counts()["create"] == len(decisions(plan)) - 1  # "old": not restored


async def test_a_second_restore_sends_a_tenth_of_the_first_ones_requests(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    """Issue 10's target: a destination secret whose listing equals what the journal
    recorded when the restore finished with it is decided without listing its versions."""
    snap = await snapshot(client, store)
    _, first, one = await plan_and_apply(app, client, store, snap)
    assert first.status == "ok"
    plan, second, two = await plan_and_apply(app, client, store, snap)
    assert second.status == "ok" and not any(a.changes for a in plan.actions)
    # The destination's list of secrets, and nothing per secret but a version list for each
    # one with an ephemeral policy (its versions expire without a trace on it).
    ephemeral = sum(
        1 for a in plan.actions if a.destination_secret_id and a.record.ephemeral_policy
    )
    assert ephemeral == 2
    assert two.get("list_secret_versions", 0) == ephemeral, two
    assert two.get("get_secret_version", 0) == 0, two
    assert two.get("access_secret_version", 0) == 0, two
    assert two["requests"] == two["list_secrets"] + ephemeral, two
    assert two["requests"] <= 0.1 * one["requests"], (one, two)


async def test_what_changed_out_of_band_is_handled_as_without_a_journal(
    app: EmulatorApp, client: ScalewayClient, store: Store, tmp_path: Path
) -> None:
    """What moves a destination secret's metadata is seen by a plain re-run: a new value
    (``version_count``), a patch or a rename (``updated_at``), a deletion. A version enabled
    or disabled by hand moves nothing on the secret: seen with verification (as the backup's
    unchanged check sees it only with --rescan); a lost journal falls back to reading."""
    snap = await snapshot(client, store)
    first_plan, first, _ = await plan_and_apply(app, client, store, snap)
    assert first.status == "ok"
    dest = {a.record.name: str(a.destination_secret_id) for a in first_plan.actions if a.changes}
    # Someone writes a new value; patches a secret and disables its latest version; renames
    # one; deletes one; and, on secrets left as they were, disables the latest version of one
    # and enables a disabled one.
    await client.create_version("fr-par", dest["s00001"], b"someone else's value")
    await client.update_secret("fr-par", dest["s00003"], description="patched by hand")
    await client.disable_version("fr-par", dest["s00003"], 3)
    await client.update_secret("fr-par", dest["s00005"], name="s00005-renamed")
    await client.delete_secret("fr-par", dest["s00004"])
    await client.disable_version("fr-par", dest["s00002"], 3)
    await client.enable_version("fr-par", dest["only-disabled"], 1)

    plain = await plan_restore(client, store, snap, to_project=TARGET, preflight=False)
    moved = journal_file(store).rename(tmp_path / "kept")
    without = await plan_restore(client, store, snap, to_project=TARGET, preflight=False)
    moved.rename(journal_file_path(store))
    by_name = {a.record.name: a for a in without.actions}
    assert by_name["s00001"].action == Action.ADD_VERSION
    assert by_name["s00002"].action == Action.ADD_VERSION
    assert by_name["s00003"].action == Action.ADD_VERSION
    assert by_name["s00004"].action == Action.RECOVER
    assert by_name["s00005"].action == Action.CREATE
    assert by_name["only-disabled"].action == Action.ADD_VERSION
    assert by_name["only-disabled"].disable_revisions == (1,)
    # A plain re-run sees what moved the secret, not a version toggled by hand.
    toggled = {by_name["s00002"].secret_id, by_name["only-disabled"].secret_id}
    seen = [d for d in decisions(plain) if d[0] not in toggled]
    assert seen == [d for d in decisions(without) if d[0] not in toggled]
    assert {str(a.action) for a in plain.actions if a.secret_id in toggled} == {
        Action.SKIP_IDENTICAL
    }
    # Verification trusts no journal: it sees the toggled versions too.
    checked = await plan_restore(client, store, snap, to_project=TARGET, preflight=False)
    await apply_plan(client, store, checked, verify=True, dry_run=True)
    assert decisions(checked) == decisions(without)
    verified = await plan_restore(client, store, snap, to_project=TARGET, preflight=False)
    result = await apply_plan(client, store, verified, verify=True)
    assert result.status == "ok"
    again = await plan_restore(client, store, snap, to_project=TARGET, preflight=False)
    assert not any(a.changes for a in again.actions)


def journal_file_path(store: Store) -> Path:
    return Path(str(store.cache.path)).parent / FILE_NAME


async def test_verification_reads_everything_back(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await snapshot(client, store)
    await plan_and_apply(app, client, store, snap)
    plan, result, counts = await plan_and_apply(app, client, store, snap, verify=True)
    assert result.status == "ok"
    assert not any(a.changes for a in plan.actions)
    assert counts["access_secret_version"] >= 3 * COUNT  # every bulk value, read back
    _, _, after = await plan_and_apply(app, client, store, snap)
    assert after.get("access_secret_version", 0) == 0


async def test_the_journal_holds_no_name_path_or_value(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await snapshot(client, store)
    plan, _, _ = await plan_and_apply(app, client, store, snap)
    raw = journal_file(store).read_bytes()
    secrets = [r for r in await store.read_tree(snap)]
    needles: set[bytes] = set()
    for record in secrets:
        for text in (record.name, record.path.strip("/")):
            if len(text) >= 4:
                needles.add(text.encode())
        for version in record.versions:
            if version.payload:
                data = await store.read_payload(version.payload)
                if len(data) >= 4:
                    needles.update({data, base64.b64encode(data)})
    ids = {a.destination_secret_id for a in plan.actions if a.destination_secret_id}
    needles.update(i.encode() for i in ids if i)
    needles.add(TARGET.encode())
    assert needles and not [n for n in needles if n in raw]
    # It reads back with the store's key only.
    entries = unseal(store.keys, raw)
    assert {sid for _, _, sid in entries} <= {str(i) for i in ids}
    other = await Store.init(
        f"memory://other-{uuid.uuid4().hex}",
        "another passphrase",
        kdf=KdfParams.for_tests(),
        cache_dir=":memory:",
    )
    try:
        assert unseal(other.keys, raw) == {}
    finally:
        await other.close()


async def test_a_damaged_journal_reads_as_empty(store: Store, tmp_path: Path) -> None:
    version = JournalVersion(1, "2026-12-01T00:00:00+00:00", 7, "ab" * 32)
    sealed = seal(store.keys, {("fr-par", TARGET, "sid"): {1: version}})
    assert unseal(store.keys, sealed) == {("fr-par", TARGET, "sid"): {1: version}}
    assert unseal(store.keys, sealed[:-1] + bytes([sealed[-1] ^ 1])) == {}
    assert unseal(store.keys, b"") == {}
    # Two restores saving at once: each replaces only its own secrets' entries.
    path = tmp_path / FILE_NAME
    a, b = Journal(store.keys, path), Journal(store.keys, path)
    a.save({("fr-par", TARGET, "one"): {1: version}})
    b.save({("fr-par", TARGET, "two"): {1: version}})
    c = Journal(store.keys, path)
    c.load()
    assert set(c.entries) == {("fr-par", TARGET, "one"), ("fr-par", TARGET, "two")}


def seal_version_1(
    keys: Keys, entries: dict[tuple[str, str, str], dict[int, JournalVersion]]
) -> bytes:
    """A journal file as version 1 wrote it (docs/FORMAT.md, "Restore journal")."""
    body = {
        "v": 1,
        "e": [
            [*key, [[v.revision, v.created_at, v.crc32, v.payload] for v in versions.values()]]
            for key, versions in entries.items()
        ],
    }
    plain = zlib.compress(json.dumps(body).encode())
    key = blake3.blake3(
        keys.master, derive_key_context="secret-kloset 2026-12-01 v1 restore journal"
    ).digest()
    return aead_encrypt(key, plain, b"secret-kloset restore journal v1" + keys.store_id)


async def test_a_version_1_journal_vouches_for_versions_not_secrets(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    snap = await snapshot(client, store)
    await plan_and_apply(app, client, store, snap)
    path = journal_file(store)
    entries, secrets = unseal_all(store.keys, path.read_bytes())
    assert entries and set(secrets) >= set(entries)
    path.write_bytes(seal_version_1(store.keys, entries))
    assert unseal_all(store.keys, path.read_bytes()) == (entries, {})

    plan, result, two = await plan_and_apply(app, client, store, snap)
    assert result.status == "ok" and not any(a.changes for a in plan.actions)
    # Its versions vouch for the data (nothing read back); not for the secrets (listed).
    assert two.get("access_secret_version", 0) == 0
    assert two["list_secret_versions"] == live_destinations(plan)
    # Saved again as version 2: the next run lists only the ephemeral secrets' versions.
    _, _, three = await plan_and_apply(app, client, store, snap)
    assert three.get("list_secret_versions", 0) == 2


def test_secret_level_records_seal_and_unseal(store: Store) -> None:
    version = JournalVersion(2, "2026-12-01T00:00:00+00:00", 7, "ab" * 32)
    record = JournalSecret("cd" * 16, ((2, version.created_at, "enabled"), (1, "", "disabled")))
    key, bare = ("fr-par", TARGET, "sid"), ("fr-par", TARGET, "no-version")
    sealed = seal(
        store.keys, {key: {2: version}}, {key: record, bare: JournalSecret("ef" * 16, ())}
    )
    assert unseal_all(store.keys, sealed) == (
        {key: {2: version}},
        {key: record, bare: JournalSecret("ef" * 16, ())},
    )
