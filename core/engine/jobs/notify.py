"""Monitoring, all local: a signed webhook, healthchecks-style pings, a Prometheus textfile.

None of these ever fails a run: a notification that cannot be delivered becomes a warning.

- Webhook: one POST per run whose body is the ``run --json`` document, with
  ``X-Secret-Kloset-Signature: sha256=<hex HMAC-SHA256 of the body>`` (the secret comes from
  the environment variable the policy file names), retried with exponential backoff.
- Healthchecks: ``<url>/start`` before a run, ``<url>`` after a successful one,
  ``<url>/fail`` after one with a partial or failed job.
- Metrics: the textfile (node_exporter's textfile collector) rewritten atomically after every
  run; the metric names are a contract (docs/OPERATIONS.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from core._fs import write_atomic

from .policies import WebhookSpec

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Secret-Kloset-Signature"
WEBHOOK_ATTEMPTS = 4
WEBHOOK_BACKOFF = 0.5  # seconds before the second attempt; doubled each time
TIMEOUT = 10.0

Sleep = Callable[[float], Awaitable[None]]


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: ``sha256=<hex HMAC-SHA256 of body>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def encode_document(document: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def send_webhook(
    spec: WebhookSpec,
    document: Mapping[str, Any],
    *,
    attempts: int = WEBHOOK_ATTEMPTS,
    backoff: float = WEBHOOK_BACKOFF,
    sleep: Sleep = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str | None:
    """POST the document; None when delivered, else a warning (never raises)."""
    body = encode_document(document)
    headers = {"Content-Type": "application/json", "User-Agent": "secret-kloset"}
    secret = os.environ.get(spec.secret_env, "") if spec.secret_env else ""
    warning_prefix = ""
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    elif spec.secret_env:
        warning_prefix = f"{spec.secret_env} is not set: the webhook was sent unsigned; "
    last = ""
    delay = backoff
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as http:
        for attempt in range(max(attempts, 1)):
            try:
                response = await http.post(spec.url, content=body, headers=headers)
                if response.status_code < 300:
                    return warning_prefix.rstrip("; ") or None
                last = f"HTTP {response.status_code}"
                if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                    break
            except httpx.HTTPError as err:
                last = type(err).__name__
            if attempt + 1 < attempts:
                await sleep(delay)
                delay *= 2
    return f"{warning_prefix}the webhook could not be delivered ({last})"


async def ping(
    url: str,
    event: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    body: bytes = b"",
) -> str | None:
    """A healthchecks-style ping: ``event`` is ``start``, ``success`` or ``fail``.

    GET (what healthchecks services and simple receivers all accept); a receiver that does
    not take GET (405/501) gets a POST. Returns a warning, never raises.
    """
    target = url.rstrip("/")
    if event != "success":
        target = f"{target}/{event}"
    last = ""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as http:
            for attempt in range(3):
                try:
                    response = await http.get(target)
                    if response.status_code in (405, 501):
                        response = await http.post(target, content=body)
                    if response.status_code < 300:
                        return None
                    last = f"HTTP {response.status_code}"
                except httpx.HTTPError as err:
                    last = type(err).__name__
                if attempt < 2:
                    await asyncio.sleep(0.2 * (attempt + 1))
    except Exception as err:  # a ping never breaks a run
        last = type(err).__name__
    return f"the healthchecks '{event}' ping failed ({last})"


# --------------------------------------------------------------------------- metrics


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class Metric:
    name: str
    help: str
    kind: str = "gauge"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        self.samples.append((labels, float(value)))


def _format_value(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render_metrics(metrics: Iterable[Metric]) -> str:
    """The Prometheus text exposition format (0.0.4)."""
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            if labels:
                inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
                lines.append(f"{metric.name}{{{inner}}} {_format_value(value)}")
            else:
                lines.append(f"{metric.name} {_format_value(value)}")
    return "\n".join(lines) + "\n"


@dataclass
class MetricsSnapshot:
    """Everything the textfile says, gathered by the runner after a run."""

    last_success: dict[tuple[str, str], float] = field(default_factory=dict)
    last_status: dict[tuple[str, str], int] = field(default_factory=dict)
    duration: dict[tuple[str, str], float] = field(default_factory=dict)
    versions_read: dict[tuple[str, str], int] = field(default_factory=dict)
    uncovered: int | None = None
    store_bytes: dict[str, int] = field(default_factory=dict)
    key_expiry: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> list[Metric]:
        success = Metric(
            "secret_kloset_last_success_timestamp_seconds",
            "Unix time of the last successful backup of the job (policy, source).",
        )
        status = Metric(
            "secret_kloset_last_run_status",
            "Outcome of the job's last run: 1 ok, 0 partial or failed.",
        )
        duration = Metric(
            "secret_kloset_job_duration_seconds", "Duration of the job's last run, in seconds."
        )
        versions = Metric(
            "secret_kloset_versions_read",
            "Secret versions whose data the job's last backup read from the API.",
        )
        for (policy, source), value in sorted(self.last_success.items()):
            success.add(value, policy=policy, source=source)
        for (policy, source), code in sorted(self.last_status.items()):
            status.add(code, policy=policy, source=source)
        for (policy, source), seconds in sorted(self.duration.items()):
            duration.add(seconds, policy=policy, source=source)
        for (policy, source), count in sorted(self.versions_read.items()):
            versions.add(count, policy=policy, source=source)
        out = [success, status, duration, versions]
        uncovered = Metric(
            "secret_kloset_uncovered_sources",
            "Project x region pairs the credentials can see that no policy covers.",
        )
        if self.uncovered is not None:
            uncovered.add(self.uncovered)
        out.append(uncovered)
        sizes = Metric("secret_kloset_store_bytes", "Bytes the store occupies on its backend.")
        for store, size in sorted(self.store_bytes.items()):
            sizes.add(size, store=store)
        out.append(sizes)
        expiry = Metric(
            "secret_kloset_api_key_expiry_timestamp_seconds",
            "Unix time at which the profile's API key expires (absent: never, or unknown).",
        )
        for profile, moment in sorted(self.key_expiry.items()):
            expiry.add(moment, profile=profile)
        out.append(expiry)
        return out


def write_metrics(path: Path, snapshot: MetricsSnapshot) -> None:
    """Rewrite the textfile atomically (readers see the old or the new file, never a mix);
    0644 so that node_exporter, another user, can read it."""
    write_atomic(path, render_metrics(snapshot.metrics()), mode=0o644)


__all__ = [
    "SIGNATURE_HEADER",
    "Metric",
    "MetricsSnapshot",
    "encode_document",
    "ping",
    "render_metrics",
    "send_webhook",
    "sign",
    "write_metrics",
]
