"""The session screens receive: one place changes the shared state and tells every screen."""

from __future__ import annotations

import pytest
from textual.message import Message

from core.store.errors import StoreNotFoundError
from tests.tui.conftest import make_app, ready, settle
from tui.context import ConsoleContext
from tui.messages import ActivityLogged, ProjectChanged, RunFinished
from tui.screens.snapshot import SnapshotScreen
from tui.session import Session
from tui.widgets.browser import SecretsBrowser


def test_changes_are_broadcast_as_typed_messages() -> None:
    sent: list[Message] = []
    session = Session(ConsoleContext(default_region="nowhere"), lambda make: sent.append(make()))
    assert session.region == "fr-par"  # an unknown region falls back to the first one
    with pytest.raises(StoreNotFoundError):
        session.require_store()
    session.set_project("p-1", "prod", region="nl-ams")
    session.run_finished("backup", "project p-1", "ok", "snapshot 1234abcd", store_changed=True)
    assert [type(m) for m in sent] == [ProjectChanged, ActivityLogged, RunFinished]
    finished = sent[-1]
    assert isinstance(finished, RunFinished) and finished.store_changed
    assert session.title == "no profile · nl-ams"
    assert [(a.operation, a.outcome) for a in session.activity] == [("backup", "ok")]
    assert "prod" not in repr(session)  # names stay out of reprs


async def test_a_snapshot_screen_built_without_a_session_uses_the_apps(
    demo_ctx: ConsoleContext,
) -> None:
    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        assert app.store is not None
        header = (await app.store.list_snapshots())[0]
        screen = SnapshotScreen(header)  # what the benchmark does
        await app.push_screen(screen)
        await settle(pilot)
        assert screen.session is app.session
        assert screen.query_one("#snapshot-browser", SecretsBrowser).loading_done
