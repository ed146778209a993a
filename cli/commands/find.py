"""``secret-kloset find``: which snapshots hold secrets whose path or name matches (as restic's).

The snapshots are listed oldest first, the oldest and the newest named first; a secret
matches under the path and name it had *in that snapshot*. Reads the history index, as
``history`` does.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.commands.history import scope_options, with_history_store
from cli.options import json_option, store_options
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.engine.history import FindResult
    from core.store import Store


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "find",
        run,
        _arguments,
        help="which snapshots hold secrets whose path or name matches",
        description=(
            "The snapshots holding a secret whose path or name (in that snapshot) matches "
            "PATTERN, oldest first; the oldest and the newest are named first."
        ),
    )


def _arguments(p: CommandParser) -> None:
    store_options(p)
    scope_options(p)
    p.add_argument(
        "pattern", metavar="PATTERN", nargs="+", help="glob on path/name, or id:<secret id>"
    )
    json_option(p, "print the matches as JSON")


def run(args: argparse.Namespace) -> int:
    from cli.output import print_json
    from core.engine.history import find_snapshots
    from core.engine.selectors import Selection
    from core.errors import ExitCode

    selection = Selection.parse(args.pattern)

    async def body(store: Store) -> int:
        result = await find_snapshots(store, selection, project=args.project, region=args.region)
        if args.json:
            print_json(result.to_json())
        else:
            _print_find(result)
        return int(ExitCode.OK)

    return with_history_store(args, body)


def _print_find(result: FindResult) -> None:
    from cli.output import line, local_time, say, table
    from core.scaleway.models import join_path

    oldest, newest = result.oldest, result.newest
    if oldest is None or newest is None:
        say("no snapshot holds a matching secret")
        return
    line(f"oldest: {oldest.short_id}  {local_time(oldest.time)}")
    line(f"newest: {newest.short_id}  {local_time(newest.time)}")
    rows = [
        [h.short_id, local_time(h.time), join_path(f.path, f.name), f.secret_id, f.region]
        for h, found in result.snapshots
        for f in found
    ]
    table(["Snapshot", "Time", "Path", "Secret id", "Region"], rows)
    say(f"{len(result.snapshots)} snapshot(s) hold a matching secret")
