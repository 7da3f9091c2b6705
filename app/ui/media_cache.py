"""Thumbnails, waveform summaries and filmstrips of a project's assets, loaded on worker threads
and kept for the session (assets never change once stored). Views ask; when something arrives
`sig_ready(asset_id)` tells them to repaint."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from .preview.decode import decode_video, pick_evenly
from .workers import TaskState, Workers

STRIP_FRAMES = 8
STRIP_HEIGHT = 72
STRIPS_KEPT = 64


def to_qimage(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 RGB -> a QImage that owns its pixels."""
    h, w = rgb.shape[:2]
    rgb = np.ascontiguousarray(rgb)
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class MediaCache(QObject):
    sig_ready = Signal(int)

    def __init__(self, project, workers: Workers, parent: QObject | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self._project = project
        self._workers = workers
        self._thumbs: dict[int, QImage | None] = {}
        self._waves: dict[int, np.ndarray | None] = {}
        self._strips: OrderedDict[int, list[QImage]] = OrderedDict()
        self._pending: set[tuple[str, int]] = set()

    # ---- thumbnails and waveforms (stored with the asset) ------------------------------------

    def thumbnail(self, asset_id: int) -> QImage | None:
        if asset_id in self._thumbs:
            return self._thumbs[asset_id]
        self._load_previews(asset_id)
        return None

    def waveform(self, asset_id: int) -> np.ndarray | None:
        """uint8 peaks (0..255) over the whole asset, or None while loading."""
        if asset_id in self._waves:
            return self._waves[asset_id]
        self._load_previews(asset_id)
        return None

    def _load_previews(self, asset_id: int) -> None:
        key = ("previews", asset_id)
        if key in self._pending:
            return
        self._pending.add(key)
        project = self._project

        def work(state: TaskState) -> tuple[QImage | None, np.ndarray | None]:
            jpeg, wave = project.asset_previews(asset_id)
            img = QImage.fromData(jpeg) if jpeg else None
            peaks = np.frombuffer(wave, np.uint8).copy() if wave else None
            return (img if img is not None and not img.isNull() else None), peaks

        def done(result: tuple[QImage | None, np.ndarray | None]) -> None:
            self._pending.discard(key)
            self._thumbs[asset_id], self._waves[asset_id] = result
            self.sig_ready.emit(asset_id)

        def failed(_msg: str) -> None:
            self._pending.discard(key)
            self._thumbs[asset_id] = self._waves[asset_id] = None

        self._workers.start(work, done, failed)

    # ---- filmstrips of takes (decoded) -------------------------------------------------------

    def strip(self, asset_id: int) -> list[QImage] | None:
        if asset_id in self._strips:
            self._strips.move_to_end(asset_id)
            return self._strips[asset_id]
        key = ("strip", asset_id)
        if key not in self._pending:
            self._pending.add(key)
            project = self._project

            def work(state: TaskState) -> list[QImage]:
                with project.open_asset(asset_id) as f:
                    video = decode_video(f, STRIP_HEIGHT, check=state.check)
                return [to_qimage(fr) for fr in pick_evenly(video.frames, STRIP_FRAMES)]

            def done(images: list[QImage]) -> None:
                self._pending.discard(key)
                self._strips[asset_id] = images
                while len(self._strips) > STRIPS_KEPT:
                    self._strips.popitem(last=False)
                self.sig_ready.emit(asset_id)

            def failed(_msg: str) -> None:
                self._pending.discard(key)
                self._strips[asset_id] = []

            self._workers.start(work, done, failed)
        return None
