"""The CLI's contracts that hold for every command: one JSON document with ``--json`` even on
failure, usage errors exit 2, hints in the CLI's words, safe human output, lazy start-up, and
shell completion generated from the parser tree."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli import env, hints, output
from cli.main import build_parser, main
from cli.parser import subcommands
from core.errors import ConfigError, ExitCode, KlosetError, Remedy

ROOT = Path(__file__).resolve().parents[2]


def _run(monkeypatch: pytest.MonkeyPatch, *argv: str, **environ: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with monkeypatch.context() as mp:
        for key, value in environ.items():
            mp.setenv(key, value)
        mp.setattr(sys, "stdout", out)
        mp.setattr(sys, "stderr", err)
        mp.setattr(sys, "stdin", io.StringIO(""))
        try:
            code = main(list(argv))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- --json on failure


def test_a_failing_command_prints_one_error_document(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out, err = _run(
        monkeypatch,
        "snapshots",
        "--json",
        SECRET_KLOSET_STORE=str(tmp_path / "none"),
        SECRET_KLOSET_PASSPHRASE="x",
    )
    assert code == int(ExitCode.NO_STORE)
    doc = json.loads(out)  # exactly one document
    assert doc["exit_code"] == code
    assert doc["error"] and "init" in doc["hint"]
    assert set(doc) >= {"error", "hint", "exit_code"}
    assert "secret-kloset: error:" in err  # the human message stays on stderr


def test_without_json_nothing_goes_to_stdout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out, err = _run(
        monkeypatch,
        "snapshots",
        SECRET_KLOSET_STORE=str(tmp_path / "none"),
        SECRET_KLOSET_PASSPHRASE="x",
    )
    assert code == int(ExitCode.NO_STORE) and out == "" and "hint:" in err


@pytest.mark.parametrize(
    "argv",
    [
        ("restore", "latest", "--to-project", "not-a-uuid", "--json"),
        ("backup", "--project", "x", "--json"),
        ("copy", "--to-project", "nope", "--json"),
        ("snapshots", "--project", "x", "--json"),
        ("restore", "--json"),  # missing SNAPSHOT
        ("snapshots", "--json", "--no-such-flag"),
        ("cat", "latest", "s", "--json"),  # cat has no --json: still one document
    ],
)
def test_usage_errors_exit_2_with_one_json_document(
    monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    code, out, err = _run(monkeypatch, *argv)
    assert code == 2
    doc = json.loads(out)
    assert doc["exit_code"] == 2 and doc["error"] and doc["hint"]
    assert "usage:" in err and "error:" in err


def test_a_bad_id_is_named_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _run(monkeypatch, "restore", "latest", "--to-project", "not-a-uuid")
    assert code == 2 and out == ""
    assert "argument --to-project: 'not-a-uuid' is not an id" in err
    assert "8-4-4-4-12" in err


def test_a_document_already_printed_is_not_followed_by_an_error_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cli.parser import CommandParser, SubParsers

    def register(sub: SubParsers) -> None:
        p = sub.add_parser("half")
        p.add_argument("--json", action="store_true")

        def run(args: object) -> int:
            output.print_json({"status": "interrupted"})
            raise KlosetError("stopped half-way")

        p.set_defaults(func=run)
        assert isinstance(p, CommandParser)

    monkeypatch.setattr("cli.main.COMMAND_MODULES", ("tests.e2e.test_cli_contract",))
    monkeypatch.setattr(sys.modules[__name__], "register", register, raising=False)
    code, out, _ = _run(monkeypatch, "half", "--json")
    assert code == 1
    assert json.loads(out) == {"status": "interrupted"}


# --------------------------------------------------------------------------- hints


def test_every_remedy_has_cli_wording() -> None:
    for remedy in Remedy:
        assert remedy in hints.WORDING, remedy
        assert hints.WORDING[remedy].get(""), remedy
        err = KlosetError("x", hint="a flag-free sentence", remedy=remedy, details={"profile": "p"})
        assert hints.hint_for(err)


def test_hints_word_remedies_as_today() -> None:
    def hint(remedy: Remedy, **details: str) -> str | None:
        return hints.hint_for(KlosetError("x", hint="core's words", remedy=remedy, details=details))

    assert hint(Remedy.INIT_STORE) == (
        "create one with 'secret-kloset store init', or check the location"
    )
    assert hint(Remedy.CHOOSE_CONFLICT_POLICY) == (
        "see them with --dry-run; use --on-conflict new-version to add a version, or skip to "
        "leave them"
    )
    assert hint(Remedy.UNLOCK_STORE, case="held") == (
        "wait for that process to finish; if it died, 'secret-kloset store unlock' removes "
        "stale locks"
    )
    assert hint(Remedy.CHOOSE_REGION) == "use one of fr-par, nl-ams, pl-waw"
    assert hint(Remedy.CONFIGURE_CREDENTIALS, case="profile_secret_missing", profile="prod") == (
        "store it again with 'secret-kloset profile add prod --force'"
    )
    assert hint(Remedy.GRANT_PERMISSION) == "core's words"
    # A case the CLI does not know: the default wording; a missing detail: core's hint.
    assert hint(Remedy.INIT_STORE, case="new") == hint(Remedy.INIT_STORE)
    assert hint(Remedy.CONFIGURE_CREDENTIALS, case="profile_unknown") == "core's words"


def test_without_a_remedy_the_error_hint_is_shown() -> None:
    assert hints.hint_for(ConfigError("x", hint="as it is")) == "as it is"
    assert hints.hint_for(ConfigError("x")) is None


def test_an_api_error_details_list_is_not_taken_for_details() -> None:
    err = KlosetError("x", remedy=Remedy.INIT_STORE)
    object.__setattr__(err, "details", [{"argument_name": "name"}])
    assert hints.error_details(err) == {}
    assert hints.hint_for(err)


def test_the_profile_variable_is_the_cores() -> None:
    from core.credentials.resolve import PROFILE_ENV

    assert env.PROFILE == PROFILE_ENV


# --------------------------------------------------------------------------- human output


def test_control_characters_are_escaped_visibly() -> None:
    assert output.clean("/prod/\x1b[31mred\x07") == "/prod/\\x1b[31mred\\x07"
    assert output.clean("a\nb\tc") == "a\\x0ab\\x09c"
    assert output.clean("a\nb", keep_lines=True) == "a\nb"
    assert output.clean("\u202eevil\u2066") == "\\u202eevil\\u2066"
    assert output.clean("ünïcode ✓") == "ünïcode ✓"


def test_tables_show_cells_cleaned_and_without_markup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    output.table(["Path", "Tags"], [["/x/\x1b]0;title\x07name", "[bold]prod[/bold]"]])
    text = out.getvalue()
    assert "\x1b" not in text and "\\x1b]0;title\\x07name" in text
    assert "[bold]prod[/bold]" in text


def test_json_keeps_values_exact(capsys: pytest.CaptureFixture[str]) -> None:
    output.print_json({"name": "a\x1bb", "bytes": b"\x01\xff", "path": "ü"})
    assert json.loads(capsys.readouterr().out) == {"name": "a\x1bb", "bytes": "01ff", "path": "ü"}


# --------------------------------------------------------------------------- lazy start-up

HEAVY = ("httpx", "textual", "nacl", "rich", "keyring", "obstore", "core.store", "core.engine")


def _imported_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules starting with one of ``heavy`` that a fresh interpreter holds after ``code``."""
    probe = (
        "import sys\n"
        f"{code}\n"
        f"heavy = {heavy!r}\n"
        # core's stand-in for httpx's command-line tool (core._imports) is not httpx
        "loaded = [m for m, mod in sys.modules.items() if m.startswith(heavy)\n"
        "          and type(mod).__name__ != '_DeferredHttpxCli']\n"
        "print('\\n'.join(sorted(loaded)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.splitlines() if m]


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import contextlib, io\n"
        "from cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
    )
    assert _imported_after(code) == []


