"""Entry point of ``secret-kloset``: argument parsing, dispatch, and the error/exit-code policy.

Each command lives in its own module exposing ``register(subparsers)``; a handler takes the
parsed arguments and returns an exit code. Every :class:`core.errors.KlosetError` becomes one
message on stderr (cause, then hint) and its exit code; a traceback is only ever shown for a
bug, and only with ``SECRET_KLOSET_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from core import __version__
from core.errors import ExitCode, KlosetError

# Modules that add subcommands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "cli.console_cmd",
    "cli.profile_cmd",
    "cli.store_cmd",
    "cli.backup_cmd",
    "cli.emulator_cmd",
    "cli.repair_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secret-kloset",
        description=(
            "Back up, browse and restore Scaleway Secret Manager secrets in an encrypted, "
            "deduplicated snapshot store. Without a command, opens the console."
        ),
    )
    parser.add_argument("--version", action="version", version=f"secret-kloset {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def _print_error(err: KlosetError) -> None:
    print(f"secret-kloset: error: {err.message}", file=sys.stderr)
    if err.hint:
        print(f"hint: {err.hint}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "func", None)
    if handler is None:
        # No subcommand: open the console with the default profile and store.
        from cli.console_cmd import run_console

        handler = run_console
    try:
        return int(handler(args))
    except KlosetError as err:
        _print_error(err)
        return int(err.exit_code)
    except KeyboardInterrupt:
        print("secret-kloset: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as err:  # a bug: say so plainly, without leaking data
        if os.environ.get("SECRET_KLOSET_DEBUG"):
            raise
        print(
            f"secret-kloset: internal error ({type(err).__name__}). "
            "Re-run with SECRET_KLOSET_DEBUG=1 for a traceback and report it.",
            file=sys.stderr,
        )
        return int(ExitCode.ERROR)


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
