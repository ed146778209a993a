"""Soak: cycles of backup / restore / prune through the real CLI under random faults.

Not a test (not in ``make test``): a long run that looks for what short tests miss. The emulator
runs in its own process; each cycle

1. mutates the source project through the official ``scaleway`` SDK, faults off (new
   versions, new secrets, deleted secrets);
2. turns the emulator's faults on (``--error-rate`` 503s before applying, ``--ambiguous-error-rate``
   503s after applying, ``--rate-limit`` bare 429s) and runs ``secret-kloset backup``, then
   ``restore latest --to-project <an emptied project>``, then ``forget --keep-last 3 --prune``,
   each as a subprocess that is SIGKILLed at a random moment with probability ``--kill-rate``;
   a command that fails or is killed runs again (after ``unlock`` when it says the store is
   locked), up to ``--attempts`` times;
3. after a successful restore, turns the faults off and compares, through the SDK (a second
   client, not ours), every source secret's enabled versions, byte for byte and in order, with
   the restored copy.

At the end, ``check --read-data`` runs on the store (faults off), and the figures are printed:
cycles run, faults injected (kills, 503s, ambiguous 503s, 429s), secrets compared, and the
secrets lost or altered (0 is the only good answer).

    .venv/bin/python benchmarks/soak.py [--cycles 1000] [--seconds 300] [--secrets 30]
        [--error-rate 0.03] [--ambiguous-error-rate 0.02] [--rate-limit 30] [--kill-rate 0.3]
        [--seed N]
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_world import ORG, SECRET_KEY, SOURCE, TARGET, world  # noqa: E402

ACCESS_KEY = "SCWSOAK0000000000001"
PASSPHRASE = "soak passphrase"
REGION = "fr-par"

Json = dict[str, Any]


# --------------------------------------------------------------------------- emulator process


def _payload(rng: random.Random) -> str:
    """Base64 of 1 to 3000 random bytes (the API's wire form of a version's data)."""
    return base64.b64encode(rng.randbytes(rng.randint(1, 3000))).decode()


def _config(secrets: int, seed: int) -> Json:
    rng = random.Random(seed)
    rows = [
        {
            "project_id": SOURCE,
            "region": REGION,
            "name": f"soak-{i:04d}",
            "path": f"/team{i % 5}",
            "versions": [{"data_base64": _payload(rng)} for _ in range(rng.randint(1, 3))],
        }
        for i in range(secrets)
    ]
    return world(rows, access_key=ACCESS_KEY)


def _emulator_main(conn: Connection, secrets: int, seed: int) -> None:
    """Serve until told to stop; answer ``faults``, ``stats`` and ``wipe`` commands."""
    from core.emulator import EmulatorApp, ThreadedServer, parse_config

    app = EmulatorApp(parse_config(_config(secrets, seed)), seed=seed)
    with ThreadedServer(app) as server:
        conn.send(server.url)
        while True:
            command, arg = conn.recv()
            if command == "faults":  # (error rate, ambiguous rate, rate limit) or None: off
                error, ambiguous, limit = arg or (0.0, 0.0, None)
                app.error_rate, app.ambiguous_error_rate = error, ambiguous
                app.set_rate_limit(limit)
                conn.send(None)
            elif command == "stats":
                conn.send(app.stats.snapshot())
            elif command == "wipe":  # empty the restore's destination project
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
                conn.send(None)
                break


class Emulator:
    """The emulator's process, seen from here."""

    def __init__(self, secrets: int, seed: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_emulator_main, args=(child, secrets, seed), daemon=True)
        self._proc.start()
        self.url: str = self._conn.recv()

    def ask(self, command: str, arg: object = None) -> Any:
        self._conn.send((command, arg))
        return self._conn.recv()

    def close(self) -> None:
        self.ask("stop")
        self._proc.join(timeout=10)


# --------------------------------------------------------------------------- the second client


class Peer:
    """The official SDK: mutates the source and reads both projects back (faults off)."""

    def __init__(self, url: str, rng: random.Random) -> None:
        from scaleway import Client
        from scaleway.secret.v1beta1 import SecretV1Beta1API

        client = Client(
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            api_url=url,
            default_organization_id=ORG,
            default_project_id=SOURCE,
            default_region=REGION,
        )
        self.api = SecretV1Beta1API(client)
        self.rng = rng
        self.created = 0

    def dump(self, project: str) -> dict[tuple[str, str], list[bytes]]:
        """(path, name) -> every enabled version's bytes, oldest first."""
        out: dict[tuple[str, str], list[bytes]] = {}
        for secret in self.api.list_secrets_all(project_id=project, scheduled_for_deletion=False):
            values = []
            versions = sorted(
                self.api.list_secret_versions_all(secret_id=secret.id), key=lambda v: v.revision
            )
            for version in versions:
                if str(version.status) != "enabled":
                    continue
                got = self.api.access_secret_version(
                    secret_id=secret.id, revision=str(version.revision)
                )
                values.append(base64.b64decode(got.data))
            out[(secret.path, secret.name)] = values
        return out

    def mutate(self) -> Counter[str]:
        """New versions, new secrets, deleted secrets in the source project."""
        done: Counter[str] = Counter()
        secrets = list(self.api.list_secrets_all(project_id=SOURCE, scheduled_for_deletion=False))
        for secret in secrets:
            roll = self.rng.random()
            if roll < 0.05 and len(secrets) > 5:
                self.api.delete_secret(secret_id=secret.id)
                done["deleted secrets"] += 1
            elif roll < 0.30 and secret.version_count < 15:
                self.api.create_secret_version(secret_id=secret.id, data=_payload(self.rng))
                done["new versions"] += 1
        for _ in range(self.rng.randint(0, 3)):
            self.created += 1
            made = self.api.create_secret(
                name=f"new-{self.created:04d}",
                project_id=SOURCE,
                path=f"/new{self.created % 3}",
                protected=False,
            )
            for _ in range(self.rng.randint(1, 2)):
                self.api.create_secret_version(secret_id=made.id, data=_payload(self.rng))
            done["new secrets"] += 1
        return done