def test_building_a_store_command_does_not_import_the_engines() -> None:
    code = "from cli.main import build_parser\nbuild_parser().parse_args(['snapshots', '--json'])"
    assert _imported_after(code) == []


def _defaults(parser: argparse.ArgumentParser) -> dict[str, object]:
    return {k: getattr(v, "__qualname__", v) for k, v in parser._defaults.items()}


def test_a_named_command_is_registered_alone_and_the_same() -> None:
    """main registers only the command its first argument names (cli.main.COMMANDS): each
    entry adds that command with the parser the whole tree has; completion gets the tree."""
    import cli.main

    full = subcommands(build_parser())
    assert set(cli.main.COMMANDS) == set(full) - {"completion"}
    for name in cli.main.COMMANDS:
        alone = subcommands(build_parser(name))
        assert name in alone, name
        assert alone[name].format_help() == full[name].format_help(), name
        assert _defaults(alone[name]) == _defaults(full[name]), name
    assert set(subcommands(build_parser("completion"))) == set(full)
    assert set(subcommands(build_parser("no-such-command"))) == set(full)


def test_a_named_command_imports_no_other_command_module() -> None:
    code = "from cli.main import build_parser\nbuild_parser('snapshots').parse_args(['snapshots', '--json'])"
    assert _imported_after(code, ("cli.commands.",)) == ["cli.commands.snapshots"]


