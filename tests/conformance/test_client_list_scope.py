"""The client never lists secrets with both ``organization_id`` and ``project_id`` (issue 14).

The real API has been seen to answer such a list with 200 and no secrets at all (an open SDK
issue), which a backup would take for an empty project. This drives
:meth:`ScalewayClient.list_secrets` with every argument shape its callers use, on clients
configured every way a profile can be (organization and default project, either, neither),
through an ``httpx.MockTransport`` that records each request URL, paginated over several pages.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.scaleway.client import ScalewayClient

SECRET_KEY = "c0000000-0000-4000-8000-00000000000c"
ORG = "3a4b5c6d-7e8f-4a0b-8c1d-2e3f4a5b6c7d"
DEFAULT_PROJECT = "4b5c6d7e-8f9a-4b1c-9d2e-3f4a5b6c7d8e"
PROJECT = "5c6d7e8f-9a0b-4c2d-8e3f-4a5b6c7d8e9f"
ROOT = Path(__file__).resolve().parents[2]

# The keyword arguments of each list_secrets call in core/, cli/ and tui/ (project_id set to
# PROJECT where the caller passes one; each is also tried with project_id=None below).
CALLER_SHAPES: dict[str, dict[str, Any]] = {
    "client._find_secret": {"project_id": PROJECT, "name": "db", "path": "/prod"},
    "engine.backup (live)": {"project_id": PROJECT, "scheduled_for_deletion": False},
    "engine.backup (scheduled)": {"project_id": PROJECT, "scheduled_for_deletion": True},
    "engine.restore destination": {"project_id": PROJECT, "scheduled_for_deletion": True},
    "engine.restore lookup": {
        "project_id": PROJECT,
        "name": "db",
        "path": "/prod",
        "scheduled_for_deletion": False,
    },
    "engine.preflight": {"project_id": PROJECT, "page_size": 1},
    "tui.demo / tui.screens.main": {"project_id": PROJECT},
    "tui.sources / tui.screens.main": {"project_id": PROJECT, "scheduled_for_deletion": True},
}

# (organization_id, default_project_id) of the client, as a profile may give them.
CLIENT_SCOPES: dict[str, tuple[str | None, str | None]] = {
    "org+default project": (ORG, DEFAULT_PROJECT),
    "org only": (ORG, None),
    "default project only": (None, DEFAULT_PROJECT),
    "neither": (None, None),
}


def _secret(n: int) -> dict[str, Any]:
    return {
        "id": f"d0000000-0000-4000-8000-{n:012d}",
        "project_id": PROJECT,
        "name": f"s{n}",
        "status": "ready",
        "created_at": "2026-07-03T15:27:54.670466Z",
        "updated_at": "2026-07-03T15:27:54.670466Z",
        "tags": [],
        "version_count": 0,
        "description": "",
        "managed": False,
        "type": "opaque",
        "protected": False,
        "path": "/",
        "ephemeral_policy": None,
        "used_by": [],
        "deletion_requested_at": None,
        "key_id": None,
        "region": "fr-par",
    }


class Recorder:
    """A paginated list of three secrets; remembers every request URL."""

    def __init__(self) -> None:
        self.urls: list[httpx.URL] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        page = int(request.url.params.get("page", "1"))
        size = int(request.url.params.get("page_size", "50"))
        everything = [_secret(n) for n in range(3)]
        chunk = everything[(page - 1) * size : page * size]
        return httpx.Response(200, json={"secrets": chunk, "total_count": len(everything)})


@pytest.mark.parametrize("scope", CLIENT_SCOPES)
@pytest.mark.parametrize("caller", CALLER_SHAPES)
@pytest.mark.parametrize("explicit_project", [True, False], ids=["project", "no-project"])
async def test_list_secrets_never_sends_both_scopes(
    scope: str, caller: str, explicit_project: bool
) -> None:
    recorder = Recorder()
    kwargs = dict(CALLER_SHAPES[caller])
    if not explicit_project:
        kwargs["project_id"] = None
    organization_id, default_project_id = CLIENT_SCOPES[scope]
    client = ScalewayClient(
        SECRET_KEY,
        api_url="http://scaleway.invalid",
        organization_id=organization_id,
        default_project_id=default_project_id,
        transport=httpx.MockTransport(recorder),
    )
    try:
        found = [s.id async for s in client.list_secrets("fr-par", **kwargs)]
    finally:
        await client.aclose()

    assert len(found) == 3
    assert recorder.urls, "no request was sent"
    for url in recorder.urls:
        assert url.path == "/secret-manager/v1beta1/regions/fr-par/secrets"
        sent = set(url.params)
        assert not {"organization_id", "project_id"} <= sent, f"both scopes sent: {url}"
        if explicit_project:
            assert url.params.get_list("project_id") == [PROJECT]
        elif default_project_id is not None:
            assert url.params.get_list("project_id") == [DEFAULT_PROJECT]
        elif organization_id is not None:
            assert url.params.get_list("organization_id") == [ORG]


def _call_arguments(source: str, start: int) -> str:
    """The text between the parentheses of the call whose ``(`` is at ``start``."""
    depth = 0
    for i in range(start, len(source)):
        depth += {"(": 1, ")": -1}.get(source[i], 0)
        if depth == 0:
            return source[start + 1 : i]
    raise AssertionError("unbalanced parentheses")


def test_no_caller_passes_an_organization_to_list_secrets() -> None:
    """The shapes above are all there is: no caller scopes a secret list by organization."""
    calls = 0
    for folder in ("core", "cli", "tui"):
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for match in re.finditer(r"\blist_secrets\(", source):
                if source[: match.start()].rstrip().endswith("def"):
                    continue  # the definition, not a call
                arguments = _call_arguments(source, match.end() - 1)
                calls += 1
                assert "organization" not in arguments, f"{path}: list_secrets({arguments})"
    assert calls >= len(CALLER_SHAPES) - 2  # the scan found the callers (some share a shape)
