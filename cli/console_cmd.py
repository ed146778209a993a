"""``secret-kloset`` (no command) and ``secret-kloset demo``: open the console."""

from __future__ import annotations

import argparse

from core.errors import KlosetError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="open the console on the built-in emulator and a throw-away store")
    demo.set_defaults(func=run_demo)


def run_console(args: argparse.Namespace) -> int:
    raise KlosetError("the console is not built yet", hint="use the CLI commands (see --help)")


def run_demo(args: argparse.Namespace) -> int:
    raise KlosetError("the demo is not built yet", hint="use the CLI commands (see --help)")
