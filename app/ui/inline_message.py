"""A message shown in place, in the panel where the problem is (an edit refused, a file that
cannot be decoded, an engine that is not there), rather than in a modal dialog."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget


class InlineMessage(QLabel):
    def __init__(self, parent: QWidget | None = None, hide_after_ms: int = 8000) -> None:
        super().__init__(parent, objectName="InlineMessage", wordWrap=True)
        self.level = ""
        self._timer = QTimer(self, singleShot=True, interval=hide_after_ms)
        self._timer.timeout.connect(self.clear_message)
        self.hide()

    def show_message(self, text: str, level: str = "error", sticky: bool = False) -> None:
        self.level = level
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setText(text)
        self.show()
        if sticky:
            self._timer.stop()
        else:
            self._timer.start()

    def clear_message(self) -> None:
        self.level = ""
        self.setText("")
        self.hide()
