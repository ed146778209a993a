"""Scaleway's own recorded Secret Manager traffic, replayed against the emulator (issue 14).

The fixture ``tests/fixtures/recorded/secret-manager.json`` holds the Secret Manager
interactions Scaleway's Terraform provider and CLI recorded against the real API (source
repositories, commits and licences at its top; ``extract.py`` beside it made it). Each cassette
is replayed in order on a fresh emulator over real HTTP, recorded ids mapped to the emulator's,
and every answer compared field by field (``tests/fixtures/recorded/replay.py`` says how).

Where the recording and the emulator part, the emulator is wrong (unless the recording is older
than today's API). Every such difference is one row of :data:`KNOWN_MISMATCHES`, the emulator's
fix list: a difference not in the table fails (a regression, or a new recording to explain),
and so does a row that no longer happens (the emulator was fixed: remove the row). Regenerate
rows with ``python tests/fixtures/recorded/report.py --table``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.fixtures.recorded.replay import FIXTURE, Report, load_fixture, replay_all

# --- Why they differ ------------------------------------------------------------------------
RECORDED_BEFORE_FIELDS = (
    "recording (2024) predates these fields; today's API sends them (the 2026 Terraform "
    "recordings of the same route agree with the emulator): not an emulator fault"
)


class Known(NamedTuple):
    """One known difference: a field of some interactions (by ``index``) of one cassette."""

    cassette: str
    indices: tuple[int, ...]
    field: str
    recorded: str
    emulator: str
    reason: str


# One row per (cassette, field, recorded, emulator): the interactions (by index) it happens in.
# fmt: off
KNOWN_MISMATCHES: tuple[Known, ...] = (
    Known("cli/test-access-secret-simple", (0,), "body{keys}", "[]", "[\"deletion_requested_at\", \"key_id\", \"used_by\"]", RECORDED_BEFORE_FIELDS),
    Known("cli/test-access-secret-simple", (1,), "body{keys}", "[]", "[\"deleted_at\", \"deletion_requested_at\", \"region\"]", RECORDED_BEFORE_FIELDS),
    Known("cli/test-access-secret-simple", (2,), "body{keys}", "[]", "[\"type\"]", RECORDED_BEFORE_FIELDS),
)
# fmt: on


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    result = replay_all(tmp_path_factory.mktemp("recorded"))
    print("\n" + result.summary())
    return result


def _known() -> dict[tuple[str, int, str], tuple[str, str]]:
    expanded: dict[tuple[str, int, str], tuple[str, str]] = {}
    for row in KNOWN_MISMATCHES:
        for index in row.indices:
            key = (row.cassette, index, row.field)
            assert key not in expanded, f"listed twice: {key}"
            expanded[key] = (row.recorded, row.emulator)
    return expanded


def test_every_recorded_interaction_is_replayed(report: Report) -> None:
    fixture = load_fixture()
    total = sum(len(c["interactions"]) for c in fixture["cassettes"])
    assert report.tally.interactions == total
    assert set(report.per_cassette) == {c["name"] for c in fixture["cassettes"]}
    assert report.tally.fields > 10 * total  # bodies were compared, not just statuses


def test_no_difference_beyond_the_known_ones(report: Report) -> None:
    known = _known()
    unexpected = [
        f"{m.cassette} #{m.index} {m.field}: recorded {m.recorded} | emulator {m.emulator}"
        for m in report.mismatches
        if known.get((m.cassette, m.index, m.field)) != (m.recorded, m.emulator)
    ]
    assert not unexpected, "the emulator parts from real traffic:\n" + "\n".join(unexpected)


def test_every_known_difference_still_happens(report: Report) -> None:
    seen = {(m.cassette, m.index, m.field) for m in report.mismatches}
    fixed = sorted(key for key in _known() if key not in seen)
    assert not fixed, f"now matching the recording: remove from KNOWN_MISMATCHES: {fixed}"


def test_the_match_ratio_follows_from_the_table(report: Report) -> None:
    """Every interaction outside the table matches whole; the ratio is what the docs report."""
    listed = {(row.cassette, index) for row in KNOWN_MISMATCHES for index in row.indices}
    t = report.tally
    assert t.interactions - t.interactions_matched == len(listed)
    assert t.fields - t.fields_matched == len(_known())


def test_the_table_names_its_reasons() -> None:
    reasons = {RECORDED_BEFORE_FIELDS}
    assert {row.reason for row in KNOWN_MISMATCHES} <= reasons


def test_the_fixture_credits_its_sources_and_holds_no_credentials() -> None:
    fixture = load_fixture()
    assert len(fixture["sources"]) == 2
    for source in fixture["sources"]:
        assert source["repository"].startswith("https://github.com/scaleway/")
        assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
        assert source["licence"].startswith(("MPL-2.0", "Apache-2.0"))
        assert source["cassettes"]
    text = Path(FIXTURE).read_text(encoding="utf-8")
    assert len(text.encode()) < 1_000_000
    cassettes = json.dumps(fixture["cassettes"]).lower()
    assert "x-auth-token" not in cassettes
    assert "authorization" not in cassettes
    assert not re.search(r"SCW(?!X{17})[0-9A-Z]{17}", text)
    for cassette in fixture["cassettes"]:
        for item in cassette["interactions"]:
            assert item["path"].startswith(("/secret-manager/v1beta1/", "/account/v3/projects"))
            assert set(item["response_headers"]) <= {
                "content-type",
                "content-security-policy",
                "strict-transport-security",
                "x-content-type-options",
                "x-frame-options",
            }
