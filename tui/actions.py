"""The console's actions, declared once: keys, footer labels, palette entries, help, docs.

Every key binding of the console's screens (``BINDINGS``), the command palette, the help
screen and the keys table of ``docs/CONSOLE.md`` are derived from :data:`ACTIONS` and
:data:`HELP` (harlequin's ``actions.py`` does the same). A user keymap,
``keymap.toml`` in the config directory (``$XDG_CONFIG_HOME/secret-kloset/`` on Linux),
changes the keys: ``action_id = "key"`` (several keys: ``"f5,ctrl+r"``).

``python -m tui.actions`` prints the docs table (a test keeps the docs equal to it).
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import platformdirs
from textual.binding import Binding, BindingType

from core.credentials.profiles import APP_NAME
from core.scaleway.models import REGIONS

KEYMAP_FILE = "keymap.toml"


class Where(StrEnum):
    """Which screen, pane or widget holds the binding."""

    APP = "app"
    PROJECTS = "projects"
    SECRETS = "secrets"
    BROWSER = "browser"
    SNAPSHOTS = "snapshots"
    SNAPSHOT = "snapshot"
    DIFF = "diff"
    RUN = "run"
    CARE = "care"
    PROFILE = "profile"
    STORE_SETUP = "store-setup"
    RESTORE = "restore"
    JOBS = "jobs"
    HISTORY = "history"


@dataclass(frozen=True, slots=True)
class ConsoleAction:
    """One action of the console.

        ``id`` names it in the keymap (and is the Textual binding id); ``key`` is Textual's key
        list ("" for palette-only actions); ``action`` is the Textual action string run on the
        node of ``where``; ``description`` is the footer's label (``show``: in the footer);
        ``show``: in the footer (few, by priority: the footer stays one readable line at 80
    columns; every action is in the help and the palette); ``main_only``: the app runs it only on the main screen (wizards keep their keys);
        ``palette``: the command palette's title and help (the key is appended to the help).
    """

    id: str
    key: str
    action: str
    description: str
    where: tuple[Where, ...]
    show: bool = True
    main_only: bool = False
    palette: tuple[str, str] | None = None


def _a(
    id: str,
    key: str,
    action: str,
    description: str,
    *where: Where,
    show: bool = True,
    main_only: bool = False,
    palette: tuple[str, str] | None = None,
) -> ConsoleAction:
    return ConsoleAction(id, key, action, description, where, show, main_only, palette)


APP, MAIN = Where.APP, True

# The order is the footer's order within each place, and the palette's order.
ACTIONS: tuple[ConsoleAction, ...] = (
    _a("tab_projects", "1", "show_tab('projects')", "Projects", APP, show=False,
       palette=("Go to Projects", "The organization's projects")),
    _a("tab_secrets", "2", "show_tab('secrets')", "Secrets", APP, show=False,
       palette=("Go to Secrets", "Secrets of the current project")),
    _a("tab_snapshots", "3", "show_tab('snapshots')", "Snapshots", APP, show=False, palette=("Go to Snapshots", "The store's snapshots")),
    _a("tab_activity", "4", "show_tab('activity')", "Activity", APP, show=False,
       palette=("Go to Activity", "Operations of this session")),
    _a("tab_jobs", "5", "show_tab('jobs')", "Jobs", APP, show=False,
       palette=("Go to Jobs", "Policies, job history, coverage; run a job now")),
    _a("backup", "b", "backup", "Backup", APP, main_only=MAIN,
       palette=("Backup", "Back up the current project")),
    _a("restore", "R", "restore", "Restore", APP, main_only=MAIN,
       palette=("Restore", "Restore from a snapshot: wizard with a plan")),
    _a("copy_project", "C", "copy_project", "Copy project", APP, show=False, main_only=MAIN,
       palette=("Copy project", "Copy a project to another project or region")),
    _a("store_care", "m", "store_care", "Store care", APP, show=False, main_only=MAIN,
       palette=("Store: check", "Verify the store's structure and data")),
    _a("next_region", "g", "next_region", "Region", APP, show=False),
    _a("store_retention", "", "store_care('retention')", "Retention", APP,
       palette=("Store: retention", "Preview and apply forget + prune")),
    _a("store_keys", "", "store_care('keys')", "Passphrases", APP,
       palette=("Store: passphrases", "Add or change a passphrase")),
    _a("store_locks", "", "store_care('locks')", "Locks", APP,
       palette=("Store: locks", "List and remove stale locks")),
    _a("new_store", "", "new_store", "New store", APP,
       palette=("Store: create or open", "Create a new store or open another one")),
    _a("profile", "p", "profile", "Profile", APP, show=False, main_only=MAIN,
       palette=("Profile", "Add or test a profile (credentials in the keyring)")),
    *(
        _a(f"region_{r.replace('-', '_')}", "", f"set_region('{r}')", r, APP,
           palette=(f"Region: {r}", f"Switch the console to {r}"))
        for r in REGIONS
    ),
    _a("help", "question_mark,f1", "help", "Help", APP, palette=("Help", "Every key binding")),
    # Textual's own palette key, drawn by the footer as any other key (its corner "^p palette"
    # garbles in narrow terminals).
    _a("palette", "ctrl+p", "command_palette", "Palette", APP),
    _a("quit", "q", "quit", "Quit", APP),
    # The panes of the main screen, the secrets browser, the other screens.
    _a("filter", "slash", "filter", "Filter", Where.BROWSER, Where.SNAPSHOTS),
    _a("reveal", "r", "reveal", "Reveal", Where.BROWSER),
    _a("copy_value", "c", "copy", "Copy value", Where.BROWSER, show=False),
    _a("versions", "v", "focus_versions", "Versions", Where.BROWSER, show=False),
    _a("folders", "t", "focus_tree", "Folders", Where.BROWSER, show=False),
    _a("history", "h", "history", "History", Where.BROWSER),
    _a("diff", "d", "diff", "Diff marked", Where.SNAPSHOTS),
    _a("enter_project_id", "i", "enter_project_id", "Project id", Where.PROJECTS, show=False),
    _a("reload", "ctrl+r", "reload", "Reload", Where.PROJECTS, Where.SECRETS, Where.SNAPSHOTS,
       Where.JOBS, show=False),
    _a("mark_all", "a", "mark_all", "Mark all", Where.SECRETS, show=False),
    _a("clear_filter", "escape", "clear_filter", "Clear filter", Where.BROWSER, Where.SNAPSHOTS,
       show=False),
    _a("back", "escape", "back", "Back", Where.SNAPSHOT, Where.DIFF, Where.CARE),
    _a("restore_snapshot", "R", "restore", "Restore", Where.SNAPSHOT),
    _a("open_destination", "o", "open_destination", "Open destination", Where.RESTORE),
    _a("run_job", "n", "run_job", "Run now", Where.JOBS),
    _a("cancel_job", "x", "cancel_job", "Cancel run", Where.JOBS),
    _a("history_back", "escape", "back", "Back", Where.HISTORY),
    _a("run_back", "escape", "back", "Back / cancel", Where.RUN),
    _a("setup_back", "escape", "cancel", "Back", Where.PROFILE, Where.STORE_SETUP),
    _a("test_connection", "ctrl+t", "test", "Test connection", Where.PROFILE),
    _a("save_profile", "ctrl+s", "save", "Save", Where.PROFILE),
)  # fmt: skip

BY_ID: Mapping[str, ConsoleAction] = {a.id: a for a in ACTIONS}
assert len(BY_ID) == len(ACTIONS), "action ids are unique"

MAIN_ONLY: frozenset[str] = frozenset(a.action.partition("(")[0] for a in ACTIONS if a.main_only)
"""Textual action names the app runs only when the main screen is in front."""


def bindings(where: Where) -> list[BindingType]:
    """The ``BINDINGS`` of ``where``, in the registry's order."""
    return [
        Binding(a.key, a.action, a.description, show=a.show, id=a.id)
        for a in ACTIONS
        if where in a.where and a.key
    ]


