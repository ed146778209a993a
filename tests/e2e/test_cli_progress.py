"""The CLI's progress renderer: a rich bar on stderr (forced on here), warnings always."""

from __future__ import annotations

import io
import sys

import pytest

from cli.progress import ProgressRenderer
from core.engine import events as ev


def test_renderer_draws_progress_and_prints_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with ProgressRenderer(enabled=True) as render:
        render(ev.Phase("reading", "reading new versions"))
        render(ev.Progress("reading", 5, 10, bytes=2048, errors=1))
        render(ev.EngineWarning("secret 1234 expires once accessed"))
        render(ev.SecretDone("sid", "fr-par", "pid", "ok", display="/hidden/name"))
    text = err.getvalue()
    assert "warning: secret 1234 expires once accessed" in text
    assert "/hidden/name" not in text


def test_renderer_off_the_terminal_prints_only_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with ProgressRenderer() as render:  # stderr is not a terminal
        render(ev.Phase("reading", "reading new versions"))
        render(ev.Progress("reading", 5, 10))
        render(ev.EngineWarning("careful"))
    assert err.getvalue() == "warning: careful\n"
