"""Engine events as a progress bar on stderr (only on a terminal) and warnings, one a line.

Imported by the engine commands' handlers only (it imports the engine's event types).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from cli.output import clean, human_bytes
from core.engine import events as ev

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class ProgressRenderer:
    """Turns engine events into a rich progress bar on stderr (only on a terminal); warnings
    are always printed on stderr, one line each."""

    def __init__(self, *, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        # what __call__ reads (core.engine.events.listens): an engine builds no other events
        self.listens_to: frozenset[type] = frozenset(
            (ev.EngineWarning, ev.Phase, ev.Progress) if self.enabled else (ev.EngineWarning,)
        )

    def __enter__(self) -> ProgressRenderer:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[extra]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("starting", total=None, extra="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.EngineWarning):
            self._print(f"warning: {clean(event.message)}")
            return
        if self._progress is None or self._task is None:
            return
        if isinstance(event, ev.Phase):
            self._progress.update(self._task, description=event.detail or event.name)
        elif isinstance(event, ev.Progress):
            extra = []
            if event.bytes:
                extra.append(human_bytes(event.bytes))
            if event.errors:
                extra.append(f"{event.errors} error(s)")
            self._progress.update(
                self._task,
                total=max(event.total, event.done) or None,
                completed=event.done,
                extra=", ".join(extra),
            )

    def _print(self, line: str) -> None:
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr)
