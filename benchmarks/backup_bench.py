"""Backup/restore benchmark: secret-kloset against a scripted loop over the official SDK.

One run, against the emulator over real HTTP with added latency (default 20 ms per request)
and N secrets of V versions each (default 2,000 x 3):

(a) ``secret-kloset backup`` (the real CLI, in a subprocess, into a local store);
(b) the same work scripted with the official ``scaleway`` SDK, sequentially, the way a user
    would write it: list secrets, list each secret's versions, access each enabled version;
(c) a second ``secret-kloset backup`` with nothing changed;
(d) ``secret-kloset restore latest --to-project <empty project>``.

The emulator runs in its own process, so the clients' CPU does not slow it down. It prints
wall times, request counts (counted by the emulator), peak RSS of each CLI process, and the
ratios against the targets: (a) at least 15x faster than (b); (c) reads no version data and
takes under 10% of (a); peak memory under 200 MB.

    .venv/bin/python benchmarks/backup_bench.py [--secrets 2000] [--versions 3] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ORG = "0b6f3c1e-5a2d-4e8f-9c7b-1d2e3f4a5b6c"
SOURCE = "1c7a4d2f-6b3e-4f9a-8d8c-2e3f4a5b6c7d"
TARGET = "2d8b5e3a-7c4f-4a0b-9e9d-3f4a5b6c7d8e"
ACCESS_KEY = "SCWBENCHMARK00000001"
SECRET_KEY = "9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
PASSPHRASE = "benchmark passphrase"


# --------------------------------------------------------------------------- emulator process


def _config(secrets: int, versions: int) -> dict[str, Any]:
    rows = []
    for i in range(secrets):
        rows.append(
            {
                "project_id": SOURCE,
                "region": "fr-par",
                "name": f"secret-{i:05d}",
                "path": f"/team{i % 20}/service{i % 7}",
                "tags": ["bench", f"team{i % 20}"],
                "versions": [
                    {"data": f"value of secret {i} revision {v} " + "x" * (40 + (i * 7 + v) % 200)}
                    for v in range(versions)
                ],
            }
        )
    return {
        "organization_id": ORG,
        "projects": [
            {"id": ORG, "name": "default"},
            {"id": SOURCE, "name": "production"},
            {"id": TARGET, "name": "recovery"},
        ],
        "api_keys": [
            {
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "permission_sets": ["SecretManagerFullAccess", "ProjectReadOnly"],
            }
        ],
        "secrets": rows,
    }


def _emulator_main(conn: Connection, secrets: int, versions: int, latency_ms: float) -> None:
    from core.emulator import EmulatorApp, ThreadedServer, parse_config

    app = EmulatorApp(parse_config(_config(secrets, versions)), latency_ms=latency_ms)
    with ThreadedServer(app) as server:
        conn.send(server.url)
        while True:
            command = conn.recv()
            if command == "stats":
                conn.send(app.stats.snapshot())
                app.stats.reset()
            else:
                break


# --------------------------------------------------------------------------- runs


def _run_cli(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``secret-kloset ARGS --json`` in a subprocess: wall time, its JSON, peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args, "--json"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
        # wait4 gives this child's own resource usage (its peak RSS, in KiB on Linux).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(
            f"secret-kloset {args[0]} failed ({proc.returncode}):\n{stderr.decode(errors='replace')}"
        )
    return {"wall": wall, "json": json.loads(stdout), "peak_mib": usage.ru_maxrss / 1024}


def _sdk_loop(url: str) -> dict[str, Any]:
    """What a user scripts without us: sequential list + list versions + access each."""
    from scaleway import Client
    from scaleway.secret.v1beta1 import SecretV1Beta1API

    client = Client(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        api_url=url,
        default_organization_id=ORG,
        default_project_id=SOURCE,
        default_region="fr-par",
    )
    api = SecretV1Beta1API(client)
    started = time.perf_counter()
    dump: dict[str, list[bytes]] = {}
    secrets = api.list_secrets_all(scheduled_for_deletion=False, project_id=SOURCE)
    read = 0
    for secret in secrets:
        values = []
        for version in api.list_secret_versions_all(secret_id=secret.id):
            if str(version.status) != "enabled":
                continue
            accessed = api.access_secret_version(
                secret_id=secret.id, revision=str(version.revision)
            )
            values.append(
                accessed.data.encode() if isinstance(accessed.data, str) else accessed.data
            )
            read += 1
        dump[secret.id] = values
    return {"wall": time.perf_counter() - started, "secrets": len(dump), "versions_read": read}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=2000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument(
        "--concurrency", type=int, default=None, help="pass --concurrency N (default: the CLI's)"
    )
    parser.add_argument("--skip-sdk", action="store_true", help="skip (b), the slow SDK loop")
    opts = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    emulator = ctx.Process(
        target=_emulator_main,
        args=(child, opts.secrets, opts.versions, opts.latency_ms),
        daemon=True,
    )
    emulator.start()
    url = parent.recv()

    def stats() -> dict[str, Any]:
        parent.send("stats")
        result: dict[str, Any] = parent.recv()
        return result

    tmp = tempfile.TemporaryDirectory(prefix="kloset-bench-")
    store_dir = Path(tmp.name) / "store"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SCW_", "SECRET_KLOSET_"))},
        "SCW_API_URL": url,
        "SCW_ACCESS_KEY": ACCESS_KEY,
        "SCW_SECRET_KEY": SECRET_KEY,
        "SCW_DEFAULT_ORGANIZATION_ID": ORG,
        "SCW_DEFAULT_PROJECT_ID": SOURCE,
        "SCW_DEFAULT_REGION": "fr-par",
        "SECRET_KLOSET_STORE": str(store_dir),
        "SECRET_KLOSET_PASSPHRASE": PASSPHRASE,
        "XDG_CACHE_HOME": str(Path(tmp.name) / "cache"),
        "XDG_CONFIG_HOME": str(Path(tmp.name) / "config"),
        "XDG_DATA_HOME": str(Path(tmp.name) / "data"),
    }

    import asyncio

    from core.store import Store

    async def init_store() -> None:
        store = await Store.init(str(store_dir), PASSPHRASE, cache_dir=Path(tmp.name) / "cache")
        await store.close()

    asyncio.run(init_store())
    stats()
    total_versions = opts.secrets * opts.versions
    print(
        f"emulator: {opts.secrets} secrets x {opts.versions} versions, "
        f"{opts.latency_ms:g} ms latency, at {url}"
    )

    conc = ["--concurrency", str(opts.concurrency)] if opts.concurrency else []
    a = _run_cli(["backup", *conc], env)
    a_req = stats()
    b: dict[str, Any] | None = None
    b_req: dict[str, Any] = {}
    if not opts.skip_sdk:
        b = _sdk_loop(url)
        b_req = stats()
    c = _run_cli(["backup", *conc], env)
    c_req = stats()
    d = _run_cli(["restore", "latest", "--to-project", TARGET, *conc], env)
    d_req = stats()
    # The fixed cost of any CLI run on this store: interpreter, imports, credentials, the
    # passphrase's key derivation (Argon2id, 64 MiB), opening the store.
    base = _run_cli(["snapshots"], env)
    parent.send("stop")
    emulator.join(timeout=10)

    def ops(req: dict[str, Any]) -> str:
        by = req.get("by_operation", {})
        return ", ".join(f"{k}={v}" for k, v in sorted(by.items()))

    print()
    print(f"{'run':<44} {'wall s':>8} {'requests':>9} {'peak MiB':>9}")
    rows = [
        ("(a) secret-kloset backup", a["wall"], a_req["requests"], a["peak_mib"]),
    ]
    if b is not None:
        rows.append(("(b) official SDK, sequential loop", b["wall"], b_req["requests"], None))
    rows += [
        ("(c) secret-kloset backup, unchanged", c["wall"], c_req["requests"], c["peak_mib"]),
        ("(d) secret-kloset restore to empty project", d["wall"], d_req["requests"], d["peak_mib"]),
    ]
    for name, wall, requests, peak in rows:
        peak_s = f"{peak:9.1f}" if peak is not None else f"{'-':>9}"
        print(f"{name:<44} {wall:8.2f} {requests:9d} {peak_s}")
    print()
    print(f"(a) {ops(a_req)}")
    if b is not None:
        print(f"(b) {ops(b_req)}")
    print(f"(c) {ops(c_req)}")
    print(f"(d) {ops(d_req)}")
    aj, cj, dj = a["json"], c["json"], d["json"]
    print()
    print(
        f"(a) engine time {aj['duration_seconds']:.2f} s; secrets {aj['secrets']}, versions "
        f"{aj['versions']}, read {aj['versions_read']} of {total_versions}, "
        f"{aj['bytes_added']} bytes added to the store"
    )
    print(
        f"(c) engine time {cj['duration_seconds']:.2f} s; versions read {cj['versions_read']}, "
        f"{cj['secrets_unchanged']} secrets unchanged, {cj['bytes_added']} bytes added"
    )
    print(
        f"(d) engine time {dj['duration_seconds']:.2f} s; status {dj['status']}, "
        f"{dj['summary']['versions_added']} versions added"
    )
    peak = max(a["peak_mib"], c["peak_mib"], d["peak_mib"])
    print()
    if b is not None:
        ratio = b["wall"] / a["wall"]
        print(
            f"(b)/(a) = {ratio:.1f}x faster   (target >= 15x: {'met' if ratio >= 15 else 'MISSED'})"
        )
    share = c["wall"] / a["wall"]
    engine_share = cj["duration_seconds"] / aj["duration_seconds"]
    reads = cj["versions_read"]
    accesses = c_req.get("by_operation", {}).get("access_secret_version", 0)
    print(
        f"(c)/(a) = {share:.1%} of the wall time, {engine_share:.1%} of the engine time; "
        f"versions read {reads}, access calls {accesses} (the preflight's probe on a random "
        f"id); fixed cost of a CLI run on this store: {base['wall']:.2f} s "
        f"(target < 10% and no data read: wall {'met' if share < 0.10 and reads == 0 else 'MISSED'}, "
        f"engine {'met' if engine_share < 0.10 and reads == 0 else 'MISSED'})"
    )
    print(
        f"peak RSS = {peak:.1f} MiB   (target < 200 MB: {'met' if peak * 1.048576 < 200 else 'MISSED'})"
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
