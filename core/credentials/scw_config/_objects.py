"""The parsed scw config and its profiles (:mod:`core.credentials.scw_config`, where to
import them from: it imports this module when it reads a file)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from core.credentials.scw_config import _FIELDS, DEFAULT_PROFILE
from core.errors import ConfigError, Remedy


@dataclass(frozen=True)
class ScwProfile:
    """One profile of the scw config, after the overlay on the top-level fields."""

    name: str
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    organization_id: str | None = None
    project_id: str | None = None
    region: str | None = None
    zone: str | None = None
    api_url: str | None = None

    @property
    def has_secret_key(self) -> bool:
        return bool(self.secret_key)

    def public_dict(self) -> dict[str, object]:
        """Every field but the secret key, plus whether there is one."""
        return {
            "name": self.name,
            "access_key": self.access_key,
            "organization_id": self.organization_id,
            "project_id": self.project_id,
            "region": self.region,
            "zone": self.zone,
            "api_url": self.api_url,
            "has_secret_key": self.has_secret_key,
        }


@dataclass(frozen=True)
class ScwConfig:
    """A parsed scw config file. ``repr`` shows no value from it."""

    path: Path
    top: dict[str, str] = field(repr=False)
    named: dict[str, dict[str, str]] = field(repr=False)
    active_profile: str | None = None

    def profile_names(self) -> list[str]:
        """``default`` first (when the top level has any field), then the named ones."""
        names = [DEFAULT_PROFILE] if self.top or not self.named else []
        names += sorted(n for n in self.named if n != DEFAULT_PROFILE)
        return names

    def selected_name(self, explicit: str | None = None) -> str:
        """explicit › ``$SCW_PROFILE`` › ``active_profile`` › ``default``."""
        return explicit or os.environ.get("SCW_PROFILE") or self.active_profile or DEFAULT_PROFILE

    def has_profile(self, name: str) -> bool:
        return name == DEFAULT_PROFILE or name in self.named

    def profile(self, name: str | None = None) -> ScwProfile:
        """The profile ``name`` (or the selected one), laid over the top-level fields."""
        name = self.selected_name(name)
        values = dict(self.top)
        if name != DEFAULT_PROFILE:
            if name not in self.named:
                known = ", ".join(self.profile_names()) or "none"
                raise ConfigError(
                    f"the scw config {self.path} has no profile {name!r} (profiles: {known})",
                    hint="pick one of those (or set SCW_PROFILE)",
                    remedy=Remedy.CHOOSE_PROFILE,
                    details={"action": "pick", "source": "scw_config", "case": "pick"},
                )
            values.update(self.named[name])
        return ScwProfile(name=name, **{_FIELDS[k]: v for k, v in values.items()})
