"""The console's module layout: screens and widgets never import the app, no import cycles,
no imports hidden in functions (but the one deliberate lazy import)."""

from __future__ import annotations

import ast
from pathlib import Path

TUI = Path(__file__).resolve().parents[2] / "tui"
LAZY_ALLOWED = {("tui.screens.setup", "core.emulator.demo")}  # the demo's credentials only


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(TUI.rglob("*.py")):
        name = ".".join(path.relative_to(TUI.parent).with_suffix("").parts).removesuffix(
            ".__init__"
        )
        out[name] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _imported(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    return []


def _graph(modules: dict[str, ast.Module]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, tree in modules.items():
        graph[name] = {
            target
            for node in ast.walk(tree)
            if isinstance(node, ast.stmt)
            for target in _imported(node)
            if target in modules and target != name
        }
    return graph


def test_screens_and_widgets_never_import_the_app() -> None:
    graph = _graph(_modules())
    for name, targets in graph.items():
        if name.startswith(("tui.screens.", "tui.widgets.")):
            assert "tui.app" not in targets, name


def test_no_import_cycles() -> None:
    graph = _graph(_modules())
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in seen:
            return
        for target in sorted(graph[name]):
            visit(target, (*path, name))
        seen.add(name)

    for name in graph:
        visit(name, ())


def test_no_function_level_imports() -> None:
    found = []
    for name, tree in _modules().items():
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if isinstance(node, ast.stmt):
                        found += [(name, t) for t in _imported(node)[:1]]
    assert set(found) <= LAZY_ALLOWED, sorted(set(found) - LAZY_ALLOWED)