# --------------------------------------------------------------------------- keys as shown

_KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "esc"}


def _one_key(key: str) -> str:
    if key[:1] == "f" and key[1:].isdigit():
        return key.upper()  # F1
    return _KEY_NAMES.get(key, key)


def key_text(keys: str) -> str:
    """Textual's key list as people write it: ``question_mark,f1`` -> ``? / F1``."""
    return " / ".join(_one_key(k.strip()) for k in keys.split(",") if k.strip())


def key_of(action_id: str, keymap: Mapping[str, str] | None = None) -> str:
    """The key list of ``action_id`` (the keymap's, else the default)."""
    if keymap and action_id in keymap:
        return keymap[action_id]
    return BY_ID[action_id].key


# --------------------------------------------------------------------------- palette


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    title: str
    help: str
    action: str


def palette(keymap: Mapping[str, str] | None = None) -> list[PaletteEntry]:
    """The command palette's entries (help ends with the first key, when there is one)."""
    out = []
    for a in ACTIONS:
        if a.palette is None:
            continue
        title, text = a.palette
        keys = key_of(a.id, keymap)
        if keys:
            text += f" ({key_text(keys.split(',')[0])})"
        out.append(PaletteEntry(title, text, a.action))
    return out


# --------------------------------------------------------------------------- help and docs


