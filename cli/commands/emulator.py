"""``secret-kloset emulator``: serve the local Scaleway Secret Manager + Account emulator."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from cli.parser import CommandParser, SubParsers, add_command


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise argparse.ArgumentTypeError("must be between 0 and 1 (a fraction of requests)")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0 or math.isnan(value) or math.isinf(value):
        raise argparse.ArgumentTypeError("must be zero or more")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than zero")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 and 65535 (0 = any free port)")
    return value


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _remove_stale_temp_files(path: Path) -> None:
    """Temporary files a killed emulator left behind (the state file itself is intact)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


@contextmanager
def _state_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock next to the state file while the emulator runs, so two
    emulators never overwrite each other's state."""
    from core._fs import LockBusy, file_lock
    from core.errors import ConfigError

    lock_path = path.with_name(path.name + ".lock")
    held = ExitStack()
    try:
        held.enter_context(file_lock(lock_path, blocking=False))
    except LockBusy:
        raise ConfigError(
            f"state file {path} is in use by another emulator",
            hint="stop the other emulator or give this one another --state file",
        ) from None
    except OSError as err:
        raise ConfigError(
            f"cannot create {lock_path}: {err.strerror}", hint="check the --state directory"
        ) from None
    with held:
        yield


def register(sub: SubParsers) -> None:
    add_command(
        sub,
        "emulator",
        run_emulator,
        _arguments,
        help="serve a local emulator of Scaleway Secret Manager (demo data by default)",
        description=(
            "Serve Scaleway Secret Manager v1beta1 and Account v3 projects over HTTP, from "
            "built-in demo data or a TOML config. Point any Scaleway client at it with "
            "SCW_API_URL. See docs/EMULATOR.md."
        ),
    )


def _arguments(p: CommandParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=_port, default=8421, help="port (default 8421; 0 = any free port)"
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="TOML config: organization, projects, API keys, seeded secrets",
    )
    p.add_argument(
        "--state",
        metavar="FILE",
        type=Path,
        help="persist data here: loaded if it exists, saved atomically after every change",
    )
    p.add_argument(
        "--latency-ms",
        metavar="N",
        type=_non_negative,
        default=0.0,
        help="add N milliseconds to every request",
    )
    p.add_argument(
        "--error-rate",
        metavar="P",
        type=_rate,
        default=0.0,
        help="answer a fraction P of requests with 503 before applying them",
    )
    p.add_argument(
        "--ambiguous-error-rate",
        metavar="P",
        type=_rate,
        default=0.0,
        help="apply a fraction P of requests, then answer 503 anyway",
    )
    p.add_argument(
        "--rate-limit",
        metavar="RPS",
        type=_positive,
        default=None,
        help="allow RPS requests per second; excess gets the gateway's bare 429",
    )
    p.add_argument(
        "--seed",
        metavar="N",
        type=int,
        default=None,
        help="seed for injected faults and generated ids (reproducible runs)",
    )
    p.add_argument(
        "--access-log",
        action="store_true",
        help="log every request (method, path, status, time; never query strings) to stderr",
    )


def run_emulator(args: argparse.Namespace) -> int:
    from core.errors import UsageError

    state_path: Path | None = args.state
    if state_path is not None and state_path.is_dir():
        raise UsageError(
            f"--state {state_path} is a directory",
            hint="give a file path, e.g. --state emulator-state.json",
        )
    if state_path is None:
        return _run(args, None)
    with _state_lock(state_path):
        _remove_stale_temp_files(state_path)
        return _run(args, state_path)


