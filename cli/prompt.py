"""Reading a secret (secret key, passphrase) from a hidden prompt or standard input.

Never from a command-line argument: arguments end up in shell history and process lists.
"""

from __future__ import annotations

import getpass
import sys

from core.errors import ConfigError


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
