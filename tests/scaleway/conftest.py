"""Helpers for the client's unit tests: a scripted HTTP API behind ``httpx.MockTransport``.

Each test states what the "server" answers, in order, per (method, path); the transport
records every request so tests can assert what the client sent. Sleeps are recorded, never
slept, and the clock advances by the slept amount, so retry tests run instantly.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from core.scaleway.client import ScalewayClient

SECRET_KEY = "11111111-2222-3333-4444-555555555555"
PROJECT = "6f1e7c8a-0d6b-4e0a-9a52-3c1d2f3e4a5b"
ORG = "0b6d1c2e-7f8a-4b9c-8d0e-1f2a3b4c5d6e"
SECRET_ID = "a2869a4e-3f0e-4a1b-9c2d-5e6f7a8b9c0d"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def secret_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": SECRET_ID,
        "project_id": PROJECT,
        "name": "db-password",
        "status": "ready",
        "created_at": "2026-07-03T15:27:54.805853Z",
        "updated_at": "2026-07-03T15:27:54.805853Z",
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
    data.update(overrides)
    return data


def version_json(revision: int = 1, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "revision": revision,
        "secret_id": SECRET_ID,
        "status": "enabled",
        "created_at": "2026-07-03T15:27:54.805853Z",
        "updated_at": "2026-07-03T15:27:54.805853Z",
        "deleted_at": None,
        "description": "",
        "latest": True,
        "ephemeral_properties": None,
        "deletion_requested_at": None,
        "region": "fr-par",
    }
    data.update(overrides)
    return data


def ok(
    body: Any = None, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    if body is None and status == 204:
        return httpx.Response(204, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def error(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if body is None:
        return httpx.Response(status, content=b"", headers=headers)
    if isinstance(body, (bytes, str)):
        return httpx.Response(status, content=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class ScriptedApi:
    """Answers per route, in order; the last answer of a route repeats."""

    routes: list[tuple[str, re.Pattern[str], list[Answer]]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path_regex: str, *answers: Answer) -> ScriptedApi:
        self.routes.append((method, re.compile(path_regex + r"$"), list(answers)))
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for method, pattern, answers in self.routes:
            if method == request.method and pattern.search(request.url.path):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if isinstance(answer, Exception):
                    raise answer
                if isinstance(answer, httpx.Response):
                    return httpx.Response(
                        answer.status_code, headers=answer.headers, content=answer.content
                    )
                return answer(request)
        return httpx.Response(
            404, json={"message": "no route", "type": "not_found", "resource": "route"}
        )

    def sent(self, method: str | None = None, path_regex: str | None = None) -> list[httpx.Request]:
        out = self.requests
        if method:
            out = [r for r in out if r.method == method]
        if path_regex:
            pat = re.compile(path_regex + r"$")
            out = [r for r in out if pat.search(r.url.path)]
        return out

    @staticmethod
    def body(request: httpx.Request) -> Any:
        return json.loads(request.content) if request.content else None


@dataclass
class FakeTime:
    """A clock that only moves when the client sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def api() -> ScriptedApi:
    return ScriptedApi()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(api: ScriptedApi, fake_time: FakeTime) -> Callable[..., ScalewayClient]:
    created: list[ScalewayClient] = []

    def factory(**kwargs: Any) -> ScalewayClient:
        options: dict[str, Any] = {
            "secret_key": SECRET_KEY,
            "api_url": "https://api.example.test",
            "organization_id": ORG,
            "default_project_id": PROJECT,
            "transport": httpx.MockTransport(api.handler),
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            "rng": random.Random(7),
        }
        options.update(kwargs)
        client = ScalewayClient(**options)
        created.append(client)
        return client

    return factory


@pytest.fixture
def client(make_client: Callable[..., ScalewayClient]) -> ScalewayClient:
    return make_client()
