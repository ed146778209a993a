"""Data residency: a source tied to a country may not be restored or copied elsewhere.

Scaleway regions sit in one country each (fr-par FR, nl-ams NL, pl-waw PL). A restore or copy
whose destination region is outside the source's ``residency`` is refused with the reason,
unless the operator overrides it explicitly (the CLI's ``--allow-residency-override``).
"""

from __future__ import annotations

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


__all__ = [
    "COUNTRIES",
    "REGION_COUNTRY",
    "ResidencyError",
    "check_residency",
    "region_country",
    "residency_violation",
]
