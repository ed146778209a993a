"""The demo world: ``demo.toml`` beside this module, loaded by the emulator's config loader.

One organization, four projects, 53 realistic secrets; every id, timestamp and payload is
fixed, so screenshots, docs and tests see the same world on every run. The world itself is
data (``core/emulator/demo.toml``); this module only names the ids and keys that other code
refers to, read from that file so that each fact lives in one place.

Keys:

* ``DEMO_ACCESS_KEY`` / ``DEMO_SECRET_KEY``: SecretManagerFullAccess + ProjectReadOnly, org-wide.
* ``DEMO_READONLY_ACCESS_KEY`` / ``DEMO_READONLY_SECRET_KEY``: SecretManagerReadOnly only
  (metadata, no data: access answers 403; project listing answers 403).
* ``DEMO_STAGING_ACCESS_KEY`` / ``DEMO_STAGING_SECRET_KEY``: SecretManagerFullAccess scoped to
  the staging project (other projects and project listing answer 403).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

from core.emulator.config import parse_config
from core.emulator.state import EmulatorState

DEMO_FILE = "demo.toml"


@cache
def demo_document() -> dict[str, Any]:
    """The parsed ``demo.toml`` (shared: callers must not mutate it)."""
    text = resources.files("core.emulator").joinpath(DEMO_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def _key(index: int, field: str) -> str:
    value = demo_document()["api_keys"][index][field]
    assert isinstance(value, str)
    return value


DEMO_ORGANIZATION_ID: str = demo_document()["organization_id"]

DEMO_PROJECTS: dict[str, str] = {p["name"]: p["id"] for p in demo_document()["projects"]}
"""Project name -> id."""

DEMO_DEFAULT_PROJECT_ID = DEMO_PROJECTS["default"]  # the default project's id is the org id
DEMO_PRODUCTION_PROJECT_ID = DEMO_PROJECTS["production"]
DEMO_STAGING_PROJECT_ID = DEMO_PROJECTS["staging"]
DEMO_DATA_PROJECT_ID = DEMO_PROJECTS["data-platform"]

# demo.toml lists the keys in this order: full access, read-only, staging-scoped.
DEMO_ACCESS_KEY = _key(0, "access_key")
DEMO_SECRET_KEY = _key(0, "secret_key")
DEMO_READONLY_ACCESS_KEY = _key(1, "access_key")
DEMO_READONLY_SECRET_KEY = _key(1, "secret_key")
DEMO_STAGING_ACCESS_KEY = _key(2, "access_key")
DEMO_STAGING_SECRET_KEY = _key(2, "secret_key")

DEMO_REGION = "fr-par"
DEMO_DELETION_GRACE_DAYS: int = demo_document()["settings"]["deletion_grace_days"]
"""The demo keeps scheduled-for-deletion secrets (Scaleway purges after 7 days)."""


def demo_state() -> EmulatorState:
    """A fresh copy of the demo world (mutating it never affects the next call)."""
    return parse_config(demo_document())
