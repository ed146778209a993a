"""Where a restore or a copy goes: project and region side by side, conflict policy, verify,
and (for a restore, ``key_field``) the Key Manager key of the secrets it creates.

Projects are listed by name (one row per project, none blank); the highlighted row is the
choice (highlighting and choosing are one gesture) and Enter moves the wizard on
(:class:`DestinationForm.Chosen`). The widgets keep their state, so Back keeps the choice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import NamedTuple

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import (
    Input,
    Label,
    OptionList,
    RadioSet,
)
from textual.widgets.option_list import Option

from core.errors import UsageError
from core.scaleway.models import REGIONS
from tui.widgets.wrapping import Checkbox, RadioButton


class Destination(NamedTuple):
    project: str
    region: str
    policy: str  # new-version | skip | fail
    verify: bool


def project_label(project_id: str, names: Mapping[str, str]) -> str:
    """A project as people know it: its name, else its whole id (never a blank or a
    "(name unknown)" row: the id says exactly which project it is)."""
    name = names.get(project_id, "")
    return name if name else f"project {project_id}"


class DestinationForm(VerticalScroll):
    """Destination project and region, conflict policy, verify."""

    DEFAULT_CSS = """
    DestinationForm #dest-pickers { height: auto; }
    DestinationForm #dest-pickers > Vertical { height: auto; width: 1fr; }
    DestinationForm #dest-region-box { width: 18; margin-left: 2; }
    DestinationForm OptionList { height: auto; max-height: 8; }
    DestinationForm Checkbox, DestinationForm RadioButton { width: 100%; }
    """

    class Chosen(Message):
        """Enter on the project or the region: the destination is chosen, go on."""

    def __init__(
        self,
        project_names: Mapping[str, str],
        project_id: str,
        region: str,
        *,
        id: str | None = None,
        key_field: bool = False,
    ) -> None:
        """``project_names``: the projects offered (id -> name), the session's; ``key_field``:
        offer a Key Manager key for the created secrets (:attr:`key_id`)."""
        super().__init__(id=id, classes="form")
        self.key_field = key_field
        self.project_names = project_names
        self.default_project = project_id
        self.default_region = region if region in REGIONS else REGIONS[0]

    def _project_ids(self) -> list[str]:
        ids = {pid for pid in self.project_names if pid}
        if self.default_project:
            ids.add(self.default_project)
        names = self.project_names
        return sorted(ids, key=lambda pid: (not names.get(pid), names.get(pid, "").lower(), pid))

    def compose(self) -> ComposeResult:
        with Horizontal(id="dest-pickers"):
            with Vertical():
                yield Label("Project (↑ ↓, enter: next)")
                yield OptionList(
                    *(
                        Option(project_label(p, self.project_names), id=p)
                        for p in self._project_ids()
                    ),
                    id="dest-project",
                )
            with Vertical(id="dest-region-box"):
                yield Label("Region")
                yield OptionList(*(Option(r, id=r) for r in REGIONS), id="dest-region")
        yield Label("…or another project id")
        yield Input(
            compact=True, placeholder="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", id="dest-project-id"
        )
        yield Label("When the secret already exists at the destination")
        with RadioSet(id="conflict"):
            yield RadioButton(
                "new version: add a version only if the data differs", value=True, id="new-version"
            )
            yield RadioButton("skip: leave it as it is", id="skip")
            yield RadioButton("fail: change nothing if any secret differs", id="fail")
        yield Checkbox(
            "Verify: read every restored version back and compare its CRC", value=True, id="verify"
        )
        if self.key_field:
            yield Label(
                "Key Manager key of the created secrets (optional): a secret's own key follows "
                "only into its own project and region; elsewhere it gets this key, else the "
                "platform's"
            )
            yield Input(
                compact=True,
                placeholder="key id: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                id="dest-key-id",
            )

    def on_mount(self) -> None:
        self.choose(self.default_project or None, self.default_region)

    def refresh_projects(self, names: Mapping[str, str]) -> None:
        """The session learnt project names: list them (keeping the highlighted one)."""
        current = self.chosen_project
        self.project_names = names
        plist = self.query_one("#dest-project", OptionList)
        plist.clear_options()
        plist.add_options([Option(project_label(p, names), id=p) for p in self._project_ids()])
        self.choose(current, None)

    def choose(self, project: str | None, region: str | None) -> None:
        """Highlight ``project`` (an id not listed yet is added) and ``region``."""
        plist = self.query_one("#dest-project", OptionList)
        if project:
            try:
                plist.highlighted = plist.get_option_index(project)
            except Exception:  # not listed: add it (by id, never silently another one)
                plist.add_option(Option(project_label(project, self.project_names), id=project))
                plist.highlighted = plist.get_option_index(project)
        elif plist.option_count and plist.highlighted is None:
            plist.highlighted = 0
        if region:
            rlist = self.query_one("#dest-region", OptionList)
            rlist.highlighted = rlist.get_option_index(region)

    @property
    def chosen_project(self) -> str:
        plist = self.query_one("#dest-project", OptionList)
        if plist.highlighted is None:
            return ""
        return plist.get_option_at_index(plist.highlighted).id or ""

    @property
    def chosen_region(self) -> str:
        rlist = self.query_one("#dest-region", OptionList)
        if rlist.highlighted is None:
            return self.default_region
        return rlist.get_option_at_index(rlist.highlighted).id or self.default_region

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Chosen())

    def values(self) -> Destination:
        typed = self.query_one("#dest-project-id", Input).value.strip().lower()
        if typed:
            try:
                uuid.UUID(typed)
            except ValueError:
                raise UsageError(
                    "the destination project id is not a UUID", hint="copy it from the Projects tab"
                ) from None
            project = typed
        else:
            project = self.chosen_project
            if not project:
                raise UsageError(
                    "no destination project is chosen",
                    hint="highlight a project in the list, or type its id",
                )
        pressed = self.query_one("#conflict", RadioSet).pressed_button
        policy = pressed.id if pressed is not None and pressed.id else "new-version"
        verify = self.query_one("#verify", Checkbox).value
        return Destination(project, self.chosen_region, policy, verify)

    @property
    def key_id(self) -> str | None:
        """The key typed for the created secrets (lower case), None when none (or no field)."""
        if not self.key_field:
            return None
        typed = self.query_one("#dest-key-id", Input).value.strip().lower()
        return typed or None

    def key_problem(self) -> str | None:
        """Why the typed key cannot be used (it is not a key id), else None."""
        typed = self.key_id
        if typed is None:
            return None
        try:
            uuid.UUID(typed)
        except ValueError:
            return "The key id is not a UUID: copy it from Key Manager, or leave it empty."
        return None if len(typed) == 36 else "The key id is not in the 8-4-4-4-12 form."
