"""``secret-kloset init``: create a new, empty store."""

from __future__ import annotations

import argparse

from cli.options import json_option, kdf_option, store_options
from cli.parser import CommandParser, SubParsers, add_command


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "init",
        run,
        _arguments,
        help="create a new, empty store",
        description=(
            "Create a store at the location (--store, $SECRET_KLOSET_STORE, the profile's "
            "store, or the default local store). The passphrase is asked twice on a terminal."
        ),
    )


def _arguments(p: CommandParser) -> None:
    store_options(p)
    kdf_option(p)
    json_option(p, "print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from cli.output import print_json, say
    from cli.store_common import resolve_passphrase, resolve_store_location, run_async
    from core.errors import ExitCode

    location = resolve_store_location(args)
    passphrase = resolve_passphrase(args, confirm=True)

    async def main() -> int:
        from core.store import Store
        from core.store.crypto import KdfParams

        kdf = KdfParams.for_tests() if args.kdf == "fast" else KdfParams.default()
        store = await Store.init(location, passphrase, kdf=kdf)
        try:
            store_id = store.id
        finally:
            await store.close()
        if args.json:
            print_json({"location": location, "store_id": store_id})
        else:
            say(f"created store {store_id[:16]} at {location}")
        return int(ExitCode.OK)

    return run_async(main())
