"""Writing safely: everything goes to a temporary name in the destination folder and is renamed
over the requested name only when complete, so a cancelled, crashed, killed or disk-full export
never leaves a broken file under that name and never touches an existing one until it succeeds.

Temporary names carry the writer's process id; leftovers of a writer that no longer runs (one
killed mid-way) are cleared by the next export to the same name.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import RenderError

WriteHook = Callable[[int], None]  # called with a write's size before it happens; may raise


class GuardedFile(io.RawIOBase):
    """The temporary file as the encoder sees it: seekable, readable, every write passed
    through `hook` first."""

    def __init__(self, raw: BinaryIO, hook: WriteHook | None) -> None:
        self._raw, self._hook = raw, hook
        # libav's MP4 faststart reopens its output by this name to read it back
        self.name = str(getattr(raw, "name", ""))

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        return self._raw.readinto(buffer)  # type: ignore[attr-defined]

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        if self._hook is not None:
            self._hook(len(data))
        return self._raw.write(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def flush(self) -> None:
        if not self._raw.closed:
            self._raw.flush()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_os_error(e: OSError, target: Path) -> str:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full: {target} was not written (nothing was changed)"
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write to {target.parent} (read-only or not allowed)"
    return f"cannot write {target}: {e.strerror or e}"


def check_destination(target: Path, folder: bool) -> None:
    """Fail early, before any work, on a destination that cannot be written."""
    parent = target.parent
    if not parent.is_dir():
        raise RenderError(f"the output folder {parent} does not exist")
    if target.is_dir() and not folder:
        raise RenderError(f"{target} is a folder; give a file name")
    if target.exists() and folder and not target.is_dir():
        raise RenderError(f"{target} is a file; a PNG sequence needs a folder name")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RenderError(f"cannot write to {parent} (read-only or not allowed)")


class AtomicOutput:
    """A temporary file or folder beside `target`, renamed over it by `commit()`."""

    def __init__(self, target: Path, folder: bool, hook: WriteHook | None = None) -> None:
        self.target, self.folder, self._hook = target, folder, hook
        check_destination(target, folder)
        parent = target.parent
        self._prefix = f".{target.name}."
        self.tmp = parent / f"{self._prefix}{os.getpid()}.partial"
        self._clear_stale()
        self._files: list[GuardedFile] = []
        try:
            if folder:
                self.tmp.mkdir()
            else:
                self.tmp.touch(exist_ok=False)
        except OSError as e:
            raise RenderError(describe_os_error(e, target)) from e

    def _clear_stale(self) -> None:
        for p in self.target.parent.glob(f"{self._prefix}*.partial"):
            pid = p.name[len(self._prefix) : -len(".partial")]
            if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
                _remove(p)

    def open(self, path: Path | None = None) -> GuardedFile:
        """The temporary file (or a new file inside the temporary folder) for writing."""
        f = GuardedFile(open(path or self.tmp, "w+b"), self._hook)  # noqa: SIM115
        self._files.append(f)
        return f

    def _close_files(self) -> None:
        for f in self._files:
            f.close()
        self._files.clear()

    def commit(self, sidecar: tuple[Path, bytes] | None = None) -> None:
        """Put the output (and then its sidecar) under the requested name."""
        self._close_files()
        side_tmp = None
        try:
            if sidecar is not None:
                side_tmp = sidecar[0].with_name(f".{sidecar[0].name}.{os.getpid()}.partial")
                with GuardedFile(open(side_tmp, "wb"), self._hook) as f:  # noqa: SIM115
                    f.write(sidecar[1])
            if self.folder and self.target.is_dir():  # folders cannot be renamed over
                old = self.target.with_name(f".{self.target.name}.{os.getpid()}.old")
                os.replace(self.target, old)
                try:
                    os.replace(self.tmp, self.target)
                except OSError:
                    os.replace(old, self.target)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.tmp, self.target)
            if side_tmp is not None and sidecar is not None:
                os.replace(side_tmp, sidecar[0])
        except OSError as e:
            if side_tmp is not None:
                side_tmp.unlink(missing_ok=True)
            self.discard()
            raise RenderError(describe_os_error(e, self.target)) from e

    def discard(self) -> None:
        self._close_files()
        _remove(self.tmp)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)
