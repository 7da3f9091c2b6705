"""The context a command runs in (media import inside its transaction) and the translation of
SQLite's errors into one-line messages a user can act on."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Connection

from . import assets, media
from .errors import MediaError, NotAProjectError, ProjectError, ReadOnlyError


class Ctx:
    """The EditContext a command sees: the open connection and media import."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def import_media(self, path: Path, kind: str) -> int:
        path = Path(path)
        if not path.is_file():
            raise MediaError(f"{path}: no such file")
        try:
            sha = assets.sha256_file(path)
        except OSError as e:
            raise MediaError(f"{path}: cannot be read ({e.strerror})") from e
        found = assets.find_by_hash(self.conn, sha)
        if found is not None and found[1] == kind:
            return found[0]  # already stored, hence already validated as this kind
        info = media.probe(path, kind)  # the same bytes asked for as another kind: check again
        if found is not None:
            return found[0]
        name = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return assets.store(self.conn, path, info, name, sha)

    def store_media(self, data: Path | bytes, info: media.MediaInfo, name: str) -> int:
        sha = (
            hashlib.sha256(data).hexdigest()
            if isinstance(data, bytes)
            else assets.sha256_file(data)
        )
        return assets.store(self.conn, data, info, name, sha)


def translate(err: BaseException | None, path: Path) -> ProjectError:
    """SQLite's errors -> one line a user can act on."""
    msg = str(err)
    if "full" in msg:
        return ProjectError(f"{path}: the disk is full; nothing was changed")
    if "readonly" in msg or "read-only" in msg:
        return ReadOnlyError(f"{path}: cannot write to the project (read-only)")
    if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
        return NotAProjectError(f"{path}: not a Storyloom project (or it is damaged)")
    if "locked" in msg or "busy" in msg:
        return ProjectError(f"{path}: the project is busy in another program; try again")
    return ProjectError(f"{path}: {msg}")
