"""Progress events: immutable, safe to log (no names), and sinks that never break engines."""

from __future__ import annotations

import dataclasses

import pytest

from core.engine.events import (
    ActionDone,
    EventLog,
    Progress,
    SecretDone,
    SecretStarted,
    safe_sink,
)


def test_events_are_frozen_and_hide_display_paths() -> None:
    event = SecretStarted("sid", "fr-par", "pid", display="/prod/db/very-secret-name")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.secret_id = "x"  # type: ignore[misc]
    assert "very-secret-name" not in repr(event)
    done = SecretDone("sid", "fr-par", "pid", "ok", display="/prod/db/very-secret-name")
    assert "very-secret-name" not in repr(done)
    act = ActionDone("sid", "create_secret", "ok", display="/prod/db/very-secret-name")
    assert "very-secret-name" not in repr(act)


def test_event_log_collects_and_filters() -> None:
    log = EventLog()
    log(Progress("reading", 1, 2))
    log(SecretDone("sid", "fr-par", "pid", "ok"))
    assert len(log) == 2
    assert log.of(Progress) == [Progress("reading", 1, 2)]


def test_safe_sink_swallows_consumer_errors() -> None:
    def broken(event: object) -> None:
        raise RuntimeError("ui bug")

    sink = safe_sink(broken)
    sink(Progress("reading", 1, 2))  # does not raise
    safe_sink(None)(Progress("reading", 1, 2))


def test_listens_follows_what_a_sink_says_it_reads() -> None:
    from core.engine.events import EngineWarning, listens, null_sink

    class Picky:
        listens_to = frozenset({EngineWarning})

        def __call__(self, event: object) -> None:
            raise RuntimeError("ui bug")

    guarded = safe_sink(Picky())
    assert listens(guarded, EngineWarning) and not listens(guarded, Progress)
    guarded(EngineWarning("note"))  # its errors are still swallowed
    assert safe_sink(guarded) is guarded
    assert listens(safe_sink(EventLog()), Progress)  # a sink that does not say reads all
    assert not listens(safe_sink(None), EngineWarning) and not listens(null_sink, Progress)