# --------------------------------------------------------------------------- the CLI, killed


@dataclass
class Tally:
    cycles: int = 0
    complete_cycles: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)
    exits: Counter[str] = field(default_factory=Counter)
    gave_up: Counter[str] = field(default_factory=Counter)
    hangs: int = 0
    mutations: Counter[str] = field(default_factory=Counter)
    compared: int = 0
    lost: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def _env(url: str, home: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SCW_", "SECRET_KLOSET_"))},
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "SCW_API_URL": url,
        "SCW_ACCESS_KEY": ACCESS_KEY,
        "SCW_SECRET_KEY": SECRET_KEY,
        "SCW_DEFAULT_ORGANIZATION_ID": ORG,
        "SCW_DEFAULT_PROJECT_ID": SOURCE,
        "SCW_DEFAULT_REGION": REGION,
        "SECRET_KLOSET_STORE": str(home / "store"),
        "SECRET_KLOSET_PASSPHRASE": PASSPHRASE,
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
    }


class Runner:
    def __init__(self, env: dict[str, str], rng: random.Random, opts: argparse.Namespace) -> None:
        self.env, self.rng, self.opts = env, rng, opts
        self.tally = Tally()
        self.walls: dict[str, float] = {}
        self.log = Path(env["XDG_STATE_HOME"]) / "soak-failures.log"

    def _once(self, name: str, args: list[str], *, killable: bool) -> int | None:
        """One run; its exit code, or None when this script killed it."""
        kill_at = None
        if killable and self.rng.random() < self.opts.kill_rate:
            # Mostly past the interpreter's start (about 1 s), anywhere in the run's work.
            wall = self.walls.get(name, 3.0)
            kill_at = self.rng.uniform(min(0.8, wall / 2), max(1.0, wall * 0.95))
        started = time.monotonic()
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "cli.main", *args],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            self.tally.runs[name] += 1
            try:
                proc.wait(timeout=kill_at if kill_at is not None else self.opts.timeout)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                if kill_at is None:
                    self.tally.hangs += 1
                    return -9
                self.tally.kills[name] += 1
                return None
            code = proc.returncode
            if code == 0:
                self.walls[name] = time.monotonic() - started
            else:
                err.seek(0)
                with self.log.open("a") as log:
                    log.write(f"--- {name} exit {code}\n{err.read().decode(errors='replace')}\n")
            self.tally.exits[f"{name} {code}"] += 1
            return code

    def run(self, name: str, args: list[str]) -> bool:
        """Run until it succeeds (exit 0), at most ``--attempts`` times."""
        for _ in range(self.opts.attempts):
            code = self._once(name, args, killable=True)
            if code == 0:
                return True
            if code == 11:  # a killed run's lock: what an operator does next
                self._once("unlock", ["unlock"], killable=False)
        self.tally.gave_up[name] += 1
        return False


def _compare(peer: Peer, tally: Tally) -> None:
    source, restored = peer.dump(SOURCE), peer.dump(TARGET)
    for key, values in source.items():
        label = f"{key[0].rstrip('/')}/{key[1]}"
        if key not in restored:
            tally.lost.append(label)
        elif restored[key] != values:
            tally.altered.append(label)
        tally.compared += 1
    tally.extra += [f"{p.rstrip('/')}/{n}" for (p, n) in restored if (p, n) not in source]


