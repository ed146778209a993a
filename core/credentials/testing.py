"""An in-memory keyring backend for tests (and for throw-away demo sessions).

It is a real :class:`keyring.backend.KeyringBackend`, so code under test goes through the same
``keyring.get_password`` / ``set_password`` / ``delete_password`` calls it makes in production.
It is never *viable* for keyring's automatic backend detection (its ``priority`` raises), so
importing this module can never make it a user's default keyring: it is only ever active when
installed explicitly with ``keyring.set_keyring(MemoryKeyring())``.
"""

from __future__ import annotations

import threading

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Passwords kept in a dict for the life of the instance; nothing touches the disk."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("MemoryKeyring is for tests; install it explicitly with set_keyring()")

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            try:
                del self._items[(service, username)]
            except KeyError:
                raise PasswordDeleteError("no such password") from None

    def entries(self, service: str | None = None) -> list[tuple[str, str]]:
        """The ``(service, username)`` pairs stored (for assertions in tests)."""
        with self._lock:
            return sorted(k for k in self._items if service is None or k[0] == service)

    def values(self) -> list[str]:
        """Every stored password (for "this secret is in the keyring" assertions in tests)."""
        with self._lock:
            return list(self._items.values())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __repr__(self) -> str:
        return f"MemoryKeyring({len(self._items)} entries)"
