"""``--json`` prints the text ``json.dumps(indent=2)`` prints: the same bytes, though the
indenting is msgspec's (cli.output.print_json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from pathlib import PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli import output

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


class _Color(Enum):
    RED = "red"


def _printed(document: object, capsys: pytest.CaptureFixture[str]) -> str:
    output.reset()
    output.print_json(document)
    return capsys.readouterr().out


@settings(max_examples=300)
@given(_JSON)
def test_the_text_is_json_dumps_indented(document: object) -> None:
    assert output.json_text(document) == json.dumps(document, indent=2)


def test_what_the_default_converts_prints_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    document = {
        "when": datetime(2026, 12, 1, 23, 0, tzinfo=UTC),
        "color": _Color.RED,
        "path": PurePosixPath("/a/b"),
        "raw": b"\x00\xff",
        "ids": ("a", "b"),
        "empty": {"list": [], "dict": {}},
        "text": 'é "q" \\ \n \x1b \u2028 \U0001f600',
        "n": [1, -2.5, 1e-07, True, None],
    }
    assert (
        _printed(document, capsys)
        == json.dumps(document, indent=2, default=output._json_default) + "\n"
    )
