"""The store commands, top-level (``secret-kloset snapshots``) and grouped
(``secret-kloset store snapshots``): one list, registered twice."""

from __future__ import annotations

from collections.abc import Callable

from cli.commands import (
    cat,
    check,
    copy_snapshots,
    diff,
    forget,
    init,
    key,
    locks,
    ls,
    pin,
    prune,
    repair,
    snapshots,
)
from cli.parser import CommandParser, SubParsers

# In help order.
STORE_COMMANDS: tuple[Callable[[SubParsers], None], ...] = (
    init.register,
    snapshots.register,
    ls.register,
    cat.register,
    diff.register,
    check.register,
    forget.register,
    prune.register,
    repair.register,
    key.register,
    locks.register,
    locks.register_unlock,
    pin.register,
    copy_snapshots.register,
)


def register_each(sub: SubParsers) -> None:
    for register_command in STORE_COMMANDS:
        register_command(sub)


def register(sub: SubParsers) -> None:
    """Every store command at the top level, then the ``store`` group holding them again."""
    register_each(sub)
    group = sub.add_parser(
        "store",
        help="the store commands, grouped (same as the top-level ones: init, snapshots, ...)",
    )
    group.defer(_group)


def _group(group: CommandParser) -> None:
    register_each(group.add_subparsers(dest="store_command", metavar="COMMAND", required=True))
