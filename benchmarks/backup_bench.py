"""Backup/restore benchmark: secret-kloset beside the official SDK and the ideal, 3 repeats.

The emulator runs in its own process and serves real HTTP on loopback with added latency
(``--latency-ms``, default 20; a comma list runs each), holding N secrets of V versions each
(``--sizes 1000x3,10000x3``; default 1000x3). It counts every request, and the most requests in
flight at once (the client's actual concurrency). For each size and latency, each row runs
``--repeats`` times (default 3), with the machine's load printed before and after each block:

(a) ``secret-kloset backup`` (the real CLI in a subprocess, into a new local store);
(b) the official ``scaleway`` SDK in a ``ThreadPoolExecutor(32)``: list the secrets, then for
    each secret list its versions and access each enabled one; what a competent operator writes
    in ten minutes;
(c) the same loop, sequential (``--sequential``: slow, about 80 s at 1000x3 and 20 ms);
(d) the ideal: (a)'s requests x latency / 32 in flight (and / the client's peak in flight, when
    that is higher: both are printed);
(e) a second ``secret-kloset backup``, nothing changed (it must read 0 values);
(f) ``secret-kloset restore latest --to-project <empty project>``, beside its ideal;
(g) the same restore again (idempotent: it should send a small share of (f)'s requests).

The SDK loops run in this process, so their walls leave out the interpreter's start and the
imports that the CLI's walls include: that favours the SDK. Between repeats the emulator drops
what the restores wrote, so every repeat starts from the same world. At the end the medians'
ratios are checked against issue 10's targets, each said PASS or MISS; a MISS never fails the
process (a benchmark, not a test).

    .venv/bin/python benchmarks/backup_bench.py [--sizes 1000x3] [--latency-ms 20[,100]]
        [--repeats 3] [--threads 32] [--sequential] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_world import ORG, SECRET_KEY, SOURCE, TARGET, world  # noqa: E402

ACCESS_KEY = "SCWBENCHMARK00000001"
PASSPHRASE = "benchmark passphrase"

Json = dict[str, Any]
"""A CLI's ``--json`` output, as parsed."""


# --------------------------------------------------------------------------- emulator process


def _config(secrets: int, versions: int) -> Json:
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
    return world(rows, access_key=ACCESS_KEY)


class InFlight:
    """ASGI wrapper counting the requests being served at once, and the peak since a reset:
    with the latency in the chain, that is the client's actual concurrency."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.now = 0
        self.peak = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # uvicorn serves from one event loop: no lock needed.
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


def _emulator_main(conn: Connection, secrets: int, versions: int) -> None:
    """Serve the world until told to stop; answer ``stats``, ``latency``, ``wipe`` commands."""
    from core.emulator import EmulatorApp, ThreadedServer, parse_config

    app = EmulatorApp(parse_config(_config(secrets, versions)))
    counted = InFlight(app)
    with ThreadedServer(counted) as server:
        conn.send(server.url)
        while True:
            command, arg = conn.recv()
            if command == "stats":
                conn.send({**app.stats.snapshot(), "peak_in_flight": counted.peak})
                app.stats.reset()
                counted.peak = counted.now
            elif command == "latency":
                app.latency_ms = arg
                conn.send(None)
            elif command == "wipe":  # drop what the restores wrote into TARGET
                with app.state.lock:
                    doomed = [
                        s
                        for region in app.state.secrets.values()
                        for s in region.values()
                        if s.project_id == TARGET
                    ]
                    for secret in doomed:
                        app.state.remove_secret(secret)
                conn.send(len(doomed))
            else:
                break


class Emulator:
    """The emulator's process, seen from here: its URL, its counters, its knobs."""

    def __init__(self, secrets: int, versions: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_emulator_main, args=(child, secrets, versions), daemon=True
        )
        self._proc.start()
        self.url: str = self._conn.recv()

    def ask(self, command: str, arg: object = None) -> Any:
        self._conn.send((command, arg))
        return self._conn.recv()

    def close(self) -> None:
        self._conn.send(("stop", None))
        self._proc.join(timeout=10)


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    """One row's run: wall time, what the emulator counted, the CLI's JSON and peak RSS."""

    wall: float
    requests: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    peak_in_flight: int = 0
    peak_mib: float | None = None
    data: Json = field(default_factory=dict)
    versions_read: int | None = None


