"""The history index over real local stores: history and find agree with the snapshots, the
index file holds no name, path or value, is rebuilt when deleted and extended when a new
snapshot arrives, and survives forgotten snapshots."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest

from core.engine.history import find_snapshots, secret_history
from core.engine.selectors import Selection
from core.store import Store
from core.store.history_index import close_history_index, history_index, history_path
from tests.history.helpers import T0, record, sid, truth, write_snapshot


def _as_truth(result: object) -> dict[tuple[str, int], list[str]]:
    out: dict[tuple[str, int], list[str]] = {}
    for s in result.secrets:  # type: ignore[attr-defined]
        for v in s.versions:
            out[(s.secret_id, v.revision)] = list(v.snapshots)
    return out


async def _three_snapshots(store: Store) -> tuple[str, str, list[str]]:
    a, b = sid(), sid()
    snaps = []
    r1 = record(a, "password", "/prod/db", [(1, "enabled")])
    other = record(b, "token", "/prod/api", [(1, "enabled"), (2, "enabled")])
    h = await write_snapshot(store, [(r1, {1: b"pw-one"}), (other, {1: b"t1", 2: b"t2"})], time=T0)
    snaps.append(h.id)
    r1 = record(a, "password", "/prod/db", [(1, "disabled"), (2, "enabled")])
    h = await write_snapshot(
        store,
        [(r1, {2: b"pw-two"}), (other, {1: b"t1", 2: b"t2"})],
        time=T0 + timedelta(hours=1),
    )
    snaps.append(h.id)
    # renamed and moved, same id; the token is gone from the source
    r1 = record(a, "db-password", "/prod/moved", [(1, "disabled"), (2, "enabled"), (3, "enabled")])
    h = await write_snapshot(
        store, [(r1, {2: b"pw-two", 3: b"pw-three"})], time=T0 + timedelta(hours=2)
    )
    snaps.append(h.id)
    return a, b, snaps


async def test_history_follows_a_renamed_secret_by_id(store: Store) -> None:
    a, b, snaps = await _three_snapshots(store)
    result = await secret_history(store, Selection.parse(["/prod/db/password"]))
    assert [s.secret_id for s in result.secrets] == [a]
    secret = result.secrets[0]
    assert secret.full_path == "/prod/moved/db-password"
    assert secret.names_seen == ("/prod/db/password", "/prod/moved/db-password")
    assert [v.revision for v in secret.versions] == [1, 2, 3]
    v1, v2, v3 = secret.versions
    assert v1.snapshots == tuple(snaps) and v1.status == "disabled" and v1.size == 6
    assert v2.first_snapshot == snaps[1] and v2.last_snapshot == snaps[2]
    assert v3.snapshots == (snaps[2],)
    assert all(v.in_source for v in secret.versions)
    # the new name finds it too; the whole history agrees with the trees
    again = await secret_history(store, Selection.parse(["db-password"]))
    assert [s.secret_id for s in again.secrets] == [a]
    everything = Selection.parse(["/prod"])
    assert _as_truth(await secret_history(store, everything)) == await truth(store, everything)
    token = next(s for s in (await secret_history(store, everything)).secrets if s.secret_id == b)
    assert not token.in_source and not any(v.in_source for v in token.versions)


async def test_find_names_the_snapshots_under_the_name_they_had(store: Store) -> None:
    a, _b, snaps = await _three_snapshots(store)
    found = await find_snapshots(store, Selection.parse(["password"]))
    assert [h.id for h, _ in found.snapshots] == snaps[:2]
    assert found.oldest is not None and found.oldest.id == snaps[0]
    assert found.newest is not None and found.newest.id == snaps[1]
    assert all(f.secret_id == a and f.path == "/prod/db" for _, fs in found.snapshots for f in fs)
    moved = await find_snapshots(store, Selection.parse(["/prod/moved/*"]))
    assert [h.id for h, _ in moved.snapshots] == [snaps[2]]
    # agrees with reading every tree
    for pattern in ("/prod/**", "token", "/nothing/*"):
        sel = Selection.parse([pattern])
        direct = []
        for h in await store.list_snapshots():
            if any(sel.matches(r.path, r.name, r.secret_id) for r in await store.read_tree(h)):
                direct.append(h.id)
        got = await find_snapshots(store, sel)
        assert [h.id for h, _ in got.snapshots] == direct


async def test_index_is_private_rebuilt_when_deleted_and_extended(store: Store) -> None:
    a, _b, snaps = await _three_snapshots(store)
    sel = Selection.parse(["id:" + a])
    first = await secret_history(store, sel)
    path = history_path(store)
    assert path is not None and path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    raw = path.read_bytes()
    for needle in (b"password", b"/prod", b"pw-one", b"pw-two", b"token", b"moved"):
        assert needle not in raw

    # a new snapshot is indexed incrementally (only it is read)
    index = history_index(store)
    r1 = record(a, "db-password", "/prod/moved", [(2, "enabled"), (3, "enabled"), (4, "enabled")])
    h4 = await write_snapshot(
        store, [(r1, {2: b"pw-two", 3: b"pw-three", 4: b"pw-4"})], time=T0 + timedelta(hours=3)
    )
    stats = await index.refresh(store)
    assert stats.indexed == 1 and not stats.rebuilt
    second = await secret_history(store, sel)
    assert [v.revision for v in second.secrets[0].versions] == [1, 2, 3, 4]
    v1 = second.secrets[0].versions[0]
    assert v1.last_snapshot == snaps[2] and not v1.in_source  # deleted at the source after backup
    assert second.secrets[0].versions[-1].snapshots == (h4.id,)

    # deleted: rebuilt from the store with the same answer
    close_history_index(store)
    path.unlink()
    rebuilt = await secret_history(store, sel)
    assert rebuilt.secrets == second.secrets
    assert path.exists()
    assert first.secrets[0].versions[0].snapshots == tuple(snaps)


async def test_forgotten_snapshots_leave_the_history(store: Store) -> None:
    a, _b, snaps = await _three_snapshots(store)
    sel = Selection.parse(["id:" + a])
    await secret_history(store, sel)
    await store.delete_snapshots([snaps[0]])
    result = await secret_history(store, sel)
    v1 = result.secrets[0].versions[0]
    assert v1.snapshots == tuple(snaps[1:])
    assert _as_truth(result) == await truth(store, sel)
    # an older snapshot arriving after (copy-snapshots) forces a rebuild, still right
    r = record(a, "password", "/prod/db", [(1, "enabled")])
    await write_snapshot(store, [(r, {1: b"pw-one"})], time=T0 - timedelta(days=1))
    stats = await history_index(store).refresh(store)
    assert stats.rebuilt
    assert _as_truth(await secret_history(store, sel)) == await truth(store, sel)


async def test_project_and_region_scope(store: Store) -> None:
    other_project = "3e9c6f4b-8d5a-4b1c-8f0e-4a5b6c7d8e9f"
    a, b = sid(), sid()
    await write_snapshot(store, [(record(a, "k", "/", [(1, "enabled")]), {1: b"x"})], time=T0)
    await write_snapshot(
        store,
        [(record(b, "k", "/", [(1, "enabled")], project=other_project), {1: b"y"})],
        time=T0 + timedelta(minutes=1),
        project=other_project,
    )
    both = await secret_history(store, Selection.parse(["k"]))
    assert {s.secret_id for s in both.secrets} == {a, b}
    one = await secret_history(store, Selection.parse(["k"]), project=other_project)
    assert [s.secret_id for s in one.secrets] == [b]
    assert one.secrets[0].in_source  # the newest snapshot of *its* project holds it
    none = await secret_history(store, Selection.parse(["k"]), region="nl-ams")
    assert none.secrets == ()


async def test_a_damaged_index_is_rebuilt_and_two_openers_agree(store: Store) -> None:
    a, _b, _snaps = await _three_snapshots(store)
    sel = Selection.parse(["id:" + a])
    expected = (await secret_history(store, sel)).secrets
    path = history_path(store)
    assert path is not None
    close_history_index(store)
    path.write_bytes(b"this is not a database" * 100)
    assert (await secret_history(store, sel)).secrets == expected
    # a second opener of the same file (another process) sees the same index
    from core.store.history_index import HistoryIndex, _names_key

    other = HistoryIndex(path, store.id, _names_key(store))
    try:
        stats = await other.refresh(store)
        assert stats.indexed == 0
        headers = await store.list_snapshots()
        catalog = await other.catalog(headers)
        assert {s.secret_id for s in catalog.secrets.values()} >= {a}
    finally:
        other.close()


async def test_find_revision_needs_one_secret(store: Store) -> None:
    from core.engine.history import find_revision
    from core.errors import UsageError

    a, _b, snaps = await _three_snapshots(store)
    header, rec = await find_revision(store, Selection.parse(["/prod/db/password"]), 1)
    assert rec.secret_id == a and header.id == snaps[0]  # only the first holds its data
    header, rec = await find_revision(store, Selection.parse(["id:" + a]), 2)
    assert header.id == snaps[2] and rec.name == "db-password"
    with pytest.raises(UsageError) as err:
        await find_revision(store, Selection.parse(["/prod"]), 1)
    assert "2 secrets match" in err.value.message and "/prod" not in err.value.message
