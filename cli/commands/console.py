"""``secret-kloset`` (no command) and ``secret-kloset demo``: open the console.

Textual is imported only here, inside the handlers, so that every other command (and cron
jobs) never pays for the UI.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from cli import env
from cli.parser import SubParsers

if TYPE_CHECKING:
    from tui.context import ConsoleContext


def register(sub: SubParsers) -> None:
    demo = sub.add_parser(
        "demo",
        help="open the console on the built-in emulator and a throw-away store (no account needed)",
        description=(
            "Open the console against a local emulator of Scaleway Secret Manager with demo "
            "data, and a throw-away encrypted store (pre-filled with two snapshots). Nothing "
            "reaches Scaleway; everything is deleted when the console quits."
        ),
    )
    demo.add_argument(
        "--empty-store",
        action="store_true",
        help="start with an empty store (no pre-made snapshots)",
    )
    demo.set_defaults(func=run_demo)
    console = sub.add_parser(
        "console",
        help="open the console (the same as running secret-kloset without a command)",
    )
    console.add_argument("--profile", metavar="NAME", default=None, help="profile to use")
    console.add_argument("--store", metavar="S", default=None, help="store location")
    console.set_defaults(func=run_console)


def _require_terminal() -> None:
    from core.errors import ConfigError

    if not (sys.stdin.isatty() and sys.stdout.isatty()) and not os.environ.get(env.FORCE_CONSOLE):
        raise ConfigError(
            "the console needs a terminal (stdin and stdout are not one)",
            hint="run it in a terminal, or use the CLI commands (secret-kloset --help)",
        )


def remembered_profile() -> str | None:
    """The profile the console used last, when nothing else chooses one: no ``--profile``, no
    ``SECRET_KLOSET_PROFILE``, no ``SCW_SECRET_KEY`` and no default profile; and only while
    that profile still exists. The console writes it in its state file when it quits, but
    the CLI builds the console's credentials before the console starts: it is applied here."""
    from core.credentials.profiles import ProfileStore
    from core.errors import KlosetError
    from tui.state import load_state

    if os.environ.get(env.PROFILE) or os.environ.get("SCW_SECRET_KEY"):
        return None
    name = load_state().profile
    if not name:
        return None
    try:
        profiles = ProfileStore()
        if profiles.default_name() or profiles.find(name) is None:
            return None
    except KlosetError:
        return None  # an unreadable profiles file: the usual resolution reports it
    return name


def build_console_context(args: argparse.Namespace) -> ConsoleContext:
    """The chosen profile (``--profile``, ``SECRET_KLOSET_PROFILE``, SCW_*, the default one, the
    one the console used last, or the scw config) and its store location."""
    from cli.store_common import resolve_store_location
    from core.credentials import resolve_credentials
    from core.credentials.keyring_store import get_store_passphrase
    from core.errors import KlosetError
    from tui.context import ConsoleContext

    ctx = ConsoleContext()
    profile = getattr(args, "profile", None)
    remembered = None if profile else remembered_profile()
    creds = None
    candidates = [profile] if profile else [remembered, None] if remembered else [None]
    for name in candidates:
        try:
            creds = resolve_credentials(name)
            break
        except KlosetError:
            if profile:
                raise
            remembered = None  # a remembered profile that broke: the usual resolution
    # creds None: first run, the console asks for a profile
    if creds is not None:
        ctx.use_credentials(creds)
    if not hasattr(args, "store"):
        args.store = None
    if not hasattr(args, "profile"):
        args.profile = None
    if remembered and creds is not None:
        args.profile = remembered  # its store location too, as if it had been named
    ctx.store_location = resolve_store_location(args)
    from_env = os.environ.get(env.PASSPHRASE)
    if from_env:
        ctx.store_passphrase = from_env
    elif creds is not None and creds.profile:
        try:
            ctx.store_passphrase = get_store_passphrase(creds.profile)
        except KlosetError:
            ctx.store_passphrase = None
    return ctx


def run_console(args: argparse.Namespace) -> int:
    _require_terminal()
    from tui.app import run

    run(build_console_context(args))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    _require_terminal()
    import tempfile
    from pathlib import Path

    from tui.app import run
    from tui.demo import build_demo_context

    # The throw-away store lives here and goes when the console quits, however it quits.
    with tempfile.TemporaryDirectory(prefix="secret-kloset-demo-") as tmp:
        run(build_demo_context(Path(tmp), snapshots=not getattr(args, "empty_store", False)))
    return 0
