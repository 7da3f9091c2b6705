"""The QUndoStack over the project's own history (orange-canvas-core's pattern on our command
layer). A `ProjectCommand`'s first redo() runs the edit through `project.execute` (one SQLite
transaction and one undo step in the file); later redo()s call `project.redo()`, undo() calls
`project.undo()`. The file is the truth: steps made elsewhere (a generated take stored from a
worker thread, the `storyloom` command, a previous session) are mirrored into the stack by
`sync()`, so Ctrl+Z always undoes the step the file would undo."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.project import Command, Project, StoryloomError

MIRROR_LIMIT = 500  # steps shown in the stack after a rebuild (the file keeps them all)

Action = Callable[[Project], Any]


def history_steps(path: Path, limit: int = MIRROR_LIMIT) -> list[tuple[int, str, str]]:
    """(id, label, state) of the file's newest undo steps, oldest first (read-only)."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT id, label, state FROM history_steps ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
    return [(int(i), str(label), str(state)) for i, label, state in reversed(rows)]


class ProjectCommand(QUndoCommand):
    def __init__(
        self, bridge: UndoBridge, label: str, action: Action | None, step_id: int | None = None
    ) -> None:
        super().__init__(label)
        self._bridge = bridge
        self._action = action
        self.step_id = step_id
        self.result: Any = None
        self.error: BaseException | None = None

    def redo(self) -> None:
        b = self._bridge
        if b.syncing:
            return
        if self._action is None:
            b.replay(b.project.redo)
            return
        action, self._action = self._action, None
        before = b.project.undo_step()
        try:
            self.result = action(b.project)
        except Exception as e:  # handed back to the caller of push() by UndoBridge.run
            self.error = e
            self.setObsolete(True)
            return
        step = b.project.undo_step()
        if step is None or (before is not None and step.id == before.id):
            self.setObsolete(True)  # the edit changed nothing: the file made no step
            return
        self.step_id = step.id

    def undo(self) -> None:
        b = self._bridge
        if not b.syncing:
            b.replay(b.project.undo)


class UndoBridge(QObject):
    sig_error = Signal(str)

    def __init__(self, project: Project, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.stack = QUndoStack(self)
        self.syncing = False
        self.rebuild()

    # ---- editing ------------------------------------------------------------------------

    def run(self, label: str, action: Action) -> Any:
        """Do an edit as one undoable step; returns its result or raises its error."""
        cmd = ProjectCommand(self, label, action)
        self.stack.push(cmd)
        if cmd.error is not None:
            raise cmd.error
        return cmd.result

    def execute(self, command: Command) -> Any:
        return self.run(command.label, lambda p: p.execute(command))

    def group(self, label: str, fn: Callable[[Project], Any]) -> Any:
        """Several commands as one transaction and one undo step."""

        def action(p: Project) -> Any:
            with p.group(label):
                return fn(p)

        return self.run(label, action)

    def replay(self, fn: Callable[[], Any]) -> None:
        try:
            step = fn()
        except StoryloomError as e:
            self.sig_error.emit(str(e))
            step = None
        if step is None:  # the file had nothing to replay: the stack was stale
            QTimer.singleShot(0, self.sync)

    # ---- keeping the stack equal to the file ---------------------------------------------

    def in_sync(self) -> bool:
        done, undone = self.project.undo_step(), self.project.redo_step()
        idx, count = self.stack.index(), self.stack.count()
        top = self.stack.command(idx - 1) if idx > 0 else None
        nxt = self.stack.command(idx) if idx < count else None
        return getattr(top, "step_id", None) == (done.id if done else None) and getattr(
            nxt, "step_id", None
        ) == (undone.id if undone else None)

    def sync(self) -> None:
        if self.project.path.exists() and not self.in_sync():
            self.rebuild()

    def rebuild(self) -> None:
        steps = history_steps(self.project.path)
        done = [(i, label) for i, label, state in steps if state == "done"]
        undone = [(i, label) for i, label, state in steps if state == "undone"]
        self.syncing = True
        try:
            self.stack.clear()
            for step_id, label in done + undone:
                self.stack.push(ProjectCommand(self, label, None, step_id))
            self.stack.setIndex(len(done))
        finally:
            self.syncing = False
