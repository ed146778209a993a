"""Entry point of ``secret-kloset``: the root parser, dispatch, and the error/exit-code policy.

Each command module (``cli.commands.<verb>``) exposes ``register(subparsers)``; registering is
cheap (the arguments are added on first use, see ``cli.parser``) and a handler imports what it
needs, so ``--help`` and each command load only their own dependencies. A run whose first
argument names a command (:data:`COMMANDS`) registers that command alone: importing the other
command modules and building their parsers was ~12 ms of every run. A handler takes the
parsed arguments and returns an exit code.

Every :class:`core.errors.KlosetError` becomes one message on stderr (cause, then the hint,
both in the CLI's words: ``cli.hints``) and its exit code; with ``--json`` it is also one JSON
document on stdout (``{"error", "hint", "exit_code", ...}``), unless the command already printed
its document. A bad command line exits 2 (with ``--json``, a document too). A traceback is only
ever shown for a bug, and only with ``SECRET_KLOSET_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn

from cli import env, output
from cli.parser import CommandParser, UsageExit

# Modules that add subcommands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "cli.commands.console",
    "cli.commands.profile",
    "cli.commands.store",
    "cli.commands.backup",
    "cli.commands.restore",
    "cli.commands.copy",
    "cli.commands.emulator",
    "cli.commands.completion",
    "cli.commands.policy",
    "cli.commands.run",
    "cli.commands.jobs",
    "cli.commands.coverage",
    "cli.commands.schedule",
    "cli.commands.drill",
    "cli.commands.history",
    "cli.commands.find",
)

# The command a run's first argument names -> (the module of COMMAND_MODULES that adds it, the
# module and function that add it alone). Such a run registers that command only: the other
# command modules and their thirty parsers were ~12 ms of every run's start (issue 10). Any
# other run (``--help``, no command, a mistyped one, ``completion``, which prints the whole
# tree) registers them all. tests/e2e/test_cli_contract.py checks this table against the tree.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("cli.commands.console", "cli.commands.console", "register"),
    "console": ("cli.commands.console", "cli.commands.console", "register"),
    "profile": ("cli.commands.profile", "cli.commands.profile", "register"),
    **{
        name: ("cli.commands.store", f"cli.commands.{module}", function)
        for name, module, function in (
            ("init", "init", "register"),
            ("snapshots", "snapshots", "register"),
            ("ls", "ls", "register"),
            ("cat", "cat", "register"),
            ("diff", "diff", "register"),
            ("check", "check", "register"),
            ("forget", "forget", "register"),
            ("prune", "prune", "register"),
            ("repair", "repair", "register"),
            ("key", "key", "register"),
            ("locks", "locks", "register"),
            ("unlock", "locks", "register_unlock"),
            ("pin", "pin", "register"),
            ("unpin", "pin", "register"),
            ("copy-snapshots", "copy_snapshots", "register"),
            ("store", "store", "register"),
        )
    },
    **{
        name: (f"cli.commands.{name}", f"cli.commands.{name}", "register")
        for name in (
            "backup",
            "restore",
            "copy",
            "emulator",
            "policy",
            "run",
            "jobs",
            "coverage",
            "schedule",
            "drill",
            "history",
            "find",
        )
    },
}

Handler = Callable[[argparse.Namespace], int]


def _version() -> str:
    from core import __version__

    return f"secret-kloset {__version__}"


class _VersionAction(argparse.Action):
    """``--version``, reading the version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=argparse.SUPPRESS,
            help="show program's version number and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        parser.exit(message=_version() + "\n")