# The CLI as installed (``python -m cli.main``), reporting its own peak RSS (Linux's VmHWM) when
# it exits. Not wait4's ru_maxrss: across fork and exec it keeps the parent's resident size at
# the fork, so every CLI run reported at least this benchmark's own RSS (which grows with the
# SDK loop's results: 135 -> 188 MiB over three 10,000x3 repeats).
_CLI = """\
import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                with open(os.environ["BENCH_PEAK_FILE"], "w", encoding="ascii") as out:
                    out.write(line.split()[1])
atexit.register(_peak)
sys.argv = ["secret-kloset", *sys.argv[1:]]
runpy.run_module("cli.main", run_name="__main__", alter_sys=True)
"""


def _run_cli(args: list[str], env: dict[str, str]) -> Run:
    """Run ``secret-kloset ARGS --json`` in a subprocess: wall time, its JSON, peak RSS."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", encoding="ascii") as peak,
    ):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _CLI, *args, "--json"],
            cwd=ROOT,
            env={**env, "BENCH_PEAK_FILE": peak.name},
            stdout=out,
            stderr=err,
        )
        proc.wait()
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        peak_kib = peak.read().strip()
    if proc.returncode != 0:
        raise SystemExit(
            f"secret-kloset {args[0]} failed ({proc.returncode}):\n{stderr.decode(errors='replace')}"
        )
    data: Json = json.loads(stdout)
    return Run(wall=wall, data=data, peak_mib=int(peak_kib) / 1024 if peak_kib else None)


def _sdk_loop(url: str, threads: int) -> Run:
    """What an operator scripts without us: list, then per secret list versions and access
    each enabled one; in ``threads`` threads (1: the plain sequential loop)."""
    from scaleway import Client
    from scaleway.secret.v1beta1 import SecretV1Beta1API

    # The SDK sends each request with requests.request (no shared session): one client
    # serves every thread safely.
    client = Client(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        api_url=url,
        default_organization_id=ORG,
        default_project_id=SOURCE,
        default_region="fr-par",
    )
    api = SecretV1Beta1API(client)

    def fetch(secret_id: str) -> list[str]:
        values = []
        for version in api.list_secret_versions_all(secret_id=secret_id):
            if str(version.status) != "enabled":
                continue
            accessed = api.access_secret_version(
                secret_id=secret_id, revision=str(version.revision)
            )
            values.append(accessed.data)
        return values

    started = time.perf_counter()
    ids = [s.id for s in api.list_secrets_all(scheduled_for_deletion=False, project_id=SOURCE)]
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            dump = dict(zip(ids, pool.map(fetch, ids), strict=True))
    else:
        dump = {secret_id: fetch(secret_id) for secret_id in ids}
    wall = time.perf_counter() - started
    return Run(wall=wall, versions_read=sum(len(v) for v in dump.values()))


# --------------------------------------------------------------------------- reporting


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _spread(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "-"
    return f"{fmt.format(min(values))}-{fmt.format(max(values))}"


ROWS = {
    "a": "(a) secret-kloset backup",
    "b": "(b) official SDK, {threads}-thread loop",
    "c": "(c) official SDK, sequential loop",
    "e": "(e) secret-kloset backup, unchanged",
    "f": "(f) secret-kloset restore, empty project",
    "g": "(g) secret-kloset restore, again",
    "x": "    fixed cost: secret-kloset snapshots",
}


@dataclass
class Target:
    name: str
    measured: str
    passed: bool


def _ops(run: Run) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(run.by_operation.items())) or "-"


# --------------------------------------------------------------------------- one size


def _env(url: str, home: Path) -> dict[str, str]:
    # An installed program runs from bytecode (pip compiles it): PYTHONDONTWRITEBYTECODE, set
    # on some machines, is dropped so no timed run compiles every module (main() compiles once).
    skip = ("SCW_", "SECRET_KLOSET_", "PYTHONDONTWRITEBYTECODE")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(skip)},
        "PYTHONPATH": str(ROOT),
        "SCW_API_URL": url,
        "SCW_ACCESS_KEY": ACCESS_KEY,
        "SCW_SECRET_KEY": SECRET_KEY,
        "SCW_DEFAULT_ORGANIZATION_ID": ORG,
        "SCW_DEFAULT_PROJECT_ID": SOURCE,
        "SCW_DEFAULT_REGION": "fr-par",
        "SECRET_KLOSET_STORE": str(home / "store"),
        "SECRET_KLOSET_PASSPHRASE": PASSPHRASE,
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
    }


def _init_store(home: Path) -> None:
    from core.store import Store

    async def init() -> None:
        store = await Store.init(str(home / "store"), PASSPHRASE, cache_dir=home / "cache")
        await store.close()

    asyncio.run(init())


def _block(
    emulator: Emulator, opts: argparse.Namespace, repeat: int, latency: float
) -> dict[str, Run]:
    """One repeat of every row, on a new store; the SDK goes first on every second repeat, so a drift
    in the machine's load does not favour one side."""
    runs: dict[str, Run] = {}
    conc = ["--concurrency", str(opts.concurrency)] if opts.concurrency else []
    with tempfile.TemporaryDirectory(prefix="kloset-bench-") as tmp:
        home = Path(tmp)
        env = _env(emulator.url, home)
        _init_store(home)
        emulator.ask("wipe")
        emulator.ask("stats")

        def measure(key: str, action: Callable[[], Run]) -> None:
            run = action()
            counts = emulator.ask("stats")
            run.requests = counts["requests"]
            run.by_operation = counts["by_operation"]
            run.peak_in_flight = counts["peak_in_flight"]
            if run.versions_read is None and "versions_read" in run.data:
                run.versions_read = run.data["versions_read"]
            runs[key] = run
            label = ROWS[key].format(threads=opts.threads)
            rss = f"{run.peak_mib:7.1f} MiB" if run.peak_mib is not None else f"{'-':>11}"
            print(
                f"  {label:<42} {run.wall:8.2f} s {run.requests:8d} req "
                f"{run.peak_in_flight:4d} in flight {rss}",
                flush=True,
            )

        def sdk() -> None:
            measure("b", lambda: _sdk_loop(emulator.url, opts.threads))
            if opts.sequential:
                measure("c", lambda: _sdk_loop(emulator.url, 1))

        print(f"repeat {repeat + 1}/{opts.repeats} at {latency:g} ms, before: {_load()}")
        if repeat % 2 == 1:
            sdk()
        measure("a", lambda: _run_cli(["backup", *conc], env))
        if repeat % 2 == 0:
            sdk()
        measure("e", lambda: _run_cli(["backup", *conc], env))
        restore = ["restore", "latest", "--to-project", TARGET, *conc]
        measure("f", lambda: _run_cli(restore, env))
        measure("g", lambda: _run_cli(restore, env))
        # The fixed cost of any CLI run on this store: interpreter, imports, credentials,
        # the passphrase's key derivation (Argon2id, 64 MiB), opening the store.
        measure("x", lambda: _run_cli(["snapshots"], env))
        print(f"repeat {repeat + 1}/{opts.repeats} at {latency:g} ms, after:  {_load()}")
    return runs


