"""Stateful property test: random version operations on one secret agree with a small model
(statuses, revision aliases, access rules, restore to the previous status, quota)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.emulator import EmulatorApp, demo_state
from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID, DEMO_SECRET_KEY

SM = "/secret-manager/v1beta1/regions/fr-par"


@dataclass
class V:
    revision: int
    data: bytes
    status: str = "enabled"
    before: str | None = None


class SyncClient:
    """httpx over ASGITransport on a private event loop, callable from sync rules."""

    def __init__(self, app: EmulatorApp) -> None:
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://emulator",
            headers={"X-Auth-Token": DEMO_SECRET_KEY},
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str) -> httpx.Response:
        return self.request("DELETE", url)

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


class VersionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = SyncClient(EmulatorApp(demo_state()))
        r = self.client.post(
            f"{SM}/secrets", json={"project_id": DEMO_PRODUCTION_PROJECT_ID, "name": "model"}
        )
        assert r.status_code == 200
        self.secret_id = r.json()["id"]
        self.model: list[V] = []
        self.next_revision = 1

    def _url(self, suffix: str = "") -> str:
        return f"{SM}/secrets/{self.secret_id}/versions{suffix}"

    def _pick(self, index: int) -> V:
        return self.model[index % len(self.model)]

    @rule(data=st.binary(max_size=32), disable_previous=st.booleans())
    def create(self, data: bytes, disable_previous: bool) -> None:
        r = self.client.post(
            self._url(),
            json={"data": base64.b64encode(data).decode(), "disable_previous": disable_previous},
        )
        live = [v for v in self.model if v.status != "deleted"]
        if len(live) >= 20:
            assert r.status_code == 403 and r.json()["type"] == "quotas_exceeded"
            return
        assert r.status_code == 200, r.text
        if disable_previous and self.model and self.model[-1].status == "enabled":
            self.model[-1].status = "disabled"
        self.model.append(V(self.next_revision, data))
        assert r.json()["revision"] == self.next_revision and r.json()["latest"] is True
        self.next_revision += 1

    @precondition(lambda self: self.model)
    @rule(index=st.integers(min_value=0), action=st.sampled_from(["enable", "disable"]))
    def toggle(self, index: int, action: str) -> None:
        v = self._pick(index)
        r = self.client.post(self._url(f"/{v.revision}/{action}"), json={})
        if v.status in ("scheduled_for_deletion", "deleted"):
            assert r.status_code == 412
            return
        assert r.status_code == 200
        v.status = "enabled" if action == "enable" else "disabled"

    @precondition(lambda self: self.model)
    @rule(index=st.integers(min_value=0))
    def delete(self, index: int) -> None:
        v = self._pick(index)
        r = self.client.delete(self._url(f"/{v.revision}"))
        assert r.status_code == 204 and r.content == b""
        if v.status not in ("scheduled_for_deletion", "deleted"):
            v.before, v.status = v.status, "scheduled_for_deletion"

    @precondition(lambda self: self.model)
    @rule(index=st.integers(min_value=0))
    def restore(self, index: int) -> None:
        v = self._pick(index)
        r = self.client.post(self._url(f"/{v.revision}/restore"), json={})
        assert r.status_code == 200
        if v.status == "scheduled_for_deletion":
            v.status, v.before = v.before or "enabled", None
        assert r.json()["status"] == v.status

    @rule(alias=st.sampled_from(["latest", "latest_enabled"]))
    def access(self, alias: str) -> None:
        r = self.client.get(self._url(f"/{alias}/access"))
        if alias == "latest":
            target = self.model[-1] if self.model else None
        else:
            enabled = [v for v in self.model if v.status == "enabled"]
            target = enabled[-1] if enabled else None
        if target is None:
            assert r.status_code == 404
        elif target.status != "enabled":
            assert r.status_code == 412
        else:
            assert r.status_code == 200
            body = r.json()
            assert body["revision"] == target.revision
            assert base64.b64decode(body["data"]) == target.data

    @invariant()
    def listing_matches(self) -> None:
        r = self.client.get(self._url(), params={"page_size": 100})
        body = r.json()
        assert body["total_count"] == len(self.model)
        got = [(v["revision"], v["status"], v["latest"]) for v in body["versions"]]
        want = [(v.revision, v.status, i == len(self.model) - 1) for i, v in enumerate(self.model)][
            ::-1
        ]
        assert got == want
        secret = self.client.get(f"{SM}/secrets/{self.secret_id}").json()
        assert secret["version_count"] == len(self.model)

    def teardown(self) -> None:
        self.client.close()


TestVersionModel = VersionMachine.TestCase
TestVersionModel.settings = settings(
    max_examples=30,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
