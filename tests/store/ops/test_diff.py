"""diff_snapshots: added, removed, changed secrets and per-version changes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from core.store.model import SecretRecord, VersionRecord
from core.store.ops.diff import ADDED, CHANGED, REMOVED, diff_snapshots

T = datetime(2026, 1, 1, tzinfo=UTC)


def version(rev: int, payload: str | None = "aa", status: str = "enabled") -> VersionRecord:
    return VersionRecord(
        revision=rev,
        status=status,
        created_at=T,
        payload=(payload * 32 if payload else None),
        size=3,
        crc32=7,
    )


def record(
    sid: str, name: str = "db", project: str = "p1", versions: int = 2, **kw: object
) -> SecretRecord:
    base = SecretRecord(
        region="fr-par",
        project_id=project,
        secret_id=sid,
        name=name,
        path="/prod",
        versions=tuple(version(i + 1) for i in range(versions)),
        version_count=versions,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_identical_trees_have_no_changes() -> None:
    tree = [record("s1"), record("s2", name="api")]
    diff = diff_snapshots(tree, list(tree))
    assert diff.empty
    assert diff.unchanged == 2
    assert diff.to_json()["changes"] == []


def test_added_removed_changed() -> None:
    a = [record("s1"), record("s2", name="api"), record("s3", name="old")]
    b = [
        record("s1"),
        dataclasses.replace(record("s2", name="api"), description="rotated", tags=("x",)),
        record("s4", name="new", versions=1),
    ]
    diff = diff_snapshots(a, b)
    assert [c.record.secret_id for c in diff.added] == ["s4"]
    assert [c.record.secret_id for c in diff.removed] == ["s3"]
    assert [c.record.secret_id for c in diff.changed] == ["s2"]
    assert {f.field for f in diff.changed[0].fields} == {"description", "tags"}
    assert diff.counts() == {
        "secrets_added": 1,
        "secrets_removed": 1,
        "secrets_changed": 1,
        "secrets_unchanged": 1,
        "versions_added": 1,
        "versions_removed": 2,
        "versions_changed": 0,
    }
    doc = diff.to_json()
    assert [c["change"] for c in doc["changes"]] == [
        CHANGED,
        ADDED,
        REMOVED,
    ]  # tree order: api, new, old


def test_version_changes() -> None:
    old = record("s1", versions=3)
    new_versions = (
        version(1),
        version(2, status="disabled"),  # status changed
        version(4, payload="bb"),  # 3 removed, 4 added
    )
    new = dataclasses.replace(old, versions=new_versions)
    diff = diff_snapshots([old], [new])
    (change,) = diff.changed
    assert change.fields == ()
    kinds = {(v.revision, v.kind) for v in change.versions}
    assert kinds == {(2, CHANGED), (3, REMOVED), (4, ADDED)}
    status_change = next(v for v in change.versions if v.revision == 2)
    assert [f.field for f in status_change.fields] == ["status"]
    assert not status_change.data_changed


def test_data_change_detected_by_blob_id() -> None:
    old = record("s1", versions=1)
    new = dataclasses.replace(old, versions=(version(1, payload="cc"),))
    (change,) = diff_snapshots([old], [new]).changed
    (vchange,) = change.versions
    assert vchange.data_changed


def test_same_name_new_id_is_remove_plus_add() -> None:
    diff = diff_snapshots([record("s1")], [record("s9")])
    assert len(diff.added) == 1 and len(diff.removed) == 1 and not diff.changed


def test_records_without_id_fall_back_to_path_and_name() -> None:
    a = [record("", name="x"), record("", name="y")]
    b = [dataclasses.replace(record("", name="x"), description="d"), record("", name="y")]
    diff = diff_snapshots(a, b)
    assert len(diff.changed) == 1 and diff.changed[0].record.name == "x"


def test_projects_are_distinct_keys() -> None:
    diff = diff_snapshots([record("s1", project="p1")], [record("s1", project="p2")])
    assert len(diff.added) == 1 and len(diff.removed) == 1


def test_repr_hides_names() -> None:
    diff = diff_snapshots([], [record("s1", name="very-secret-name")])
    assert "very-secret-name" not in repr(diff.added[0])


records = st.lists(
    st.builds(
        record,
        sid=st.sampled_from(["s1", "s2", "s3", "s4", "s5"]),
        name=st.sampled_from(["a", "b"]),
        versions=st.integers(0, 3),
        description=st.sampled_from(["", "x"]),
    ),
    max_size=6,
    unique_by=lambda r: r.secret_id,
)


@settings(max_examples=100, deadline=None)
@given(records, records)
def test_diff_properties(a: list[SecretRecord], b: list[SecretRecord]) -> None:
    forward = diff_snapshots(a, b)
    backward = diff_snapshots(b, a)
    ids_a = {r.secret_id for r in a}
    ids_b = {r.secret_id for r in b}
    assert {c.record.secret_id for c in forward.added} == ids_b - ids_a
    assert {c.record.secret_id for c in forward.removed} == ids_a - ids_b
    assert len(forward.changed) + forward.unchanged == len(ids_a & ids_b)
    # symmetry
    assert {c.record.secret_id for c in backward.added} == {
        c.record.secret_id for c in forward.removed
    }
    assert {c.record.secret_id for c in backward.changed} == {
        c.record.secret_id for c in forward.changed
    }
    assert diff_snapshots(a, a).empty