class Section(StrEnum):
    EVERYWHERE = "Everywhere"
    PROJECTS = "Projects"
    BROWSER = "Secrets browser (live project or snapshot)"
    SNAPSHOTS = "Snapshots"
    JOBS = "Jobs"
    HISTORY = "History of a secret"
    WIZARDS = "Wizards and progress"
    CARE = "Store care"


@dataclass(frozen=True, slots=True)
class HelpRow:
    """A line of the help: the keys of ``ids`` (joined by ``sep``), then keys that Textual or
    a widget provides (``keys``), and what they do."""

    section: Section
    text: str
    ids: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    sep: str = " / "

    def key_text(self, keymap: Mapping[str, str] | None = None) -> str:
        ours = self.sep.join(key_text(key_of(i, keymap)) for i in self.ids)
        return " / ".join(p for p in (ours, *self.keys) if p)


_E, _P, _B, _S, _J, _H, _W, _C = Section  # the help's sections, in order

HELP: tuple[HelpRow, ...] = (
    HelpRow(_E, "Projects, Secrets, Snapshots, Activity, Jobs",
            ("tab_projects", "tab_secrets", "tab_snapshots", "tab_activity", "tab_jobs"),
            sep=" "),
    HelpRow(_E, "back up the current project (or the marked secrets)", ("backup",)),
    HelpRow(_E, "restore wizard (from the highlighted snapshot)", ("restore",)),
    HelpRow(_E, "copy the current project to another project or region", ("copy_project",)),
    HelpRow(_E, "store care: check, retention, passphrases, locks", ("store_care",)),
    HelpRow(_E, f"next region ({', '.join(REGIONS)})", ("next_region",)),
    HelpRow(_E, "add or test a profile", ("profile",)),
    HelpRow(_E, "command palette (every action; themes)", ("palette",)),
    HelpRow(_E, "this help", ("help",)),
    HelpRow(_E, "quit", ("quit",), keys=("ctrl+q",)),
    HelpRow(_E, "close a dialog, go back", keys=("esc",)),
    HelpRow(_E, "in any table: the highlighted row in full (cells the width cut)", keys=("f",)),
    HelpRow(_P, "highlight a project; enter opens its secrets", keys=("↑ ↓ enter",)),
    HelpRow(_P, "enter a project id (keys without ProjectReadOnly)", ("enter_project_id",)),
    HelpRow(_P, "reload", ("reload",)),
    HelpRow(_B, "filter as you type (name, path, tag, type, id); esc clears", ("filter",)),
    HelpRow(_B, "folder tree", ("folders",)),
    HelpRow(_B, "versions table (pick the revision to reveal or copy)", ("versions",)),
    HelpRow(_B, "reveal: the highlighted version's full value, masked until r or space "
            "shows it; it closes by itself after a few seconds (esc closes it)", ("reveal",)),
    HelpRow(_B, "copy the highlighted version to the clipboard, unseen", ("copy_value",)),
    HelpRow(_B, "history: every version ever seen in the store's snapshots", ("history",)),
    HelpRow(_B, "mark a secret (backup, restore and copy take the marked ones)",
            keys=("space",)),
    HelpRow(_B, "mark or unmark every listed secret (live project)", ("mark_all",)),
    HelpRow(_B, "in a snapshot: restore the marked secrets; on a version row, just that "
            "revision (the wizard opens at the destination)", ("restore_snapshot",)),
    HelpRow(_S, "browse the snapshot's tree", keys=("enter",)),
    HelpRow(_S, "mark; with two marked, d shows their diff", keys=("space",)),
    HelpRow(_S, "diff the two marked snapshots", ("diff",)),
    HelpRow(_S, "filter", ("filter",)),
    HelpRow(_J, "run the highlighted policy's job now (the same runner as `run`)", ("run_job",)),
    HelpRow(_J, "cancel the running job", ("cancel_job",)),
    HelpRow(_J, "reload policies, job history and coverage", ("reload",)),
    HelpRow(_H, "restore just the highlighted version (the wizard opens at the destination)",
            keys=("enter",)),
    HelpRow(_H, "back", ("history_back",)),
    HelpRow(_W, "next / previous field", keys=("tab / shift+tab",)),
    HelpRow(_W, "next step", keys=("enter",)),
    HelpRow(_W, "back; during a run, cancel (asks first)", ("run_back",)),
    HelpRow(_W, "destination: project list and region list side by side; the highlighted "
            "rows are the choice", keys=("tab",)),
    HelpRow(_W, "confirm dialogs: yes (the default button is No)", keys=("y",)),
    HelpRow(_W, "after a restore: open the destination project in its region",
            ("open_destination",)),
    HelpRow(_C, "Check, Retention, Passphrases, Locks: the tabs (← → on the tab bar)",
            keys=("tab / shift+tab",)),
    HelpRow(_C, "press the focused button (Run check, Preview, Apply, …)", keys=("enter",)),
    HelpRow(_C, "retention: Preview first; Apply forgets and prunes (asks first)",
            keys=("enter",)),
    HelpRow(_C, "back to the main screen", ("back",)),
)  # fmt: skip