def _run(args: argparse.Namespace, state_path: Path | None) -> int:
    from core.emulator import EmulatorApp, EmulatorState, demo_state, load_config, serve
    from core.emulator import demo as demo_mod

    origin: str
    if state_path is not None and state_path.exists():
        state = EmulatorState.load(state_path)
        origin = f"state file {state_path}"
    elif args.config is not None:
        state = load_config(args.config)
        origin = f"config {args.config}"
    else:
        state = demo_state()
        origin = "built-in demo data"

    app = EmulatorApp(
        state,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        ambiguous_error_rate=args.ambiguous_error_rate,
        rate_limit=args.rate_limit,
        seed=args.seed,
        state_path=state_path,
        log_requests=args.access_log,
    )
    if args.access_log:
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        access = logging.getLogger("core.emulator.access")
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
    if state_path is not None:
        state.touch()
        app.flush()  # the file exists (and is complete) from the first second

    demo = args.config is None and origin == "built-in demo data"

    def banner(url: str) -> None:
        count = sum(1 for _ in state.iter_secrets())
        out = sys.stdout
        print(f"Scaleway Secret Manager emulator listening on {url}", file=out)
        print(
            f"  data: {origin} ({_plural(len(state.projects), 'project')}, "
            f"{_plural(count, 'secret')})",
            file=out,
        )
        if state_path is not None:
            print(f"  state: saved to {state_path} after every change", file=out)
        faults = []
        if args.latency_ms:
            faults.append(f"latency {args.latency_ms:g} ms")
        if args.error_rate:
            faults.append(f"503 rate {args.error_rate:g}")
        if args.ambiguous_error_rate:
            faults.append(f"ambiguous 503 rate {args.ambiguous_error_rate:g}")
        if args.rate_limit:
            faults.append(f"rate limit {args.rate_limit:g} req/s")
        if faults:
            print(f"  faults: {', '.join(faults)}", file=out)
        if demo or state.key_for_token(demo_mod.DEMO_SECRET_KEY) is not None:
            print("", file=out)
            print("Demo API key (Secret Manager full access + project listing):", file=out)
            print(f"  access key: {demo_mod.DEMO_ACCESS_KEY}", file=out)
            print(f"  secret key: {demo_mod.DEMO_SECRET_KEY}", file=out)
            print("Read-only key (metadata only):", file=out)
            print(
                f"  {demo_mod.DEMO_READONLY_ACCESS_KEY} / {demo_mod.DEMO_READONLY_SECRET_KEY}",
                file=out,
            )
            print("Staging-only key:", file=out)
            print(
                f"  {demo_mod.DEMO_STAGING_ACCESS_KEY} / {demo_mod.DEMO_STAGING_SECRET_KEY}",
                file=out,
            )
            print("", file=out)
            print("Use it from a shell:", file=out)
            print(
                f"  export SCW_API_URL={url} SCW_ACCESS_KEY={demo_mod.DEMO_ACCESS_KEY} "
                f"SCW_SECRET_KEY={demo_mod.DEMO_SECRET_KEY} "
                f"SCW_DEFAULT_ORGANIZATION_ID={demo_mod.DEMO_ORGANIZATION_ID} "
                f"SCW_DEFAULT_PROJECT_ID={demo_mod.DEMO_PRODUCTION_PROJECT_ID} "
                "SCW_DEFAULT_REGION=fr-par",
                file=out,
            )
        else:
            print("", file=out)
            print("API keys (secret keys are in your config):", file=out)
            for key in state.api_keys.values():
                scope = (
                    "all projects" if key.projects is None else f"{len(key.projects)} project(s)"
                )
                sets = ", ".join(sorted(key.permission_sets)) or "no permission sets"
                print(f"  {key.access_key}: {sets}; {scope}", file=out)
            print("", file=out)
            print("Use it from a shell:", file=out)
            project = (
                state.organization_id
                if state.organization_id in state.projects
                else next(iter(state.projects), state.organization_id)
            )
            print(
                f"  export SCW_API_URL={url} SCW_DEFAULT_ORGANIZATION_ID={state.organization_id} "
                f"SCW_DEFAULT_PROJECT_ID={project} SCW_DEFAULT_REGION=fr-par",
                file=out,
            )
            print("  (then SCW_ACCESS_KEY and SCW_SECRET_KEY of one of the keys above)", file=out)
        print("", file=out)
        print("Press Ctrl-C to stop.", file=out, flush=True)

    try:
        serve(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,  # ours: without query strings, which can carry secret names
            on_listening=banner,
        )
    except KeyboardInterrupt:
        pass
    finally:
        app.flush()
    print("emulator stopped", file=sys.stderr)
    return 0
