"""The option groups several commands share, each defined once: same flags, defaults and help.

- :func:`store_options`: ``--store``, ``--passphrase-command`` (and ``--profile``).
- :func:`profile_option`: ``--profile NAME`` for the credentials.
- :func:`json_option`: ``--json``.
- :func:`snapshot_filter_options`: ``--project ID`` / ``--region R`` of the store commands.
- :func:`snapshot_argument`: ``SNAPSHOT``; :func:`secret_selector_option`: ``--secret SELECTOR``.
- :func:`destination_options`: ``--to-project``, ``--to-region``, ``--versions``,
  ``--on-conflict``, ``--dry-run``, ``--verify``, ``--allow-residency-override`` of
  ``restore`` and ``copy``.
- :func:`control_plane_options` of the control plane's commands: :func:`policies_option`
  (``--policies FILE``), ``--profile``, ``--passphrase-command``, ``--json``;
  :func:`passphrase_command_option`: ``--passphrase-command`` alone.
- :func:`concurrency_option`, :func:`wait_option`, :func:`kdf_option`; the argument types :func:`uuid_arg`, :func:`region_arg`,
  :func:`positive_int`.

Every function is idempotent (an option the parser already has is not added twice), and
importing this module costs nothing beyond argparse: a choice list that lives in core's engines
is imported inside the function that needs it, which runs when the command is parsed.
"""

from __future__ import annotations

import argparse
import uuid

from cli import env


def has_option(parser: argparse.ArgumentParser, option: str) -> bool:
    return option in parser._option_string_actions


# --------------------------------------------------------------------------- argument types


def uuid_arg(value: str) -> str:
    """An id argument (project, organization): the 8-4-4-4-12 form, else a usage error (2)."""
    text = value.strip()
    try:
        uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an id (expected the 8-4-4-4-12 form, "
            "e.g. 11111111-1111-1111-1111-111111111111)"
        ) from None
    if len(text) != 36:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an id (expected the 8-4-4-4-12 form, "
            "e.g. 11111111-1111-1111-1111-111111111111)"
        )
    return text


def region_arg(value: str) -> str:
    from core.scaleway.models import REGIONS

    if value not in REGIONS:
        raise argparse.ArgumentTypeError(f"unknown region {value!r} (use {', '.join(REGIONS)})")
    return value


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


# --------------------------------------------------------------------------- store, profile, json


def store_options(parser: argparse.ArgumentParser, *, suppress_defaults: bool = False) -> None:
    """Add ``--store``, ``--passphrase-command`` (and ``--profile`` unless already there).

    ``suppress_defaults`` is for a sub-subcommand whose parent parser has the same options:
    an option given before the action (``key --store S list``) is then not reset by the
    action's default.
    """
    default = argparse.SUPPRESS if suppress_defaults else None
    group = parser.add_argument_group("store")
    if not has_option(parser, "--store"):
        group.add_argument(
            "--store",
            metavar="S",
            default=default,
            help=(
                "store location: a directory, s3://bucket/prefix or memory://name "
                f"(default: ${env.STORE}, the profile's store, or a local store under the "
                "XDG data dir)"
            ),
        )
    passphrase_command_option(parser, group=group, default=default)
    if not has_option(parser, "--profile"):
        group.add_argument(
            "--profile",
            metavar="NAME",
            default=default,
            help=f"profile whose keyring entry holds the store passphrase (default: ${env.PROFILE})",
        )


def passphrase_command_option(
    parser: argparse.ArgumentParser,
    *,
    group: argparse._ArgumentGroup | None = None,
    default: object = None,
) -> None:
    """Add ``--passphrase-command CMD`` (in ``group`` if given) unless already there."""
    if has_option(parser, "--passphrase-command"):
        return
    (group or parser).add_argument(
        "--passphrase-command",
        metavar="CMD",
        default=default,
        help=(
            "shell command that prints the store passphrase on stdout "
            f"(used when neither the profile's keyring entry nor ${env.PASSPHRASE} is set)"
        ),
    )


def policies_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--policies FILE`` (dest ``policies``, default None: the default policy file)."""
    if has_option(parser, "--policies"):
        return
    parser.add_argument(
        "--policies",
        metavar="FILE",
        default=None,
        help=(
            f"the policy file (default: ${env.POLICIES}, else "
            "$XDG_CONFIG_HOME/secret-kloset/policies.toml)"
        ),
    )


def profile_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--profile NAME`` (dest ``profile``, default None) for the credentials."""
    if has_option(parser, "--profile"):
        return
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=None,
        help=(
            f"credentials profile (default: ${env.PROFILE}, else the SCW_* environment "
            "variables, else the default profile, else the scw CLI config)"
        ),
    )


JSON_HELP = "print one JSON document on stdout instead of text"


