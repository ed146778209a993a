"""``core`` must stay importable without Textual: the CLI and cron jobs never pay for the UI."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parents[1]


def _core_modules() -> list[str]:
    names = ["core"]
    for info in pkgutil.walk_packages(core.__path__, prefix="core."):
        names.append(info.name)
    return names


def test_core_and_every_submodule_import_without_textual() -> None:
    modules = _core_modules()
    assert len(modules) > 5, modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "assert not bad, bad\n"
        "print('ok', len(sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_api_client_does_not_import_httpx_command_line_tool() -> None:
    # click, rich and pygments are installed beside us; httpx imports its tool with them
    # unless core defers it (core._imports): 50-90 ms of every CLI run's start.
    result = _run(
        "import sys, core.scaleway.client, core.engine.backup\n"
        "bad = sorted(m for m in ('click', 'rich', 'pygments') if m in sys.modules)\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_httpx_command_line_tool_still_works_once_called() -> None:
    result = _run("import core, httpx\nhttpx.main(['--help'])\n")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    # and any other name of the tool's module is the real one
    result = _run("import core, httpx._main as m\nprint(m.print_help.__module__)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "httpx._main"
