"""The one clock of the control plane, so tests (and the CLI) can move time.

Due-ness, drills, job records and API key warnings all read ``clock.now()``. The CLI builds
its clock with :func:`clock_from_env`: ``SECRET_KLOSET_NOW=<RFC 3339>`` pins "now" (for
acceptance tests and for rehearsing a schedule); it is read here and nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from core.errors import ConfigError

NOW_ENV = "SECRET_KLOSET_NOW"


class Clock(Protocol):
    """What the control plane needs of time: an aware UTC "now"."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that only moves when told to (tests, ``SECRET_KLOSET_NOW``)."""

    moment: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment = self.moment + delta


def parse_rfc3339(text: str) -> datetime:
    """``2026-12-01T10:00:00Z`` (or with an offset) -> aware UTC datetime."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def clock_from_env() -> Clock:
    """A :class:`FixedClock` at ``$SECRET_KLOSET_NOW`` when set, else the system clock."""
    raw = os.environ.get(NOW_ENV, "").strip()
    if not raw:
        return SystemClock()
    try:
        return FixedClock(parse_rfc3339(raw))
    except ValueError:
        raise ConfigError(
            f"{NOW_ENV} is not an RFC 3339 time",
            hint="use a time such as 2026-12-01T10:00:00Z, or unset it",
        ) from None


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z`` (the JSON form of every time in job documents)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


__all__ = [
    "NOW_ENV",
    "Clock",
    "FixedClock",
    "SystemClock",
    "clock_from_env",
    "iso",
    "parse_rfc3339",
]
