"""Small argparse helpers shared by the command modules.

- :func:`add_profile_argument` adds ``--profile NAME`` (skipped if the parser already has it).
- :func:`credentials_from_args` resolves the credentials for those arguments
  (``--profile`` › ``SECRET_KLOSET_PROFILE`` › ``SCW_*`` › default profile › scw config).
- :func:`add_json_argument` adds ``--json``; :func:`print_json` prints one JSON document.
- :func:`read_secret` reads a secret from a hidden prompt or standard input, never from an
  argument.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from core.credentials.resolve import PROFILE_ENV, Credentials, resolve_credentials
from core.errors import ConfigError


def _has_option(parser: argparse.ArgumentParser, option: str) -> bool:
    return option in parser._option_string_actions


def add_profile_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--profile NAME`` (dest ``profile``, default None)."""
    if _has_option(parser, "--profile"):
        return
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=None,
        help=(
            f"credentials profile (default: ${PROFILE_ENV}, else the SCW_* environment "
            "variables, else the default profile, else the scw CLI config)"
        ),
    )


def credentials_from_args(args: argparse.Namespace) -> Credentials:
    """The credentials for a command's arguments (blocking: may call the OS keyring)."""
    return resolve_credentials(getattr(args, "profile", None) or None)


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--json`` (dest ``json``): print one JSON document on stdout instead of text."""
    if _has_option(parser, "--json"):
        return
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout instead of text"
    )


def _json_default(value: Any) -> Any:
    from datetime import datetime
    from enum import Enum
    from pathlib import PurePath

    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(obj: Any) -> None:
    """Print exactly one JSON document (indented, key order kept) on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default))
    sys.stdout.write("\n")
    sys.stdout.flush()


def stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def read_secret(
    prompt: str,
    *,
    from_stdin: bool = False,
    confirm: bool = False,
    what: str = "secret",
    strip: bool = True,
) -> str:
    """Read a secret from a hidden prompt, or from standard input when ``from_stdin`` or when
    stdin is not a terminal.

    From stdin, the first line is the secret (its line ending removed; with ``strip`` the
    surrounding blanks too). At a prompt, ``confirm`` asks twice. Empty → ConfigError.
    """
    if from_stdin or not stdin_is_tty():
        if sys.stdin is None:
            raise ConfigError(f"no {what} given: standard input is closed")
        line = sys.stdin.readline()
        value = line.rstrip("\r\n")
        if strip:
            value = value.strip()
        if not value:
            raise ConfigError(
                f"no {what} on standard input",
                hint=f"pipe it in, e.g. 'printf %s \"$VALUE\" | secret-kloset ...', or run "
                f"the command in a terminal to be prompted for the {what}",
            )
        return value
    for _ in range(3):
        value = getpass.getpass(prompt)
        if strip:
            value = value.strip()
        if not value:
            print(f"The {what} must not be empty.", file=sys.stderr)
            continue
        if not confirm:
            return value
        again = getpass.getpass("Repeat: ")
        if strip:
            again = again.strip()
        if again == value:
            return value
        print(f"The two entries differ; enter the {what} again.", file=sys.stderr)
    raise ConfigError(f"no {what} entered", hint=f"enter a non-empty {what}")
