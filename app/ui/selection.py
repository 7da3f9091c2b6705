"""What is selected in the editor: scenes (the current one is what the inspector shows) and
audio clips. A plain model with one signal; the timeline writes it, the panels read it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Selection(QObject):
    sig_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scene_ids: tuple[int, ...] = ()
        self.clip_ids: tuple[int, ...] = ()
        self.current: int | None = None  # the scene the inspector shows

    def set(
        self,
        scene_ids: tuple[int, ...] | list[int] = (),
        clip_ids: tuple[int, ...] | list[int] = (),
        current: int | None = None,
    ) -> None:
        scene_ids, clip_ids = tuple(scene_ids), tuple(clip_ids)
        if current is None or current not in scene_ids:
            current = scene_ids[-1] if scene_ids else None
        if (scene_ids, clip_ids, current) == (self.scene_ids, self.clip_ids, self.current):
            return
        self.scene_ids, self.clip_ids, self.current = scene_ids, clip_ids, current
        self.sig_changed.emit()

    def keep_only(self, scene_ids: set[int], clip_ids: set[int]) -> None:
        """Drop what no longer exists (after an undo or a delete)."""
        self.set(
            [i for i in self.scene_ids if i in scene_ids],
            [i for i in self.clip_ids if i in clip_ids],
            self.current if self.current in scene_ids else None,
        )
