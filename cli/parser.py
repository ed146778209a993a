"""The parser class of every ``secret-kloset`` (sub)command.

Two things argparse does not do on its own:

- **Deferred arguments.** A command registers its name, help and handler at once (cheap), and
  its arguments through :meth:`CommandParser.defer`: they are added only when that command is
  parsed, or its help or a completion script is printed. So ``secret-kloset --help`` and every
  command pay only for the imports their own arguments need (choices that live in core's
  engines, for instance).
- **Checks across arguments.** :meth:`CommandParser.check` adds a test of the parsed
  arguments (say, two that exclude each other); a failing one is a usage error like
  argparse's own, with the command's usage.
- **Usage errors are typed.** :meth:`CommandParser.error` prints exactly what argparse prints
  (usage, then ``prog: error: message``, on stderr) and raises :class:`UsageExit`, a
  ``SystemExit(2)`` that keeps the message, so that ``main`` can also print the one JSON
  document ``--json`` promises.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, TypeAlias

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

Build: TypeAlias = "Callable[[CommandParser], None]"
Check: TypeAlias = "Callable[[argparse.Namespace], str | None]"
SubParsers: TypeAlias = "argparse._SubParsersAction[CommandParser]"


class UsageExit(SystemExit):
    """A bad command line: argparse's exit status 2, with the parser and its message."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(2)
        self.prog = parser.prog
        self.message = message


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose arguments can be added on first use (see the module doc)."""

    _pending: list[Build]
    _checks: list[Check]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._pending = []
        self._checks = []

    def check(self, test: Check) -> None:
        """After parsing, ``test(args)``: a message is a usage error (exit 2)."""
        self._checks.append(test)

    def defer(self, build: Build) -> None:
        """Run ``build(self)`` before this parser is first used."""
        self._pending.append(build)

    def ensure_built(self) -> CommandParser:
        while self._pending:
            self._pending.pop(0)(self)
        return self

    def build_all(self) -> CommandParser:
        """Build this parser and every parser below it (for completion scripts)."""
        self.ensure_built()
        for child in subcommands(self).values():
            child.build_all()
        return self

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self.ensure_built()
        parsed, rest = super().parse_known_args(args, namespace)
        for test in self._checks:
            message = test(parsed)
            if message:
                self.error(message)
        return parsed, rest

    def format_help(self) -> str:
        self.ensure_built()
        return super().format_help()

    def format_usage(self) -> str:
        self.ensure_built()
        return super().format_usage()

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise UsageExit(self, message)

    def print_usage(self, file: SupportsWrite[str] | None = None) -> None:
        self.ensure_built()
        super().print_usage(file)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, CommandParser]:
    """The direct subcommands of ``parser`` (name -> parser; aliases included), in order."""
    out: dict[str, CommandParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                if isinstance(child, CommandParser):
                    out[name] = child
    return out


def lazy_handler(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A handler that imports ``module`` only when the command runs (its heavy imports at the
    top of that module stay out of every other command's start-up)."""

    def handler(args: argparse.Namespace) -> int:
        import importlib

        target: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), name)
        return target(args)

    handler.__qualname__ = handler.__name__ = name
    return handler


def add_command(
    sub: SubParsers,
    name: str,
    run: Callable[[argparse.Namespace], int] | None,
    arguments: Build | None = None,
    **kwargs: object,
) -> CommandParser:
    """Register command ``name`` (``kwargs``: help, description, ...): its handler ``run`` and
    its ``arguments``, added on first use."""
    parser: CommandParser = sub.add_parser(name, **kwargs)  # type: ignore[arg-type]
    if run is not None:
        parser.set_defaults(func=run)
    if arguments is not None:
        parser.defer(arguments)
    return parser
