"""``secret-kloset key add|list|remove|passwd``: the store's passphrases (key slots)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli import env
from cli.options import json_option, kdf_option, store_options
from cli.parser import CommandParser, SubParsers

if TYPE_CHECKING:
    from core.store import Store
    from core.store.crypto import KdfParams


def register(sub: SubParsers) -> None:
    p = sub.add_parser("key", help="manage the store's passphrases (key slots)")
    p.defer(_actions)


def _actions(p: CommandParser) -> None:
    store_options(p)
    ksub = p.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    add = ksub.add_parser("add", help="add a passphrase")
    store_options(add, suppress_defaults=True)
    _new_passphrase_options(add)
    kdf_option(add)
    json_option(add, None)
    add.set_defaults(func=run_add)
    lst = ksub.add_parser("list", help="list the key slots")
    store_options(lst, suppress_defaults=True)
    json_option(lst, None)
    lst.set_defaults(func=run_list)
    rm = ksub.add_parser("remove", help="remove a key slot (never the last one)")
    store_options(rm, suppress_defaults=True)
    rm.add_argument("key_id", metavar="KEY_ID", help="key slot id or unique prefix")
    rm.set_defaults(func=run_remove)
    pw = ksub.add_parser("passwd", help="change the passphrase you opened the store with")
    store_options(pw, suppress_defaults=True)
    _new_passphrase_options(pw)
    kdf_option(pw)
    pw.set_defaults(func=run_passwd)


def _new_passphrase_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--new-passphrase-command",
        metavar="CMD",
        default=None,
        help="shell command printing the new passphrase",
    )
    p.add_argument(
        "--new-passphrase-file",
        metavar="FILE",
        default=None,
        help=(
            f"file holding the new passphrase (first line). Otherwise ${env.NEW_PASSPHRASE}, "
            "a prompt on a terminal, or the first line of standard input"
        ),
    )


def _first_line(text: str) -> str:
    from core.errors import ConfigError

    line = text.splitlines()[0] if text else ""
    if not line:
        raise ConfigError(
            "the new passphrase is empty", hint="give a non-empty passphrase on the first line"
        )
    return line


def new_passphrase(args: argparse.Namespace) -> str:
    """``--new-passphrase-command`` > ``--new-passphrase-file`` > env > prompt > stdin."""
    import os
    import sys

    from cli.store_common import prompt_passphrase, run_passphrase_command
    from core.errors import ConfigError

    command = getattr(args, "new_passphrase_command", None)
    if command:
        return run_passphrase_command(command)
    path = getattr(args, "new_passphrase_file", None)
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                return _first_line(fh.read())
        except OSError as err:
            raise ConfigError(
                f"cannot read the new passphrase file ({type(err).__name__})",
                hint="check --new-passphrase-file",
            ) from err
    from_env = os.environ.get(env.NEW_PASSPHRASE)
    if from_env:
        return from_env
    if sys.stdin is not None and not sys.stdin.isatty():
        text = sys.stdin.read()
        if not text.strip("\r\n"):
            raise ConfigError(
                "no new passphrase given, and standard input is empty",
                hint=(
                    "pass it with --new-passphrase-command, --new-passphrase-file, "
                    f"${env.NEW_PASSPHRASE}, or on standard input"
                ),
            )
        return _first_line(text)
    return prompt_passphrase(confirm=True, prompt="New passphrase: ")


def _kdf(args: argparse.Namespace) -> KdfParams:
    from core.store.crypto import KdfParams

    return (
        KdfParams.for_tests() if getattr(args, "kdf", "default") == "fast" else KdfParams.default()
    )


def _kdf_text(kdf: KdfParams) -> str:
    mem = int(kdf.memlimit) // (1024 * 1024)
    return f"argon2id t={kdf.opslimit} m={mem}MiB"


def run_add(args: argparse.Namespace) -> int:
    from cli.output import print_json, say
    from cli.store_common import with_store

    new = new_passphrase(args)

    async def body(store: Store) -> int:
        info = await store.add_key(new, kdf=_kdf(args))
        if args.json:
            print_json(info.to_dict())
        else:
            say(f"added key slot {info.id[:16]}")
        return 0

    return with_store(args, body)


def run_list(args: argparse.Namespace) -> int:
    from cli.output import local_time, print_json, say, table
    from cli.store_common import with_store

    async def body(store: Store) -> int:
        keys = await store.list_keys()
        if args.json:
            print_json([k.to_dict() for k in keys])
            return 0
        rows = [
            [
                ("*" if k.current else " ") + k.id[:16],
                local_time(k.created),
                k.host,
                k.username,
                _kdf_text(k.kdf),
            ]
            for k in keys
        ]
        table(["ID", "Created", "Host", "User", "KDF"], rows)
        say("* = the key slot this passphrase opened")
        return 0

    return with_store(args, body)


def run_remove(args: argparse.Namespace) -> int:
    from cli.output import say
    from cli.store_common import with_store

    async def body(store: Store) -> int:
        removed = await store.remove_key(args.key_id)
        say(f"removed key slot {removed[:16]}")
        return 0

    return with_store(args, body)


def run_passwd(args: argparse.Namespace) -> int:
    from cli.output import say
    from cli.store_common import with_store

    new = new_passphrase(args)

    async def body(store: Store) -> int:
        info = await store.change_passphrase(new, kdf=_kdf(args))
        say(f"passphrase changed (new key slot {info.id[:16]})")
        return 0

    return with_store(args, body)
