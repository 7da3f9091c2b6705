"""One writer per project: an OS lock on a sidecar file `NAME.storyloom.lock`.

The kernel drops the lock when the holding process dies (even by SIGKILL), so a stale lock never
blocks; the sidecar only carries the holder's pid and host for the error message. After locking we
check that the path still names the file we locked, so unlinking it on release cannot let two
processes each hold a lock on a different inode.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from .errors import ProjectLockedError, ReadOnlyError

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False


def lock_path(project_path: Path) -> Path:
    return project_path.with_name(project_path.name + ".lock")


class ProjectLock:
    """Held for as long as a project is open for editing."""

    def __init__(self, project_path: Path) -> None:
        self.path = lock_path(project_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        for _ in range(10):  # retry only if the sidecar was replaced between open and lock
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except PermissionError as e:
                raise ReadOnlyError(f"cannot write in the folder of {self.path.name[:-5]}") from e
            if not _try_lock(fd):
                holder = _read_holder(fd)
                os.close(fd)
                raise ProjectLockedError(
                    f"{self.path.name[:-5]} is open elsewhere ({holder}); close it there first"
                )
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
                self._fd = fd
                return
            os.close(fd)
        raise ProjectLockedError(f"{self.path.name[:-5]} is open elsewhere; close it there first")

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only folder keeps its sidecar; the lock itself is still dropped
        os.close(self._fd)
        self._fd = None


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another Storyloom"
