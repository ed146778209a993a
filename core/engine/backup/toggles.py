"""The toggle journal: the disabled versions a backup enabled to read them, written down first.

Reading a disabled version's data means enabling it, reading it and disabling it again: a
change to the source. A run killed in between (SIGKILL, a power cut) would leave the version
enabled for good. So the intent (region, secret id, revision: ids only, never a name) is
written to a small journal before the version is enabled, and the entry is cleared once it is
disabled again. Every later backup first disables what the journal says an interrupted run
left enabled (and only that: a version someone else enabled is not in the journal), and says
so in its warnings. The console calls :func:`heal_toggles` too.

The journal lives under the XDG state dir, one file per organization:
``$XDG_STATE_HOME/secret-kloset/toggles/<organization id>.json``, written with
:func:`core._fs.write_atomic` under :func:`core._fs.file_lock`, so concurrent runs (threads or
processes) never lose each other's entries. An entry names the process that wrote it: a run
still alive keeps its entries (it disables them itself).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from core._fs import file_lock, write_atomic
from core.engine import events as ev
from core.engine.events import EventSink, safe_sink
from core.engine.protocols import SecretsAPI
from core.scaleway.errors import NotFoundError, ScalewayError
from core.scaleway.models import VersionStatus

FORMAT_VERSION = 1
_SAFE_KEY = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def journal_dir() -> Path:
    """``$XDG_STATE_HOME/secret-kloset/toggles`` (``~/.local/state`` when unset)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "secret-kloset" / "toggles"


@dataclass(frozen=True, slots=True)
class Toggle:
    """One version a backup enabled (or was about to) and must disable again."""

    region: str
    secret_id: str
    revision: int
    pid: int = 0
    host: str = ""

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.region, self.secret_id, self.revision)

    def owner_alive(self) -> bool:
        """The process that wrote the entry still runs on this host: it disables it itself."""
        if self.pid <= 0 or self.host != socket.gethostname():
            return False
        if self.pid == os.getpid():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


class ToggleJournal:
    """The journal file of one organization; every change is one locked read-modify-write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = path.with_name(path.name + ".lock")

    @classmethod
    def for_organization(cls, organization_id: str | None) -> ToggleJournal:
        key = organization_id or "default"
        if not _SAFE_KEY.match(key):
            key = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return cls(journal_dir() / f"{key}.json")

    def __repr__(self) -> str:
        return f"ToggleJournal({self.path.name!r})"

    # ------------------------------------------------------------------ sync (in a thread)

    def _read(self) -> list[Toggle]:
        try:
            raw = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []  # unreadable: nothing to heal from it (it is rewritten on next change)
        out: list[Toggle] = []
        for item in raw.get("toggles", []) if isinstance(raw, dict) else []:
            try:
                out.append(
                    Toggle(
                        str(item["region"]),
                        str(item["secret_id"]),
                        int(item["revision"]),
                        int(item.get("pid", 0)),
                        str(item.get("host", "")),
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue
        return out

    def _write(self, toggles: list[Toggle]) -> None:
        if not toggles:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            return
        document = {
            "version": FORMAT_VERSION,
            "toggles": [
                {
                    "region": t.region,
                    "secret_id": t.secret_id,
                    "revision": t.revision,
                    "pid": t.pid,
                    "host": t.host,
                }
                for t in toggles
            ],
        }
        write_atomic(self.path, json.dumps(document, indent=1) + "\n")

    def entries(self) -> list[Toggle]:
        with file_lock(self._lock):
            return self._read()

    def add_sync(self, toggle: Toggle) -> None:
        with file_lock(self._lock):
            current = [t for t in self._read() if t.key != toggle.key]
            self._write([*current, toggle])

    def remove_sync(self, keys: set[tuple[str, str, int]]) -> None:
        with file_lock(self._lock):
            current = self._read()
            kept = [t for t in current if t.key not in keys]
            if len(kept) != len(current):
                self._write(kept)

    # ------------------------------------------------------------------ async

    def pending(self) -> bool:
        """Whether the journal holds anything (a cheap stat: no lock, no read)."""
        return self.path.exists()

    async def add(self, region: str, secret_id: str, revision: int) -> None:
        """Write the intent before enabling the version."""
        toggle = Toggle(region, secret_id, revision, os.getpid(), socket.gethostname())
        await asyncio.to_thread(self.add_sync, toggle)

    async def remove(self, region: str, secret_id: str, revision: int) -> None:
        """Clear the entry once the version is disabled again."""
        await asyncio.to_thread(self.remove_sync, {(region, secret_id, revision)})


async def heal_toggles(
    client: SecretsAPI,
    *,
    journal: ToggleJournal | None = None,
    organization_id: str | None = None,
    on_event: EventSink | None = None,
) -> list[str]:
    """Disable again what an interrupted backup left enabled; return the warnings to report.

    Only versions the journal names, whose writer is gone, and that are still enabled are
    disabled. An entry whose version is gone is dropped; one that cannot be handled now (an
    API error, a missing permission) stays for the next run and is warned about.
    """
    emit = safe_sink(on_event)
    journal = journal or ToggleJournal.for_organization(
        organization_id or getattr(client, "organization_id", None)
    )
    if not journal.pending():
        return []
    entries = [t for t in await asyncio.to_thread(journal.entries) if not t.owner_alive()]
    if not entries:
        return []
    disabled: list[Toggle] = []
    done: set[tuple[str, str, int]] = set()
    failed: list[Toggle] = []
    for toggle in entries:
        try:
            version = await client.get_version(toggle.region, toggle.secret_id, toggle.revision)
            if version.status == VersionStatus.ENABLED:
                await client.disable_version(toggle.region, toggle.secret_id, toggle.revision)
                disabled.append(toggle)
        except NotFoundError:
            pass  # the secret or version is gone: nothing left to put back
        except ScalewayError:
            failed.append(toggle)
            continue
        done.add(toggle.key)
    await asyncio.to_thread(journal.remove_sync, done)
    warnings: list[str] = []
    if disabled:
        ids = ", ".join(f"{t.secret_id} revision {t.revision}" for t in disabled[:5])
        more = "" if len(disabled) <= 5 else f" and {len(disabled) - 5} more"
        warnings.append(
            f"an interrupted backup had left {len(disabled)} disabled version(s) enabled at "
            f"the source; they were disabled again ({ids}{more})"
        )
    if failed:
        warnings.append(
            f"{len(failed)} version(s) an interrupted backup left enabled could not be "
            "disabled again now (see the API error); the next backup tries again"
        )
    for note in warnings:
        emit(ev.EngineWarning(note))
    return warnings


__all__ = ["Toggle", "ToggleJournal", "heal_toggles", "journal_dir"]
