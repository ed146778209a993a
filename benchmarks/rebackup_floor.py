"""The unchanged re-backup's floor: how much of issue 10's 10 % budget the fixed costs take.

Issue 10 asks an unchanged re-backup of 1,000 x 3 for at most 10 % of the first backup's wall
time, process start and imports included. This benchmark takes the re-backup apart by removing
one wait at a time, and measures what no change to secret-kloset's own code can remove, all in
one run, interleaved, each row ``--repeats`` times (default 3), with the load printed:

(a)  ``secret-kloset backup`` into a new store at ``--latency-ms`` (default 20): the budget is
     10 % of its median;
(e)  the unchanged re-backup, as ``backup_bench.py`` measures it;
(e0) the same with the emulator answering at once (0 ms added): no round trip left to wait for;
(e0k) the same on a throw-away store whose key slot uses libsodium's least Argon2id (1 pass,
     8 KiB: the key derivation costs nothing): what remains is the process's own CPU,
     imports and engine;
(i)  only the imports an unchanged backup makes, in one process, no store and no request;
(t)  only what the design card names (asyncio for an async core; httpx with its own
     transport's httpcore, h11 and anyio; PyNaCl; blake3; SQLite), in one process;
(p)  ``python -c pass`` in this environment.

Every row after (a) is shown as a share of (a)'s median. If (e0k) is above the budget, neither
overlapping the round trips with the start nor hiding the key derivation can meet the target;
if (t) takes most of it, neither can slimming the program's own modules.

    .venv/bin/python benchmarks/rebackup_floor.py [--secrets 1000] [--versions 3]
        [--latency-ms 20] [--repeats 3] [--budget 0.10]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backup_bench import (
    PASSPHRASE,
    ROOT,
    Emulator,
    _compile_bytecode,
    _env,
    _init_store,
    _load,
    _median,
    _run_cli,
    _spread,
)

# What an unchanged `secret-kloset backup` imports (the modules it names; each brings its own),
# and httpx's transport's own (httpcore, h11, anyio), which httpx imports at the first request.
_IMPORTS = (
    "import asyncio, cli.main, cli.commands.backup, cli.credentials, cli.store_common, "
    "core.credentials.resolve, core.store, core.store.backends.local, core.scaleway.client, "
    "core.engine.backup, cli.progress, cli.output\n"
    "import core.scaleway.transport as t; t.warm_up()"
)
_THIRD_PARTY = (
    "import asyncio, httpx, httpcore, h11, anyio._backends._asyncio, nacl.pwhash, nacl.secret, "
    "blake3, sqlite3"
)

ROWS = {
    "a": "(a)  backup, first, new store",
    "e": "(e)  backup, unchanged",
    "e0": "(e0) unchanged, 0 ms latency",
    "e0k": "(e0k) unchanged, 0 ms, no KDF cost",
    "i": "(i)  its imports only",
    "t": "(t)  the card's libraries only",
    "p": "(p)  python -c pass",
}


@dataclass
class Side:
    """One row's walls and CPU times (user + system) across the repeats."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)


