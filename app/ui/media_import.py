"""Importing dropped or chosen files without blocking the window: the slow part (decoding the
whole file to validate it and make its preview) runs on a worker thread outside the project's
lock; only hashing and storing the bytes happen inside a transaction. The edit that uses the
media (a new scene, a start image, an audio clip) then runs on the GUI thread as one undo step
and finds the asset already stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from app.project import Command, MediaError, MediaInfo
from app.project import media as probing
from app.project.commands import EditContext

IMAGE_EXT = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
VIDEO_EXT = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif"}
AUDIO_EXT = {".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus", ".aif", ".aiff"}


def media_kind(path: Path) -> str | None:
    """image | video | audio by the file's extension, or None for anything else."""
    ext = path.suffix.lower()
    for kind, exts in (("image", IMAGE_EXT), ("video", VIDEO_EXT), ("audio", AUDIO_EXT)):
        if ext in exts:
            return kind
    return None


def kind_of(path: Path) -> str:
    kind = media_kind(path)
    if kind is None:
        raise MediaError(f"{path.name}: not an image, video or audio file Storyloom can import")
    return kind


@dataclass
class ImportMedia(Command):
    """Store an already probed file as an asset (deduplicated). Assets are not undoable rows,
    so this makes no undo step of its own."""

    label: ClassVar[str] = "Import media"
    tables: ClassVar[tuple[str, ...]] = ("assets",)
    path: Path = Path()
    info: MediaInfo | None = None

    def apply(self, ctx: EditContext) -> int:
        assert self.info is not None
        name = self.path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        try:
            return ctx.store_media(self.path, self.info, name)
        except OSError as e:
            raise MediaError(f"{self.path.name}: cannot be read ({e.strerror})") from e


@dataclass(frozen=True)
class Imported:
    path: Path
    kind: str
    asset_id: int
    duration: float | None
    recipe: dict[str, Any] | None = None  # a Storyloom clip's or film's recipe, read on import


def probe(path: Path) -> tuple[str, MediaInfo]:
    """Decode a file to check it (worker thread); MediaError with one line when it cannot be."""
    if not path.is_file():
        raise MediaError(f"{path.name}: no such file")
    kind = kind_of(path)
    return kind, probing.probe(path, kind)
