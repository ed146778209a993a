"""API key expiry end to end: the emulator's IAM endpoint serves ``expires_at`` from its
config, the client reads it (``ScalewayClient.get_api_key``), and ``run`` warns in its output,
its job record and the metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Cli, cli_env, running_emulator
from tests.engine.helpers import FULL_ACCESS, READONLY_ACCESS, READONLY_SECRET, emulator_config
from tests.jobs.conftest import policy_text, write_policies


def test_expiring_key_warns_in_output_record_and_metric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    config = emulator_config()
    for key in config["api_keys"]:
        if key["access_key"] == FULL_ACCESS:
            key["permission_sets"] = [*key["permission_sets"], "IAMReadOnly"]
            key["expires_at"] = expires.isoformat().replace("+00:00", "Z")
    with running_emulator(config) as emu:
        store = str(tmp_path / "store")
        cli = Cli(cli_env(emu.url, store), store, monkeypatch)
        cli.env["XDG_STATE_HOME"] = str(tmp_path / "state")
        assert cli("init").code == 0
        metrics = tmp_path / "m.prom"
        pol = write_policies(tmp_path, policy_text(store, notify=f'metrics_file = "{metrics}"'))
        result = cli("run", "--policies", pol, "--json")
        assert result.code == 0, result.err
        doc = result.json()
        assert any("expires in" in w for w in doc["warnings"])
        assert any("expires in" in w for w in doc["jobs"][0]["warnings"])
        record = cli("jobs", "--policies", pol, "--json").json()["jobs"][0]
        assert any("expires in" in w for w in record["warnings"])
        families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
        (sample,) = families["secret_kloset_api_key_expiry_timestamp_seconds"].samples
        assert sample.value == expires.timestamp()

        # a key that may not read itself (no IAMReadOnly): no error, no warning, no sample
        other = cli(
            "run",
            "--policies",
            pol,
            "--json",
            env={"SCW_ACCESS_KEY": READONLY_ACCESS, "SCW_SECRET_KEY": READONLY_SECRET},
        )
        assert other.code in (0, 3)
        assert not any("expires" in w for w in other.json()["warnings"])
        families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
        assert families["secret_kloset_api_key_expiry_timestamp_seconds"].samples == []
