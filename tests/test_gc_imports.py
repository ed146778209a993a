"""core._gc.imported: a short command's lazy imports leave the collector's young generation
(frozen, as cli.main freezes what it imported first); a resident process keeps them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import gc, sys
import core._gc
from cli.main import _tune_gc
_tune_gc(short=sys.argv[1] == "short")  # as the program's own process does
frozen = gc.get_freeze_count()
import core.engine.backup, core.scaleway.client  # a backup's lazy imports
young = gc.get_count()[0]
core._gc.imported()
print(young, gc.get_freeze_count() - frozen, gc.get_count()[0])
"""


def _probe(kind: str) -> tuple[int, int, int]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, kind], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    young, frozen, after = map(int, result.stdout.split())
    return young, frozen, after


def test_a_short_commands_imports_are_frozen() -> None:
    young, frozen, after = _probe("short")
    assert young > 1000  # the imports made that many tracked objects (none collected yet)
    assert frozen > young * 0.9  # out of the collector's passes (a few died meanwhile)
    assert after <= 0  # the young generation holds nothing of them


def test_a_resident_process_freezes_nothing() -> None:
    young, frozen, after = _probe("resident")
    assert young > 1000
    assert frozen <= 0  # (frozen objects freed meanwhile lower the count)
    assert after > 1000  # still young: the next pass walks them
