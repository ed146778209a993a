"""Store benchmark: secret-kloset's store against restic on the same payloads, in one run.

    .venv/bin/python benchmarks/store_bench.py [--count 20000] [--no-restic] [--keep DIR]

Three runs on each side:

1. ingest N payloads of a realistic size mix (64 B to 64 KiB, mostly small: tokens and
   passwords, then JSON configs and connection strings, PEM keys and certificates, a few
   large bundles; 3 % of the values repeat) into a new store / a new restic repository. The
   payloads are the versions of secrets: 1 to 5 versions a secret (3 on average, as in the
   backup benchmark; ``--versions-per-secret 1`` gives one secret a payload). On our side each
   secret is a record (every metadata field and its versions), as a backup writes it; on
   restic's side each version is a file ``<path>/<name>/<revision>``, the layout a script
   dumping Secret Manager would produce;
2. the same again, unchanged;
3. again with 5 % of the values changed.

For each run it prints the wall time, the throughput (payloads/s and MiB/s of payload), the
store's total size and the bytes this run added, and the ratios ours/restic. Our figures are
end to end: open the store (Argon2id key derivation included, as restic's includes its
scrypt), write every payload and every secret record, commit, close. restic's figures are
its process's wall time (``restic backup``, repository format 2 with compression, its cache in
a temporary directory).

Targets (issue 3): ingest at least as fast as restic, a store no larger, and an unchanged
re-run adding under 1 % of the first run's bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.store import KdfParams, SecretRecord, SourceInfo, Store, VersionRecord  # noqa: E402

PASSPHRASE = "benchmark passphrase, not a real one"
SEED = 20261128
REGION = "fr-par"
PROJECT = "5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


# --------------------------------------------------------------------------- the data set


@dataclass
class Item:
    secret_id: str
    path: str
    name: str
    data: bytes
    created: datetime
    revision: int = 1


def _token(rng: random.Random, size: int) -> bytes:
    raw = rng.randbytes(size)
    return base64.urlsafe_b64encode(raw)[:size]


def _json_config(rng: random.Random, size: int) -> bytes:
    doc: dict[str, object] = {}
    i = 0
    while len(json.dumps(doc)) < size:
        kind = rng.random()
        key = rng.choice(["host", "port", "user", "password", "token", "url", "region", "bucket"])
        key = f"{key}_{i}"
        if kind < 0.4:
            doc[key] = _token(rng, rng.randint(16, 48)).decode()
        elif kind < 0.7:
            doc[key] = (
                f"postgres://app:{_token(rng, 24).decode()}@db-{rng.randint(1, 99)}.internal:5432/app"
            )
        else:
            doc[key] = rng.randint(1, 65535)
        i += 1
    return json.dumps(doc, indent=2).encode()[:size]


def _pem(rng: random.Random, size: int) -> bytes:
    label = rng.choice(["CERTIFICATE", "PRIVATE KEY", "RSA PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    body = base64.b64encode(rng.randbytes(size * 3 // 4)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    text = f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"
    return text.encode()[:size]


def _value(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.55:
        return _token(rng, rng.randint(64, 256))
    if r < 0.80:
        return _json_config(rng, rng.randint(256, 2048))
    if r < 0.92:
        return _pem(rng, rng.randint(2048, 8192))
    if r < 0.98:
        return _pem(rng, rng.randint(8192, 32768))
    return _pem(rng, rng.randint(32768, 65536))


def make_items(count: int, versions_per_secret: int | None = None) -> list[Item]:
    """``count`` payloads: the versions of secrets (1-5 each, 3 on average, unless fixed)."""
    rng = random.Random(SEED)
    items: list[Item] = []
    folders = [
        f"/{env}/{app}"
        for env in ("prod", "staging", "dev")
        for app in ("api", "web", "db", "billing", "auth", "search", "queue", "cache", "ml", "ops")
    ]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    secret = 0
    while len(items) < count:
        versions = versions_per_secret or rng.choice((1, 2, 3, 3, 4, 5))
        versions = min(versions, count - len(items))
        sid = f"{rng.getrandbits(32):08x}-{secret:04x}-4000-8000-{rng.getrandbits(48):012x}"
        path = rng.choice(folders)
        created = base + timedelta(seconds=rng.randint(0, 10_000_000))
        for revision in range(1, versions + 1):
            # 3 % of the values are shared with another version or secret
            data = rng.choice(items).data if items and rng.random() < 0.03 else _value(rng)
            items.append(
                Item(
                    secret_id=sid,
                    path=path,
                    name=f"secret-{secret:05d}",
                    data=data,
                    created=created + timedelta(days=30 * revision),
                    revision=revision,
                )
            )
        secret += 1
    return items


def change_some(items: list[Item], fraction: float) -> list[Item]:
    rng = random.Random(SEED + 1)
    changed = list(items)
    for i in rng.sample(range(len(items)), int(len(items) * fraction)):
        item = changed[i]
        changed[i] = Item(
            item.secret_id, item.path, item.name, _value(rng), item.created, item.revision
        )
    return changed


def total_bytes(items: list[Item]) -> int:
    return sum(len(i.data) for i in items)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- ours


def _record(versions: list[tuple[Item, str]]) -> SecretRecord:
    first = versions[0][0]
    last = versions[-1][0]
    return SecretRecord(
        region=REGION,
        project_id=PROJECT,
        secret_id=first.secret_id,
        name=first.name,
        path=first.path,
        type="opaque",
        status="ready",
        tags=("benchmark",),
        created_at=first.created,
        updated_at=last.created,
        version_count=len(versions),
        versions=tuple(
            VersionRecord(
                revision=item.revision,
                status="enabled",
                created_at=item.created,
                updated_at=item.created,
                latest=item is last,
                payload=blob,
                crc32=zlib.crc32(item.data),
                size=len(item.data),
            )
            for item, blob in versions
        ),
    )


async def ours_run(location: Path, cache: Path, items: list[Item]) -> float:
    started = time.perf_counter()
    store = await Store.open(str(location), PASSPHRASE, cache_dir=cache)
    try:
        async with store.writer() as w:
            pending: list[tuple[Item, str]] = []
            for item in items:
                if pending and pending[0][0].secret_id != item.secret_id:
                    await w.put_record(_record(pending))
                    pending = []
                pending.append((item, await w.put_payload(item.data)))
            if pending:
                await w.put_record(_record(pending))
            await w.commit(
                sources=[SourceInfo(region=REGION, project_id=PROJECT, project_name="bench")]
            )
    finally:
        await store.close()
    return time.perf_counter() - started


async def ours_init(location: Path, cache: Path) -> None:
    store = await Store.init(str(location), PASSPHRASE, kdf=KdfParams.default(), cache_dir=cache)
    await store.close()


# --------------------------------------------------------------------------- restic


def write_files(root: Path, items: list[Item]) -> None:
    for item in items:
        folder = root / item.path.strip("/") / item.name
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / str(item.revision)
        try:
            if target.read_bytes() == item.data:
                continue  # unchanged: keep the file (and its mtime) as a real tree would
        except FileNotFoundError:
            pass
        target.write_bytes(item.data)


def restic(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["restic", *args], env=env, capture_output=True, text=True, check=True)


# --------------------------------------------------------------------------- report


@dataclass
class Run:
    name: str
    seconds: float
    payloads: int
    payload_bytes: int
    size: int
    added: int

    def line(self) -> str:
        return (
            f"{self.name:<10} {self.seconds:8.2f} s  {self.payloads / self.seconds:9.0f} payloads/s  "
            f"{self.payload_bytes / self.seconds / 2**20:7.1f} MiB/s  stored {self.size / 2**20:8.2f} MiB  "
            f"added {self.added / 2**20:8.3f} MiB"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument(
        "--versions-per-secret",
        type=int,
        default=None,
        metavar="N",
        help="versions per secret (default: 1 to 5, 3 on average)",
    )
    parser.add_argument("--no-restic", action="store_true", help="skip restic")
    parser.add_argument("--keep", type=Path, default=None, help="work in DIR and keep it")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="store-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    have_restic = not args.no_restic and shutil.which("restic") is not None
    try:
        items = make_items(args.count, args.versions_per_secret)
        changed = change_some(items, 0.05)
        sizes = sorted(len(i.data) for i in items)
        print(
            f"data set: {len(items)} payloads in {len({i.secret_id for i in items})} secrets, "
            f"{total_bytes(items) / 2**20:.1f} MiB, "
            f"sizes min {sizes[0]} B, median {sizes[len(sizes) // 2]} B, max {sizes[-1]} B; "
            f"run 3 changes {sum(a.data != b.data for a, b in zip(items, changed, strict=True))} values"
        )
        plan = [("first", items), ("unchanged", items), ("5% changed", changed)]

        # ours
        location, cache = work / "ours", work / "ours-cache"
        asyncio.run(ours_init(location, cache))
        ours: list[Run] = []
        before = dir_size(location)
        for name, batch in plan:
            seconds = asyncio.run(ours_run(location, cache, batch))
            size = dir_size(location)
            ours.append(Run(name, seconds, len(batch), total_bytes(batch), size, size - before))
            before = size

        theirs: list[Run] = []
        if have_restic:
            repo, source = work / "restic-repo", work / "restic-source"
            source.mkdir(exist_ok=True)
            env = {
                **os.environ,
                "RESTIC_REPOSITORY": str(repo),
                "RESTIC_PASSWORD": PASSPHRASE,
                "RESTIC_CACHE_DIR": str(work / "restic-cache"),
                "PWD": str(source),
            }
            restic(env, "init", "--repository-version", "2")
            before = dir_size(repo)
            for name, batch in plan:
                write_files(source, batch)
                started = time.perf_counter()
                subprocess.run(
                    [
                        "restic",
                        "backup",
                        "--quiet",
                        "--host",
                        "bench",
                        "--compression",
                        "auto",
                        ".",
                    ],
                    env=env,
                    cwd=source,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                seconds = time.perf_counter() - started
                size = dir_size(repo)
                theirs.append(
                    Run(name, seconds, len(batch), total_bytes(batch), size, size - before)
                )
                before = size
            version = restic(env, "version").stdout.strip()
        else:
            version = "not run"

        print()
        print("secret-kloset store (local directory, Argon2id 64 MiB, end to end):")
        for r in ours:
            print("  " + r.line())
        if theirs:
            print(f"restic ({version}, repository v2, compression auto):")
            for r in theirs:
                print("  " + r.line())
            print("ratios ours/restic (time: lower is faster; size: lower is smaller):")
            for a, b in zip(ours, theirs, strict=True):
                print(
                    f"  {a.name:<10} time {a.seconds / b.seconds:5.2f}   "
                    f"bytes added {a.added / max(b.added, 1):6.3f}   store size {a.size / b.size:6.3f}"
                )
        first = ours[0].added
        print()
        print("targets:")
        if theirs:
            print(
                f"  ingest at least as fast as restic: {ours[0].seconds:.2f} s vs {theirs[0].seconds:.2f} s "
                f"-> {'met' if ours[0].seconds <= theirs[0].seconds else 'NOT met'}"
            )
            print(
                f"  store no larger than restic's: {ours[-1].size} B vs {theirs[-1].size} B "
                f"-> {'met' if ours[-1].size <= theirs[-1].size else 'NOT met'}"
            )
        share = ours[1].added / first * 100
        print(
            f"  unchanged re-run adds < 1 % of the first run's bytes: {ours[1].added} B = {share:.3f} % "
            f"-> {'met' if share < 1 else 'NOT met'}"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