def _init_store(home: Path) -> None:
    import asyncio

    from core.store import Store

    async def init() -> None:
        store = await Store.init(str(home / "store"), PASSPHRASE, cache_dir=home / "cache")
        await store.close()

    asyncio.run(init())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000, help="at most N cycles")
    parser.add_argument("--seconds", type=float, default=300.0, help="start no cycle after S s")
    parser.add_argument("--secrets", type=int, default=30, help="secrets at the start")
    parser.add_argument("--error-rate", type=float, default=0.03)
    parser.add_argument("--ambiguous-error-rate", type=float, default=0.02)
    parser.add_argument("--rate-limit", type=float, default=30.0, help="requests per second")
    parser.add_argument("--kill-rate", type=float, default=0.3, help="share of runs SIGKILLed")
    parser.add_argument("--attempts", type=int, default=8, help="runs of a command per cycle")
    parser.add_argument("--timeout", type=float, default=180.0, help="a run past this hangs")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    opts = parser.parse_args()
    seed = opts.seed if opts.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    faults = (opts.error_rate, opts.ambiguous_error_rate, opts.rate_limit or None)
    print(
        f"soak: seed {seed}, {opts.secrets} secrets, faults: 503 {opts.error_rate:.0%}, "
        f"ambiguous 503 {opts.ambiguous_error_rate:.0%}, {opts.rate_limit:g} req/s, "
        f"SIGKILL {opts.kill_rate:.0%} of runs; at most {opts.cycles} cycles / {opts.seconds:g} s",
        flush=True,
    )
    home = Path(tempfile.mkdtemp(prefix="soak-"))
    emulator = Emulator(opts.secrets, seed)
    injected: Counter[str] = Counter()

    def harvest() -> None:
        stats = emulator.ask("stats")
        injected["503"] = stats["injected_errors"]
        injected["ambiguous"] = stats["ambiguous_errors"]
        injected["429"] = stats["rate_limited"]
        injected["requests"] = stats["requests"]

    try:
        env = _env(emulator.url, home)
        for sub in ("cache", "config", "data", "state"):
            (home / sub).mkdir()
        _init_store(home)
        peer = Peer(emulator.url, rng)
        runner = Runner(env, rng, opts)
        tally = runner.tally
        started = time.monotonic()
        restore = ["restore", "latest", "--project", SOURCE, "--to-project", TARGET]
        while tally.cycles < opts.cycles and time.monotonic() - started < opts.seconds:
            tally.cycles += 1
            emulator.ask("faults", None)
            if tally.cycles > 1:
                tally.mutations.update(peer.mutate())
            emulator.ask("wipe")
            emulator.ask("faults", faults)
            backed_up = runner.run("backup", ["backup", "--project", SOURCE])
            restored = backed_up and runner.run("restore", restore)
            pruned = runner.run("prune", ["forget", "--keep-last", "3", "--prune"])
            emulator.ask("faults", None)
            if restored:
                before = len(tally.lost) + len(tally.altered)
                _compare(peer, tally)
                if len(tally.lost) + len(tally.altered) > before:
                    print(f"  cycle {tally.cycles}: LOST OR ALTERED", flush=True)
            tally.complete_cycles += backed_up and restored and pruned
            harvest()
            print(
                f"  cycle {tally.cycles}: backup {'ok' if backed_up else 'GAVE UP'}, restore "
                f"{'ok' if restored else '-'}, prune {'ok' if pruned else 'GAVE UP'}; "
                f"{tally.kills.total()} kills, {tally.compared} compared "
                f"({time.monotonic() - started:.0f} s)",
                flush=True,
            )
        emulator.ask("faults", None)
        check = runner._once("check", ["check", "--read-data"], killable=False)
        harvest()
        elapsed = time.monotonic() - started
    finally:
        emulator.close()
    runs = ", ".join(f"{k} {v}" for k, v in sorted(tally.runs.items()))
    kills = ", ".join(f"{k} {v}" for k, v in sorted(tally.kills.items())) or "none"
    failures = ", ".join(
        f"{k}: {v}" for k, v in sorted(tally.exits.items()) if not k.endswith(" 0")
    )
    print()
    print(
        f"cycles run:        {tally.cycles} in {elapsed:.0f} s ({tally.complete_cycles} complete)"
    )
    print(f"CLI runs:          {runs}")
    print(
        f"faults injected:   {tally.kills.total()} SIGKILLs ({kills}), {injected['503']} 503s, "
        f"{injected['ambiguous']} ambiguous 503s (applied), {injected['429']} 429s "
        f"(of {injected['requests']} requests)"
    )
    print(f"failed runs:       {failures or 'none'} (re-run; gave up: {dict(tally.gave_up) or 0})")
    print(f"hangs:             {tally.hangs}")
    print(f"source mutations:  {dict(tally.mutations)}")
    print(f"secrets compared:  {tally.compared} (byte for byte, every enabled version, in order)")
    print(f"lost:              {len(tally.lost)} {sorted(set(tally.lost))[:10] or ''}")
    print(f"altered:           {len(tally.altered)} {sorted(set(tally.altered))[:10] or ''}")
    print(f"extra in restore:  {len(tally.extra)} {sorted(set(tally.extra))[:10] or ''}")
    print(f"final check --read-data: exit {check}")
    if runner.log.exists():
        print(f"failed runs' stderr: {runner.log}")
    if opts.keep or runner.log.exists():
        print(f"work directory kept: {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)
    bad = tally.lost or tally.altered or tally.extra or tally.hangs or check != 0
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