HelpSections = list[tuple[str, list[tuple[str, str]]]]


def help_sections(
    keymap: Mapping[str, str] | None = None, here: Section | None = None
) -> HelpSections:
    """The help screen's tables: (section, [(keys, what they do)]); ``here`` (the screen the
    help was opened on) comes first, marked "this screen"."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for row in HELP:
        sections.setdefault(row.section.value, []).append((row.key_text(keymap), row.text))
    out = list(sections.items())
    if here is not None and here.value in sections:
        out.sort(key=lambda kv: kv[0] != here.value)
        out[0] = (f"{here.value} (this screen)", out[0][1])
    return out


def _code(keys: str) -> str:
    """``? / F1`` -> ```?` / `F1```; ``1 2 3 4`` -> ```1` `2` `3` `4```."""
    return " / ".join(" ".join(f"`{k}`" for k in part.split()) for part in keys.split(" / "))


def keys_table() -> str:
    """The keys table of ``docs/CONSOLE.md`` (default keys), in Markdown."""
    lines = ["| Where | Key | Does |", "|---|---|---|"]
    for title, rows in help_sections():
        for n, (keys, text) in enumerate(rows):
            lines.append(f"| {title if n == 0 else ''} | {_code(keys)} | {text} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the user keymap


def keymap_path() -> Path:
    """``keymap.toml`` beside ``profiles.toml`` (``$XDG_CONFIG_HOME/secret-kloset/``)."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / KEYMAP_FILE


def load_keymap(path: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """The user's key overrides (``action_id = "key"``) and what was wrong in the file
    (each problem is skipped, never fatal: the console opens with its default keys)."""
    path = keymap_path() if path is None else path
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        return {}, [f"{path.name} is not readable TOML ({type(err).__name__}): default keys"]
    return check_keymap(raw.items())


def check_keymap(items: Iterable[tuple[str, object]]) -> tuple[dict[str, str], list[str]]:
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for action_id, keys in items:
        action = BY_ID.get(action_id)
        if action is None:
            problems.append(f"unknown action {action_id!r} (see the help, ? )")
        elif not isinstance(keys, str) or not keys.strip():
            problems.append(f'{action_id}: a key is a string such as "ctrl+b"')
        elif not action.key:
            problems.append(f"{action_id} is in the command palette only: it has no key")
        else:
            keymap[action_id] = ",".join(k.strip() for k in keys.split(",") if k.strip())
    return keymap, problems


if __name__ == "__main__":
    sys.stdout.write(keys_table())
