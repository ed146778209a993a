"""The handlers of ``secret-kloset profile ...`` (registered in ``cli.commands.profile``).

Secret keys and store passphrases are read from a hidden prompt or from standard input, never
from a command-line argument, and go to the OS keyring; ``show`` says where they are and never
prints them. This module imports the credentials package, so it is loaded only when a profile
command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.output import clean, print_json, say
from cli.prompt import read_secret, stdin_is_tty
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
from core.credentials.validation import DEFAULT_REGION, validate_profile_name, validate_uuid
from core.errors import ConfigError, KlosetError, UsageError

if TYPE_CHECKING:
    from core.engine.preflight import PreflightReport


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
    fields: dict[str, str | None] = {
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


def _profile_dict(profile: Profile, default: str | None) -> dict[str, object]:
    data: dict[str, object] = {"name": profile.name, "default": profile.name == default}
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
        say("No profiles yet. Add one with 'secret-kloset profile add NAME'.")
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
    cells = [[clean(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for row in cells:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _keyring_state(name: str) -> dict[str, object]:
    status = keyring_store.check_backend()
    state: dict[str, object] = {"keyring": status.description, "keyring_usable": status.usable}
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

    def stored(flag: object, what: str) -> str:
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
        print(f"{key.ljust(width)}  {clean(value)}")
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
        say(
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
                print(clean(f"{mark} {entry['name']}  {entry['access_key'] or '-'}  ({key})"))
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

    async def probe() -> tuple[PreflightReport, PreflightReport]:
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
