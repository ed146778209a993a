"""Import-time costs the program does not pay for what it does not use.

httpx imports its command-line tool (``httpx._main``: click, rich, pygments) when it is
imported, whenever those three happen to be installed, as they are beside secret-kloset
(uvicorn brings click, textual rich and pygments). The library never needs that module, and it
costs 50-90 ms of every CLI run's start (issue 10: process start and imports count). Before
httpx is first imported, :func:`defer_httpx_cli` puts a stand-in in its place whose ``main``
imports the real tool only when called; any other name is looked up in the real module, so
nothing that uses the tool can tell.

Our own modules defer theirs with :func:`lazy_names`: a module keeps rarely needed classes in a
submodule and imports it on first use of one of their names (PEP 562), so a command that
never names them (a backup, ``snapshots``) does not create their dataclasses.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

_HTTPX_CLI = "httpx._main"


def _real_cli() -> ModuleType:
    module = sys.modules.get(_HTTPX_CLI)
    if isinstance(module, _DeferredHttpxCli):
        del sys.modules[_HTTPX_CLI]
        module = importlib.import_module(_HTTPX_CLI)
        httpx = sys.modules.get("httpx")
        if httpx is not None:
            httpx._main = module  # type: ignore[attr-defined]  # what a plain import leaves
    assert module is not None
    return module


def _main(*args: Any, **kwargs: Any) -> Any:
    """httpx's command-line entry point, imported on first call."""
    return _real_cli().main(*args, **kwargs)


class _DeferredHttpxCli(ModuleType):
    main = staticmethod(_main)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system asks for __path__, __spec__, ...
            raise AttributeError(name)
        return getattr(_real_cli(), name)


def defer_httpx_cli() -> None:
    """Install the stand-in, unless httpx (or its tool) is already imported."""
    if "httpx" in sys.modules or _HTTPX_CLI in sys.modules:
        return
    sys.modules[_HTTPX_CLI] = _DeferredHttpxCli(_HTTPX_CLI)


def lazy_names(
    namespace: dict[str, Any], source: str, names: Iterable[str]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for ``namespace``, a module's ``globals()``: the first
    use of one of ``names`` imports ``source`` and binds all of them there, so every later
    use is a plain lookup; any other name is an AttributeError, as without it."""
    wanted = frozenset(names)
    owner = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name not in wanted:
            raise AttributeError(f"module {owner!r} has no attribute {name!r}")
        module = importlib.import_module(source)
        for lazy in wanted:
            namespace[lazy] = getattr(module, lazy)
        return namespace[name]

    return __getattr__
