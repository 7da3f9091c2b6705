"""The editor's preferences and recent files, kept with QSettings (an INI file in the user's
config folder, or a given file in tests), and the engine they describe."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from PySide6.QtCore import QSettings

from app.engine_client import EngineHandle, LocalEngine, RemoteEngine

RECENT_MAX = 10
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class EngineChoice:
    mode: str = "local"  # local | remote
    url: str = ""
    token: str = ""
    device: str = "auto"
    model: str = ""  # a model folder; empty: the default model

    def make(self) -> EngineHandle:
        if self.mode == "remote":
            return RemoteEngine(self.url, self.token)
        return LocalEngine(model=self.model or None, device=self.device)

    def describe(self) -> str:
        return (
            f"remote engine at {self.url}"
            if self.mode == "remote"
            else f"local engine ({self.device})"
        )


class Preferences:
    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            path = platformdirs.user_config_path("storyloom") / "editor.ini"
        self.path = path
        self.q = QSettings(str(path), QSettings.Format.IniFormat)

    def _get(self, key: str, default, kind=str):  # type: ignore[no-untyped-def]
        value = self.q.value(key, default)
        try:
            return kind(value)
        except (TypeError, ValueError):
            return default

    # ---- engine ----------------------------------------------------------------------------

    def engine(self) -> EngineChoice:
        return EngineChoice(
            self._get("engine/mode", "local"),
            self._get("engine/url", ""),
            self._get("engine/token", ""),
            self._get("engine/device", "auto"),
            self._get("engine/model", ""),
        )

    def set_engine(self, e: EngineChoice) -> None:
        for key in ("mode", "url", "token", "device", "model"):
            self.q.setValue(f"engine/{key}", getattr(e, key))
        self.q.sync()

    # ---- new projects and the cache -----------------------------------------------------------

    def default_size(self) -> tuple[int, int]:
        return self._get("new/width", 1280, int), self._get("new/height", 720, int)

    def default_fps(self) -> float:
        return self._get("new/fps", 24.0, float)

    def set_defaults(self, size: tuple[int, int], fps: float) -> None:
        self.q.setValue("new/width", size[0])
        self.q.setValue("new/height", size[1])
        self.q.setValue("new/fps", fps)
        self.q.sync()

    def cache_mb(self) -> int:
        return self._get("cache/mb", 2048, int)

    def set_cache_mb(self, mb: int) -> None:
        self.q.setValue("cache/mb", mb)
        self.q.sync()

    def cache_dir(self) -> Path:
        return Path(
            self._get("cache/dir", str(platformdirs.user_cache_path("storyloom") / "media"))
        )

    # ---- recent files ----------------------------------------------------------------------------

    def recent(self) -> list[Path]:
        raw = self.q.value("recent/files", [])
        items = [raw] if isinstance(raw, str) else list(raw or [])
        return [Path(p) for p in items if p]

    def add_recent(self, path: Path) -> None:
        path = path.resolve()
        items = [path, *(p for p in self.recent() if p != path)][:RECENT_MAX]
        self.q.setValue("recent/files", [str(p) for p in items])
        self.q.sync()

    def last_project(self) -> Path | None:
        for p in self.recent():
            if p.is_file():
                return p
        return None


def prune_cache(folder: Path, max_bytes: int) -> int:
    """Delete the least recently used decoded copies until the cache fits; returns bytes freed."""
    try:
        files = [(f.stat().st_atime, f.stat().st_size, f) for f in folder.iterdir() if f.is_file()]
    except OSError:
        return 0
    used = sum(size for _, size, _ in files)
    freed = 0
    for _, size, f in sorted(files):
        if used - freed <= max_bytes:
            break
        try:
            os.unlink(f)
            freed += size
        except OSError:
            pass
    return freed