def json_option(parser: argparse.ArgumentParser, help: str | None = JSON_HELP) -> None:
    """Add ``--json`` (dest ``json``): one JSON document on stdout, also when the command fails."""
    if has_option(parser, "--json"):
        return
    if help is None:
        parser.add_argument("--json", action="store_true")
    else:
        parser.add_argument("--json", action="store_true", help=help)


def control_plane_options(parser: argparse.ArgumentParser, *, store_access: bool = True) -> None:
    """The options of the control plane's commands: ``--policies FILE``, then (when the
    command opens the policies' stores) ``--profile`` and ``--passphrase-command``, then
    ``--json``."""
    policies_option(parser)
    if store_access:
        profile_option(parser)
        passphrase_command_option(parser)
    json_option(parser)


# --------------------------------------------------------------------------- selection


def snapshot_filter_options(parser: argparse.ArgumentParser) -> None:
    """``--project ID`` / ``--region R``: which snapshots a store command considers."""
    parser.add_argument(
        "--project",
        metavar="ID",
        type=uuid_arg,
        default=None,
        help="only snapshots of this project id",
    )
    parser.add_argument("--region", metavar="R", default=None, help="only snapshots of this region")


def snapshot_argument(
    parser: argparse.ArgumentParser, *, optional: bool = False, help: str | None = None
) -> None:
    """The ``SNAPSHOT`` positional (dest ``snapshot``); ``optional``: may be left out (None)."""
    text = help or "snapshot id, unique id prefix, or 'latest'"
    if optional:
        parser.add_argument("snapshot", metavar="SNAPSHOT", nargs="?", default=None, help=text)
    else:
        parser.add_argument("snapshot", metavar="SNAPSHOT", help=text)


def secret_selector_option(
    parser: argparse.ArgumentParser, *, help: str, several_per_flag: bool = False
) -> None:
    """``--secret SELECTOR`` (dest ``secrets``), repeatable; ``several_per_flag`` also takes
    ``--secret A B``."""
    if several_per_flag:
        parser.add_argument(
            "--secret",
            dest="secrets",
            action="extend",
            nargs="+",
            metavar="SELECTOR",
            default=[],
            help=help,
        )
    else:
        parser.add_argument(
            "--secret", dest="secrets", action="append", metavar="SELECTOR", default=[], help=help
        )


def wait_option(parser: argparse.ArgumentParser, *, help: str) -> None:
    """``--wait SECONDS``: how long to wait for the store's lock (default 0: fail at once)."""
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help=help)


def kdf_option(parser: argparse.ArgumentParser) -> None:
    """``--kdf fast`` (hidden): cheap key derivation for tests; never for a real store."""
    parser.add_argument(
        "--kdf", choices=("default", "fast"), default="default", help=argparse.SUPPRESS
    )


def concurrency_option(parser: argparse.ArgumentParser, *, help: str, default: int = 32) -> None:
    """``--concurrency N`` (N >= 1)."""
    parser.add_argument("--concurrency", type=positive_int, default=default, metavar="N", help=help)


def destination_options(
    parser: argparse.ArgumentParser,
    *,
    verb: str,
    done: str,
    on_conflict_help: str,
    dry_run_help: str,
) -> None:
    """The destination and write policy of ``restore`` and ``copy``.

    ``verb`` / ``done`` word the help ("restore" / "restored"). The destination project is
    checked at parse time (a bad id exits 2).
    """
    from core.engine.restore import OnConflict, VersionsMode

    parser.add_argument(
        "--to-project",
        metavar="ID",
        type=uuid_arg,
        help="destination project (default: the source's)",
    )
    parser.add_argument(
        "--to-region",
        type=region_arg,
        metavar="R",
        help="destination region (default: the source's)",
    )
    parser.add_argument(
        "--versions",
        choices=[VersionsMode.ALL, VersionsMode.LATEST],
        default=VersionsMode.ALL,
        help=f"{verb} every version (default) or only the latest",
    )
    parser.add_argument(
        "--on-conflict",
        choices=[str(o) for o in OnConflict],
        default=str(OnConflict.NEW_VERSION),
        help=on_conflict_help,
    )
    parser.add_argument(
        "--key-id",
        metavar="ID",
        type=uuid_arg,
        help=f"Key Manager key for the secrets the {verb} creates: a secret's own key follows "
        "only into its own project and region; elsewhere it gets this key, else the platform's",
    )
    parser.add_argument("--dry-run", action="store_true", help=dry_run_help)
    parser.add_argument(
        "--verify",
        action="store_true",
        help=f"read every {done} version back and compare its CRC32",
    )
    parser.add_argument(
        "--allow-residency-override",
        action="store_true",
        help=f"{verb} even into a region outside the source's residency country (the policy "
        "file's sources[].residency); the override is reported as a warning",
    )
