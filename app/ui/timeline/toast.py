"""A message shown on the timeline where something happened (a file that could not be decoded,
shown where it was dropped), hiding itself after a few seconds."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QLabel, QWidget

from .geometry import RULER_H

SHOWN_MS = 6000


class Toast(QLabel):
    def __init__(self, viewport: QWidget) -> None:
        super().__init__(viewport, objectName="InlineMessage", wordWrap=True)
        self._timer = QTimer(self, singleShot=True, interval=SHOWN_MS)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_at(self, text: str, level: str, at: QPoint) -> None:
        """Above the point `at` (viewport pixels), kept inside the viewport."""
        vp = self.parentWidget()
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setText(text)
        self.setMaximumWidth(max(200, vp.width() // 2))
        self.adjustSize()
        x = min(max(4, at.x() - self.width() // 2), max(4, vp.width() - self.width() - 4))
        top = RULER_H + 4
        y = min(max(top, at.y() - self.height() - 6), max(top, vp.height() - self.height() - 4))
        self.move(x, y)
        self.show()
        self.raise_()
        self._timer.start()
