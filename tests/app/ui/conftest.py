"""Fixtures for the editor's tests: real widgets offscreen on real project files, real drops
(QMimeData with file URLs in QDropEvents), real media made by the tests."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from app.project import Project  # noqa: E402
from app.ui import theme  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.preferences.store import Preferences  # noqa: E402


@pytest.fixture
def prefs(tmp_path: Path) -> Preferences:
    p = Preferences(tmp_path / "prefs" / "editor.ini")
    p.q.setValue("cache/dir", str(tmp_path / "cache"))
    return p


@pytest.fixture
def window(qtbot, prefs: Preferences):  # type: ignore[no-untyped-def]
    theme.apply(QApplication.instance())
    w = MainWindow(prefs)
    w.resize(1280, 800)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


@pytest.fixture
def editor(window, project_file: Path):  # type: ignore[no-untyped-def]
    assert window.open_path(project_file)
    return window.editor


def settle(qtbot, editor=None, ms: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Let queued signals run (and worker tasks finish)."""
    if editor is not None:
        qtbot.waitUntil(lambda: not editor.doc.workers.busy, timeout=15000)
    QApplication.processEvents()
    if ms:
        qtbot.wait(ms)
    QApplication.processEvents()


def file_mime(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drop(widget: QWidget, mime: QMimeData, pos: QPoint) -> QDropEvent:
    """The events a real drag and drop sends: enter, move, drop."""
    actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, actions, mime, buttons, mods)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the drop target refused the drag"
    QApplication.sendEvent(widget, QDragMoveEvent(pos, actions, mime, buttons, mods))
    event = QDropEvent(QPointF(pos), actions, mime, buttons, mods)
    QApplication.sendEvent(widget, event)
    return event


def reopen(path: Path) -> Project:
    """The file as another reader sees it (read-only: the editor still holds the lock)."""
    return Project.open(path, readonly=True)
