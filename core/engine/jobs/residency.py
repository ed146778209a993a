"""Data residency: a source tied to a country may not be restored or copied elsewhere.

Scaleway regions sit in one country each (fr-par FR, nl-ams NL, pl-waw PL). A restore or copy
whose destination region is outside the source's ``residency`` is refused with the reason,
unless the operator overrides it explicitly (the CLI's ``--allow-residency-override``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from core.errors import KlosetError, Remedy, UsageError

REGION_COUNTRY: dict[str, str] = {"fr-par": "FR", "nl-ams": "NL", "pl-waw": "PL"}
COUNTRIES: frozenset[str] = frozenset(REGION_COUNTRY.values())


class ResidencyError(UsageError):
    """The destination region is outside the source's residency country."""


def region_country(region: str) -> str:
    """The ISO country code of a Scaleway region; KlosetError for an unknown region."""
    try:
        return REGION_COUNTRY[region]
    except KeyError:
        raise KlosetError(f"unknown region {region!r}", remedy=Remedy.CHOOSE_REGION) from None


def residency_violation(residency: str | None, destination_region: str) -> str | None:
    """Why writing into ``destination_region`` breaks ``residency`` (None when it does not)."""
    if not residency:
        return None
    wanted = residency.strip().upper()
    got = region_country(destination_region)
    if got == wanted:
        return None
    return f"the source's data must stay in {wanted}, and region {destination_region} is in {got}"


def check_residency(
    residency: str | None, destination_region: str, *, override: bool = False
) -> str | None:
    """Refuse (ResidencyError) a destination outside ``residency`` unless ``override``.

    Returns the reason when overridden (to be shown as a warning), else None.
    """
    reason = residency_violation(residency, destination_region)
    if reason is None:
        return None
    if override:
        return reason
    raise ResidencyError(
        f"refused: {reason}",
        hint="restore or copy into a region of the same country, or override the residency "
        "rule explicitly if this move is intended",
        details={"residency": str(residency), "region": destination_region},
    )


class ResidencySource(Protocol):
    """What a snapshot says of where its secrets came from (``SourceInfo``)."""

    @property
    def project_id(self) -> str: ...

    @property
    def region(self) -> str: ...


class ResidencyRules(Protocol):
    """Where the residency of a source is looked up (``PolicyFile.residency_of``)."""

    def residency_of(
        self, project_id: str, region: str, *, tags: tuple[str, ...] = ()
    ) -> str | None: ...


def check_snapshot_residency(
    rules: ResidencyRules | None,
    sources: Iterable[ResidencySource],
    destination_region: str | None,
    *,
    tags: tuple[str, ...] = (),
    override: bool = False,
) -> list[str]:
    """The check a restore or copy makes before planning: every source of the snapshot whose
    residency excludes ``destination_region`` (None: each source's own region, always fine)
    refuses the move (ResidencyError) unless ``override``; returns the overridden reasons.

    Wiring (for the CLI's restore/copy): ``rules = load_policies()`` when the policy file
    exists, else None; ``check_snapshot_residency(rules, header.sources, args.to_region,
    tags=header.tags, override=args.allow_residency_override)``.
    """
    if rules is None or destination_region is None:
        return []
    reasons = []
    for source in sources:
        residency = rules.residency_of(source.project_id, source.region, tags=tags)
        reason = check_residency(residency, destination_region, override=override)
        if reason is not None and reason not in reasons:
            reasons.append(reason)
    return reasons


__all__ = [
    "COUNTRIES",
    "REGION_COUNTRY",
    "ResidencyError",
    "ResidencyRules",
    "ResidencySource",
    "check_residency",
    "check_snapshot_residency",
    "region_country",
    "residency_violation",
]
