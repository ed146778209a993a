"""Typed models of Scaleway Secret Manager v1beta1 and Account v3 objects.

One declaration per model (a frozen dataclass) and one codec (:func:`decode`,
:func:`encode`, behind every model's ``from_api`` / ``to_api``) serve the client (parsing
responses), the emulator (rendering them in the real API's key order, which is field order)
and the engines. The codec reads each field's type, plus the few rules a type cannot say
(:func:`wire`). Enum-valued fields are plain ``str`` so that values a newer API adds are
tolerated; the ``StrEnum`` classes name the values known today and compare equal to those
strings. Unknown response keys are kept in ``extra`` and never dropped.

The models and the codec are declared in :mod:`core.scaleway.models._objects` and imported
from there on first use of one of their names here (``from core.scaleway.models import
Secret`` as always): the store's modules read only the timestamps and paths below, and a store
command (``snapshots``, ``ls``, ...) does not pay for the ten dataclasses (~10 ms of CPU).
"""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from core._imports import lazy_names

REGIONS: tuple[str, ...] = ("fr-par", "nl-ams", "pl-waw")
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_VERSIONS_PER_SECRET = 20


class SecretType(StrEnum):
    UNKNOWN = "unknown_type"
    OPAQUE = "opaque"
    CERTIFICATE = "certificate"
    KEY_VALUE = "key_value"
    BASIC_CREDENTIALS = "basic_credentials"
    DATABASE_CREDENTIALS = "database_credentials"
    SSH_KEY = "ssh_key"


class SecretStatus(StrEnum):
    UNKNOWN = "unknown_status"
    READY = "ready"
    LOCKED = "locked"


class VersionStatus(StrEnum):
    UNKNOWN = "unknown_status"
    ENABLED = "enabled"
    DISABLED = "disabled"
    DELETED = "deleted"
    SCHEDULED_FOR_DELETION = "scheduled_for_deletion"


class EphemeralAction(StrEnum):
    UNKNOWN = "unknown_action"
    DELETE = "delete"
    DISABLE = "disable"


class Product(StrEnum):
    UNKNOWN = "unknown_product"
    EDGE_SERVICES = "edge_services"
    S2S_VPN = "s2s_vpn"


class OrderBy(StrEnum):
    NAME_ASC = "name_asc"
    NAME_DESC = "name_desc"
    CREATED_AT_ASC = "created_at_asc"
    CREATED_AT_DESC = "created_at_desc"
    UPDATED_AT_ASC = "updated_at_asc"
    UPDATED_AT_DESC = "updated_at_desc"


# --------------------------------------------------------------------------- wire helpers

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: str | None) -> datetime | None:
    """Parse an RFC 3339 timestamp (``Z`` or offset, any number of fraction digits)."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:  # fast path (Python 3.11 reads "Z", offsets and 1-9 fraction digits itself)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python accepts at most 6 fraction digits; Scaleway may send up to 9.
        text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    """Render a timestamp the way Scaleway does: UTC, microseconds, ``Z``."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.year < 1000:  # isoformat pads the year to four digits, strftime's %Y does not
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # the same text as strftime's, in a fifth of the time (an emulator's page has 300)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def utcnow() -> datetime:
    return datetime.now(UTC)


_DURATION = re.compile(r"^(-?\d+)(?:\.(\d{1,9}))?s$")


def parse_duration(value: str) -> float:
    """Parse a protobuf-JSON duration (``"1800s"``, ``"1800.000000000s"``) into seconds."""
    match = _DURATION.match(value.strip())
    if not match:
        raise ValueError("duration must look like '3600s'")
    whole, frac = match.groups()
    seconds = float(int(whole))
    if frac:
        seconds += int(frac) / 10 ** len(frac) * (-1 if whole.startswith("-") else 1)
    return seconds


def format_duration(seconds: float) -> str:
    """Render a duration as the server does (``"1800s"``; fractions only when present)."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{seconds:.9f}".rstrip("0") + "s"


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict standard base64 with padding (raises ``ValueError`` otherwise)."""
    return base64.b64decode(text.encode("ascii"), validate=True)


# --------------------------------------------------------------------------- the codec

_MISSING: object = dataclasses.MISSING


class WireError(ValueError, KeyError):
    """An object the codec cannot read: which field (dotted for nested models) and why,
    never its value. A ``KeyError`` too for an absent required key, a ``ValueError`` for
    the rest (bad base64, a field of the wrong JSON type)."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason

    def __str__(self) -> str:
        return f"field {self.field}: {self.reason}" if self.field else self.reason


def wire(
    *,
    missing: object = _MISSING,
    required: bool = False,
    omit_none: bool = False,
    as_sent: bool = False,
) -> dict[str, object]:
    """The wire rules of a model field that its type alone does not say, as the
    ``metadata`` of its ``dataclasses.field``.

    ``missing`` is the value an absent, ``null`` or empty answer key decodes to when it
    differs from the constructor's default (a status the server did not send is
    ``unknown_status``, not ``ready``); ``required`` fields raise ``KeyError`` when absent;
    ``omit_none`` fields are left out of the JSON object when ``None``; ``as_sent`` fields
    keep whatever the answer holds, ``null`` included (only an absent key gets the default).
    """
    return {"missing": missing, "required": required, "omit_none": omit_none, "as_sent": as_sent}


# --------------------------------------------------------------------------- paths


def normalize_path(path: str) -> str:
    """``/a/b/`` -> ``/a/b``; empty -> ``/``."""
    if not path:
        return "/"
    stripped = "/" + path.strip("/")
    return stripped


def join_path(path: str, name: str) -> str:
    """The ``path/name`` form of a secret (``/`` + ``db`` -> ``/db``)."""
    base = normalize_path(path)
    return f"/{name}" if base == "/" else f"{base}/{name}"


# --------------------------------------------------------------------------- lazily: the models

# The models and their codec live in ``_objects`` (imported on first use of one of these
# names): creating their ten frozen dataclasses is ~10 ms of CPU, which a command that only
# needs this module's timestamps and paths (every store command, through the store's
# modules) does not pay.
_LAZY = frozenset(
    {
        "AccessedVersion",
        "ApiKey",
        "BrowseItem",
        "EphemeralPolicy",
        "EphemeralProperties",
        "Project",
        "Secret",
        "SecretVersion",
        "_Wire",
        "decode",
        "encode",
    }
)

if TYPE_CHECKING:  # what the names are, for the type checkers
    from core.scaleway.models._objects import (  # noqa: F401
        AccessedVersion,
        ApiKey,
        BrowseItem,
        EphemeralPolicy,
        EphemeralProperties,
        Project,
        Secret,
        SecretVersion,
        _Wire,
        decode,
        encode,
    )


__getattr__ = lazy_names(globals(), "core.scaleway.models._objects", _LAZY)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
