"""Secret selectors: globs on path/name, bare name globs, ids, and clear errors."""

from __future__ import annotations

import pytest

from core.engine.selectors import SecretSelector, Selection
from core.errors import UsageError

SID = "6f1c1e2a-9a53-4c4f-8d7e-0a1b2c3d4e5f"


@pytest.mark.parametrize(
    ("pattern", "path", "name", "expected"),
    [
        ("/prod/db/password", "/prod/db", "password", True),
        ("/prod/db/password", "/prod/db", "password2", False),
        ("/prod/db/*", "/prod/db", "password", True),
        ("/prod/db/*", "/prod", "db", False),  # '*' needs a child segment
        ("/prod/db/*", "/prod/dbx", "password", False),
        ("/prod/*", "/prod/db/deeper", "x", True),  # under a matching folder
        ("/prod", "/prod/db", "password", True),
        ("/prod", "/production", "x", False),
        ("/**/password", "/a/b/c", "password", True),
        ("/**/password", "/", "password", True),
        ("/a/**/z", "/a", "z", True),
        ("/a/?", "/a", "b", True),
        ("/a/?", "/a", "bc", False),
        ("/a/[bc]x", "/a", "cx", True),
        ("/a/[!bc]x", "/a", "cx", False),
        ("password", "/any/where", "password", True),
        ("*.pem", "/tls", "site.pem", True),
        ("*.pem", "/tls.pem", "site", False),
        ("prod/db/*", "/prod/db", "password", True),
        ("/prod/db/", "/prod/db", "password", True),
        ("/ünï/cödé", "/ünï", "cödé", True),
    ],
)
def test_glob_matching(pattern: str, path: str, name: str, expected: bool) -> None:
    assert SecretSelector.parse(pattern).matches(path, name, SID) is expected


def test_id_selector_matches_only_that_id() -> None:
    sel = SecretSelector.parse(f"id:{SID.upper()}")
    assert sel.kind == "id"
    assert sel.matches("/x", "y", SID)
    assert not sel.matches("/x", "y", "00000000-0000-0000-0000-000000000000")
    assert str(sel) == f"id:{SID}"


@pytest.mark.parametrize("bad", ["", "   ", "id:", "id:not-a-uuid", "/a/[bc", "/a//b", "a\x00b"])
def test_invalid_selectors_raise_usage_error_without_echoing(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        SecretSelector.parse(bad)
    assert "selector" in info.value.message
    assert info.value.hint
    if bad.strip() and bad not in ("id:",):
        assert bad not in info.value.message


def test_selection_any_and_empty_means_everything() -> None:
    assert Selection.parse([]).matches("/a", "b", SID)
    assert Selection.parse(None).everything
    sel = Selection.parse(["/a/*", f"id:{SID}"])
    assert sel.matches("/a", "x", "00000000-0000-0000-0000-000000000000")
    assert sel.matches("/z", "x", SID)
    assert not sel.matches("/z", "x", "00000000-0000-0000-0000-000000000000")
    assert sel.ids == frozenset({SID})


def test_repr_hides_pattern() -> None:
    assert "secretname" not in repr(SecretSelector.parse("/p/secretname"))
