"""What the control plane's commands share (``policy``, ``run``, ``jobs``, ``coverage``,
``schedule``, ``drill``; docs/OPERATIONS.md): their options, how they reach credentials and
stores, the runner, the JSON error document, and the job lines they print.

Every command reads the policy file (``--policies FILE``, default
``$XDG_CONFIG_HOME/secret-kloset/policies.toml``); a bad file exits 2 naming file, line and
key, before anything runs. With ``--json`` exactly one JSON document is printed, also on
failure: the command's own (empty) document plus an ``error`` object
(``{"message", "hint"}``, and ``file``/``line``/``key`` for a bad policy file; issue 11's
contract, so not :func:`cli.output.error_document`'s flat form).

The options are cheap to add (``cli.options``); everything else here imports the engines, so
command modules import this module inside their handlers only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from cli import env
from cli.hints import error_details, hint_for, message_for
from cli.output import error_document, line, print_json, say
from cli.store_common import open_store, run_async
from core.engine.jobs.clock import Clock, clock_from_env
from core.engine.jobs.history import History
from core.engine.jobs.policies import PolicyFile, PolicyFileError, StoreSpec, load_policies
from core.engine.jobs.runner import CredentialsLike, Runner, RunReport
from core.errors import KlosetError

if TYPE_CHECKING:
    from core.store import Store

#: a JSON document of the engines (``to_json()``, job records)
Doc = dict[str, Any]


# --------------------------------------------------------------------------- environment


class CliEnvironment:
    """The runner's :class:`core.engine.jobs.runner.JobEnvironment`: credentials and stores
    resolved exactly as the other commands resolve them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    async def credentials(self, profile: str | None) -> CredentialsLike:
        from core.credentials.resolve import resolve_credentials

        name = profile or getattr(self.args, "profile", None) or None
        creds: CredentialsLike = await asyncio.to_thread(resolve_credentials, name)
        return creds

    async def open_store(self, spec: StoreSpec) -> Store:
        ns = argparse.Namespace(
            store=spec.location,
            profile=getattr(self.args, "profile", None),
            passphrase_command=getattr(self.args, "passphrase_command", None),
        )
        return await open_store(ns)


def policies(args: argparse.Namespace) -> PolicyFile:
    """The policy file ``--policies`` names (else the default one), validated."""
    return load_policies(getattr(args, "policies", None))


def runner(args: argparse.Namespace, policy_file: PolicyFile, clock: Clock) -> Runner:
    """The runner over ``policy_file``; progress lines on stderr, only on a terminal."""

    def progress(text: str) -> None:
        if sys.stderr.isatty():
            say(text)

    return Runner(
        policy_file,
        CliEnvironment(args),
        clock,
        concurrency=getattr(args, "concurrency", 16),
        on_progress=progress,
        contain_bugs=not os.environ.get(env.DEBUG),
    )


def histories(
    args: argparse.Namespace, policy_file: PolicyFile, clock: Clock | None = None
) -> tuple[dict[str, History], list[str]]:
    """Each store's job history (by store name), and warnings for stores that cannot be read."""
    return run_async(runner(args, policy_file, clock or clock_from_env()).histories())


# --------------------------------------------------------------------------- errors


def error_object(err: KlosetError, exit_code: int | None = None) -> Doc:
    """The error keys of a control-plane command's JSON document: the one error document every
    command prints (``error``, ``hint``, ``exit_code``, ``remedy``, ``details``), plus
    ``file``, ``line`` and ``key`` for a bad policy file."""
    doc: Doc = error_document(
        message_for(err),
        hint=hint_for(err),
        exit_code=int(err.exit_code) if exit_code is None else exit_code,
        remedy=str(err.remedy) if err.remedy is not None else None,
        details=error_details(err),
    )
    if isinstance(err, PolicyFileError):
        doc.update({"file": str(err.path), "line": err.line, "key": err.key})
    return doc


def print_error_document(
    empty: Mapping[str, object], err: KlosetError, exit_code: int | None = None
) -> None:
    """The command's ``empty`` document with the error keys: the one document printed
    (``exit_code``: the process's, when the command maps the error to its own code)."""
    print_json({**empty, **error_object(err, exit_code)})


@contextlib.contextmanager
def json_errors(args: argparse.Namespace, empty: Mapping[str, object]) -> Iterator[None]:
    """With ``--json``, a KlosetError still prints one document (``empty`` plus ``error``);
    the error then goes on to ``cli.main`` (message on stderr, its exit code)."""
    try:
        yield
    except KlosetError as err:
        if getattr(args, "json", False):
            print_error_document(empty, err)
        raise


# --------------------------------------------------------------------------- output


def print_jobs(jobs: list[Doc]) -> None:
    """One line per job (id, policy/source, status, snapshot, steps), then its errors."""
    for job in jobs:
        sid = (job.get("snapshot_id") or "-")[:8]
        steps = ", ".join(f"{s['name']} {s['status']}" for s in job.get("steps") or [])
        line(
            f"job {job['id'][:8]} {job['policy']}/{job['source']}: {job['status']} "
            f"(snapshot {sid}; {steps or 'no step'}) {job.get('started_at') or ''}"
        )
        for step in job.get("steps") or []:
            for err in step.get("errors") or []:
                line(f"  {step['name']}: {err}")
        for warning in job.get("warnings") or []:
            line(f"  warning: {warning}")


def warn(warnings: list[str]) -> None:
    for text in warnings:
        say(f"warning: {text}")


def summarise_failures(report: RunReport, what: str = "job") -> None:
    """One ``secret-kloset: error:`` line on stderr per partial or failed job."""
    for job in report.jobs:
        if job.status not in ("partial", "failed"):
            continue
        first = next((e for s in job.steps for e in s.errors), None) or next(iter(job.errors), "")
        say(
            f"secret-kloset: error: {what} {job.policy}/{job.source} {job.status}"
            + (f": {first}" if first else "")
        )


__all__ = [
    "CliEnvironment",
    "Doc",
    "error_object",
    "histories",
    "json_errors",
    "policies",
    "print_error_document",
    "print_jobs",
    "runner",
    "summarise_failures",
    "warn",
]