def _summary(
    secrets: int,
    versions: int,
    latency: float,
    opts: argparse.Namespace,
    blocks: list[dict[str, Run]],
) -> list[Target]:
    """The medians of the repeats, the ideals, and the ratios against issue 10's targets."""
    threads = opts.threads

    def walls(key: str) -> list[float]:
        return [b[key].wall for b in blocks if key in b]

    def med(key: str, attr: str = "wall") -> float:
        return _median([float(getattr(b[key], attr)) for b in blocks if key in b])

    def ratios(top: str, bottom: str) -> list[float]:
        return [b[top].wall / b[bottom].wall for b in blocks if top in b and bottom in b]

    def ideal(key: str) -> tuple[float, float, int]:
        """(requests x latency / threads, the same / the client's peak in flight, that peak)."""
        calls = med(key, "requests")
        peak = max(b[key].peak_in_flight for b in blocks)
        return calls * latency / 1000 / threads, calls * latency / 1000 / max(peak, threads), peak

    a_ideal, a_ideal_peak, a_peak = ideal("a")
    f_ideal, f_ideal_peak, f_peak = ideal("f")

    print()
    print(f"== {secrets} secrets x {versions} versions, {latency:g} ms, {len(blocks)} repeats")
    print(
        f"{'row':<44} {'median s':>9} {'min-max s':>13} {'requests':>9} "
        f"{'in flight':>9} {'peak MiB':>9}"
    )

    def ideal_rows(key: str, what: str, at: float, at_peak: float, peak: int) -> None:
        calls = f"{med(key, 'requests'):.0f} req x {latency:g} ms"
        print(f"{f'{what}: {calls} / {threads}':<44} {at:9.2f}")
        if peak > threads:
            print(f"{f'{what}: {calls} / its peak {peak}':<44} {at_peak:9.2f}")

    for key, label in ROWS.items():
        if not any(key in b for b in blocks):
            continue
        peaks = [m for b in blocks if key in b and (m := b[key].peak_mib) is not None]
        rss = f"{max(peaks):9.1f}" if peaks else f"{'-':>9}"
        in_flight = max(b[key].peak_in_flight for b in blocks if key in b)
        print(
            f"{label.format(threads=threads):<44} {med(key):9.2f} {_spread(walls(key)):>13} "
            f"{med(key, 'requests'):9.0f} {in_flight:9d} {rss}"
        )
        if key == ("c" if "c" in blocks[0] else "b"):
            ideal_rows("a", "(d) ideal backup", a_ideal, a_ideal_peak, a_peak)
        elif key == "f":
            ideal_rows("f", "    ideal restore", f_ideal, f_ideal_peak, f_peak)

    last = blocks[-1]
    print()
    for key in ("a", "b", "c", "e", "f", "g"):
        if key in last:
            print(f"{key}: {_ops(last[key])}")
    total = secrets * versions
    reads = {k: [b[k].versions_read for b in blocks if k in b] for k in ("a", "b", "c", "e")}
    print(
        f"values read (of {total}): (a) {reads['a']}, (b) {reads['b']}"
        + (f", (c) {reads['c']}" if reads["c"] else "")
        + f", (e) {reads['e']}"
    )
    f_added = [b["f"].data["summary"]["versions_added"] for b in blocks]
    g_added = [b["g"].data["summary"]["versions_added"] for b in blocks]
    print(f"versions added: (f) {f_added}, (g) {g_added}")
    print(
        f"engine time (median): (a) {_med_json(blocks, 'a'):.2f} s, (e) {_med_json(blocks, 'e'):.2f} s, "
        f"(f) {_med_json(blocks, 'f'):.2f} s, (g) {_med_json(blocks, 'g'):.2f} s"
    )

    targets: list[Target] = []
    where = f"{secrets}x{versions} @ {latency:g} ms"

    def check(
        name: str, value: float, spread: list[float], fmt: str, passed: bool, goal: str
    ) -> None:
        measured = f"{fmt.format(value)} (repeats {_spread(spread, fmt)}; target {goal})"
        targets.append(Target(f"{where}: {name}", measured, passed))

    print()
    b_a = _median(ratios("b", "a"))
    check(
        "(b)/(a), faster than the SDK's threads",
        b_a,
        ratios("b", "a"),
        "{:.2f}x",
        b_a >= 3,
        ">= 3x",
    )
    a_d = med("a") / a_ideal
    check(
        "(a)/(d), from the ideal",
        a_d,
        [w / a_ideal for w in walls("a")],
        "{:.2f}x",
        a_d <= 1.3,
        "<= 1.3x",
    )
    if a_peak > threads:
        print(f"(a) / the ideal at its peak {a_peak} in flight: {med('a') / a_ideal_peak:.2f}x")
    if "c" in last:
        print(f"(c)/(a), faster than the sequential SDK loop: {_median(ratios('c', 'a')):.1f}x")
    limit = 0.05 if secrets >= 10_000 else 0.10
    e_a = _median(ratios("e", "a"))
    no_reads = all(r == 0 for r in reads["e"])
    check(
        f"(e)/(a), unchanged re-backup{'' if no_reads else ' (READ VALUES)'}",
        e_a,
        ratios("e", "a"),
        "{:.1%}",
        e_a <= limit and no_reads,
        f"<= {limit:.0%}, 0 values read",
    )
    f_d = med("f") / f_ideal
    check(
        "(f), restore from its ideal",
        f_d,
        [w / f_ideal for w in walls("f")],
        "{:.2f}x",
        f_d <= 1.5,
        "<= 1.5x",
    )
    g_share = [b["g"].requests / b["f"].requests for b in blocks]
    g_f = _median(g_share)
    check("(g)/(f), requests of a second restore", g_f, g_share, "{:.1%}", g_f <= 0.10, "<= 10%")
    for t in targets:
        print(f"{'PASS' if t.passed else 'MISS'}  {t.name.split(': ', 1)[1]}: {t.measured}")
    return targets


