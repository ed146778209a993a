"""The credentials a command's ``--profile`` names (resolution order in core.credentials)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.credentials.resolve import Credentials


def credentials_from_args(args: argparse.Namespace) -> Credentials:
    """``--profile`` › ``SECRET_KLOSET_PROFILE`` › ``SCW_*`` › default profile › scw config.

    Blocking (it may call the OS keyring): from async code, use :func:`credentials_async`.
    """
    from core.credentials.resolve import resolve_credentials

    return resolve_credentials(getattr(args, "profile", None) or None)


async def credentials_async(args: argparse.Namespace) -> Credentials:
    import asyncio

    return await asyncio.to_thread(credentials_from_args, args)
