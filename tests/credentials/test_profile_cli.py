"""``secret-kloset profile ...`` through ``cli.main.main``, with stdin; secrets never printed."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import cli.main
from core.credentials import keyring_store
from core.credentials.profiles import ProfileStore
from core.credentials.resolve import resolve_credentials
from core.credentials.testing import MemoryKeyring
from tests.conftest import IsolatedEnv

SECRET = "d3adb33f-0000-4000-8000-00000000c0de"
OTHER_SECRET = "d3adb33f-0000-4000-8000-00000000beef"
ORG = "3f6ce9ab-57ab-4b0e-9d6b-1f0d5e1b2c3d"
PROJECT = "8a1e2b3c-4d5e-4f60-8172-93a4b5c6d7e8"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


Run = Callable[..., Result]


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    # Only this command group: the other groups are tested by their owners.
    monkeypatch.setattr(cli.main, "COMMAND_MODULES", ("cli.commands.profile",))

    def _run(*argv: str, stdin: str = "", tty: bool = False) -> Result:
        monkeypatch.setattr(sys, "stdin", FakeTTY(stdin) if tty else io.StringIO(stdin))
        code = cli.main.main(list(argv))
        captured = capsys.readouterr()
        for text in (captured.out, captured.err):
            assert SECRET not in text and OTHER_SECRET not in text
        return Result(code, captured.out, captured.err)

    return _run


def _add(run: Run, name: str = "prod", *extra: str, secret: str = SECRET) -> Result:
    return run(
        "profile",
        "add",
        name,
        "--access-key",
        "SCWABCDEFGHJKMNPQRST",
        "--organization-id",
        ORG,
        "--project-id",
        PROJECT,
        "--region",
        "nl-ams",
        "--api-url",
        "http://127.0.0.1:8421",
        *extra,
        stdin=secret + "\n",
    )


def test_add_reads_the_secret_key_from_stdin(
    run: Run, memory_keyring: MemoryKeyring, isolated_env: IsolatedEnv
) -> None:
    result = _add(run)
    assert result.code == 0, result.err
    assert "Profile 'prod' saved" in result.out
    assert "default profile" in result.out
    assert keyring_store.get_secret_key("prod") == SECRET
    creds = resolve_credentials()
    assert creds.secret_key == SECRET
    assert creds.default_project_id == PROJECT
    assert creds.api_url == "http://127.0.0.1:8421"
    for path in isolated_env.all_files():
        assert SECRET.encode() not in path.read_bytes(), path


def test_secret_key_stdin_flag(run: Run, memory_keyring: MemoryKeyring) -> None:
    result = run("profile", "add", "p", "--secret-key-stdin", stdin=f"  {SECRET}  \r\n")
    assert result.code == 0, result.err
    assert keyring_store.get_secret_key("p") == SECRET


def test_secret_key_is_never_an_argument(run: Run, memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(SystemExit) as info:
        run("profile", "add", "p", "--secret-key", SECRET)
    assert info.value.code == 2
    assert memory_keyring.entries() == []


def test_interactive_add_prompts_and_hides_the_secret(
    run: Run, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return SECRET

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    # access key, organization id, project id, region (blank = default fr-par)
    answers = f"SCWABCDEFGHJKMNPQRST\n{ORG}\n\n\n"
    result = run("profile", "add", "desk", stdin=answers, tty=True)
    assert result.code == 0, result.err
    assert prompts == ["Secret key (hidden): "]
    profile = ProfileStore().get("desk")
    assert profile.organization_id == ORG
    assert profile.default_project_id is None
    assert profile.default_region == "fr-par"
    assert keyring_store.get_secret_key("desk") == SECRET


def test_empty_stdin_is_a_clear_error(run: Run, memory_keyring: MemoryKeyring) -> None:
    result = run("profile", "add", "p", stdin="")
    assert result.code == 1
    assert "no secret key on standard input" in result.err
    assert "hint:" in result.err
    assert ProfileStore().profiles() == []


def test_bad_fields_are_refused_before_reading_the_secret(
    run: Run, memory_keyring: MemoryKeyring
) -> None:
    result = run("profile", "add", "p", "--access-key", "nope", stdin=SECRET)
    assert result.code == 1
    assert "access_key is not a Scaleway access key" in result.err
    result = run("profile", "add", "p", "--api-url", "http://x/", stdin=SECRET)
    assert result.code == 1 and "api_url must not end with a slash" in result.err
    with pytest.raises(SystemExit):
        run("profile", "add", "p", "--region", "mars", stdin=SECRET)
    assert memory_keyring.entries() == []


def test_bad_secret_key_is_not_echoed(run: Run, memory_keyring: MemoryKeyring) -> None:
    result = run("profile", "add", "p", stdin="super-secret-but-not-a-uuid\n")
    assert result.code == 1
    assert "not a Scaleway secret key" in result.err
    assert "super-secret" not in result.err + result.out


def test_add_twice_needs_force(run: Run, memory_keyring: MemoryKeyring) -> None:
    assert _add(run).code == 0
    result = _add(run, secret=OTHER_SECRET)
    assert result.code == 1 and "already exists" in result.err and "--force" in result.err
    assert keyring_store.get_secret_key("prod") == SECRET
    assert _add(run, "prod", "--force", secret=OTHER_SECRET).code == 0
    assert keyring_store.get_secret_key("prod") == OTHER_SECRET


def test_list_and_show(run: Run, memory_keyring: MemoryKeyring) -> None:
    assert run("profile", "list").err.startswith("No profiles yet")
    assert run("profile", "list", "--json").json() == []
    _add(run)
    _add(run, "dev", "--default", "--store", "/srv/kloset")
    text = run("profile", "list")
    assert text.code == 0
    lines = text.out.splitlines()
    assert lines[0].split() == ["NAME", "ACCESS", "KEY", "REGION", "PROJECT", "API", "URL"]
    assert lines[1].startswith("*") and "dev" in lines[1]
    assert "prod" in lines[2]
    listed = run("profile", "list", "--json").json()
    assert isinstance(listed, list)
    assert [(p["name"], p["default"]) for p in listed] == [("dev", True), ("prod", False)]
    assert listed[0]["store"] == "/srv/kloset"
    assert listed[1] == {
        "name": "prod",
        "default": False,
        "access_key": "SCWABCDEFGHJKMNPQRST",
        "organization_id": ORG,
        "default_project_id": PROJECT,
        "default_region": "nl-ams",
        "api_url": "http://127.0.0.1:8421",
        "store": None,
    }

    shown = run("profile", "show", "prod", "--json").json()
    assert isinstance(shown, dict)
    assert shown["secret_key_stored"] is True
    assert shown["store_passphrase_stored"] is False
    assert shown["keyring"] == "in-memory (tests only)"
    assert "secret_key" not in shown
    text = run("profile", "show")  # the default profile
    assert text.code == 0
    assert "dev (default)" in text.out
    assert "secret key          stored in in-memory (tests only)" in text.out


def test_show_without_any_profile(run: Run) -> None:
    result = run("profile", "show")
    assert result.code == 1 and "no default profile" in result.err
    result = run("profile", "show", "ghost")
    assert result.code == 1 and "no profile named 'ghost'" in result.err


def test_show_with_a_broken_keyring(
    run: Run, memory_keyring: MemoryKeyring, fail_keyring: object
) -> None:
    path = ProfileStore().path
    path.parent.mkdir(parents=True)
    path.write_text('default_profile = "p"\n[profiles.p]\n')
    shown = run("profile", "show", "--json").json()
    assert isinstance(shown, dict)
    assert shown["keyring_usable"] is False
    assert shown["secret_key_stored"] is None
    assert "fail" in shown["error"]


def test_set_default_and_remove(run: Run, memory_keyring: MemoryKeyring) -> None:
    _add(run)
    _add(run, "dev", secret=OTHER_SECRET)
    assert run("profile", "set-default", "dev").code == 0
    assert ProfileStore().default_name() == "dev"
    assert run("profile", "set-default", "ghost").code == 1
    keyring_store.set_store_passphrase("dev", "pp")
    result = run("profile", "remove", "dev")
    assert result.code == 0
    assert "secret key and store passphrase" in result.out
    assert memory_keyring.entries() == [("secret-kloset", "prod:secret-key")]
    assert run("profile", "remove", "dev").code == 1


def test_passphrase(run: Run, memory_keyring: MemoryKeyring) -> None:
    _add(run)
    result = run("profile", "passphrase", "prod", stdin="  spaces are kept  \n")
    assert result.code == 0, result.err
    assert keyring_store.get_store_passphrase("prod") == "  spaces are kept  "
    assert "spaces are kept" not in result.out + result.err
    assert run("profile", "passphrase", "prod", "--delete").code == 0
    assert keyring_store.get_store_passphrase("prod") is None
    assert "had no store passphrase" in run("profile", "passphrase", "prod", "--delete").out
    assert run("profile", "passphrase", "ghost", stdin="x\n").code == 1


def test_passphrase_prompt_asks_twice(
    run: Run, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(run)
    answers = iter(["first", "different", "second", "second"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    result = run("profile", "passphrase", "prod", tty=True)
    assert result.code == 0, result.err
    assert "differ" in result.err
    assert keyring_store.get_store_passphrase("prod") == "second"


def test_fail_keyring_gives_one_clear_error(run: Run, fail_keyring: object) -> None:
    result = run("profile", "add", "p", stdin=SECRET + "\n")
    assert result.code == 1
    assert result.err.startswith("secret-kloset: error: refusing to use the OS keyring")
    assert "hint:" in result.err and "SCW_SECRET_KEY" in result.err
    assert "Traceback" not in result.err
    assert not ProfileStore().path.exists()


def test_import_scw(run: Run, memory_keyring: MemoryKeyring, isolated_env: IsolatedEnv) -> None:
    isolated_env.scw_config.parent.mkdir(parents=True)
    isolated_env.scw_config.write_text(
        f"secret_key: {SECRET}\ndefault_organization_id: {ORG}\ndefault_region: fr-par\n"
        f"profiles:\n  dev:\n    secret_key: {OTHER_SECRET}\n    default_region: pl-waw\n"
    )
    listed = run("profile", "import-scw", "--list", "--json").json()
    assert isinstance(listed, list)
    assert [(p["name"], p["has_secret_key"], p["selected"]) for p in listed] == [
        ("default", True, True),
        ("dev", True, False),
    ]
    text = run("profile", "import-scw", "--list")
    assert text.code == 0 and "* default" in text.out
    result = run("profile", "import-scw")
    assert result.code == 0, result.err
    assert "as profile 'default'" in result.out
    imported = run("profile", "import-scw", "--scw-profile", "dev", "--name", "scw-dev", "--json")
    data = imported.json()
    assert isinstance(data, dict)
    assert data["name"] == "scw-dev" and data["default_region"] == "pl-waw"
    assert data["organization_id"] == ORG
    assert keyring_store.get_secret_key("scw-dev") == OTHER_SECRET
    again = run("profile", "import-scw")
    assert again.code == 1 and "already exists" in again.err
    missing = run("profile", "import-scw", "--config", str(isolated_env.root / "none.yaml"))
    assert missing.code == 1 and "no scw config file" in missing.err
    ghost = run("profile", "import-scw", "--scw-profile", "ghost")
    assert ghost.code == 1 and "has no profile 'ghost'" in ghost.err
    for path in isolated_env.all_files():
        if path != isolated_env.scw_config:
            content = path.read_bytes()
            assert SECRET.encode() not in content and OTHER_SECRET.encode() not in content


def test_profile_without_action_prints_help(run: Run) -> None:
    result = run("profile")
    assert result.code == 2
    assert "import-scw" in result.err


def test_update_changes_fields_and_keeps_the_secret(
    run: Run, memory_keyring: MemoryKeyring
) -> None:
    _add(run)
    _add(run, "dev", secret=OTHER_SECRET)
    result = run("profile", "update", "prod", "--store", "/srv/kloset", "--region", "pl-waw")
    assert result.code == 0, result.err
    profile = ProfileStore().get("prod")
    assert (profile.store, profile.default_region) == ("/srv/kloset", "pl-waw")
    assert profile.access_key == "SCWABCDEFGHJKMNPQRST"
    assert keyring_store.get_secret_key("prod") == SECRET
    assert run("profile", "update", "prod", "--api-url", "").code == 0
    assert ProfileStore().get("prod").api_url is None
    assert run("profile", "update", "dev", "--default").code == 0
    assert ProfileStore().default_name() == "dev"
    bad = run("profile", "update", "prod", "--organization-id", "nope")
    assert bad.code == 1 and "organization_id must be a UUID" in bad.err
    nothing = run("profile", "update", "prod")
    assert nothing.code == 2 and "nothing to change" in nothing.err
    assert run("profile", "update", "ghost", "--store", "x").code == 1


def test_remove_with_a_broken_keyring_needs_force(
    run: Run, memory_keyring: MemoryKeyring, fail_keyring: object
) -> None:
    path = ProfileStore().path
    path.parent.mkdir(parents=True)
    path.write_text('default_profile = "p"\n[profiles.p]\n')
    refused = run("profile", "remove", "p")
    assert refused.code == 1
    assert "was not removed" in refused.err and "--force" in refused.err
    assert ProfileStore().find("p") is not None
    forced = run("profile", "remove", "p", "--force")
    assert forced.code == 0
    assert "were not deleted" in forced.err
    assert ProfileStore().find("p") is None


def test_the_full_command_line_has_the_profile_commands() -> None:
    parser = cli.main.build_parser()
    args = parser.parse_args(["profile", "list", "--json"])
    assert args.json is True
    assert args.func.__name__ == "cmd_list"
