"""Decoded takes for the preview, at draft size, decoded on a worker and kept within a memory
budget (least recently shown dropped first)."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, Signal

from app.project import Project

from ..workers import TaskState, Workers
from .decode import DecodedVideo, decode_video

BUDGET_BYTES = 400 * 2**20


class FrameStore(QObject):
    sig_ready = Signal(int)  # asset id
    sig_failed = Signal(int, str)

    def __init__(self, project: Project, workers: Workers, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project, self.workers = project, workers
        self.height = 360
        self._videos: OrderedDict[int, DecodedVideo] = OrderedDict()
        self._pending: set[int] = set()
        self.failed: dict[int, str] = {}

    def set_height(self, height: int) -> None:
        if height != self.height:
            self.height = height
            self._videos.clear()

    def get(self, asset_id: int) -> DecodedVideo | None:
        video = self._videos.get(asset_id)
        if video is not None:
            self._videos.move_to_end(asset_id)
            return video
        if asset_id not in self._pending and asset_id not in self.failed:
            self._load(asset_id)
        return None

    def _load(self, asset_id: int) -> None:
        self._pending.add(asset_id)
        project, height = self.project, self.height

        def work(state: TaskState) -> DecodedVideo:
            with project.open_asset(asset_id) as f:
                return decode_video(f, height, project.asset(asset_id).original_name, state.check)

        def done(video: DecodedVideo) -> None:
            self._pending.discard(asset_id)
            if height != self.height:
                return
            self._videos[asset_id] = video
            used = sum(sum(f.nbytes for f in v.frames) for v in self._videos.values())
            while used > BUDGET_BYTES and len(self._videos) > 1:
                _, old = self._videos.popitem(last=False)
                used -= sum(f.nbytes for f in old.frames)
            self.sig_ready.emit(asset_id)

        def failed(msg: str) -> None:
            self._pending.discard(asset_id)
            self.failed[asset_id] = msg
            self.sig_failed.emit(asset_id, msg)

        self.workers.start(work, done, failed, on_cancelled=lambda: self._pending.discard(asset_id))
