"""The window's undo and redo actions follow the open project's stack (a QUndoGroup)."""

from __future__ import annotations

from PySide6.QtGui import QUndoGroup, QUndoStack


class UndoGroup(QUndoGroup):
    def add(self, stack: QUndoStack) -> None:
        self.addStack(stack)
        self.setActiveStack(stack)

    def remove(self, stack: QUndoStack) -> None:
        self.removeStack(stack)
