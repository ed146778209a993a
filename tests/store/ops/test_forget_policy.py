"""Retention policy: examples as restic documents them, and property tests of its invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import UsageError
from core.store.model import SnapshotHeader, SourceInfo
from core.store.ops.forget import (
    UNLIMITED,
    GroupBy,
    RetentionDuration,
    RetentionPolicy,
    RetentionRefused,
    apply_policy,
    parse_keep_tags,
)


def Source(project_id: str = "p1", region: str = "fr-par") -> SourceInfo:
    return SourceInfo(provider="scaleway", region=region, project_id=project_id)


def Header(
    id: str,
    time: datetime,
    tags: tuple[str, ...] = (),
    environment: str | None = None,
    source: SourceInfo | None = None,
    pinned: bool = False,
) -> SnapshotHeader:
    return SnapshotHeader(
        id=id,
        time=time,
        tree="00" * 32,
        sources=(source or Source(),),
        tags=tags,
        environment=environment,
        pinned=pinned,
    )


T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def hourly_series(
    count: int, start: datetime = T0, step: timedelta = timedelta(hours=1)
) -> list[Header]:
    return [Header(id=f"s{i:04d}", time=start - i * step) for i in range(count)]


def kept_ids(headers: list[Header], policy: RetentionPolicy) -> set[str]:
    return {d.snapshot_id for d in apply_policy(headers, policy).kept}


# --------------------------------------------------------------------------- examples


def test_keep_last_keeps_the_newest() -> None:
    headers = hourly_series(10)
    assert kept_ids(headers, RetentionPolicy(keep_last=3)) == {"s0000", "s0001", "s0002"}


def test_keep_daily_keeps_newest_of_each_day() -> None:
    # 4 snapshots a day for 5 days, newest first
    headers = hourly_series(20, step=timedelta(hours=6))
    result = apply_policy(headers, RetentionPolicy(keep_daily=3))
    kept = result.kept
    assert len(kept) == 3
    days = [d.snapshot.time.date() for d in kept]
    assert len(set(days)) == 3
    for decision in kept:
        same_day = [h for h in headers if h.time.date() == decision.snapshot.time.date()]
        assert decision.snapshot.time == max(h.time for h in same_day)
        assert decision.reasons == ("daily snapshot",)


def test_weekly_monthly_yearly_and_unlimited() -> None:
    headers = hourly_series(800, step=timedelta(days=1))
    assert len(kept_ids(headers, RetentionPolicy(keep_weekly=4))) == 4
    assert len(kept_ids(headers, RetentionPolicy(keep_monthly=6))) == 6
    # 800 days from 2026-01-15 back spans 2023..2026: 4 years
    assert len(kept_ids(headers, RetentionPolicy(keep_yearly=UNLIMITED))) == 4
    assert len(kept_ids(headers, RetentionPolicy(keep_monthly=UNLIMITED))) == len(
        {(h.time.year, h.time.month) for h in headers}
    )


def test_reasons_name_every_rule_that_kept_a_snapshot() -> None:
    headers = [Header("a", T0, tags=("release",)), Header("b", T0 - timedelta(days=1))]
    result = apply_policy(
        headers, RetentionPolicy(keep_last=1, keep_daily=2, keep_tags=parse_keep_tags(["release"]))
    )
    reasons = {d.snapshot_id: d.reasons for d in result.decisions}
    assert reasons["a"] == ("last snapshot", "daily snapshot", "tag release")
    assert reasons["b"] == ("daily snapshot",)


def test_keep_within_is_relative_to_newest_snapshot() -> None:
    # the newest snapshot is a year old: keep-within 2d still keeps the last 2 days of them
    old = T0 - timedelta(days=365)
    headers = hourly_series(100, start=old, step=timedelta(hours=12))
    kept = kept_ids(headers, RetentionPolicy(keep_within=RetentionDuration.parse("2d")))
    assert kept == {f"s{i:04d}" for i in range(5)}  # 0h,12h,24h,36h,48h


def test_keep_tag_needs_all_tags_of_one_entry() -> None:
    headers = [
        Header("a", T0, tags=("x", "y")),
        Header("b", T0 - timedelta(hours=1), tags=("x",)),
        Header("c", T0 - timedelta(hours=2), tags=("z",)),
    ]
    policy = RetentionPolicy(keep_tags=parse_keep_tags(["x,y", "z"]), allow_empty=True)
    assert kept_ids(headers, policy) == {"a", "c"}


def test_pinned_is_always_kept() -> None:
    headers = hourly_series(5)
    headers[4] = Header("pin", headers[4].time, pinned=True)
    result = apply_policy(headers, RetentionPolicy(keep_last=1))
    assert {d.snapshot_id for d in result.kept} == {"s0000", "pin"}
    assert next(d for d in result.kept if d.snapshot_id == "pin").reasons == ("pinned",)


def test_groups_are_judged_separately() -> None:
    a = [Header(f"a{i}", T0 - timedelta(hours=i), source=Source(project_id="pa")) for i in range(3)]
    b = [
        Header(f"b{i}", T0 - timedelta(hours=i, minutes=30), source=Source(project_id="pb"))
        for i in range(3)
    ]
    assert kept_ids(a + b, RetentionPolicy(keep_last=1)) == {"a0", "b0"}
    assert kept_ids(a + b, RetentionPolicy(keep_last=1, group_by=GroupBy.NONE)) == {"a0"}
    result = apply_policy(a + b, RetentionPolicy(keep_last=1))
    assert [g.label["project_id"] for g in result.groups] == ["pa", "pb"]


def test_group_by_environment() -> None:
    headers = [
        Header("p1", T0, environment="production"),
        Header("p2", T0 - timedelta(hours=1), environment="production"),
        Header("s1", T0 - timedelta(hours=2), environment="staging"),
    ]
    assert kept_ids(headers, RetentionPolicy(keep_last=1, group_by=GroupBy.ENVIRONMENT)) == {
        "p1",
        "s1",
    }


def test_empty_policy_is_refused_unless_allowed() -> None:
    headers = hourly_series(3)
    with pytest.raises(RetentionRefused):
        apply_policy(headers, RetentionPolicy())
    result = apply_policy(headers, RetentionPolicy(allow_empty=True))
    assert not result.kept and len(result.removed) == 3


def test_policy_emptying_one_group_is_refused() -> None:
    headers = [
        Header("a", T0, tags=("keep",), source=Source(project_id="pa")),
        Header("b", T0, source=Source(project_id="pb")),
    ]
    policy = RetentionPolicy(keep_tags=parse_keep_tags(["keep"]))
    with pytest.raises(RetentionRefused) as info:
        apply_policy(headers, policy)
    assert "pb" in info.value.message  # ids only, never names
    assert kept_ids(headers, RetentionPolicy(keep_tags=policy.keep_tags, allow_empty=True)) == {"a"}


def test_no_snapshots_is_fine() -> None:
    assert apply_policy([], RetentionPolicy(keep_last=1)).decisions == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", RetentionDuration(days=7)),
        ("2w", RetentionDuration(days=14)),
        ("1y", RetentionDuration(years=1)),
        ("36h", RetentionDuration(hours=36)),
        ("1y6m2d3h", RetentionDuration(years=1, months=6, days=2, hours=3)),
    ],
)
def test_duration_parse(text: str, expected: RetentionDuration) -> None:
    assert RetentionDuration.parse(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d7", "7x", "1d1d", "-3d", "1.5d"])
def test_duration_parse_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        RetentionDuration.parse(text)


def test_duration_calendar_arithmetic() -> None:
    moment = datetime(2026, 3, 31, 10, tzinfo=UTC)
    assert RetentionDuration(months=1).before(moment) == datetime(2026, 2, 28, 10, tzinfo=UTC)
    assert RetentionDuration(years=1, hours=10).before(moment) == datetime(2025, 3, 31, tzinfo=UTC)
    assert RetentionDuration(years=5000).before(moment).year == 1


def test_negative_counts_rejected() -> None:
    with pytest.raises(UsageError):
        RetentionPolicy(keep_last=-2)


# --------------------------------------------------------------------------- properties

times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
header_lists = st.lists(
    st.tuples(
        times,
        st.sampled_from(["pa", "pb", "pc"]),
        st.booleans(),
        st.sampled_from([(), ("t",), ("u",)]),
    ),
    min_size=0,
    max_size=40,
).map(
    lambda rows: [
        Header(id=f"h{i:03d}", time=t, source=Source(project_id=p), pinned=pin, tags=tags)
        for i, (t, p, pin, tags) in enumerate(rows)
    ]
)
counts = st.integers(min_value=-1, max_value=6)
policies = st.builds(
    RetentionPolicy,
    keep_last=counts,
    keep_hourly=counts,
    keep_daily=counts,
    keep_weekly=counts,
    keep_monthly=counts,
    keep_yearly=counts,
    keep_within=st.none()
    | st.builds(RetentionDuration, days=st.integers(0, 400), hours=st.integers(0, 48)),
    keep_tags=st.sampled_from([(), (frozenset({"t"}),)]),
    group_by=st.sampled_from(list(GroupBy)),
    allow_empty=st.just(True),
)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(header_lists, policies)
def test_every_snapshot_decided_once_and_reasons_match(
    headers: list[Header], policy: RetentionPolicy
) -> None:
    result = apply_policy(headers, policy)
    ids = [d.snapshot_id for d in result.decisions]
    assert sorted(ids) == sorted(h.id for h in headers)
    for decision in result.decisions:
        assert decision.keep == bool(decision.reasons)
        if decision.snapshot.pinned:
            assert decision.keep and "pinned" in decision.reasons


@PROPS
@given(
    header_lists,
    policies,
    st.sampled_from(
        ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"]
    ),
)
def test_widening_a_rule_never_removes_more(
    headers: list[Header], policy: RetentionPolicy, rule: str
) -> None:
    before = kept_ids(headers, policy)
    value = getattr(policy, rule)
    wider = UNLIMITED if value == UNLIMITED else value + 1
    args = {**{k: getattr(policy, k) for k in policy.__slots__}, rule: wider}  # type: ignore[attr-defined]
    assert before <= kept_ids(headers, RetentionPolicy(**args))


@PROPS
@given(header_lists, st.integers(1, 8))
def test_keep_last_keeps_exactly_the_newest_of_each_group(headers: list[Header], n: int) -> None:
    result = apply_policy(headers, RetentionPolicy(keep_last=n))
    for group in result.groups:
        members = sorted(
            group.decisions, key=lambda d: (d.snapshot.time, d.snapshot_id), reverse=True
        )
        non_pinned_kept = [d for d in group.kept if "last snapshot" in d.reasons]
        assert len(non_pinned_kept) == min(n, len(members))
        assert [d.snapshot_id for d in members[: min(n, len(members))]] == [
            d.snapshot_id for d in non_pinned_kept
        ]


@PROPS
@given(
    header_lists,
    st.integers(1, 6),
    st.sampled_from(["hourly", "daily", "weekly", "monthly", "yearly"]),
)
def test_bucket_rules_keep_newest_of_distinct_buckets(
    headers: list[Header], n: int, rule: str
) -> None:
    bucket = {
        "hourly": lambda t: (t.year, t.month, t.day, t.hour),
        "daily": lambda t: t.date(),
        "weekly": lambda t: t.isocalendar()[:2],
        "monthly": lambda t: (t.year, t.month),
        "yearly": lambda t: t.year,
    }[rule]
    result = apply_policy(headers, RetentionPolicy(**{f"keep_{rule}": n}))
    for group in result.groups:
        by_rule = [d for d in group.decisions if f"{rule} snapshot" in d.reasons]
        buckets = {bucket(d.snapshot.time) for d in group.decisions}
        assert len(by_rule) == min(n, len(buckets))
        assert len({bucket(d.snapshot.time) for d in by_rule}) == len(by_rule)
        newest_buckets = sorted(buckets, reverse=True)[:n]
        assert {bucket(d.snapshot.time) for d in by_rule} == set(newest_buckets)
        for d in by_rule:
            same = [
                x.snapshot.time
                for x in group.decisions
                if bucket(x.snapshot.time) == bucket(d.snapshot.time)
            ]
            assert d.snapshot.time == max(same)


@PROPS
@given(header_lists, policies)
def test_groups_independent(headers: list[Header], policy: RetentionPolicy) -> None:
    whole = kept_ids(headers, policy)
    per_group: set[str] = set()
    keys = (
        {h.sources[0].project_id for h in headers} if policy.group_by == GroupBy.PROJECT else {None}
    )
    if policy.group_by != GroupBy.PROJECT:
        return
    for key in keys:
        per_group |= kept_ids([h for h in headers if h.sources[0].project_id == key], policy)
    assert whole == per_group


@PROPS
@given(header_lists, policies)
def test_nonempty_groups_keep_something_unless_allowed(
    headers: list[Header], policy: RetentionPolicy
) -> None:
    strict = RetentionPolicy(
        **{**{k: getattr(policy, k) for k in policy.__slots__}, "allow_empty": False}
    )  # type: ignore[attr-defined]
    try:
        result = apply_policy(headers, strict)
    except RetentionRefused:
        loose = apply_policy(headers, policy)
        assert strict.is_empty() or any(not g.kept for g in loose.groups)
        return
    assert all(g.kept for g in result.groups)


def test_refusal_messages_name_ids_not_environments() -> None:
    headers = [Header("abcdef0123", T0, environment="very-secret-env")]
    with pytest.raises(RetentionRefused) as info:
        apply_policy(
            headers,
            RetentionPolicy(keep_tags=parse_keep_tags(["x"]), group_by=GroupBy.ENVIRONMENT),
        )
    assert "very-secret-env" not in str(info.value) and "abcdef01" in info.value.message