# --------------------------------------------------------------------------- completion


def _all_commands() -> list[str]:
    return [name for name in subcommands(build_parser().build_all()) if name != "store"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_name_the_commands_and_flags(
    shell: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("shtab")
    code, script, err = _run(monkeypatch, "completion", shell)
    assert code == 0, err
    for name in _all_commands():
        assert name in script, name
    for flag in ("--to-project", "--on-conflict", "--passphrase-command", "--keep-daily"):
        assert flag in script, flag
    assert "new-version" in script  # choices too
    binary = shutil.which(shell)
    if binary is not None:
        path = tmp_path / f"completion.{shell}"
        path.write_text(script)
        check = (
            [binary, "-n", str(path)] if shell != "fish" else [binary, "--no-execute", str(path)]
        )
        result = subprocess.run(check, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


def test_completion_needs_a_known_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _run(monkeypatch, "completion", "tcsh")
    assert code == 2 and "invalid choice" in err


def test_bash_completion_completes_commands_and_choices(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("shtab")
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    code, script, _ = _run(monkeypatch, "completion", "bash")
    assert code == 0
    path = tmp_path / "completion.bash"
    path.write_text(script)
    probe = (
        f"source {path}\n"
        'fn=$(complete -p secret-kloset | sed -E "s/.*-F ([^ ]+).*/\\1/")\n'
        'complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));\n'
        '  $fn secret-kloset "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; echo "${COMPREPLY[*]}"; }\n'
        "complete_words secret-kloset rest\n"
        'complete_words secret-kloset restore --on-conflict ""\n'
        'complete_words secret-kloset store key ""\n'
    )
    result = subprocess.run([bash, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "restore",
        "skip new-version fail",
        "add list remove passwd",
    ]


def test_a_handler_failing_quietly_still_gives_one_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cli.parser import SubParsers, add_command

    def register(sub: SubParsers) -> None:
        p = add_command(sub, "quiet", lambda args: 3)
        p.add_argument("--json", action="store_true")

    monkeypatch.setattr("cli.main.COMMAND_MODULES", ("tests.e2e.test_cli_contract",))
    monkeypatch.setattr(sys.modules[__name__], "register", register, raising=False)
    code, out, _ = _run(monkeypatch, "quiet", "--json")
    assert code == 3 and json.loads(out)["exit_code"] == 3
    code, out, _ = _run(monkeypatch, "quiet")
    assert code == 3 and out == ""


def test_the_program_makes_the_garbage_collector_cheap_for_its_run() -> None:
    # Only the program's own process (entrypoint): a caller of main() keeps its collector.
    probe = (
        "import gc\n"
        "from cli.main import _tune_gc, main\n"
        "before = gc.get_threshold()\n"
        "main(['policy', 'list', '--policies', '/nonexistent/policies.yaml', '--json'])\n"
        "assert gc.get_threshold() == before, gc.get_threshold()\n"
        "import core._gc\n"
        "assert not core._gc._short\n"
        "_tune_gc(short=True)\n"
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 0, core._gc._short)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "50000 True True"
