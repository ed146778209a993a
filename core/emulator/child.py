"""The emulator as a child process of another program (the console's demo, benchmarks).

    python -m core.emulator.child [--state FILE] [--seed N] [--frozen-at ISO]

Serves the demo world (or the state file) on ``127.0.0.1``, a free port, over real HTTP
(:class:`core.emulator.server.ThreadedServer`: the same wire behaviour as ``secret-kloset
emulator``), in an interpreter of its own, so encoding a 50,000-secret listing never competes
with the parent for its GIL. The parent talks to it over the child's stdin and stdout, one
JSON object a line:

* the child's first line is ``{"url": "http://127.0.0.1:PORT"}`` once it listens;
* ``{"latency_ms": 400}`` sets the added latency (tests stop a run half-way); answered
  ``{"ok": true}``.

The child never outlives its parent: it stops when its stdin closes (the parent quit, or
died, and the kernel closed the pipe), and a watchdog stops it when its parent process
changes (the pipe held open by some other process the parent started).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from datetime import datetime
from typing import TextIO

PARENT_POLL_S = 0.5


def _watch_parent(parent: int) -> None:
    """Exit at once when the parent is gone (re-parented to init or a subreaper)."""
    while True:
        threading.Event().wait(PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(0)


def _answer(out: TextIO, message: dict[str, object]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the emulator, served for a parent process")
    parser.add_argument("--state", help="an emulator state file (default: the demo world)")
    parser.add_argument("--seed", type=int, default=None, help="seed for generated ids")
    parser.add_argument("--frozen-at", help="pin the emulator's clock at this ISO time")
    args = parser.parse_args(argv)
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()

    from core.emulator.app import EmulatorApp
    from core.emulator.demo import demo_state
    from core.emulator.server import ThreadedServer
    from core.emulator.state import EmulatorState

    state = EmulatorState.load(args.state) if args.state else demo_state()
    frozen = datetime.fromisoformat(args.frozen_at) if args.frozen_at else None
    app = EmulatorApp(state, seed=args.seed, clock=(lambda: frozen) if frozen else None)
    out = sys.stdout
    with ThreadedServer(app, "127.0.0.1", 0) as server:
        _answer(out, {"url": server.url})
        for line in sys.stdin:  # until EOF: the parent closed the pipe, or is gone
            try:
                command = json.loads(line)
                app.latency_ms = float(command["latency_ms"])
            except (ValueError, KeyError, TypeError):
                _answer(out, {"ok": False})
                continue
            _answer(out, {"ok": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
