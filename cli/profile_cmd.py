"""``secret-kloset profile``: add, list, show, update, remove, set-default, import-scw,
passphrase.

Secret keys and store passphrases are read from a hidden prompt or from standard input, never
from a command-line argument, and go to the OS keyring; ``show`` says where they are and never
prints them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.common import add_json_argument, print_json, read_secret, stdin_is_tty
from core.credentials import keyring_store
from core.credentials.keyring_store import KeyringUnavailableError
from core.credentials.profiles import (
    Profile,
    ProfileStore,
    add_profile,
    remove_profile,
    update_profile,
)
from core.credentials.scw_config import import_scw_profile, load_scw_config
from core.credentials.validation import (
    DEFAULT_REGION,
    REGIONS,
    validate_profile_name,
    validate_uuid,
)
from core.errors import ConfigError, KlosetError, UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    add.set_defaults(func=cmd_add)

    lst = actions.add_parser("list", help="list profiles")
    add_json_argument(lst)
    lst.set_defaults(func=cmd_list)

    show = actions.add_parser("show", help="show a profile (never its secret key)")
    show.add_argument("name", metavar="NAME", nargs="?", help="default: the default profile")
    add_json_argument(show)
    show.set_defaults(func=cmd_show)

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
    update.set_defaults(func=cmd_update)

    remove = actions.add_parser("remove", help="remove a profile and its keyring entries")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument(
        "--force",
        action="store_true",
        help="remove the profile even when its keyring entries cannot be deleted "
        "(keyring unavailable); they are then left in the keyring",
    )
    remove.set_defaults(func=cmd_remove)

    default = actions.add_parser("set-default", help="make a profile the default")
    default.add_argument("name", metavar="NAME")
    default.set_defaults(func=cmd_set_default)

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
    add_json_argument(imp)
    imp.set_defaults(func=cmd_import_scw)

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
    add_json_argument(test)
    test.set_defaults(func=cmd_test)

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
    pp.set_defaults(func=cmd_passphrase)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def _ask(label: str, default: str | None = None) -> str | None:
    suffix = f" [{default}]" if default else " (optional)"
    try:
        answer = input(f"{label}{suffix}: ").strip()
    except EOFError:
        answer = ""
    return answer or default


def cmd_add(args: argparse.Namespace) -> int:
    validate_profile_name(args.name)
    store = ProfileStore()
    existing = store.find(args.name)
    if existing is not None and not args.force:
        raise ConfigError(
            f"profile {args.name!r} already exists",
            hint="pass --force to replace it, or remove it first",
        )
    # Fail before asking anything when the keyring cannot hold the secret key.
    keyring_store.safe_backend()
    fields: dict[str, Any] = {
        "access_key": args.access_key,
        "organization_id": args.organization_id,
        "default_project_id": args.project_id,
        "default_region": args.region,
        "api_url": args.api_url,
        "store": args.store,
    }
    interactive = stdin_is_tty() and not args.secret_key_stdin
    if interactive:
        if fields["access_key"] is None:
            fields["access_key"] = _ask("Access key")
        if fields["organization_id"] is None:
            fields["organization_id"] = _ask("Organization id")
        if fields["default_project_id"] is None:
            fields["default_project_id"] = _ask("Default project id")
        if fields["default_region"] is None:
            fields["default_region"] = _ask("Default region", DEFAULT_REGION)
    profile = Profile(name=args.name, **fields).validated()
    secret_key = read_secret(
        "Secret key (hidden): ", from_stdin=args.secret_key_stdin, what="secret key"
    )
    saved = add_profile(
        profile,
        secret_key,
        make_default=args.default,
        replace_existing=args.force,
        store=store,
    )
    default = store.default_name() == saved.name
    print(
        f"Profile {saved.name!r} saved in {store.path}; secret key in the OS keyring "
        f"({keyring_store.backend_description()})"
        + ("; it is the default profile." if default else ".")
    )
    return 0


def _profile_dict(profile: Profile, default: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": profile.name, "default": profile.name == default}
    data.update({k: v for k, v in profile.to_dict().items() if k != "name"})
    return data


def cmd_list(args: argparse.Namespace) -> int:
    store = ProfileStore()
    profiles = store.profiles()
    default = store.default_name()
    if args.json:
        print_json([_profile_dict(p, default) for p in profiles])
        return 0
    if not profiles:
        _say("No profiles yet. Add one with 'secret-kloset profile add NAME'.")
        return 0
    rows = [("", "NAME", "ACCESS KEY", "REGION", "PROJECT", "API URL")]
    for p in profiles:
        rows.append(
            (
                "*" if p.name == default else "",
                p.name,
                p.access_key or "-",
                p.default_region or DEFAULT_REGION,
                p.default_project_id or "-",
                p.api_url or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _keyring_state(name: str) -> dict[str, Any]:
    status = keyring_store.check_backend()
    state: dict[str, Any] = {"keyring": status.description, "keyring_usable": status.usable}
    if not status.usable:
        state.update(secret_key_stored=None, store_passphrase_stored=None, error=status.reason)
        return state
    try:
        state["secret_key_stored"] = keyring_store.get_secret_key(name) is not None
        state["store_passphrase_stored"] = keyring_store.get_store_passphrase(name) is not None
    except KlosetError as err:
        state.update(secret_key_stored=None, store_passphrase_stored=None, error=err.message)
    return state


def cmd_show(args: argparse.Namespace) -> int:
    store = ProfileStore()
    default = store.default_name()
    name = args.name or default
    if not name:
        raise ConfigError(
            "no profile named and no default profile",
            hint="name one ('secret-kloset profile show NAME'), or set a default with "
            "'secret-kloset profile set-default NAME'",
        )
    profile = store.get(name)
    data = _profile_dict(profile, default)
    data.update(_keyring_state(name))
    data["config_file"] = str(store.path)
    if args.json:
        print_json(data)
        return 0

    def stored(flag: bool | None, what: str) -> str:
        if flag is None:
            return f"unknown: the keyring is not usable ({data.get('error')})"
        return f"stored in {data['keyring']}" if flag else f"not stored ({what})"

    lines = [
        ("profile", profile.name + (" (default)" if data["default"] else "")),
        ("access key", profile.access_key or "-"),
        ("organization id", profile.organization_id or "-"),
        ("default project id", profile.default_project_id or "-"),
        ("default region", profile.default_region or f"{DEFAULT_REGION} (implicit)"),
        ("API URL", profile.api_url or "https://api.scaleway.com (implicit)"),
        ("store", profile.store or "-"),
        (
            "secret key",
            stored(data["secret_key_stored"], f"run 'secret-kloset profile add {name} --force'"),
        ),
        (
            "store passphrase",
            stored(
                data["store_passphrase_stored"],
                f"optional: 'secret-kloset profile passphrase {name}'",
            ),
        ),
        ("config file", str(store.path)),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {value}")
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    store = ProfileStore()
    changes: dict[str, str | None] = {}
    for option, field in (
        ("access_key", "access_key"),
        ("organization_id", "organization_id"),
        ("project_id", "default_project_id"),
        ("region", "default_region"),
        ("api_url", "api_url"),
        ("store", "store"),
    ):
        value = getattr(args, option)
        if value is not None:
            changes[field] = value.strip() or None
    if not changes and not args.default:
        raise UsageError(
            "nothing to change",
            hint="give at least one of --access-key, --organization-id, --project-id, "
            "--region, --api-url, --store, --default",
        )
    profile = update_profile(args.name, changes, store=store)
    if args.default:
        store.set_default(profile.name)
    print(f"Profile {profile.name!r} updated.")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    store = ProfileStore()
    try:
        removed = remove_profile(args.name, store=store)
    except keyring_store.KeyringUnavailableError as err:
        if not args.force:
            raise KeyringUnavailableError(
                f"{err.message}; profile {args.name!r} was not removed",
                hint=f"{err.hint}; or pass --force to remove the profile and leave its keyring "
                "entries behind",
            ) from None
        store.delete(args.name)
        _say(
            f"warning: the keyring entries of profile {args.name!r} were not deleted "
            f"({err.message}); delete them from your keyring (service "
            f"{keyring_store.SERVICE!r}, user names {args.name}:secret-key and "
            f"{args.name}:store-passphrase)"
        )
        print(f"Removed profile {args.name!r}.")
        return 0
    extra = f" and its {' and '.join(removed)} from the OS keyring" if removed else ""
    print(f"Removed profile {args.name!r}{extra}.")
    return 0


def cmd_set_default(args: argparse.Namespace) -> int:
    store = ProfileStore()
    store.set_default(args.name)
    print(f"Profile {args.name!r} is now the default.")
    return 0


def cmd_import_scw(args: argparse.Namespace) -> int:
    if args.list:
        config = load_scw_config(args.config, required=True)
        assert config is not None
        selected = config.selected_name()
        rows = []
        for name in config.profile_names():
            entry = config.profile(name).public_dict()
            entry["selected"] = name == selected
            rows.append(entry)
        if args.json:
            print_json(rows)
        else:
            for entry in rows:
                mark = "*" if entry["selected"] else " "
                key = "secret key" if entry["has_secret_key"] else "NO secret key"
                print(f"{mark} {entry['name']}  {entry['access_key'] or '-'}  ({key})")
        return 0
    store = ProfileStore()
    profile = import_scw_profile(
        args.scw_profile,
        name=args.name,
        path=args.config,
        make_default=args.default,
        replace_existing=args.force,
        store=store,
    )
    if args.json:
        data = _profile_dict(profile, store.default_name())
        print_json(data)
        return 0
    default = store.default_name() == profile.name
    print(
        f"Imported the scw config profile as profile {profile.name!r}; secret key in the OS "
        f"keyring ({keyring_store.backend_description()})"
        + ("; it is the default profile." if default else ".")
    )
    return 0


def cmd_passphrase(args: argparse.Namespace) -> int:
    store = ProfileStore()
    store.get(args.name)  # must be one of our profiles
    if args.delete:
        if keyring_store.delete_store_passphrase(args.name):
            print(f"Removed the store passphrase of profile {args.name!r} from the OS keyring.")
        else:
            print(f"Profile {args.name!r} had no store passphrase in the OS keyring.")
        return 0
    keyring_store.safe_backend()
    passphrase = read_secret(
        "Store passphrase (hidden): ",
        from_stdin=args.passphrase_stdin,
        confirm=True,
        what="store passphrase",
        strip=False,
    )
    keyring_store.set_store_passphrase(args.name, passphrase)
    print(
        f"Store passphrase of profile {args.name!r} saved in the OS keyring "
        f"({keyring_store.backend_description()})."
    )
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    import asyncio

    from core.credentials.resolve import resolve_credentials
    from core.engine.preflight import preflight

    creds = resolve_credentials(args.name)
    project = args.project or creds.default_project_id
    if not project:
        raise UsageError(
            f"no project to test in: the credentials ({creds.source}) have no default project",
            hint="pass --project ID, or set one with 'secret-kloset profile update NAME "
            "--project-id ID'",
        )
    project = validate_uuid(project, field="--project")
    region = args.region or creds.default_region

    async def probe() -> tuple[Any, Any]:
        async with creds.client(max_retries=2) as client:
            backup = await preflight(
                client,
                operation="backup",
                region=region,
                project_id=project,
                organization_id=creds.organization_id,
            )
            restore = await preflight(
                client,
                operation="restore",
                region=region,
                project_id=project,
                organization_id=creds.organization_id,
                check_projects=False,
            )
        return backup, restore

    backup, restore = asyncio.run(probe())
    ok = backup.ok
    if args.json:
        print_json(
            {
                "credentials": creds.public_dict(),
                "project_id": project,
                "region": region,
                "authenticated": True,
                "backup": backup.to_dict(),
                "restore": restore.to_dict(),
                "ok": ok,
            }
        )
        return 0 if ok else 1
    print(f"Credentials from {creds.source} are accepted by {creds.api_url}.")
    print(f"Project {project}, region {region}:")
    for label, report in (("backup", backup), ("restore", restore)):
        parts = []
        for name in report.required:
            parts.append(f"{name} {report.results.get(name, 'unknown')}")
        verdict = "ok" if report.ok else "MISSING " + ", ".join(report.missing)
        print(f"  {label:8} {verdict}")
        for part in parts:
            print(f"    {part}")
    if backup.project_names:
        print("  ProjectReadOnly present: project names are recorded")
    for note in backup.notes:
        print(f"  note: {note}")
    return 0 if ok else 1