def _init_weak_store(home: Path) -> None:
    """A throw-away store whose key slot takes libsodium's least Argon2id (never for data)."""
    import asyncio

    import nacl.pwhash.argon2id as argon2id

    from core.store import Store
    from core.store.crypto import KdfParams

    least = KdfParams(opslimit=argon2id.OPSLIMIT_MIN, memlimit=argon2id.MEMLIMIT_MIN)

    async def init() -> None:
        store = await Store.init(
            str(home / "store"), PASSPHRASE, kdf=least, cache_dir=home / "cache"
        )
        await store.close()

    asyncio.run(init())


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """One import row's process: its wall and CPU times (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[1:3]} failed ({proc.returncode}):\n{proc.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _backup(env: dict[str, str], *, unchanged: bool = False) -> tuple[float, float]:
    """One ``secret-kloset backup`` as ``backup_bench.py`` runs it: wall and CPU times.
    ``unchanged``: it must have read no value (the world does not change), or the row would
    measure something else."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = _run_cli(["backup"], env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if unchanged and run.data.get("versions_read") != 0:
        raise SystemExit("an unchanged re-backup read values: its times would not be comparable")
    return run.wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--budget", type=float, default=0.10, help="share of (a) allowed (issue 10: 0.10)"
    )
    opts = parser.parse_args()
    if opts.repeats < 1 or opts.secrets < 1 or opts.versions < 1:
        parser.error("--repeats, --secrets and --versions must be at least 1")

    print(f"start: {_load()}; python {sys.version.split()[0]}")
    _compile_bytecode()
    py = sys.executable
    sides = {key: Side() for key in ROWS}
    emulator = Emulator(opts.secrets, opts.versions)
    print(f"emulator: {opts.secrets} secrets x {opts.versions} versions at {emulator.url}")
    try:
        with tempfile.TemporaryDirectory(prefix="kloset-floor-") as tmp:
            kept, weak = Path(tmp) / "kept", Path(tmp) / "weak"
            env, weak_env = _env(emulator.url, kept), _env(emulator.url, weak)
            _init_store(kept)
            _init_weak_store(weak)
            emulator.ask("latency", opts.latency_ms)
            for parent_env in (env, weak_env):  # the parents of every (e), (e0), (e0k)
                _backup(parent_env)
            for repeat in range(opts.repeats):
                fresh = Path(tmp) / f"first-{repeat}"
                fresh_env = _env(emulator.url, fresh)
                _init_store(fresh)
                rows: dict[str, Callable[[], tuple[float, float]]] = {
                    "a": partial(_backup, fresh_env),
                    "e": partial(_backup, env, unchanged=True),
                }
                rest: dict[str, Callable[[], tuple[float, float]]] = {
                    "e0": partial(_backup, env, unchanged=True),
                    "e0k": partial(_backup, weak_env, unchanged=True),
                    "i": partial(_timed, [py, "-c", _IMPORTS], env),
                    "t": partial(_timed, [py, "-c", _THIRD_PARTY], env),
                    "p": partial(_timed, [py, "-c", "pass"], env),
                }
                for latency, group in ((opts.latency_ms, rows), (0.0, rest)):
                    emulator.ask("latency", latency)
                    for key in group if repeat % 2 == 0 else reversed(group):
                        wall, cpu = group[key]()
                        sides[key].walls.append(wall)
                        sides[key].cpus.append(cpu)
                print(f"repeat {repeat + 1}: {_load()}")
    finally:
        emulator.close()

    first = _median(sides["a"].walls)
    budget = opts.budget * first
    print(
        f"\n{opts.secrets}x{opts.versions}, {opts.latency_ms:g} ms a request, medians of "
        f"{opts.repeats}; budget {100 * opts.budget:g} % of (a) = {budget:.3f} s"
    )
    print(f"{'row':38} {'wall':>7} {'range':>11} {'cpu':>7} {'of (a)':>7} {'of budget':>9}")
    for key, label in ROWS.items():
        wall = _median(sides[key].walls)
        print(
            f"{label:38} {wall:7.3f} {_spread(sides[key].walls, '{:.3f}'):>11} "
            f"{_median(sides[key].cpus):7.3f} {100 * wall / first:6.1f}% "
            f"{100 * wall / budget:8.0f}%"
        )
    floor = _median(sides["e0k"].walls)
    print(
        f"\n(e0k), no wait left but the process's own work: {100 * floor / first:.1f} % of (a), "
        f"{'within' if floor <= budget else 'over'} the {100 * opts.budget:g} % budget; "
        f"(t), the card's libraries alone: {100 * _median(sides['t'].walls) / budget:.0f} % "
        f"of the budget. End: {_load()}"
    )


if __name__ == "__main__":
    main()
