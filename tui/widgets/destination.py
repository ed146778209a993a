"""Where a restore or a copy goes: project, region, conflict policy, verify."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import NamedTuple

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Checkbox, Input, Label, RadioButton, RadioSet, Select

from core.errors import UsageError
from core.scaleway.models import REGIONS


class Destination(NamedTuple):
    project: str
    region: str
    policy: str  # new-version | skip | fail
    verify: bool


class DestinationForm(VerticalScroll):
    """Destination project and region, conflict policy, verify."""

    def __init__(
        self,
        project_names: Mapping[str, str],
        project_id: str,
        region: str,
        *,
        id: str | None = None,
    ) -> None:
        """``project_names``: the projects offered (id -> name), the session's."""
        super().__init__(id=id, classes="form")
        self.project_names = project_names
        self.default_project = project_id
        self.default_region = region

    def compose(self) -> ComposeResult:
        names = dict(self.project_names)
        names.setdefault(self.default_project, "")
        options = [
            (f"{n or '(name unknown)'} · {pid[:8]}…", pid)
            for pid, n in sorted(names.items(), key=lambda kv: kv[1])
        ]
        yield Label("Destination project")
        yield Select(
            options,
            value=self.default_project
            if self.default_project in names and self.default_project
            else Select.NULL,
            allow_blank=not self.default_project,
            compact=True,
            id="dest-project",
        )
        yield Label("…or another project id")
        yield Input(
            compact=True, placeholder="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", id="dest-project-id"
        )
        yield Label("Destination region")
        yield Select(
            [(r, r) for r in REGIONS],
            value=self.default_region,
            allow_blank=False,
            compact=True,
            id="dest-region",
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
            project = str(self.query_one("#dest-project", Select).value)
        region = str(self.query_one("#dest-region", Select).value)
        pressed = self.query_one("#conflict", RadioSet).pressed_button
        policy = pressed.id if pressed is not None and pressed.id else "new-version"
        verify = self.query_one("#verify", Checkbox).value
        return Destination(project, region, policy, verify)
