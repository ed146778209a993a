"""The emulator's answers are written fast but as they always were: the same JSON bytes as
``json.dumps(separators=(",", ":"), ensure_ascii=False)``, the same timestamps as strftime."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core._json import json_bytes
from core.scaleway.models import EphemeralPolicy, Secret, format_time

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _reference(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@given(_JSON)
def test_json_bytes_are_json_dumps_bytes(payload: object) -> None:
    assert json_bytes(payload) == _reference(payload)


def test_json_bytes_on_the_characters_json_escapes() -> None:
    text = 'a"b\\c/\n\r\t\b\f\x00\x1f\x7f é \u2028 \u2029 \U0001f600'
    assert json_bytes({"k": text, "n": [1, -2, True, None]}) == _reference(
        {"k": text, "n": [1, -2, True, None]}
    )


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 12, 1, 19, 18, 41, 340903, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # no microseconds: still six digits
        datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=timezone(timedelta(hours=2))),
        datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
    ],
)
def test_format_time_is_strftimes_text(when: datetime) -> None:
    assert format_time(when) == when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_models_json_is_every_field_in_order() -> None:
    secret = Secret(
        id="s",
        project_id="p",
        name="n",
        tags=("a", "b"),
        ephemeral_policy=EphemeralPolicy("60s", True, "delete"),
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    out = secret.to_api()
    assert list(out)[:4] == ["id", "project_id", "name", "status"]
    assert out["tags"] == ["a", "b"] and out["created_at"] == "2026-01-02T00:00:00.000000Z"
    assert out["ephemeral_policy"] == {
        "time_to_live": "60s",
        "expires_once_accessed": True,
        "action": "delete",
    }
    assert Secret.from_api(out) == secret
