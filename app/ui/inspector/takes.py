"""A scene's takes: every generation as a thumbnail with its seed and time; play one (double
click), choose one, delete one (Delete key, undoable), generate another or a few variations.
The chosen take is marked."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.project import SceneView, TakeView

from ..media_cache import MediaCache

ICON = QSize(120, 68)
VARIATIONS = (1, 2, 4)


def take_label(n: int, take: TakeView, chosen: bool) -> str:
    seed = f"seed {take.seed}" if take.seed is not None else "imported"
    when = time.strftime("%d %b %H:%M", time.localtime(take.created_at))
    return f"{'★ ' if chosen else ''}Take {n}\n{seed} · {when}"


class TakesList(QWidget):
    sig_choose = Signal(int)  # take id
    sig_play = Signal(int)  # take id
    sig_generate = Signal(int)  # how many new takes
    sig_delete = Signal(int)  # take id

    def __init__(self, media: MediaCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.media = media
        self.takes: list[TakeView] = []
        self.chosen: int | None = None
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(ICON)
        self.list.setGridSize(QSize(ICON.width() + 16, ICON.height() + 44))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setMinimumHeight(ICON.height() + 56)
        self.list.itemDoubleClicked.connect(
            lambda it: self.sig_play.emit(it.data(Qt.ItemDataRole.UserRole))
        )
        self.list.currentItemChanged.connect(self._update_buttons)
        self.play = QPushButton("Play")
        self.choose = QPushButton("Choose")
        self.delete = QPushButton("Delete")
        self.delete.setToolTip("Delete this take (undo brings it back)")
        self.list.installEventFilter(self)  # Delete/Backspace on the list deletes the take
        self.another = QPushButton("Generate another")
        self.variations = QToolButton(
            text="Variations", popupMode=QToolButton.ToolButtonPopupMode.InstantPopup
        )
        menu = QMenu(self.variations)
        for n in VARIATIONS:
            act = QAction(f"{n} seed{'s' * (n > 1)}", menu)
            act.triggered.connect(lambda _=False, n=n: self.sig_generate.emit(n))
            menu.addAction(act)
        self.variations.setMenu(menu)
        self.play.clicked.connect(
            lambda: self.selected() is not None and self.sig_play.emit(self.selected())
        )
        self.choose.clicked.connect(
            lambda: self.selected() is not None and self.sig_choose.emit(self.selected())
        )
        self.delete.clicked.connect(self._delete_selected)
        self.another.clicked.connect(lambda: self.sig_generate.emit(1))
        buttons = QHBoxLayout()
        for b in (self.play, self.choose, self.delete, self.another, self.variations):
            buttons.addWidget(b)
        buttons.addStretch(1)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.list)
        box.addLayout(buttons)
        media.sig_ready.connect(self._thumb_ready)
        self._update_buttons()

    def set_takes(self, scene: SceneView, takes: list[TakeView]) -> None:
        keep = self.selected()
        self.takes, self.chosen = takes, scene.chosen_take_id
        self.list.clear()
        for n, t in enumerate(takes, 1):
            item = QListWidgetItem(take_label(n, t, t.id == scene.chosen_take_id))
            item.setData(Qt.ItemDataRole.UserRole, t.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, t.asset_id)
            item.setIcon(self._icon(t.asset_id))
            if t.id == scene.chosen_take_id:
                item.setForeground(QColor(255, 214, 102))
            self.list.addItem(item)
            if t.id == (keep if keep is not None else scene.chosen_take_id):
                self.list.setCurrentItem(item)
        self._update_buttons()

    def selected(self) -> int | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _icon(self, asset_id: int) -> QIcon:
        img = self.media.thumbnail(asset_id)
        if img is None:
            pix = QPixmap(ICON)
            pix.fill(QColor(48, 52, 60))
            return QIcon(pix)
        return QIcon(QPixmap.fromImage(img))

    def _thumb_ready(self, asset_id: int) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole + 1) == asset_id:
                item.setIcon(self._icon(asset_id))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # The window's ListKeys hands Delete to a focused list as a plain key press.
        if (
            obj is self.list
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
        ):
            self._delete_selected()
            return True
        return super().eventFilter(obj, event)

    def _delete_selected(self) -> None:
        if self.selected() is not None:
            self.sig_delete.emit(self.selected())

    def _update_buttons(self) -> None:
        sel = self.selected()
        self.play.setEnabled(sel is not None)
        self.delete.setEnabled(sel is not None)
        self.choose.setEnabled(sel is not None and sel != self.chosen)
