"""The curated public API of ``core`` (docs/API.md): its exact names, that each resolves, that
``import core`` stays cheap, and that the documented script backs up and restores with them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parents[1]

PUBLIC = {
    "BackupOptions",
    "BackupResult",
    "Client",
    "ConfigError",
    "CopyResult",
    "ExitCode",
    "KdfParams",
    "KlosetError",
    "OnConflict",
    "PartialFailure",
    "PreflightError",
    "Remedy",
    "RestoreConflict",
    "RestoreInterrupted",
    "RestorePlan",
    "RestoreResult",
    "ScalewayError",
    "Selection",
    "Store",
    "StoreError",
    "UsageError",
    "__version__",
    "apply_plan",
    "backup",
    "copy",
    "plan_restore",
}


def test_all_is_exactly_the_curated_names() -> None:
    assert set(core.__all__) == PUBLIC
    assert len(core.__all__) == len(PUBLIC)


def test_every_public_name_resolves_to_the_engine_object() -> None:
    from core.engine.backup import run_backup
    from core.engine.copy import run_copy
    from core.scaleway.client import ScalewayClient
    from core.store.repository import Store

    for name in core.__all__:
        assert getattr(core, name) is not None, name
    assert core.Client is ScalewayClient
    assert core.Store is Store
    assert core.backup is run_backup
    assert core.copy is run_copy
    assert issubclass(core.RestoreConflict, core.KlosetError)
    assert issubclass(core.PreflightError, core.KlosetError)


def test_import_core_does_not_load_the_client_or_the_store() -> None:
    code = (
        "import sys, core\n"
        "heavy = [m for m in ('httpx', 'nacl', 'obstore', 'core.store.repository', "
        "'core.scaleway.client', 'core.engine.backup') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "core.Store\n"
        "assert 'core.store.repository' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def _documented_script() -> str:
    text = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "docs/API.md shows no python block"
    return blocks[0]


def test_the_documented_script_uses_only_public_names_and_works() -> None:
    script = _documented_script()
    engine_lines = [line for line in script.splitlines() if "core." in line]
    for line in engine_lines:
        # Only the emulator (the test world) is imported from a submodule; the rest is core.X.
        for used in re.findall(r"\bcore\.([A-Za-z_]+)", line):
            assert used in PUBLIC or used == "emulator", (used, line)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["failed"] == 0 and summary["conflict"] == 0
    assert summary["ok"] > 0 and summary["verify_failed"] == 0
