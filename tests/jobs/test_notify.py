"""Monitoring: a signed webhook (checked by a loopback receiver), healthchecks pings, the
Prometheus textfile parsed with prometheus_client, API key expiry warnings."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.engine.jobs import notify
from core.engine.jobs.apikeys import read_expiry
from core.engine.jobs.policies import WebhookSpec
from core.scaleway.errors import PermissionDeniedError
from tests.e2e.conftest import Cli
from tests.jobs.conftest import Receiver, policy_text, write_policies

SECRET = "webhook shared secret"
T0 = "2026-12-01T10:00:00Z"


def _notify(receiver: Receiver, metrics: Path) -> str:
    return (
        f'webhook = {{ url = "{receiver.url}/hook", secret_env = "SK_WEBHOOK_SECRET" }}\n'
        f'healthchecks = "{receiver.url}/ping/abc"\n'
        f'metrics_file = "{metrics}"\n'
    )


def _metrics(path: Path) -> dict[str, list[Any]]:
    families = text_string_to_metric_families(path.read_text(encoding="utf-8"))
    return {f.name: list(f.samples) for f in families}


def test_run_notifies_signed_webhook_pings_and_metrics(
    cli: Cli, tmp_path: Path, receiver: Receiver
) -> None:
    assert cli("init").code == 0
    metrics = tmp_path / "textfile" / "secret_kloset.prom"
    pol = write_policies(tmp_path, policy_text(cli.store, notify=_notify(receiver, metrics)))
    result = cli(
        "run",
        "--due",
        "--policies",
        pol,
        "--json",
        env={"SK_WEBHOOK_SECRET": SECRET, "SECRET_KLOSET_NOW": T0},
    )
    assert result.code == 0, result.err
    assert receiver.paths() == ["/ping/abc/start", "/hook", "/ping/abc"]
    hook = receiver.requests[1]
    assert hook.method == "POST"
    expected = "sha256=" + hmac.new(SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Secret-Kloset-Signature"] == expected
    assert json.loads(hook.body) == result.json()

    found = _metrics(metrics)
    labels = {"policy": "critical", "source": "prod-paris"}
    success = found["secret_kloset_last_success_timestamp_seconds"]
    assert success[0].labels == labels
    assert success[0].value == datetime(2026, 12, 1, 10, tzinfo=UTC).timestamp()
    assert found["secret_kloset_last_run_status"][0].value == 1
    assert found["secret_kloset_job_duration_seconds"][0].labels == labels
    assert found["secret_kloset_job_duration_seconds"][0].value > 0  # real time, clock fixed
    assert found["secret_kloset_versions_read"][0].value > 0
    assert found["secret_kloset_uncovered_sources"][0].value > 0
    assert found["secret_kloset_store_bytes"][0].labels == {"store": "primary"}
    assert found["secret_kloset_store_bytes"][0].value > 0
    assert "secret_kloset_api_key_expiry_timestamp_seconds" in found
    text = metrics.read_text()
    for clear in ("stripe", "/prod", "sk_live"):
        assert clear not in text
    assert list(metrics.parent.glob(".*.tmp")) == []  # written atomically


def test_failing_webhook_is_retried_and_never_fails_the_run(
    cli: Cli, tmp_path: Path, receiver: Receiver
) -> None:
    assert cli("init").code == 0
    receiver.status = 500
    pol = write_policies(
        tmp_path, policy_text(cli.store, notify=f'webhook = {{ url = "{receiver.url}/hook" }}')
    )
    result = cli("run", "--policies", pol, "--json")
    assert result.code == 0
    assert receiver.paths() == ["/hook"] * notify.WEBHOOK_ATTEMPTS
    assert "webhook could not be delivered" in result.err
    assert result.json()["jobs"][0]["status"] == "ok"


def test_a_failed_run_pings_fail(cli: Cli, tmp_path: Path, receiver: Receiver) -> None:
    assert cli("init").code == 0
    missing = str(tmp_path / "absent")
    pol = write_policies(
        tmp_path,
        policy_text(cli.store, offsite=missing, notify=f'healthchecks = "{receiver.url}/hc"'),
    )
    assert cli("run", "--policies", pol).code == 3
    assert receiver.paths() == ["/hc/start", "/hc/fail"]


async def test_webhook_retries_until_delivered(receiver: Receiver) -> None:
    receiver.statuses = [503, 502]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    warning = await notify.send_webhook(
        WebhookSpec(f"{receiver.url}/h"), {"jobs": []}, backoff=0.5, sleep=sleep
    )
    assert warning is None
    assert len(receiver.requests) == 3 and slept == [0.5, 1.0]
    assert "X-Secret-Kloset-Signature" not in receiver.requests[0].headers


def test_render_escapes_labels() -> None:
    m = notify.Metric("x_total", "help")
    m.add(1, policy='a"b\\c')
    (family,) = text_string_to_metric_families(notify.render_metrics([m]))
    assert family.samples[0].labels == {"policy": 'a"b\\c'}


class _Key:
    def __init__(self, expires_at: datetime | None) -> None:
        self.expires_at = expires_at


class _Reader:
    def __init__(self, key: _Key | None = None, error: Exception | None = None) -> None:
        self.key, self.error = key, error

    async def get_api_key(self, access_key: str) -> _Key:
        if self.error is not None:
            raise self.error
        assert self.key is not None
        return self.key


@pytest.mark.parametrize(("days", "warns"), [(10, True), (14, True), (15, False), (-1, True)])
async def test_api_key_expiry_warns_within_14_days(days: int, warns: bool) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    expiry = await read_expiry(_Reader(_Key(now + timedelta(days=days))), "SCWX", "prod", now)
    assert expiry is not None and expiry.expires_at == now + timedelta(days=days)
    assert (expiry.warning is not None) == warns


async def test_api_key_that_may_not_read_itself_is_not_an_error() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    denied = _Reader(error=PermissionDeniedError("denied"))
    assert await read_expiry(denied, "SCWX", "prod", now) is None
    assert await read_expiry(object(), "SCWX", "prod", now) is None  # client without IAM
    never = await read_expiry(_Reader(_Key(None)), "SCWX", "prod", now)
    assert never is not None and never.warning is None
