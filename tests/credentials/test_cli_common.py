"""The argparse helpers other command modules share (cli/common.py)."""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

import pytest

from cli.credentials import credentials_from_args
from cli.options import json_option as add_json_argument
from cli.options import profile_option as add_profile_argument
from cli.output import print_json
from cli.prompt import read_secret
from core.credentials.profiles import Profile, add_profile
from core.credentials.testing import MemoryKeyring
from core.errors import ConfigError

SECRET = "0badc0de-0000-4000-8000-000000000001"


def test_profile_and_json_arguments_are_added_once() -> None:
    parser = argparse.ArgumentParser()
    add_profile_argument(parser)
    add_profile_argument(parser)  # idempotent: no "conflicting option" error
    add_json_argument(parser)
    add_json_argument(parser)
    args = parser.parse_args([])
    assert args.profile is None and args.json is False
    args = parser.parse_args(["--profile", "prod", "--json"])
    assert args.profile == "prod" and args.json is True


def test_credentials_from_args(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_profile(Profile(name="prod"), SECRET)
    parser = argparse.ArgumentParser()
    add_profile_argument(parser)
    assert (
        credentials_from_args(parser.parse_args(["--profile", "prod"])).source == "profile 'prod'"
    )
    assert credentials_from_args(argparse.Namespace()).source == "profile 'prod'"
    monkeypatch.setenv("SCW_SECRET_KEY", "0badc0de-0000-4000-8000-000000000002")
    assert credentials_from_args(parser.parse_args([])).source == "environment"
    with pytest.raises(ConfigError, match="no profile named 'nope'"):
        credentials_from_args(parser.parse_args(["--profile", "nope"]))


class Colour(Enum):
    RED = "red"


def test_print_json(capsys: pytest.CaptureFixture[str]) -> None:
    print_json(
        {
            "when": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
            "colour": Colour.RED,
            "path": Path("/x"),
            "ids": ("a", "b"),
            "name": "ünïcode",
        }
    )
    out = capsys.readouterr().out
    assert out.endswith("}\n")
    assert json.loads(out) == {
        "when": "2026-01-02T03:04:05.000006Z",
        "colour": "red",
        "path": "/x",
        "ids": ["a", "b"],
        "name": "ünïcode",
    }
    with pytest.raises(TypeError):
        print_json({"x": object()})


def test_read_secret_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("  value  \nsecond line\n"))
    assert read_secret("p: ") == "value"
    monkeypatch.setattr(sys, "stdin", io.StringIO("  value  \n"))
    assert read_secret("p: ", strip=False) == "  value  "
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    with pytest.raises(ConfigError, match="no passphrase on standard input"):
        read_secret("p: ", what="passphrase")


def test_read_secret_gives_up_after_three_empty_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", TTY(""))
    calls: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": calls.append(prompt) or "")
    with pytest.raises(ConfigError, match="no secret entered"):
        read_secret("Secret: ")
    assert len(calls) == 3
