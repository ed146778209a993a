"""``secret-kloset profile``: add, list, show, update, remove, set-default, import-scw,
passphrase, test.

Registration only: the handlers live in ``cli.commands.profile_actions`` and are imported when
a profile command runs (they import the credentials package and the OS keyring).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from cli.options import json_option
from cli.parser import CommandParser, SubParsers, lazy_handler


def _handler(name: str) -> Callable[[argparse.Namespace], int]:
    return lazy_handler("cli.commands.profile_actions", name)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "profile",
        help="manage credential profiles (secret keys in the OS keyring)",
        description=(
            "Manage credential profiles. The non-secret fields live in "
            "~/.config/secret-kloset/profiles.toml; the Scaleway secret key and the store "
            "passphrase live in the OS keyring (service 'secret-kloset')."
        ),
    )
    parser.set_defaults(func=lambda args: _usage(parser))
    parser.defer(_actions)


def _actions(parser: CommandParser) -> None:
    from core.credentials.validation import REGIONS

    actions = parser.add_subparsers(dest="profile_command", metavar="ACTION")

    add = actions.add_parser(
        "add",
        help="add or replace a profile",
        description=(
            "Add a profile. The secret key is read from a hidden prompt, or from standard "
            "input when --secret-key-stdin is given or stdin is not a terminal; never from an "
            "argument. Fields not given are asked for at a terminal."
        ),
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--access-key", metavar="SCW...", help="access key (SCW + 17 characters)")
    add.add_argument("--organization-id", metavar="UUID", help="organization id")
    add.add_argument("--project-id", metavar="UUID", help="default project id")
    add.add_argument("--region", metavar="R", choices=REGIONS, help="default region")
    add.add_argument("--api-url", metavar="URL", help="API URL (default https://api.scaleway.com)")
    add.add_argument("--store", metavar="S", help="default store location for this profile")
    add.add_argument("--default", action="store_true", help="make it the default profile")
    add.add_argument(
        "--secret-key-stdin", action="store_true", help="read the secret key from standard input"
    )
    add.add_argument("--force", action="store_true", help="replace an existing profile")
    add.set_defaults(func=_handler("cmd_add"))

    lst = actions.add_parser("list", help="list profiles")
    json_option(lst)
    lst.set_defaults(func=_handler("cmd_list"))

    show = actions.add_parser("show", help="show a profile (never its secret key)")
    show.add_argument("name", metavar="NAME", nargs="?", help="default: the default profile")
    json_option(show)
    show.set_defaults(func=_handler("cmd_show"))

    update = actions.add_parser(
        "update",
        help="change a profile's non-secret fields",
        description=(
            "Change fields of an existing profile; the secret key stays as stored (replace it "
            "with 'profile add NAME --force'). An empty value ('') clears an optional field."
        ),
    )
    update.add_argument("name", metavar="NAME")
    update.add_argument("--access-key", metavar="SCW...")
    update.add_argument("--organization-id", metavar="UUID")
    update.add_argument("--project-id", metavar="UUID")
    update.add_argument("--region", metavar="R", choices=(*REGIONS, ""))
    update.add_argument("--api-url", metavar="URL")
    update.add_argument("--store", metavar="S")
    update.add_argument("--default", action="store_true", help="also make it the default")
    update.set_defaults(func=_handler("cmd_update"))

    remove = actions.add_parser("remove", help="remove a profile and its keyring entries")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument(
        "--force",
        action="store_true",
        help="remove the profile even when its keyring entries cannot be deleted "
        "(keyring unavailable); they are then left in the keyring",
    )
    remove.set_defaults(func=_handler("cmd_remove"))

    default = actions.add_parser("set-default", help="make a profile the default")
    default.add_argument("name", metavar="NAME")
    default.set_defaults(func=_handler("cmd_set_default"))

    imp = actions.add_parser(
        "import-scw",
        help="import a profile from the scw CLI config file",
        description=(
            "Copy a profile of the scw CLI config (~/.config/scw/config.yaml, or "
            "$SCW_CONFIG_PATH) into secret-kloset's profiles; its secret key goes to the OS "
            "keyring. Default scw profile: $SCW_PROFILE, else active_profile, else default."
        ),
    )
    imp.add_argument("--scw-profile", metavar="NAME", help="scw profile to import")
    imp.add_argument("--name", metavar="NAME", help="name of the new profile (default: same)")
    imp.add_argument("--config", metavar="PATH", help="scw config file to read")
    imp.add_argument("--default", action="store_true", help="make it the default profile")
    imp.add_argument("--force", action="store_true", help="replace an existing profile")
    imp.add_argument(
        "--list", action="store_true", help="only list the scw config's profiles (no secrets)"
    )
    json_option(imp)
    imp.set_defaults(func=_handler("cmd_import_scw"))

    test = actions.add_parser(
        "test",
        help="test a profile's credentials against the API (which permission sets it holds)",
        description=(
            "Resolve the credentials (NAME, else the usual order: SECRET_KLOSET_PROFILE, SCW_*, "
            "the default profile, the scw config), then probe, without reading or changing "
            "anything, which permission sets a backup and a restore need are present in the "
            "project and region. Exits 1 when the key is refused or the API is unreachable, "
            "also 1 when a permission set a backup needs is missing."
        ),
    )
    test.add_argument("name", metavar="NAME", nargs="?", help="default: the usual resolution")
    test.add_argument("--project", metavar="ID", help="project (default: the profile's)")
    test.add_argument("--region", metavar="R", choices=REGIONS, help="region (default: profile's)")
    json_option(test)
    test.set_defaults(func=_handler("cmd_test"))

    pp = actions.add_parser(
        "passphrase",
        help="keep a profile's store passphrase in the OS keyring",
        description=(
            "Store the snapshot store's passphrase for a profile in the OS keyring, read from "
            "a hidden prompt (asked twice) or from standard input."
        ),
    )
    pp.add_argument("name", metavar="NAME")
    pp.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the passphrase from the first line of standard input",
    )
    pp.add_argument("--delete", action="store_true", help="remove the stored passphrase")
    pp.set_defaults(func=_handler("cmd_passphrase"))
