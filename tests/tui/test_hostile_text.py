"""Control characters in names, paths, tags and descriptions from the API show escaped in the
console (issue 9): a ``\\x1b[31m`` in a secret name is the text ``\\x1b[31m``, never colour."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from cli.output import clean
from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID
from tests.tui.conftest import make_app, ready, settle, transport_of, wait_for
from tui.context import ConsoleContext
from tui.format import visible
from tui.widgets.browser import SecretsBrowser
from tui.widgets.vtable import VirtualTable

HOSTILE_NAME = "db\x1b[31mred\x1b[0m"
HOSTILE_PATH = "/prod\x07bell"
HOSTILE_TAG = "t\x1b]0;owned\x07"
HOSTILE_ABOUT = "line one\nline two\u202eevil"


@pytest.mark.parametrize(
    "text",
    [HOSTILE_NAME, HOSTILE_PATH, HOSTILE_TAG, HOSTILE_ABOUT, "".join(map(chr, range(0x00, 0xA0)))],
)
def test_the_console_escapes_as_the_cli_does(text: str) -> None:
    assert visible(text) == clean(text)
    assert visible(text, keep_lines=True) == clean(text, keep_lines=True)
    assert "\x1b" not in visible(text) and "\x07" not in visible(text)


def test_visible_escapes_readably() -> None:
    assert visible(HOSTILE_NAME) == "db\\x1b[31mred\\x1b[0m"
    assert visible("plain ü name") == "plain ü name"


def _rendered(table: VirtualTable) -> str:
    return "\n".join(
        "".join(segment.text for segment in table.render_line(y))
        for y in range(table.row_count + 1)
    )


async def test_a_hostile_secret_name_shows_escaped(inprocess_demo_ctx: ConsoleContext) -> None:
    demo_ctx = inprocess_demo_ctx  # the emulator's state is edited in place
    emulator = transport_of(demo_ctx).app
    with emulator.state.lock:
        secret = next(
            s
            for region in emulator.state.secrets.values()
            for s in region.values()
            if s.project_id == DEMO_PRODUCTION_PROJECT_ID and s.region == "fr-par"
        )
        secret.name, secret.path = HOSTILE_NAME, HOSTILE_PATH
        secret.tags, secret.description = [HOSTILE_TAG], HOSTILE_ABOUT
    app = make_app(demo_ctx)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot)
        projects = app.screen.query_one("#projects", VirtualTable)
        assert projects.move_to_key(DEMO_PRODUCTION_PROJECT_ID)
        await pilot.press("enter")
        await settle(pilot)
        browser = app.screen.query_one("#live-browser", SecretsBrowser)
        await wait_for(pilot, lambda: browser.loading_done)
        assert browser.entries[secret.id].name == HOSTILE_NAME  # the data itself is exact
        browser.table.set_filter(secret.id)
        await settle(pilot)
        assert browser.table.visible_keys() == [secret.id]
        text = _rendered(browser.table)
        assert "\x1b" not in text and "\x07" not in text
        assert "db\\x1b[31mred\\x1b[0m" in text and "\\x1b]0;owned\\x07" in text
        await wait_for(pilot, lambda: browser.current is not None)
        await settle(pilot)
        meta = str(app.screen.query_one("#meta", Static).render())
        assert "\x1b" not in meta and "\x07" not in meta and "\u202e" not in meta
        assert "/prod\\x07bell/db\\x1b[31mred" in meta
        assert "line one\\x0aline two\\u202eevil" in meta
