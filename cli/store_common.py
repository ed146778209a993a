"""Helpers shared by every command that opens the snapshot store.

The store location comes from, in order: ``--store``, ``SECRET_KLOSET_STORE``, the profile's
store location (if the profile records one), then a local store under the XDG data dir
(``platformdirs.user_data_dir("secret-kloset")/store``).

The passphrase comes from, in order: the profile's keyring entry, ``SECRET_KLOSET_PASSPHRASE``,
``--passphrase-command`` (run through the shell; its stdout minus the trailing newline), then a
hidden prompt (only when stdin is a terminal; otherwise a clear error).

Command modules add the options with :func:`cli.options.store_options`, then run
``with_store(args, body)`` (or ``run_async(main(args))`` where ``main`` does
``store = await open_store(args)``). Importing this module is cheap: the store, asyncio and the
keyring are imported by the functions that use them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from cli import env
from core.errors import ConfigError, KlosetError

if TYPE_CHECKING:
    from core.credentials.profiles import Profile
    from core.store import Store
    from core.store.model import SnapshotHeader

T = TypeVar("T")

APP_NAME = "secret-kloset"
PASSPHRASE_COMMAND_TIMEOUT = 120.0


def default_store_location() -> str:
    import platformdirs

    return str(Path(platformdirs.user_data_dir(APP_NAME)) / "store")


def _profile_name(args: argparse.Namespace) -> str | None:
    """``--profile`` > ``$SECRET_KLOSET_PROFILE`` (explicit choices only)."""
    name = getattr(args, "profile", None)
    if name:
        return str(name)
    value = os.environ.get(env.PROFILE, "").strip()
    return value or None


def _profile(args: argparse.Namespace) -> Profile | None:
    """The profile in use: the explicit one (an error if it does not exist), else the default."""
    from core.credentials.profiles import ProfileStore

    profiles = ProfileStore()
    explicit = _profile_name(args)
    if explicit:
        from core.credentials.resolve import lookup_profile

        via = "--profile" if getattr(args, "profile", None) else env.PROFILE
        ours, _ = lookup_profile(explicit, via=via, profiles=profiles)
        return ours  # None for an scw CLI profile: credentials only, no store settings
    try:
        default = profiles.default_name()
        return profiles.find(default) if default else None
    except KlosetError:
        return None  # an unreadable profiles file only matters when a profile was asked for


def _profile_store_location(args: argparse.Namespace) -> str | None:
    profile = _profile(args)
    location = getattr(profile, "store", None) if profile is not None else None
    return str(location) if location else None


def resolve_store_location(args: argparse.Namespace) -> str:
    """``--store`` > ``$SECRET_KLOSET_STORE`` > the profile's store > the default local store."""
    explicit = getattr(args, "store", None)
    if explicit:
        return str(explicit)
    value = os.environ.get(env.STORE)
    if value:
        return value
    from_profile = _profile_store_location(args)
    if from_profile:
        return from_profile
    return default_store_location()


def _profile_passphrase(args: argparse.Namespace) -> str | None:
    """The store passphrase kept in the profile's keyring entry, if any (blocking call)."""
    profile = _profile(args)
    if profile is None:
        return None
    from core.credentials import keyring_store

    value = keyring_store.get_store_passphrase(profile.name)
    return str(value) if value else None


def run_passphrase_command(command: str) -> str:
    """Run ``command`` through the shell; its stdout minus the trailing newline."""
    try:
        result = subprocess.run(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None,  # let the helper talk to the user (e.g. a pinentry message)
            timeout=PASSPHRASE_COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise ConfigError(
            f"the passphrase command did not finish within {PASSPHRASE_COMMAND_TIMEOUT:.0f} s",
            hint="check --passphrase-command; it must print the passphrase and exit",
        ) from err
    except OSError as err:
        raise ConfigError(
            f"the passphrase command could not be started ({type(err).__name__})",
            hint="check --passphrase-command",
        ) from err
    if result.returncode != 0:
        raise ConfigError(
            f"the passphrase command failed with exit status {result.returncode}",
            hint="check --passphrase-command; it must print the passphrase and exit 0",
        )
    try:
        text = result.stdout.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            "the passphrase command printed bytes that are not UTF-8",
            hint="check --passphrase-command",
        ) from err
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise ConfigError(
            "the passphrase command printed an empty passphrase",
            hint="check --passphrase-command",
        )
    return text


def _stdin_is_tty() -> bool:
    from cli.prompt import stdin_is_tty

    return stdin_is_tty()


