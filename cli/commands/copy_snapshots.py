"""``secret-kloset copy-snapshots``: copy snapshots, with their data, to another store."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli import env
from cli.options import json_option, snapshot_filter_options, store_options
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.store import Store


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "copy-snapshots",
        run,
        _arguments,
        help="copy snapshots (with their data) to another store",
        description=(
            "Copy snapshots to another store, re-encrypting with its keys; blobs it already "
            "has are skipped and snapshots it already has are not copied again."
        ),
    )


def _arguments(p: CommandParser) -> None:
    store_options(p)
    snapshot_filter_options(p)
    p.add_argument(
        "snapshots", metavar="SNAPSHOT", nargs="*", help="snapshots to copy (default: all)"
    )
    p.add_argument("--to-store", required=True, metavar="S", help="destination store location")
    p.add_argument(
        "--to-passphrase-command",
        metavar="CMD",
        default=None,
        help=f"command printing the destination's passphrase (or ${env.TO_PASSPHRASE}, or a prompt)",
    )
    json_option(p, None)


def _to_passphrase(args: argparse.Namespace) -> str:
    import os

    from cli.store_common import prompt_passphrase, run_passphrase_command

    if args.to_passphrase_command:
        return run_passphrase_command(args.to_passphrase_command)
    from_env = os.environ.get(env.TO_PASSPHRASE)
    if from_env:
        return from_env
    return prompt_passphrase(prompt="Destination store passphrase: ")


def run(args: argparse.Namespace) -> int:
    from cli.output import line, print_json
    from cli.store_common import resolve_snapshot, with_store
    from core.errors import ConfigError
    from core.store.ops.copy import copy_snapshots

    to_passphrase = _to_passphrase(args)

    async def body(store: Store) -> int:
        from core.store import Store

        if args.snapshots:
            ids = [(await resolve_snapshot(store, ref, args)).id for ref in args.snapshots]
        else:
            ids = [
                h.id for h in await store.list_snapshots(project=args.project, region=args.region)
            ]
        dest = await Store.open(args.to_store, to_passphrase)
        try:
            report = await copy_snapshots(store, dest, ids)
        finally:
            await dest.close()
        if args.json:
            print_json(report.to_json())
        else:
            for text in report.lines():
                line(text)
        return 0

    if not args.to_store:
        raise ConfigError("no destination store", hint="pass --to-store")
    return with_store(args, body)
