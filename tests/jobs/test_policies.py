"""The policy file: parsing, validation errors naming file/line/key (exit 2), matching."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from core.engine.jobs.policies import (
    ALL,
    PolicyFileError,
    format_duration,
    load_policies,
    parse_duration,
    parse_policies,
)
from core.store.ops.forget import GroupBy
from tests.jobs.conftest import SOURCE, policy_text, write_policies

ROOT = Path(__file__).resolve().parents[2]


def _example() -> str:
    """The complete example of docs/OPERATIONS.md (it must stay valid)."""
    text = (ROOT / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    found = re.search(r"```toml\n(.*?)```", text, re.S)
    assert found, "docs/OPERATIONS.md has a ```toml example"
    return found.group(1)


def test_the_documented_example_parses() -> None:
    pf = parse_policies(_example(), Path("example.toml"))
    assert set(pf.stores) == {"primary", "offsite"}
    assert pf.policies and pf.sources
    critical = pf.policy("critical")
    assert critical.every == timedelta(hours=1)
    assert critical.sync_to == "offsite"
    assert critical.drill is not None and critical.drill.sample == 5
    assert pf.notify.webhook is not None and pf.notify.webhook.secret_env == "SK_WEBHOOK_SECRET"
    assert pf.notify.metrics_file is not None


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("7d") == timedelta(days=7)
    assert format_duration(timedelta(days=1, hours=2)) == "1d2h"
    for bad in ("", "1", "h", "1w", "0s", "-1h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_matching_and_overlap(tmp_path: Path) -> None:
    text = (
        policy_text(str(tmp_path / "s"), extra_source='tags = ["pci"]')
        + """
[[policies]]
name = "pci-daily"
match = { tags = ["pci"] }
every = "1d"
keep = { daily = 30 }

[[policies]]
name = "staging"
match = { environment = "staging" }
every = "1d"
"""
    )
    pf = parse_policies(text, tmp_path / "p.toml")
    source = pf.source("prod-paris")
    assert [p.name for p in pf.policies_of(source)] == ["critical", "pci-daily"]
    assert pf.sources_of(pf.policy("staging")) == []
    assert len(pf.pairs()) == 2
    assert pf.shortest_every() == timedelta(hours=1)


def test_keep_becomes_the_stores_forget_policy(tmp_path: Path) -> None:
    pf = parse_policies(policy_text(str(tmp_path / "s")), tmp_path / "p.toml")
    keep = pf.policy("critical").keep
    retention = keep.retention()
    assert (retention.keep_last, retention.keep_daily) == (3, 7)
    assert retention.group_by == GroupBy.NONE
    assert keep.window(timedelta(hours=1)) == timedelta(days=6)


def test_all_projects_and_regions(tmp_path: Path) -> None:
    text = policy_text(str(tmp_path / "s"), projects='"all"', regions='"all"')
    source = parse_policies(text, tmp_path / "p.toml").source("prod-paris")
    assert source.projects == ALL and source.regions == ALL
    assert source.covers(SOURCE, "pl-waw")


def _error(text: str, tmp_path: Path) -> PolicyFileError:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyFileError) as info:
        load_policies(path)
    return info.value


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('every = "1h"', 'every = "1x"', "policies[0].every", "not a duration"),
        ('regions = ["fr-par"]', 'regions = ["fr-lyon"]', "sources[0].regions", "unknown region"),
        ('store = "primary"', 'store = "nowhere"', "policies[0].store", "no store named"),
        ('check = "structure"', 'check = "sometimes"', "policies[0].check", "must be one of"),
        ('residency = "FR"', 'residency = "DE"', "sources[0].residency", "unknown country"),
        (
            "keep = { last = 3, daily = 7 }",
            "keep = { last = 3, dayly = 7 }",
            "policies[0].keep.dayly",
            "unknown key",
        ),
        (
            'data_class = "critical"',
            'data_clas = "critical"',
            "sources[0].data_clas",
            "unknown key",
        ),
        (
            f'projects = ["{SOURCE}"]',
            'projects = ["not-a-uuid"]',
            "sources[0].projects",
            "not a project id",
        ),
    ],
)
def test_bad_files_name_file_line_and_key(
    tmp_path: Path, old: str, new: str, key: str, words: str
) -> None:
    text = policy_text(str(tmp_path / "s"))
    assert old in text
    bad = text.replace(old, new)
    err = _error(bad, tmp_path)
    line = next(i for i, text_line in enumerate(bad.splitlines(), 1) if new in text_line)
    assert err.line == line
    assert err.key == key
    assert words in err.message
    assert str(tmp_path / "bad.toml") in err.message and f"line {line}" in err.message
    assert err.exit_code == 2


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    err = _error('[stores.primary]\nlocation = "x"\n\n[[sources]\nname = 1\n', tmp_path)
    assert err.line == 4
    assert "not valid TOML" in err.message


def test_unknown_table_names_its_line(tmp_path: Path) -> None:
    err = _error(policy_text("/s") + "\n[schedules]\nevery = 1\n", tmp_path)
    assert err.key == "schedules" and err.line is not None
    assert (tmp_path / "bad.toml").read_text().splitlines()[err.line - 1] == "[schedules]"


def test_missing_file(tmp_path: Path) -> None:
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    assert load_policies(tmp_path / "empty.toml").policies == ()  # valid: nothing to do
    with pytest.raises(PolicyFileError) as info:
        load_policies(tmp_path / "absent.toml")
    assert "no such file" in info.value.message


def test_cli_exits_2_before_anything_runs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = policy_text(cli.store).replace('every = "1h"', 'every = "soon"')
    path = write_policies(tmp_path, bad)
    for argv in (["run", "--due"], ["policy", "list"], ["coverage"], ["jobs"], ["drill"]):
        result = cli(*argv, "--policies", path)
        assert result.code == 2, argv
        assert path in result.err and "policies[0].every" in result.err and "line" in result.err
    result = cli("run", "--due", "--policies", path, "--json")
    assert result.code == 2
    doc = result.json()  # exactly one document, even on failure
    assert doc["jobs"] == []
    assert doc["file"] == path and doc["key"] == "policies[0].every"
    assert isinstance(doc["line"], int)
    assert doc["exit_code"] == 2 and "policies[0].every" in doc["error"] and doc["hint"]
    assert not (Path(cli.store) / "config").exists()  # nothing ran: not even a store


def test_sub_tables_and_multiline_values(tmp_path: Path) -> None:
    text = """
[stores.primary]
location = "/s"

[[sources]]
name = "a"
projects = [
  "1c7a4d2f-6b3e-4f9a-8d8c-2e3f4a5b6c7d",
]

[[policies]]
name = "p"
every = "1h"

[policies.drill]
every = "7d"
project = "4f0d7a5c-9e6b-4c2d-8a1f-5b6c7d8e9f0a"
region = "fr-lyon"

[notify.webhook]
url = "https://h.example/x"
"""
    err = _error(text, tmp_path)
    assert err.key == "policies[0].drill.region"
    assert text.splitlines()[err.line - 1] == 'region = "fr-lyon"'  # type: ignore[operator]
    fixed = text.replace("fr-lyon", "fr-par")
    pf = parse_policies(fixed, tmp_path / "ok.toml")
    assert pf.notify.webhook is not None and pf.notify.webhook.url == "https://h.example/x"
    assert pf.policy("p").drill is not None
    assert pf.source("a").projects == (SOURCE,)