def prompt_passphrase(*, confirm: bool = False, prompt: str = "Store passphrase: ") -> str:
    """A hidden prompt (twice with ``confirm``); a clear error when stdin is not a terminal."""
    if not _stdin_is_tty():
        raise ConfigError(
            "no store passphrase given and stdin is not a terminal",
            hint=(
                f"set {env.PASSPHRASE}, use --passphrase-command, or keep the passphrase in "
                "the profile's keyring entry"
            ),
        )
    for _ in range(3):
        first = getpass.getpass(prompt)
        if not first:
            print("The passphrase must not be empty.", file=sys.stderr)
            continue
        if not confirm:
            return first
        second = getpass.getpass("Repeat the passphrase: ")
        if first == second:
            return first
        print("The passphrases differ; try again.", file=sys.stderr)
    raise ConfigError("no passphrase entered", hint="enter the same non-empty passphrase twice")


def resolve_passphrase(args: argparse.Namespace, *, confirm: bool = False) -> str:
    """Keyring (profile) > ``$SECRET_KLOSET_PASSPHRASE`` > ``--passphrase-command`` > prompt.

    ``confirm`` asks twice at the prompt (for ``init`` and new passphrases). When the keyring
    cannot be read, the other sources are tried; its error is raised only if none gives a
    passphrase. Blocking: call it through :func:`asyncio.to_thread` from async code.
    """
    keyring_error: KlosetError | None = None
    try:
        from_keyring = _profile_passphrase(args)
    except KlosetError as err:
        if _profile_name(args) is not None and not isinstance(err, _keyring_errors()):
            raise  # e.g. the explicitly named profile does not exist
        keyring_error, from_keyring = err, None
    if from_keyring:
        return from_keyring
    value = os.environ.get(env.PASSPHRASE)
    if value:
        return value
    command = getattr(args, "passphrase_command", None) or os.environ.get(env.PASSPHRASE_COMMAND)
    if command:
        return run_passphrase_command(command)
    if keyring_error is not None and not _stdin_is_tty():
        raise keyring_error
    return prompt_passphrase(confirm=confirm)


def _keyring_errors() -> tuple[type[BaseException], ...]:
    from core.credentials.keyring_store import KeyringUnavailableError

    return (KeyringUnavailableError,)


async def open_store(args: argparse.Namespace) -> Store:
    """Open the store named by ``args`` (location and passphrase resolved as documented)."""
    import asyncio

    from core.store import Store

    location = await asyncio.to_thread(resolve_store_location, args)
    passphrase = await asyncio.to_thread(resolve_passphrase, args)
    return await Store.open(location, passphrase)


async def open_store_for_api(args: argparse.Namespace, *modules: str) -> Store:
    """Open the store while a thread imports the API client and ``modules`` (for a command
    that talks to the API; an engine command names its engine).

    These are the two fixed costs of every such run: the key derivation (Argon2id, ~0.1 s)
    runs in C without holding the GIL, so it takes no wall time beside the imports the
    process pays anyway (httpx and the client ~0.07 s, an engine ~0.05 s).
    """
    import asyncio
    import contextlib
    import importlib

    from core.store import Store  # noqa: F401  (imported here, not in both threads at once)

    opening = asyncio.ensure_future(open_store(args))
    try:
        for name in ("core.scaleway.client", *modules):
            await asyncio.to_thread(importlib.import_module, name)
        from core.scaleway.transport import warm_up

        await asyncio.to_thread(warm_up)
        from core._gc import imported

        imported()
    except BaseException:
        opening.cancel()
        with contextlib.suppress(BaseException):
            await opening
        raise
    return await opening


def run_async(coro: Coroutine[object, object, T]) -> T:
    """Run a command's coroutine to completion (Ctrl-C surfaces as KeyboardInterrupt)."""
    import asyncio

    return asyncio.run(coro)


def with_store(args: argparse.Namespace, body: Callable[[Store], Awaitable[int]]) -> int:
    """Open the store, run ``body(store)``, close the store; ``body``'s exit code."""

    async def main() -> int:
        store = await open_store(args)
        try:
            return await body(store)
        finally:
            await store.close()

    return run_async(main())


__all__ = [
    "default_store_location",
    "open_store",
    "open_store_for_api",
    "prompt_passphrase",
    "resolve_passphrase",
    "resolve_snapshot",
    "resolve_store_location",
    "run_async",
    "run_passphrase_command",
    "with_store",
]


async def resolve_snapshot(store: Store, ref: str, args: argparse.Namespace) -> SnapshotHeader:
    """``SNAPSHOT`` (id, prefix or ``latest``) among the snapshots of ``--project``/``--region``."""
    return await store.resolve_snapshot(
        ref, project=getattr(args, "project", None), region=getattr(args, "region", None)
    )
