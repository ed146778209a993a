"""The one atomic file write and the one advisory file lock of the code base.

Readers of a file written here see the old or the new content, never a mix, and a crash
leaves at most a ``.<name>.*.tmp`` file beside it (the next write's directory, not the
target, holds it). Everything that persists a small file (profiles, emulator state, the
store's local backend for its own objects has stronger create-only needs) goes through
:func:`write_atomic`; everything that must keep two processes apart goes through
:func:`file_lock`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["LockBusy", "file_lock", "fsync_dir", "write_atomic"]


class LockBusy(OSError):
    """A non-blocking :func:`file_lock` found the lock held by another process."""


def fsync_dir(directory: Path) -> None:
    """Make a rename or create inside ``directory`` durable (a no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: temp file in the same directory, fsync, rename, fsync
    of the directory. The file is created with ``mode`` (0600: these files hold metadata
    that is nobody else's business)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)


@contextlib.contextmanager
def file_lock(path: Path, *, blocking: bool = True) -> Iterator[IO[bytes]]:
    """Hold an exclusive advisory lock on ``path`` (created 0600) for the ``with`` block.

    ``blocking=False`` raises :class:`LockBusy` at once when another process holds it. On a
    platform without POSIX locks the block runs unguarded.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    handle = os.fdopen(fd, "a+b")
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
            try:
                fcntl.flock(handle.fileno(), flags)
            except BlockingIOError as err:
                raise LockBusy(err.errno, f"{path} is locked by another process") from None
        yield handle
    finally:
        handle.close()
