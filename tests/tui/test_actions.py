"""The one action registry: BINDINGS, the palette, the help and the docs all come from it, and
a user keymap changes the keys everywhere they are shown."""

from __future__ import annotations

import re
from pathlib import Path

from textual.actions import parse
from textual.binding import Binding
from textual.dom import DOMNode

from tests.conftest import IsolatedEnv
from tests.tui.conftest import make_app, ready, settle
from tui.actions import (
    ACTIONS,
    BY_ID,
    HELP,
    Where,
    bindings,
    help_sections,
    keymap_path,
    keys_table,
    load_keymap,
    palette,
)
from tui.app import SecretKlosetApp
from tui.context import ConsoleContext
from tui.screens.backup import BackupScreen
from tui.screens.care import StoreCareScreen
from tui.screens.dialogs import HelpScreen
from tui.screens.history import HistoryScreen
from tui.screens.jobs import JobsPane
from tui.screens.main import ProjectsPane, SecretsPane, SnapshotsPane
from tui.screens.restore import RestoreScreen
from tui.screens.run import RunScreen
from tui.screens.setup import ProfileScreen, StoreSetupScreen
from tui.screens.snapshot import DiffScreen, SnapshotScreen
from tui.widgets.browser import SecretsBrowser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "CONSOLE.md"

HOLDERS: dict[Where, type[DOMNode]] = {
    Where.APP: SecretKlosetApp,
    Where.PROJECTS: ProjectsPane,
    Where.SECRETS: SecretsPane,
    Where.BROWSER: SecretsBrowser,
    Where.SNAPSHOTS: SnapshotsPane,
    Where.SNAPSHOT: SnapshotScreen,
    Where.DIFF: DiffScreen,
    Where.RUN: RunScreen,
    Where.CARE: StoreCareScreen,
    Where.PROFILE: ProfileScreen,
    Where.STORE_SETUP: StoreSetupScreen,
    Where.RESTORE: RestoreScreen,
    Where.JOBS: JobsPane,
    Where.HISTORY: HistoryScreen,
}


def test_the_docs_keys_table_is_what_the_registry_renders() -> None:
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"<!-- keys:[^\n]*-->\n(.*?)<!-- /keys -->", text, re.S)
    assert found is not None, "docs/CONSOLE.md lost its generated keys table"
    assert found.group(1) == keys_table(), "regenerate it: python -m tui.actions"


def test_every_place_binds_what_the_registry_says_and_every_action_exists() -> None:
    assert set(HOLDERS) == set(Where)
    for where, holder in HOLDERS.items():
        declared = [b for b in holder.BINDINGS if isinstance(b, Binding)]
        assert [(b.key, b.action, b.id) for b in declared] == [
            (b.key, b.action, b.id) for b in bindings(where) if isinstance(b, Binding)
        ]
        for action in ACTIONS:
            if where in action.where:
                name = parse(action.action)[1]
                assert callable(getattr(holder, f"action_{name}", None)), (where, action.id)


def test_palette_and_help_come_from_the_registry() -> None:
    entries = {e.title: e for e in palette()}
    assert entries["Backup"].help == "Back up the current project (b)"
    assert entries["Help"].help == "Every key binding (?)"
    assert entries["Store: retention"].help == "Preview and apply forget + prune"
    assert [t for t in entries if t.startswith("Region: ")] == [
        "Region: fr-par",
        "Region: nl-ams",
        "Region: pl-waw",
    ]
    for entry in palette():
        assert callable(getattr(SecretKlosetApp, f"action_{parse(entry.action)[1]}"))
    assert all(i in BY_ID for row in HELP for i in row.ids)
    everywhere = dict(help_sections()[0][1])
    assert everywhere["? / F1"] == "this help" and everywhere["q / ctrl+q"] == "quit"
    moved = dict(help_sections({"help": "f2", "backup": "ctrl+b"})[0][1])
    assert moved["F2"] == "this help"
    assert moved["ctrl+b"].startswith("back up")
    assert {e.title: e for e in palette({"backup": "ctrl+b"})}["Backup"].help.endswith("(ctrl+b)")


def test_the_keymap_file_lives_in_the_config_dir_and_bad_lines_are_skipped(
    isolated_env: IsolatedEnv,
) -> None:
    path = keymap_path()
    assert path == isolated_env.config / "secret-kloset" / "keymap.toml"
    assert load_keymap() == ({}, [])  # no file: the default keys
    path.parent.mkdir(parents=True)
    path.write_text(
        'backup = "ctrl+b"\nreload = "f5, ctrl+r"\nwarp = "w"\nhelp = 3\nstore_locks = "l"\n',
        encoding="utf-8",
    )
    keymap, problems = load_keymap()
    assert keymap == {"backup": "ctrl+b", "reload": "f5,ctrl+r"}
    assert len(problems) == 3
    assert any("warp" in p for p in problems) and any("store_locks" in p for p in problems)
    path.write_text("backup = ", encoding="utf-8")
    keymap, problems = load_keymap()
    assert keymap == {} and len(problems) == 1


async def test_a_user_keymap_moves_the_key_in_the_app(
    demo_ctx: ConsoleContext, isolated_env: IsolatedEnv
) -> None:
    path = isolated_env.config / "secret-kloset" / "keymap.toml"
    path.parent.mkdir(parents=True)
    path.write_text('backup = "ctrl+b"\nwarp = "w"\n', encoding="utf-8")
    app = make_app(demo_ctx)
    assert app.keymap == {"backup": "ctrl+b"} and len(app.keymap_problems) == 1
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("b")  # the old key does nothing now
        await settle(pilot)
        assert not isinstance(app.screen, BackupScreen)
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert isinstance(app.screen, BackupScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert ("ctrl+b", "back up the current project (or the marked secrets)") in dict(
            app.screen.sections
        )["Everywhere"]