def build_parser(command: str | None = None) -> CommandParser:
    """The root parser: every command, or only ``command`` when :data:`COMMANDS` knows it."""
    parser = CommandParser(
        prog="secret-kloset",
        description=(
            "Back up, browse and restore Scaleway Secret Manager secrets in an encrypted, "
            "deduplicated snapshot store. Without a command, opens the console."
        ),
    )
    parser.add_argument("--version", action=_VersionAction)
    # Commands that need the whole tree (completion) get it from here, not by importing main.
    parser.set_defaults(root_parser=parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    entry = COMMANDS.get(command) if command is not None else None
    if entry is not None and entry[0] in COMMAND_MODULES:
        _, module, function = entry
        getattr(importlib.import_module(module), function)(sub)
        return parser
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _wants_json(argv: Sequence[str]) -> bool:
    """Whether the command line asks for ``--json`` (also when it does not parse)."""
    for token in argv:
        if token == "--":
            return False
        if token == "--json" or (len(token) > 3 and "--json".startswith(token)):
            return True
    return False


def _print_json_error(
    message: str,
    *,
    hint: str | None,
    exit_code: int,
    remedy: str | None = None,
    details: Mapping[str, str] | None = None,
) -> None:
    if output.document_printed():
        return  # the command printed its document (e.g. a stopped restore's report)
    output.print_json(
        output.error_document(
            message, hint=hint, exit_code=exit_code, remedy=remedy, details=details
        )
    )


def main(argv: Sequence[str] | None = None, *, tune_gc: bool = False) -> int:
    """Run one command; ``tune_gc`` (the program's own process, not a caller's: see
    :func:`_tune_gc`) makes the garbage collector cheap for the run."""
    from core.errors import ExitCode, KlosetError

    arguments = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(arguments)
    output.reset()
    parser = build_parser(arguments[0] if arguments else None)
    try:
        args = parser.parse_args(arguments)
    except UsageExit as usage:
        if as_json:
            _print_json_error(
                usage.message,
                hint=f"see '{usage.prog} --help'",
                exit_code=int(ExitCode.USAGE),
            )
        raise
    as_json = bool(getattr(args, "json", False))
    handler: Handler | None = getattr(args, "func", None)
    if handler is None:
        # No subcommand: open the console with the default profile and store.
        from cli.commands.console import run_console

        handler = run_console
    if tune_gc:
        _tune_gc(short=getattr(args, "command", None) not in RESIDENT_COMMANDS)
    try:
        code = int(handler(args))
        if code != 0 and as_json:  # the contract holds even if a handler forgot it
            _print_json_error(f"the command failed (exit status {code})", hint=None, exit_code=code)
        return code
    except KlosetError as err:
        from cli.hints import error_details, hint_for, message_for

        message, hint = message_for(err), hint_for(err)
        output.print_error(message, hint)
        if as_json:
            _print_json_error(
                message,
                hint=hint,
                exit_code=int(err.exit_code),
                remedy=str(err.remedy) if err.remedy is not None else None,
                details=error_details(err),
            )
        return int(err.exit_code)
    except KeyboardInterrupt:
        print("secret-kloset: interrupted", file=sys.stderr)
        if as_json:
            _print_json_error("interrupted", hint=None, exit_code=int(ExitCode.INTERRUPTED))
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as err:  # a bug: say so plainly, without leaking data
        if os.environ.get(env.DEBUG):
            raise
        message = f"internal error ({type(err).__name__})"
        print(
            f"secret-kloset: {message}. "
            "Re-run with SECRET_KLOSET_DEBUG=1 for a traceback and report it.",
            file=sys.stderr,
        )
        if as_json:
            _print_json_error(
                message,
                hint="re-run with SECRET_KLOSET_DEBUG=1 for a traceback and report it",
                exit_code=int(ExitCode.ERROR),
            )
        return int(ExitCode.ERROR)


# The commands whose process lives on (no command opens the console): their collector must
# keep seeing what a bulk step made (core._gc.short_run).
RESIDENT_COMMANDS = frozenset({None, "console", "demo", "emulator"})


def _tune_gc(*, short: bool) -> None:
    """Make the cyclic garbage collector cheap for a command's run.

    What is imported by now lives as long as the process: frozen, no collection walks it
    again. A run then allocates many short-lived objects (requests, answers, records) and few
    cycles, so the youngest generation is collected every 50,000 allocations instead of 700
    (and the older ones a little less often). A 1000x3 backup: 2.68-3.14 s of CPU with the
    defaults, 2.25-2.72 s with these. ``short``: the command exits soon after its bulk
    steps (every command but :data:`RESIDENT_COMMANDS`), see :func:`core._gc.short_run`.
    """
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    if short:
        from core._gc import short_run

        short_run()


def entrypoint() -> None:
    _exit_now(main(tune_gc=True))


def _exit_now(code: int) -> NoReturn:
    """End the program's own process without tearing the interpreter down.

    Finalizing a process that imported an HTTP stack, a store and an engine (every module's
    objects freed one by one) took 60-70 ms of each run, a sixth of an unchanged backup.
    What must happen at exit still does: the standard streams are flushed and the ``atexit``
    handlers run (logging's shutdown, finalizers). The program exits the usual way when a
    thread other than daemons is still at work (that waits for it), or under a profiler or a
    debugger (``python -m cProfile`` writes its report after the program's code returns).
    (mypy ends the same way, for the same reason.)
    """
    import atexit
    import threading

    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if any(t.is_alive() for t in busy) or sys.getprofile() is not None or sys.gettrace():
        sys.exit(code)  # a profiler or a debugger writes its report after the program ends
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``| head``): nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":
    entrypoint()