def _med_json(blocks: list[dict[str, Run]], key: str) -> float:
    return _median([float(b[key].data["duration_seconds"]) for b in blocks if key in b])


# --------------------------------------------------------------------------- main


def _size(text: str) -> tuple[int, int]:
    secrets, _, versions = text.lower().partition("x")
    try:
        size = int(secrets), int(versions or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not NxV, e.g. 1000x3") from None
    if min(size) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: both sides must be at least 1")
    return size


def _compile_bytecode() -> None:
    """Write the bytecode of the program's own modules once, as installing it does."""
    import compileall

    for package in ("core", "cli"):
        compileall.compile_dir(ROOT / package, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1000x3",
        help="comma list of SECRETSxVERSIONS (default 1000x3; issue 10: 1000x3,10000x3)",
    )
    parser.add_argument("--secrets", type=int, help="with --versions: one size, instead of --sizes")
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument(
        "--latency-ms", default="20", help="added latency per request; a comma list runs each"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=32, help="the SDK pool and the ideal's in flight"
    )
    parser.add_argument(
        "--sequential", action="store_true", help="add (c), the slow sequential loop"
    )
    parser.add_argument(
        "--concurrency", type=int, default=None, help="pass --concurrency N (default: the CLI's)"
    )
    opts = parser.parse_args()
    try:
        sizes = (
            [(opts.secrets, opts.versions)]
            if opts.secrets
            else [_size(s) for s in opts.sizes.split(",") if s.strip()]
        )
        latencies = [float(x) for x in opts.latency_ms.split(",") if x.strip()]
    except (argparse.ArgumentTypeError, ValueError) as exc:
        parser.error(str(exc))

    print(f"start: {_load()}; python {sys.version.split()[0]}")
    _compile_bytecode()
    targets: list[Target] = []
    for secrets, versions in sizes:
        started = time.perf_counter()
        emulator = Emulator(secrets, versions)
        print(
            f"\nemulator: {secrets} secrets x {versions} versions at {emulator.url} "
            f"(set up in {time.perf_counter() - started:.1f} s)"
        )
        try:
            for latency in latencies:
                emulator.ask("latency", latency)
                blocks = [_block(emulator, opts, r, latency) for r in range(opts.repeats)]
                targets += _summary(secrets, versions, latency, opts, blocks)
        finally:
            emulator.close()

    print(f"\n== issue 10's targets (medians of {opts.repeats} repeats); end: {_load()}")
    for t in targets:
        print(f"{'PASS' if t.passed else 'MISS'}  {t.name}: {t.measured}")
    passed = sum(t.passed for t in targets)
    print(f"{passed} of {len(targets)} targets met (a benchmark: a MISS does not fail the run)")


if __name__ == "__main__":
    main()
