"""A store in a local directory (the default backend).

Writes go to a temporary file in the destination directory, are fsynced, then renamed into
place (``os.replace``; a create-only put uses ``os.link``, which fails if the name exists,
so it is atomic), and the directory is fsynced: an object is either absent or complete.
Temporary files a crash leaves behind (``.tmp-<host>-<pid>-*``) are ignored by ``list`` and
removed by ``remove_temporary_files`` (once old, or at once when their process on this host is
gone): the next writer and prune call it. Directories are created 0700, files 0600. A full
disk is :class:`~core.store.errors.StoreSpaceError`, and the temporary file is removed. The create-only link-put is this backend's own (``core._fs``'s
atomic write replaces; an object must never be replaced); the directory fsync is shared.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import secrets
import shutil
import socket
import time
from pathlib import Path

from core._fs import fsync_dir
from core.store.backends.base import Backend
from core.store.errors import BackendError, ObjectExistsError, ObjectNotFoundError, StoreSpaceError

TMP_PREFIX = ".tmp-"
# which host wrote a temporary file (a hash: the host name itself is not written)
HOST_TAG = hashlib.blake2b(socket.gethostname().encode(), digest_size=4).hexdigest()
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _orphaned(name: str) -> bool:
    """A temporary file of a process on this host that is gone."""
    parts = name[len(TMP_PREFIX) :].split("-")
    if len(parts) != 3 or parts[0] != HOST_TAG or not parts[1].isdigit():
        return False
    return not _pid_alive(int(parts[1]))


class LocalBackend(Backend):
    scheme = "file"
    atomic_create = True
    retry_base_delay = 0.01

    def __init__(self, location: str, *, fsync: bool = True, **options: object) -> None:
        raw = location[len("file://") :] if location.startswith("file://") else location
        self.root = Path(raw).expanduser().absolute()
        super().__init__(str(self.root))
        self.fsync = fsync
        self._known_dirs: set[Path] = set()

    def _path(self, rel: str) -> Path:
        return self.root / rel

    def _error(self, op: str, rel: str, err: OSError) -> BackendError:
        # The relative path holds only kinds and hex ids: safe to show.
        if err.errno in NO_SPACE:
            return StoreSpaceError(
                f"could not {op} {rel}: no space left on the store's disk",
                hint="free space on the disk that holds the store, then retry",
            )
        return BackendError(f"could not {op} {rel}: {err.strerror or err}")

    def _ensure_dir(self, directory: Path) -> None:
        if directory in self._known_dirs:
            return
        if not directory.is_dir():
            missing = []
            d = directory
            while not d.exists():
                missing.append(d)
                d = d.parent
            for d in reversed(missing):
                try:
                    d.mkdir(mode=0o700)
                except FileExistsError:
                    continue
                os.chmod(d, 0o700)  # the umask must not widen or narrow it
                if self.fsync:
                    fsync_dir(d.parent)
        self._known_dirs.add(directory)

    def _put_sync(self, rel: str, data: bytes, create_only: bool) -> None:
        final = self._path(rel)
        directory = final.parent
        try:
            self._ensure_dir(directory)
            tmp = directory / f"{TMP_PREFIX}{HOST_TAG}-{os.getpid()}-{secrets.token_hex(8)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                if self.fsync:
                    os.fsync(fd)
            except BaseException:
                os.close(fd)
                tmp.unlink(missing_ok=True)
                raise
            os.close(fd)
            try:
                if create_only:
                    try:
                        os.link(tmp, final)
                    except FileExistsError:
                        kind, _, name = rel.partition("/")
                        raise ObjectExistsError(kind, name.rsplit("/", 1)[-1]) from None
                    finally:
                        os.unlink(tmp)
                else:
                    os.replace(tmp, final)
            except BaseException:
                if tmp.exists():
                    tmp.unlink()
                raise
            if self.fsync:
                fsync_dir(directory)
        except OSError as err:
            raise self._error("write", rel, err) from err

    async def _put(self, path: str, data: bytes, create_only: bool) -> None:
        await asyncio.to_thread(self._put_sync, path, data, create_only)

    def _missing(self, rel: str) -> ObjectNotFoundError:
        kind, _, name = rel.partition("/")
        return ObjectNotFoundError(kind, name.rsplit("/", 1)[-1] or kind)

    def _get_sync(self, rel: str, offset: int | None, length: int | None) -> bytes:
        try:
            with open(self._path(rel), "rb") as fh:
                if offset:
                    fh.seek(offset)
                return fh.read() if length is None else fh.read(length)
        except FileNotFoundError:
            raise self._missing(rel) from None
        except OSError as err:
            raise self._error("read", rel, err) from err

    async def _get(self, path: str, offset: int | None, length: int | None) -> bytes:
        if length is not None and length <= 256 * 1024:
            return self._get_sync(path, offset, length)  # small reads: cheaper than a thread hop
        return await asyncio.to_thread(self._get_sync, path, offset, length)

    async def _stat(self, path: str) -> int:
        try:
            return self._path(path).stat().st_size
        except FileNotFoundError:
            raise self._missing(path) from None
        except OSError as err:
            raise self._error("stat", path, err) from err

    def _list_sync(self, prefix: str) -> list[tuple[str, int, str | None]]:
        base = self._path(prefix)
        out: list[tuple[str, int, str | None]] = []
        if not base.is_dir():
            return out
        try:
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for fname in filenames:
                    if fname.startswith("."):
                        continue
                    full = Path(dirpath) / fname
                    try:
                        st = full.stat()
                    except FileNotFoundError:
                        continue
                    tag = f"{st.st_mtime_ns}-{st.st_ino}"
                    out.append((full.relative_to(self.root).as_posix(), st.st_size, tag))
        except OSError as err:
            raise self._error("list", prefix, err) from err
        return out

    async def _list(self, prefix: str) -> list[tuple[str, int, str | None]]:
        return await asyncio.to_thread(self._list_sync, prefix)

    def _delete_sync(self, rel: str) -> None:
        try:
            os.unlink(self._path(rel))
        except FileNotFoundError:
            return
        except OSError as err:
            if err.errno == errno.ENOENT:
                return
            raise self._error("delete", rel, err) from err

    async def _delete(self, path: str) -> None:
        await asyncio.to_thread(self._delete_sync, path)

    def remove_temporary_files(self, older_than: float = 3600.0) -> int:
        """Delete ``.tmp-*`` files a crashed or killed writer left behind: those older than
        ``older_than`` seconds, and those of a process on this host that is gone."""
        removed = 0
        cutoff = time.time() - older_than
        if not self.root.is_dir():
            return 0
        for dirpath, _dirnames, filenames in os.walk(self.root):
            for fname in filenames:
                if fname.startswith(TMP_PREFIX):
                    full = Path(dirpath) / fname
                    try:
                        if _orphaned(fname) or full.stat().st_mtime < cutoff:
                            full.unlink()
                            removed += 1
                    except OSError:
                        continue
        return removed

    async def clean_temporary_files(self, older_than: float) -> int:
        return await asyncio.to_thread(self.remove_temporary_files, older_than)

    async def free_space(self) -> int | None:
        try:
            return (await asyncio.to_thread(shutil.disk_usage, self.root)).free
        except OSError:
            return None
