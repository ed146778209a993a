"""The residency check of ``restore`` and ``copy`` (issue 11; docs/OPERATIONS.md).

A source of the policy file may carry ``residency = "FR"`` (or NL, PL): its data may only be
restored or copied into a region of that country. The rules come from the policy file when it
exists (``$SECRET_KLOSET_POLICIES``, else ``$XDG_CONFIG_HOME/secret-kloset/policies.toml``);
without one there is nothing to check. A refusal exits 1 before anything is planned;
``--allow-residency-override`` lets the move through and says so on stderr.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import TYPE_CHECKING

from core.errors import KlosetError

if TYPE_CHECKING:
    from core.engine.jobs.residency import ResidencySource

OVERRIDE_FLAG = "--allow-residency-override"


class ResidencyRefused(KlosetError):
    """A restore or copy into a region outside a source's residency country (exit 1)."""


def check_destination(
    args: argparse.Namespace,
    sources: Iterable[ResidencySource],
    to_region: str | None,
    *,
    tags: tuple[str, ...] = (),
) -> list[str]:
    """Refuse (:class:`ResidencyRefused`) writing ``sources``' secrets into ``to_region``
    when a source's residency excludes it, unless ``--allow-residency-override``; the
    overridden reasons (each also printed as a warning on stderr)."""
    from cli.output import say
    from core.engine.jobs.policies import default_policy_path, load_policies
    from core.engine.jobs.residency import ResidencyError, check_snapshot_residency

    if to_region is None:
        return []  # every secret goes back to its own region
    path = default_policy_path()
    rules = load_policies(path) if path.exists() else None
    try:
        reasons = check_snapshot_residency(
            rules,
            list(sources),
            to_region,
            tags=tags,
            override=bool(getattr(args, "allow_residency_override", False)),
        )
    except ResidencyError as err:
        raise ResidencyRefused(
            err.message,
            hint="restore or copy into a region of the same country, or pass "
            f"{OVERRIDE_FLAG} if this move is intended",
            details=err.details,
        ) from None
    for reason in reasons:
        say(f"warning: residency overridden ({OVERRIDE_FLAG}): {reason}")
    return reasons


__all__ = ["OVERRIDE_FLAG", "ResidencyRefused", "check_destination"]
