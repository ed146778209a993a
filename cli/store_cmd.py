"""Store commands: init, snapshots, ls, cat, diff, check, forget, prune, key, locks, copy-snapshots.

Each handler resolves the store (``cli.store_common``), runs one async function and returns an
exit code from :class:`core.errors.ExitCode`. ``--json`` prints exactly one JSON document on
stdout; human output is a table on stdout; messages go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeAlias

from cli.store_common import (
    add_store_arguments,
    human_bytes,
    open_store,
    print_json,
    prompt_passphrase,
    resolve_passphrase,
    resolve_store_location,
    run_async,
    run_passphrase_command,
)
from core.errors import ConfigError, ExitCode, KlosetError, UsageError
from core.scaleway.models import format_time

ENV_NEW_PASSPHRASE = "SECRET_KLOSET_NEW_PASSPHRASE"
ENV_TO_PASSPHRASE = "SECRET_KLOSET_TO_PASSPHRASE"

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


# --------------------------------------------------------------------------- registration


def register(sub: SubParsers) -> None:
    _register_all(sub)
    group = sub.add_parser(
        "store",
        help="the store commands, grouped (same as the top-level ones: init, snapshots, ...)",
    )
    _register_all(group.add_subparsers(dest="store_command", metavar="COMMAND", required=True))


def _register_all(sub: SubParsers) -> None:
    _register_init(sub)
    _register_snapshots(sub)
    _register_ls(sub)
    _register_cat(sub)
    _register_diff(sub)
    _register_check(sub)
    _register_forget(sub)
    _register_prune(sub)
    _register_key(sub)
    _register_locks(sub)
    _register_unlock(sub)
    _register_pin(sub)
    _register_copy_snapshots(sub)


def _register_init(sub: SubParsers) -> None:
    p = sub.add_parser(
        "init",
        help="create a new, empty store",
        description=(
            "Create a store at the location (--store, $SECRET_KLOSET_STORE, the profile's "
            "store, or the default local store). The passphrase is asked twice on a terminal."
        ),
    )
    add_store_arguments(p)
    p.add_argument("--kdf", choices=("default", "fast"), default="default", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_init)


def _add_snapshot_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--project", metavar="ID", default=None, help="only snapshots of this project id"
    )
    p.add_argument("--region", metavar="R", default=None, help="only snapshots of this region")


def _register_snapshots(sub: SubParsers) -> None:
    p = sub.add_parser("snapshots", help="list snapshots")
    add_store_arguments(p)
    _add_snapshot_filters(p)
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="T",
        help="only snapshots with this tag (repeatable: all must match)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(func=cmd_snapshots)


def _register_ls(sub: SubParsers) -> None:
    p = sub.add_parser("ls", help="list the secrets of a snapshot")
    add_store_arguments(p)
    _add_snapshot_filters(p)
    p.add_argument(
        "snapshot", metavar="SNAPSHOT", help="snapshot id, unique id prefix, or 'latest'"
    )
    p.add_argument(
        "selector", metavar="SELECTOR", nargs="*", help="glob on path/name, or id:<secret id>"
    )
    p.add_argument("--json", action="store_true", help="print the listing as JSON")
    p.set_defaults(func=cmd_ls)


def _register_cat(sub: SubParsers) -> None:
    p = sub.add_parser("cat", help="write one secret version's data to stdout, byte for byte")
    add_store_arguments(p)
    _add_snapshot_filters(p)
    p.add_argument(
        "snapshot", metavar="SNAPSHOT", help="snapshot id, unique id prefix, or 'latest'"
    )
    p.add_argument("secret", metavar="SECRET", help="path/name, id:<secret id>, or a secret id")
    p.add_argument(
        "--revision",
        type=int,
        default=None,
        metavar="N",
        help="revision (default: the latest one whose data is stored)",
    )
    p.set_defaults(func=cmd_cat)


def _register_diff(sub: SubParsers) -> None:
    p = sub.add_parser("diff", help="show what changed between two snapshots")
    add_store_arguments(p)
    _add_snapshot_filters(p)
    p.add_argument("snapshot_a", metavar="SNAPSHOT_A")
    p.add_argument("snapshot_b", metavar="SNAPSHOT_B")
    p.add_argument("--json", action="store_true", help="print the diff as JSON")
    p.set_defaults(func=cmd_diff)


def _register_check(sub: SubParsers) -> None:
    p = sub.add_parser("check", help="verify the store's structure (and optionally its data)")
    add_store_arguments(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--read-data", action="store_true", help="also decrypt and verify every blob"
    )
    group.add_argument(
        "--read-data-subset",
        metavar="n/t",
        default=None,
        help="decrypt and verify the n-th of t parts of the data (t runs cover everything)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--no-lock", action="store_true", help="do not take a shared lock (read-only storage)"
    )
    p.set_defaults(func=cmd_check)


def _register_forget(sub: SubParsers) -> None:
    p = sub.add_parser(
        "forget",
        help="remove snapshots by a retention policy (or by id)",
        description=(
            "Keep the snapshots the --keep-* rules select in each group and remove the others. "
            "A count of -1 means unlimited. Pinned snapshots are always kept. Data is freed by "
            "'prune' (or --prune)."
        ),
    )
    add_store_arguments(p)
    _add_snapshot_filters(p)
    p.add_argument(
        "snapshots",
        metavar="SNAPSHOT",
        nargs="*",
        help="remove exactly these snapshots instead of applying a policy",
    )
    for name in ("last", "hourly", "daily", "weekly", "monthly", "yearly"):
        p.add_argument(
            f"--keep-{name}",
            type=int,
            default=0,
            metavar="N",
            help=f"keep the {'N newest' if name == 'last' else 'newest snapshot of each of the last N ' + name.replace('ily', 'y').replace('ly', '') + 's'}",
        )
    p.add_argument(
        "--keep-within",
        metavar="D",
        default=None,
        help="keep snapshots within D (e.g. 7d, 2w, 6m, 1y, 36h) of the group's newest",
    )
    p.add_argument(
        "--keep-tag",
        action="append",
        default=[],
        metavar="T",
        help="keep snapshots with tag T (T1,T2: with both; repeatable)",
    )
    p.add_argument(
        "--group-by",
        choices=("project", "environment", "none"),
        default="project",
        help="judge snapshots per group (default: project, i.e. source region and project)",
    )
    p.add_argument(
        "--allow-remove-all",
        action="store_true",
        help="allow a policy that removes every snapshot of a group",
    )
    p.add_argument("--prune", action="store_true", help="run prune afterwards")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="with --prune: wait up to SECONDS for running backups",
    )
    p.add_argument(
        "--dry-run", "-n", action="store_true", help="show what would be removed, remove nothing"
    )
    p.add_argument("--json", action="store_true", help="print the decisions as JSON")
    p.set_defaults(func=cmd_forget)


def _register_prune(sub: SubParsers) -> None:
    p = sub.add_parser("prune", help="free the space of data no snapshot uses")
    add_store_arguments(p)
    p.add_argument(
        "--dry-run", "-n", action="store_true", help="show what would be freed, change nothing"
    )
    p.add_argument(
        "--repack-below",
        type=float,
        default=None,
        metavar="PERCENT",
        help="repack packfiles less than PERCENT used (default 60)",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for running backups to finish (default: fail at once)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_prune)


def _register_key(sub: SubParsers) -> None:
    p = sub.add_parser("key", help="manage the store's passphrases (key slots)")
    add_store_arguments(p)
    ksub = p.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    add = ksub.add_parser("add", help="add a passphrase")
    add_store_arguments(add, suppress_defaults=True)
    _add_new_passphrase_options(add)
    add.add_argument(
        "--kdf", choices=("default", "fast"), default="default", help=argparse.SUPPRESS
    )
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_key_add)
    lst = ksub.add_parser("list", help="list the key slots")
    add_store_arguments(lst, suppress_defaults=True)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_key_list)
    rm = ksub.add_parser("remove", help="remove a key slot (never the last one)")
    add_store_arguments(rm, suppress_defaults=True)
    rm.add_argument("key_id", metavar="KEY_ID", help="key slot id or unique prefix")
    rm.set_defaults(func=cmd_key_remove)
    pw = ksub.add_parser("passwd", help="change the passphrase you opened the store with")
    add_store_arguments(pw, suppress_defaults=True)
    _add_new_passphrase_options(pw)
    pw.add_argument("--kdf", choices=("default", "fast"), default="default", help=argparse.SUPPRESS)
    pw.set_defaults(func=cmd_key_passwd)


def _add_new_passphrase_options(p: argparse.ArgumentParser) -> None:
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
            f"file holding the new passphrase (first line). Otherwise ${ENV_NEW_PASSPHRASE}, "
            "a prompt on a terminal, or the first line of standard input"
        ),
    )


def _register_locks(sub: SubParsers) -> None:
    p = sub.add_parser("locks", help="list the store's locks (and remove stale ones)")
    add_store_arguments(p)
    p.add_argument(
        "--remove-stale",
        action="store_true",
        help="remove locks whose holder stopped refreshing them or is gone",
    )
    p.add_argument(
        "--remove-all",
        action="store_true",
        help="remove every lock (only when you know no other process uses the store)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_locks)


def _register_unlock(sub: SubParsers) -> None:
    p = sub.add_parser("unlock", help="remove stale locks (all locks with --remove-all)")
    add_store_arguments(p)
    p.add_argument(
        "--remove-all",
        action="store_true",
        help="remove every lock, live or not (only when you know no other process uses the store)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_unlock)


def _register_pin(sub: SubParsers) -> None:
    for name, pinned in (("pin", True), ("unpin", False)):
        p = sub.add_parser(
            name,
            help="pin a snapshot (forget always keeps it)" if pinned else "unpin a snapshot",
        )
        add_store_arguments(p)
        _add_snapshot_filters(p)
        p.add_argument("snapshots", metavar="SNAPSHOT", nargs="+")
        p.set_defaults(func=cmd_pin, pinned=pinned)


def _register_copy_snapshots(sub: SubParsers) -> None:
    p = sub.add_parser(
        "copy-snapshots",
        help="copy snapshots (with their data) to another store",
        description=(
            "Copy snapshots to another store, re-encrypting with its keys; blobs it already "
            "has are skipped and snapshots it already has are not copied again."
        ),
    )
    add_store_arguments(p)
    _add_snapshot_filters(p)
    p.add_argument(
        "snapshots", metavar="SNAPSHOT", nargs="*", help="snapshots to copy (default: all)"
    )
    p.add_argument("--to-store", required=True, metavar="S", help="destination store location")
    p.add_argument(
        "--to-passphrase-command",
        metavar="CMD",
        default=None,
        help=f"command printing the destination's passphrase (or ${ENV_TO_PASSPHRASE}, or a prompt)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_copy_snapshots)


# --------------------------------------------------------------------------- helpers


def _run(args: argparse.Namespace, body: Callable[[Any], Awaitable[int]]) -> int:
    async def main() -> int:
        store = await open_store(args)
        try:
            return await body(store)
        finally:
            await _close(store)

    return run_async(main())


async def _close(store: Any) -> None:
    await store.close()


def _time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _console() -> Any:
    from rich.console import Console

    width = None if sys.stdout.isatty() else 200
    return Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False)


def _table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None
) -> None:
    from rich import box
    from rich.table import Table

    table = Table(*columns, box=box.SIMPLE_HEAD, title=title, show_edge=False, pad_edge=False)
    for row in rows:
        table.add_row(*row)
    _console().print(table)


def _eprint(text: str) -> None:
    print(text, file=sys.stderr)


def _header_json(header: Any) -> dict[str, Any]:
    doc = dict(header.to_dict())
    doc.pop("v", None)
    doc["short_id"] = header.short_id
    first = header.sources[0] if header.sources else None
    doc["project_id"] = first.project_id if first else None
    doc["region"] = first.region if first else None
    return doc


def _source_text(header: Any) -> str:
    return ", ".join(f"{s.region}/{s.project_id}" for s in header.sources) or "-"


async def _resolve(store: Any, ref: str, args: argparse.Namespace) -> Any:
    return await store.resolve_snapshot(
        ref, project=getattr(args, "project", None), region=getattr(args, "region", None)
    )


def _selection(texts: Sequence[str]) -> Any:
    from core.engine.selectors import Selection

    return Selection.parse(texts)


# --------------------------------------------------------------------------- init


def cmd_init(args: argparse.Namespace) -> int:
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
            _eprint(f"created store {store_id[:16]} at {location}")
        return int(ExitCode.OK)

    return run_async(main())


# --------------------------------------------------------------------------- snapshots


def cmd_snapshots(args: argparse.Namespace) -> int:
    async def body(store: Any) -> int:
        headers = await store.list_snapshots(
            project=args.project, region=args.region, tags=args.tag or None
        )
        headers = sorted(headers, key=lambda h: (h.time, h.id))
        damaged = sorted(getattr(store, "damaged_snapshots", {}) or {})
        if damaged:
            _eprint(
                f"warning: {len(damaged)} snapshot object(s) cannot be read ("
                + ", ".join(d[:8] for d in damaged)
                + "); run 'secret-kloset check'"
            )
        if args.json:
            print_json([_header_json(h) for h in headers])
            return int(ExitCode.OK)
        rows = []
        for h in headers:
            rows.append(
                [
                    h.short_id + ("*" if h.pinned else ""),
                    _time(h.time),
                    _source_text(h),
                    h.environment or "",
                    h.data_class or "",
                    ",".join(h.tags),
                    str(h.summary.secrets),
                    str(h.summary.versions),
                    h.status,
                    human_bytes(h.summary.bytes_added),
                ]
            )
        _table(
            [
                "ID",
                "Time",
                "Source (region/project)",
                "Env",
                "Class",
                "Tags",
                "Secrets",
                "Versions",
                "Status",
                "Added",
            ],
            rows,
        )
        _eprint(
            f"{len(headers)} snapshot(s)"
            + (" (* pinned)" if any(h.pinned for h in headers) else "")
        )
        return int(ExitCode.OK)

    return _run(args, body)


# --------------------------------------------------------------------------- ls


def _version_json(v: Any) -> dict[str, Any]:
    return {
        "revision": v.revision,
        "status": v.status,
        "created_at": format_time(v.created_at),
        "description": v.description,
        "latest": v.latest,
        "has_data": v.payload is not None,
        "size": v.size,
        "crc32": v.crc32,
        "ephemeral_properties": v.ephemeral_properties,
    }


def _record_json(r: Any) -> dict[str, Any]:
    doc = r.to_dict()
    doc.pop("v", None)
    doc["full_path"] = r.full_path
    doc["versions"] = [_version_json(v) for v in r.versions]
    return doc


def cmd_ls(args: argparse.Namespace) -> int:
    selection = _selection(args.selector)

    async def body(store: Any) -> int:
        header = await _resolve(store, args.snapshot, args)
        tree = await store.read_tree(header.id)
        records = [r for r in tree if selection.matches(r.path, r.name, r.secret_id)]
        if args.json:
            print_json(
                {"snapshot": _header_json(header), "secrets": [_record_json(r) for r in records]}
            )
            return int(ExitCode.OK)
        rows = []
        for r in records:
            with_data = sum(1 for v in r.versions if v.payload is not None)
            latest = r.latest_version
            rows.append(
                [
                    r.full_path,
                    r.type,
                    f"{with_data}/{len(r.versions)}",
                    str(latest.revision) if latest else "-",
                    r.status
                    + (" (deletion scheduled)" if r.deletion_requested_at else "")
                    + (" ERROR" if r.error else ""),
                    r.region,
                    r.secret_id,
                ]
            )
        _table(
            ["Path", "Type", "Versions (data/all)", "Latest", "Status", "Region", "Secret id"], rows
        )
        _eprint(f"{len(records)} secret(s) in snapshot {header.short_id}")
        return int(ExitCode.OK)

    return _run(args, body)


# --------------------------------------------------------------------------- cat


def _find_secret(tree: Sequence[Any], text: str) -> Any:
    import uuid

    candidates: list[Any]
    try:
        wanted = str(uuid.UUID(text.strip()))
        candidates = [r for r in tree if r.secret_id.lower() == wanted]
    except ValueError:
        selection = _selection([text])
        candidates = [r for r in tree if selection.matches(r.path, r.name, r.secret_id)]
        exact = [r for r in candidates if r.full_path == text or r.name == text]
        if len(candidates) > 1 and len(exact) == 1:
            candidates = exact
    if not candidates:
        raise UsageError(
            "no secret in the snapshot matches the given SECRET",
            hint="list the snapshot's secrets with 'secret-kloset ls SNAPSHOT'",
        )
    if len(candidates) > 1:
        ids = ", ".join(r.secret_id for r in candidates[:5])
        raise UsageError(
            f"{len(candidates)} secrets match the given SECRET (ids: {ids}{', ...' if len(candidates) > 5 else ''})",
            hint="name one secret: its full path or id:<secret id>",
        )
    return candidates[0]


def cmd_cat(args: argparse.Namespace) -> int:
    async def body(store: Any) -> int:
        header = await _resolve(store, args.snapshot, args)
        tree = await store.read_tree(header.id)
        record = _find_secret(tree, args.secret)
        if args.revision is not None:
            version = record.version(args.revision)
            if version is None:
                raise UsageError(
                    f"secret {record.secret_id} has no revision {args.revision} in this snapshot",
                    hint="see its revisions with 'secret-kloset ls SNAPSHOT id:<secret id> --json'",
                )
            if version.payload is None:
                raise KlosetError(
                    f"the data of revision {args.revision} of secret {record.secret_id} is not in "
                    f"this snapshot (status {version.status})",
                    hint="disabled versions are only backed up with 'backup --include-disabled'",
                )
        else:
            with_data = [v for v in record.versions if v.payload is not None]
            if not with_data:
                raise KlosetError(
                    f"no version of secret {record.secret_id} has its data in this snapshot",
                    hint="disabled versions are only backed up with 'backup --include-disabled'",
                )
            version = max(with_data, key=lambda v: v.revision)
        data = await store.read_payload(version.payload)
        out = sys.stdout.buffer
        out.write(data)
        out.flush()
        return int(ExitCode.OK)

    return _run(args, body)


# --------------------------------------------------------------------------- diff


def cmd_diff(args: argparse.Namespace) -> int:
    from core.store.diff import ADDED, REMOVED, diff_snapshots

    async def body(store: Any) -> int:
        a = await _resolve(store, args.snapshot_a, args)
        b = await _resolve(store, args.snapshot_b, args)
        tree_a, tree_b = await asyncio.gather(store.read_tree(a.id), store.read_tree(b.id))
        result = diff_snapshots(tree_a, tree_b)
        if args.json:
            doc = {"snapshot_a": a.id, "snapshot_b": b.id, **result.to_json()}
            print_json(doc)
            return int(ExitCode.OK)
        out = sys.stdout
        out.write(f"comparing snapshot {a.short_id} to {b.short_id}:\n\n")
        for change in result.changes:
            r = change.record
            mark = "+" if change.kind == ADDED else "-" if change.kind == REMOVED else "M"
            out.write(f"{mark}    {r.region}/{r.project_id} {r.full_path}  ({r.secret_id})\n")
            for f in change.fields:
                out.write(f"       {f.field}: {_short(f.old)} -> {_short(f.new)}\n")
            for v in change.versions:
                vmark = "+" if v.kind == ADDED else "-" if v.kind == REMOVED else "M"
                detail = ""
                if v.fields:
                    detail = "  " + ", ".join(
                        "data"
                        if f.field == "payload"
                        else f"{f.field} {_short(f.old)} -> {_short(f.new)}"
                        for f in v.fields
                        if f.field not in ("crc32", "size")
                    )
                out.write(f"     {vmark} revision {v.revision}{detail}\n")
        counts = result.counts()
        out.write(
            "\n"
            f"secrets: {counts['secrets_added']} added, {counts['secrets_removed']} removed, "
            f"{counts['secrets_changed']} changed, {counts['secrets_unchanged']} unchanged\n"
            f"versions: {counts['versions_added']} added, {counts['versions_removed']} removed, "
            f"{counts['versions_changed']} changed\n"
        )
        return int(ExitCode.OK)

    return _run(args, body)


def _short(value: Any) -> str:
    if isinstance(value, datetime):
        return format_time(value) or ""
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- check


def parse_subset(text: str) -> tuple[int, int]:
    try:
        n_text, t_text = text.split("/", 1)
        n, t = int(n_text), int(t_text)
    except ValueError:
        raise UsageError(
            "--read-data-subset must look like n/t (e.g. 1/5)", hint="n runs from 1 to t"
        ) from None
    if t < 1 or not 1 <= n <= t:
        raise UsageError("--read-data-subset n/t needs 1 <= n <= t", hint="e.g. 1/5, 2/5, ..., 5/5")
    return n, t


def cmd_check(args: argparse.Namespace) -> int:
    from core.store.check import check_store

    subset = parse_subset(args.read_data_subset) if args.read_data_subset else None

    async def body(store: Any) -> int:
        report = await check_store(
            store, read_data=args.read_data, subset=subset, lock=not args.no_lock
        )
        if args.json:
            print_json(report.to_json())
        else:
            for line in report.lines():
                print(line)
        return int(ExitCode.OK if report.ok else ExitCode.ERROR)

    return _run(args, body)


# --------------------------------------------------------------------------- forget


def _policy(args: argparse.Namespace) -> Any:
    from core.store.forget import GroupBy, RetentionDuration, RetentionPolicy, parse_keep_tags

    return RetentionPolicy(
        keep_last=args.keep_last,
        keep_hourly=args.keep_hourly,
        keep_daily=args.keep_daily,
        keep_weekly=args.keep_weekly,
        keep_monthly=args.keep_monthly,
        keep_yearly=args.keep_yearly,
        keep_within=RetentionDuration.parse(args.keep_within) if args.keep_within else None,
        keep_tags=parse_keep_tags(args.keep_tag),
        group_by=GroupBy(args.group_by),
        allow_empty=args.allow_remove_all,
    )


def cmd_forget(args: argparse.Namespace) -> int:
    from core.store.forget import forget, forget_ids

    policy = None if args.snapshots else _policy(args)
    if args.snapshots and not _policy(args).is_empty():
        raise UsageError(
            "give either snapshot ids or --keep-* rules, not both",
            hint="run forget twice if you need both",
        )

    async def body(store: Any) -> int:
        if policy is None:
            result = await forget_ids(store, args.snapshots, dry_run=args.dry_run)
        else:

            def wanted(h: Any) -> bool:
                return bool(h.covers(project=args.project, region=args.region))

            result = await forget(store, policy, dry_run=args.dry_run, snapshot_filter=wanted)
        prune_report = None
        if args.prune and not args.dry_run and result.removed_done:
            from core.store.prune import prune

            prune_report = await prune(store, lock_wait=args.wait)
            result.prune = prune_report
        if args.json:
            print_json(result.to_json())
            return int(ExitCode.OK)
        _print_forget(result)
        if prune_report is not None:
            for line in prune_report.lines():
                print(line)
        return int(ExitCode.OK)

    return _run(args, body)


def _print_forget(result: Any) -> None:
    out = sys.stdout
    for group in result.groups:
        label = ", ".join(f"{k} {v or '(none)'}" for k, v in group.label.items())
        if label:
            out.write(f"snapshots of {label}:\n")
        rows = []
        for d in sorted(group.decisions, key=lambda d: (d.snapshot.time, d.snapshot_id)):
            h = d.snapshot
            rows.append(
                [
                    h.short_id,
                    _time(h.time),
                    "keep" if d.keep else ("remove" if not result.dry_run else "would remove"),
                    ", ".join(d.reasons),
                    h.status,
                    ",".join(h.tags),
                ]
            )
        _table(["ID", "Time", "Decision", "Reasons", "Status", "Tags"], rows)
        out.write(
            f"{len(group.kept)} kept, {len(group.removed)} {'to remove' if result.dry_run else 'removed'}\n\n"
        )
    if result.dry_run:
        out.write(f"dry run: {len(result.removed)} snapshot(s) would be removed\n")
    else:
        out.write(f"removed {len(result.removed_done)} snapshot(s)\n")


# --------------------------------------------------------------------------- prune


def cmd_prune(args: argparse.Namespace) -> int:
    from core.store.prune import DEFAULT_REPACK_BELOW, prune

    threshold = DEFAULT_REPACK_BELOW if args.repack_below is None else args.repack_below / 100.0
    if not 0.0 <= threshold <= 1.0:
        raise UsageError("--repack-below must be between 0 and 100", hint="e.g. --repack-below 50")

    async def body(store: Any) -> int:
        report = await prune(
            store, dry_run=args.dry_run, repack_below=threshold, lock_wait=args.wait
        )
        if args.json:
            print_json(report.to_json())
        else:
            for line in report.lines():
                print(line)
        return int(ExitCode.OK)

    return _run(args, body)


# --------------------------------------------------------------------------- key


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    if not line:
        raise ConfigError(
            "the new passphrase is empty", hint="give a non-empty passphrase on the first line"
        )
    return line


def _new_passphrase(args: argparse.Namespace) -> str:
    """``--new-passphrase-command`` > ``--new-passphrase-file`` > env > prompt > stdin."""
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
    env = os.environ.get(ENV_NEW_PASSPHRASE)
    if env:
        return env
    if sys.stdin is not None and not sys.stdin.isatty():
        text = sys.stdin.read()
        if not text.strip("\r\n"):
            raise ConfigError(
                "no new passphrase given, and standard input is empty",
                hint=(
                    "pass it with --new-passphrase-command, --new-passphrase-file, "
                    f"${ENV_NEW_PASSPHRASE}, or on standard input"
                ),
            )
        return _first_line(text)
    return prompt_passphrase(confirm=True, prompt="New passphrase: ")


def _kdf(args: argparse.Namespace) -> Any:
    from core.store.crypto import KdfParams

    return (
        KdfParams.for_tests() if getattr(args, "kdf", "default") == "fast" else KdfParams.default()
    )


def cmd_key_add(args: argparse.Namespace) -> int:
    new = _new_passphrase(args)

    async def body(store: Any) -> int:
        info = await store.add_key(new, kdf=_kdf(args))
        if args.json:
            print_json(info.to_dict())
        else:
            _eprint(f"added key slot {info.id[:16]}")
        return int(ExitCode.OK)

    return _run(args, body)


def cmd_key_list(args: argparse.Namespace) -> int:
    async def body(store: Any) -> int:
        keys = await store.list_keys()
        if args.json:
            print_json([k.to_dict() for k in keys])
            return int(ExitCode.OK)
        rows = [
            [
                ("*" if k.current else " ") + k.id[:16],
                _time(k.created),
                k.host,
                k.username,
                _kdf_text(k.kdf),
            ]
            for k in keys
        ]
        _table(["ID", "Created", "Host", "User", "KDF"], rows)
        _eprint("* = the key slot this passphrase opened")
        return int(ExitCode.OK)

    return _run(args, body)


def _kdf_text(kdf: Any) -> str:
    mem = int(kdf.memlimit) // (1024 * 1024)
    return f"argon2id t={kdf.opslimit} m={mem}MiB"


def cmd_key_remove(args: argparse.Namespace) -> int:
    async def body(store: Any) -> int:
        removed = await store.remove_key(args.key_id)
        _eprint(f"removed key slot {removed[:16]}")
        return int(ExitCode.OK)

    return _run(args, body)


def cmd_key_passwd(args: argparse.Namespace) -> int:
    new = _new_passphrase(args)

    async def body(store: Any) -> int:
        info = await store.change_passphrase(new, kdf=_kdf(args))
        _eprint(f"passphrase changed (new key slot {info.id[:16]})")
        return int(ExitCode.OK)

    return _run(args, body)


# --------------------------------------------------------------------------- locks


def _print_locks(locks: Sequence[Any], removed: Sequence[str], as_json: bool) -> None:
    if as_json:
        print_json({"locks": [lk.to_dict() for lk in locks], "removed": list(removed)})
        return
    rows = [
        [
            lk.id[:16],
            "exclusive" if lk.exclusive else "shared",
            lk.purpose,
            lk.host,
            str(lk.pid),
            _time(lk.time),
            _time(lk.expires),
            "stale" if lk.stale() else "live",
            "removed" if lk.id in removed else "",
        ]
        for lk in locks
    ]
    _table(["ID", "Kind", "Purpose", "Host", "PID", "Since", "Expires", "State", ""], rows)
    _eprint(f"{len(locks)} lock(s), {len(removed)} removed")


def cmd_locks(args: argparse.Namespace) -> int:
    async def body(store: Any) -> int:
        locks = await store.list_locks()
        removed: list[str] = []
        if args.remove_all:
            removed = await store.remove_all_locks()
        elif args.remove_stale:
            removed = await store.remove_stale_locks()
        _print_locks(locks, removed, args.json)
        return int(ExitCode.OK)

    return _run(args, body)


def cmd_unlock(args: argparse.Namespace) -> int:
    async def body(store: Any) -> int:
        locks = await store.list_locks()
        if args.remove_all:
            removed = await store.remove_all_locks()
        else:
            removed = await store.remove_stale_locks()
        _print_locks(locks, removed, args.json)
        return int(ExitCode.OK)

    return _run(args, body)


# --------------------------------------------------------------------------- pin


def cmd_pin(args: argparse.Namespace) -> int:
    async def body(store: Any) -> int:
        for ref in args.snapshots:
            header = await _resolve(store, ref, args)
            await store.update_snapshot(header.id, pinned=args.pinned)
            _eprint(f"{'pinned' if args.pinned else 'unpinned'} snapshot {header.short_id}")
        return int(ExitCode.OK)

    return _run(args, body)


# --------------------------------------------------------------------------- copy-snapshots


def _to_passphrase(args: argparse.Namespace) -> str:
    if args.to_passphrase_command:
        return run_passphrase_command(args.to_passphrase_command)
    env = os.environ.get(ENV_TO_PASSPHRASE)
    if env:
        return env
    return prompt_passphrase(prompt="Destination store passphrase: ")


def cmd_copy_snapshots(args: argparse.Namespace) -> int:
    from core.store.copy import copy_snapshots

    to_passphrase = _to_passphrase(args)

    async def body(store: Any) -> int:
        from core.store import Store

        if args.snapshots:
            ids = [(await _resolve(store, ref, args)).id for ref in args.snapshots]
        else:
            ids = [
                h.id for h in await store.list_snapshots(project=args.project, region=args.region)
            ]
        dest = await Store.open(args.to_store, to_passphrase)
        try:
            report = await copy_snapshots(store, dest, ids)
        finally:
            await _close(dest)
        if args.json:
            print_json(report.to_json())
        else:
            for line in report.lines():
                print(line)
        return int(ExitCode.OK)

    if not args.to_store:
        raise ConfigError("no destination store", hint="pass --to-store")
    return _run(args, body)
