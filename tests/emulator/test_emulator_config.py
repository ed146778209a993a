"""The TOML config: a full example loads; every mistake names its field."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from core.emulator import load_config
from core.errors import ConfigError
from core.scaleway.models import VersionStatus

ORG = "11111111-1111-4111-8111-111111111111"
PROD = "22222222-2222-4222-8222-222222222222"

GOOD = f'''
organization_id = "{ORG}"

[settings]
non_enabled_access_status = 404

[[projects]]
id = "{ORG}"
name = "default"

[[projects]]
id = "{PROD}"
name = "production"
description = "prod"

[[api_keys]]
access_key = "SCWXXXXXXXXXXXXXXXXX"
secret_key = "33333333-3333-4333-8333-333333333333"
permission_sets = ["SecretManagerFullAccess", "ProjectReadOnly"]

[[api_keys]]
access_key = "SCW0123456789ABCDEFG"
secret_key = "44444444-4444-4444-8444-444444444444"
permission_sets = ["SecretManagerReadOnly"]
projects = ["{PROD}"]
expires_at = 2030-01-01T00:00:00Z

[[secrets]]
id = "55555555-5555-4555-8555-555555555555"
project_id = "{PROD}"
region = "nl-ams"
name = "db"
path = "/prod/db/"
type = "database_credentials"
tags = ["prod", "db"]
description = "main db"
protected = true
versions = [
  {{ data = '{{"engine":"postgres","username":"u","password":"p","host":"h","dbname":"d","port":"5432"}}', status = "disabled", description = "v1" }},
  {{ data_base64 = "{base64.b64encode(b'{"engine":"mysql","username":"u","password":"q","host":"h","dbname":"d","port":"3306"}').decode()}", data_crc32 = false }},
  {{ data = '{{"engine":"other","username":"u","password":"r","host":"h","dbname":"d","port":"1"}}', status = "scheduled_for_deletion" }},
]

[[secrets]]
project_id = "{PROD}"
name = "token"
ephemeral_policy = {{ time_to_live = "3600.000000000s", expires_once_accessed = true, action = "delete" }}
versions = [{{ data = "abc" }}]

[[secrets]]
project_id = "{ORG}"
name = "old"
scheduled_for_deletion = true
versions = [{{ data = "x" }}]
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "emulator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config(tmp_path: Path) -> None:
    state = load_config(write(tmp_path, GOOD))
    assert state.organization_id == ORG
    assert [p.name for p in state.projects.values()] == ["default", "production"]
    assert state.settings.non_enabled_access_status == 404
    ro = state.key_for_token("44444444-4444-4444-8444-444444444444")
    assert ro is not None and ro.projects == (PROD,) and ro.expires_at is not None
    db = state.secrets["nl-ams"]["55555555-5555-4555-8555-555555555555"]
    assert db.path == "/prod/db" and db.protected and db.tags == ["prod", "db"]
    assert [v.status for v in db.versions] == [
        VersionStatus.DISABLED,
        VersionStatus.ENABLED,
        VersionStatus.SCHEDULED_FOR_DELETION,
    ]
    assert db.versions[0].data_crc32 is not None and db.versions[1].data_crc32 is None
    assert db.versions[2].status_before_deletion == "enabled"
    assert db.next_revision == 4
    token = next(s for s in state.iter_secrets("fr-par") if s.name == "token")
    assert token.ephemeral_policy is not None and token.ephemeral_policy.time_to_live == "3600s"
    assert token.versions[0].ephemeral_properties is not None
    old = next(s for s in state.iter_secrets("fr-par") if s.name == "old")
    assert old.scheduled_for_deletion


def test_minimal_config_gets_a_default_project(tmp_path: Path) -> None:
    text = f'''
organization_id = "{ORG}"
[[api_keys]]
access_key = "SCWXXXXXXXXXXXXXXXXX"
secret_key = "33333333-3333-4333-8333-333333333333"
permission_sets = ["SecretManagerFullAccess"]
'''
    state = load_config(write(tmp_path, text))
    assert list(state.projects) == [ORG] and state.projects[ORG].name == "default"


KEY = """
[[api_keys]]
access_key = "SCWXXXXXXXXXXXXXXXXX"
secret_key = "33333333-3333-4333-8333-333333333333"
permission_sets = ["SecretManagerFullAccess"]
"""


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("organization_id = 'nope'\n" + KEY, "organization_id"),
        (f'organization_id = "{ORG}"\ncolour = 1\n' + KEY, "colour"),
        (f'organization_id = "{ORG}"\n', "api_keys"),
        (
            KEY.replace("SCWXXXXXXXXXXXXXXXXX", "SCWSHORT").replace(
                "[[api_keys]]", f'organization_id = "{ORG}"\n[[api_keys]]'
            ),
            "api_keys[0].access_key",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY.replace("33333333-3333-4333-8333-333333333333", "secret"),
            "api_keys[0].secret_key",
        ),
        (
            f'organization_id = "{ORG}"\n' + KEY.replace("SecretManagerFullAccess", "GodMode"),
            "api_keys[0].permission_sets",
        ),
        (f'organization_id = "{ORG}"\n' + KEY + f'projects = ["{PROD}"]\n', "api_keys[0].projects"),
        (f'organization_id = "{ORG}"\n' + KEY + KEY, "api_keys[1].access_key"),
        (f'organization_id = "{ORG}"\n[[projects]]\nid = "{ORG}"\n' + KEY, "projects[0].name"),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{PROD}"\nname = "x"\n',
            "secrets[0].project_id",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{ORG}"\nname = "x"\nregion = "us-east"\n',
            "secrets[0].region",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{ORG}"\nname = "a b"\n',
            "secrets[0].name",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{ORG}"\nname = "x"\npath = "x//y"\n',
            "secrets[0].path",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{ORG}"\nname = "x"\ntype = "password"\n',
            "secrets[0].type",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{ORG}"\nname = "x"\ntype = "key_value"\nversions = [{{ data = "[]" }}]\n',
            "secrets[0].versions[0]",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{ORG}"\nname = "x"\nversions = [{{ data = "a", data_base64 = "YQ==" }}]\n',
            "secrets[0].versions[0]",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{ORG}"\nname = "x"\nversions = [{{ data_base64 = "!!" }}]\n',
            "secrets[0].versions[0].data_base64",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{ORG}"\nname = "x"\nversions = [{{ data = "a", status = "gone" }}]\n',
            "secrets[0].versions[0].status",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{ORG}"\nname = "x"\nephemeral_policy = {{ action = "delete" }}\n',
            "secrets[0].ephemeral_policy",
        ),
        (
            f'organization_id = "{ORG}"\n'
            + KEY
            + f'[[secrets]]\nproject_id = "{ORG}"\nname = "x"\n[[secrets]]\nproject_id = "{ORG}"\nname = "x"\n',
            "secrets[1].name",
        ),
        (f'organization_id = "{ORG}"\n[settings]\nmax_page_size = "big"\n' + KEY, "settings"),
        (
            f'organization_id = "{ORG}"\n[settings]\nnon_enabled_access_status = 500\n' + KEY,
            "settings",
        ),
    ],
)
def test_errors_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert f": {field}" in err.value.message or err.value.message.startswith(
        f"emulator config: {field}"
    )


def test_oversized_seed(tmp_path: Path) -> None:
    big = base64.b64encode(b"x" * 65537).decode()
    text = (
        f'organization_id = "{ORG}"\n'
        + KEY
        + f'[[secrets]]\nproject_id = "{ORG}"\nname = "x"\nversions = [{{ data_base64 = "{big}" }}]\n'
    )
    with pytest.raises(ConfigError, match="65536"):
        load_config(write(tmp_path, text))


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "organization_id = \n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


def test_config_error_never_echoes_secret_key(tmp_path: Path) -> None:
    text = (
        f'organization_id = "{ORG}"\n'
        + KEY
        + KEY.replace("SCWXXXXXXXXXXXXXXXXX", "SCWYYYYYYYYYYYYYYYYY")
    )
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert "api_keys[1].secret_key" in str(err.value)
    assert "33333333-3333-4333-8333-333333333333" not in str(err.value)
