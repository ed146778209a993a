"""``secret-kloset cat``: one secret version's data on stdout, byte for byte."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cli.options import snapshot_argument, snapshot_filter_options, store_options
from cli.parser import CommandParser, SubParsers, add_command

if TYPE_CHECKING:
    from core.store import Store
    from core.store.model import SecretRecord


def register(sub: SubParsers) -> None:
    add_command(
        sub, "cat", run, _arguments, help="write one secret version's data to stdout, byte for byte"
    )


def _arguments(p: CommandParser) -> None:
    store_options(p)
    snapshot_filter_options(p)
    snapshot_argument(p)
    p.add_argument("secret", metavar="SECRET", help="path/name, id:<secret id>, or a secret id")
    p.add_argument(
        "--revision",
        type=int,
        default=None,
        metavar="N",
        help="revision (default: the latest one whose data is stored)",
    )


def find_secret(tree: Sequence[SecretRecord], text: str) -> SecretRecord:
    """The one record ``text`` names: a secret id, else a selector (an exact path or name
    breaks a tie); a usage error for none or several."""
    import uuid

    from core.engine.selectors import Selection
    from core.errors import UsageError

    candidates: list[SecretRecord]
    try:
        wanted = str(uuid.UUID(text.strip()))
        candidates = [r for r in tree if r.secret_id.lower() == wanted]
    except ValueError:
        selection = Selection.parse([text])
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
        more = ", ..." if len(candidates) > 5 else ""
        raise UsageError(
            f"{len(candidates)} secrets match the given SECRET (ids: {ids}{more})",
            hint="name one secret: its full path or id:<secret id>",
        )
    return candidates[0]


def run(args: argparse.Namespace) -> int:
    import sys

    from cli.store_common import resolve_snapshot, with_store
    from core.errors import ExitCode, KlosetError, UsageError

    async def body(store: Store) -> int:
        header = await resolve_snapshot(store, args.snapshot, args)
        tree = await store.read_tree(header.id)
        record = find_secret(tree, args.secret)
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
        assert version.payload is not None
        data = await store.read_payload(version.payload)
        out = sys.stdout.buffer
        out.write(data)
        out.flush()
        return int(ExitCode.OK)

    return with_store(args, body)
