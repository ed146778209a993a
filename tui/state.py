"""What the console remembers between sessions: theme, last profile, store and region.

A small TOML-free JSON file, ``state.json`` in the XDG state directory
(``$XDG_STATE_HOME/secret-kloset/``), written atomically with :func:`core._fs.write_atomic`.
It never holds a secret: no key, no passphrase, no secret name; a profile *name* and a store
*location* only. An unreadable file is ignored (the console opens with its defaults).
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import platformdirs

from core._fs import write_atomic
from core.credentials.profiles import APP_NAME

STATE_FILE = "state.json"


class ConsoleState(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False):
    theme: str | None = None
    profile: str | None = None
    store: str | None = None
    region: str | None = None


def state_path() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME)) / STATE_FILE


def load_state(path: Path | None = None) -> ConsoleState:
    path = state_path() if path is None else path
    try:
        return msgspec.json.decode(path.read_bytes(), type=ConsoleState)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return ConsoleState()


def save_state(state: ConsoleState, path: Path | None = None) -> None:
    path = state_path() if path is None else path
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, msgspec.json.encode(state))
