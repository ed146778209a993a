"""Residency (issue 11) through the real CLI against the emulator: a restore or copy whose
destination region is outside a source's ``residency`` country is refused (exit 1, the reason
on stderr and in the JSON error document) unless ``--allow-residency-override``; without a
policy file nothing is checked. Also: the control plane's commands build without the engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import env
from tests.e2e.conftest import Cli, Emulator, sdk_client
from tests.e2e.test_cli_contract import _imported_after
from tests.engine.helpers import SOURCE, TARGET

POLICIES = f"""
[stores.primary]
location = "/nowhere"

[[sources]]
name = "prod-paris"
projects = ["{SOURCE}"]
regions = ["fr-par"]
residency = "FR"

[[policies]]
name = "hourly"
store = "primary"
every = "1h"
"""


def _secret_names(url: str, region: str, project: str) -> list[str]:
    from scaleway.secret.v1beta1 import SecretV1Beta1API

    api = SecretV1Beta1API(sdk_client(url))
    return sorted(
        s.name
        for s in api.list_secrets_all(
            scheduled_for_deletion=False, project_id=project, region=region
        )
    )


@pytest.fixture
def rcli(cli: Cli, tmp_path: Path) -> Cli:
    """The CLI with a policy file at its default place (XDG_CONFIG_HOME)."""
    config = tmp_path / "config"
    (config / "secret-kloset").mkdir(parents=True)
    (config / "secret-kloset" / "policies.toml").write_text(POLICIES, encoding="utf-8")
    cli.env["XDG_CONFIG_HOME"] = str(config)
    cli.env.pop(env.POLICIES, None)
    assert cli("init").code == 0
    return cli


def test_restore_outside_the_residency_is_refused(rcli: Cli, emulator: Emulator) -> None:
    assert rcli("backup", "--project", SOURCE, "--region", "fr-par").code == 0
    refused = rcli("restore", "latest", "--to-project", TARGET, "--to-region", "nl-ams")
    assert refused.code == 1
    assert "FR" in refused.err and "nl-ams" in refused.err
    assert "--allow-residency-override" in refused.err
    assert _secret_names(emulator.url, "nl-ams", TARGET) == []

    doc = rcli("restore", "latest", "--to-region", "pl-waw", "--dry-run", "--json")
    assert doc.code == 1
    error = doc.json()
    assert error["exit_code"] == 1
    assert "FR" in error["error"] and "pl-waw" in error["error"]
    assert error["details"] == {"residency": "FR", "region": "pl-waw"}

    inside = rcli("restore", "latest", "--to-project", TARGET, "--to-region", "fr-par", "--json")
    assert inside.code == 0, inside.err
    assert "residency" not in inside.err


def test_restore_with_the_override_goes_through_and_warns(rcli: Cli, emulator: Emulator) -> None:
    assert rcli("backup", "--project", SOURCE, "--region", "fr-par").code == 0
    moved = rcli(
        "restore",
        "latest",
        "--to-project",
        TARGET,
        "--to-region",
        "nl-ams",
        "--allow-residency-override",
        "--json",
    )
    assert moved.code == 0, moved.err
    assert moved.json()["status"] == "ok"
    assert "warning: residency overridden" in moved.err and "NL" in moved.err
    assert _secret_names(emulator.url, "nl-ams", TARGET) == _secret_names(
        emulator.url, "fr-par", SOURCE
    )


def test_copy_outside_the_residency_is_refused_before_reading(
    rcli: Cli, emulator: Emulator
) -> None:
    args = ("copy", "--project", SOURCE, "--region", "fr-par", "--to-region", "pl-waw")
    refused = rcli(*args, "--json")
    assert refused.code == 1
    doc = refused.json()
    assert doc["exit_code"] == 1 and "FR" in doc["error"] and "pl-waw" in doc["error"]
    assert "FR" in refused.err and "pl-waw" in refused.err
    assert rcli("snapshots", "--tag", "copy", "--json").json() == []  # nothing was read
    assert _secret_names(emulator.url, "pl-waw", SOURCE) == []

    copied = rcli(*args, "--to-project", TARGET, "--allow-residency-override", "--json")
    assert copied.code == 0, copied.err
    assert "warning: residency overridden" in copied.err
    assert _secret_names(emulator.url, "pl-waw", TARGET)

    same_country = rcli("copy", "--project", SOURCE, "--to-project", TARGET, "--json")
    assert same_country.code == 0, same_country.err


def test_without_a_policy_file_nothing_is_checked(cli: Cli, tmp_path: Path) -> None:
    cli.env["XDG_CONFIG_HOME"] = str(tmp_path / "empty-config")
    cli.env.pop(env.POLICIES, None)
    assert cli("init").code == 0
    assert cli("backup", "--project", SOURCE, "--region", "fr-par").code == 0
    moved = cli("restore", "latest", "--to-project", TARGET, "--to-region", "nl-ams", "--json")
    assert moved.code == 0, moved.err
    assert "residency" not in moved.err


def test_a_bad_policy_file_stops_a_restore_naming_it(rcli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "config" / "secret-kloset" / "policies.toml"
    path.write_text(POLICIES.replace('residency = "FR"', 'residency = "DE"'), encoding="utf-8")
    assert rcli("backup", "--project", SOURCE, "--region", "fr-par").code == 0
    result = rcli("restore", "latest", "--to-region", "nl-ams", "--json")
    assert result.code == 2
    assert str(path) in result.json()["error"]


def test_the_policies_variable_is_the_cores() -> None:
    from core.engine.jobs.policy_model import POLICIES_ENV

    assert env.POLICIES == POLICIES_ENV


@pytest.mark.parametrize(
    "argv",
    [
        ["policy", "list", "--json"],
        ["policy", "show", "NAME"],
        ["run", "--due"],
        ["jobs", "--limit", "3"],
        ["coverage"],
        ["schedule", "install", "--cron", "--dry-run"],
        ["drill", "--policy", "p"],
    ],
)
def test_parsing_a_control_plane_command_does_not_import_the_engines(argv: list[str]) -> None:
    code = f"from cli.main import build_parser\nbuild_parser().parse_args({argv!r})"
    assert _imported_after(code) == []
