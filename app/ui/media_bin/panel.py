"""The media bin: every image, video and audio file stored in the project (imported in any
session, or generated), with its thumbnail, kind, size and duration; filter by kind; drag onto
the timeline or a start-image slot."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.project import AssetView

from ..document import ProjectDocument
from ..inline_message import InlineMessage
from ..media_import import AUDIO_EXT, IMAGE_EXT, VIDEO_EXT
from ..timeline.dropping import MIME_ASSETS

ICON = QSize(96, 54)
KINDS = {"All media": None, "Images": "image", "Videos": "video", "Audio": "audio"}
RELEVANT = {"scenes", "takes", "elements", "element_images", "audio_clips", "assets", "*"}


def describe(a: AssetView) -> str:
    bits = [a.kind]
    if a.width and a.height:
        bits.append(f"{a.width}×{a.height}")
    if a.duration:
        bits.append(f"{a.duration:.1f} s")
    return f"{a.original_name or a.kind}\n{' · '.join(bits)}"


class AssetList(QListWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(ICON)
        self.setGridSize(QSize(ICON.width() + 48, ICON.height() + 40))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setWordWrap(True)
        self.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QListWidget.DragDropMode.DragOnly)

    def mimeTypes(self) -> list[str]:
        return [MIME_ASSETS]

    def mimeData(self, items) -> QMimeData:  # type: ignore[no-untyped-def, override]
        mime = QMimeData()
        ids = [it.data(Qt.ItemDataRole.UserRole) for it in items]
        mime.setData(MIME_ASSETS, json.dumps(ids).encode("utf-8"))
        return mime


class MediaBin(QWidget):
    def __init__(self, doc: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.message = InlineMessage()
        self.filter = QComboBox()
        self.filter.addItems(list(KINDS))
        self.import_button = QPushButton("Import…")
        self.list = AssetList()
        top = QHBoxLayout()
        top.addWidget(self.filter)
        top.addStretch(1)
        top.addWidget(self.import_button)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addLayout(top)
        box.addWidget(self.message)
        box.addWidget(self.list)
        self.filter.currentTextChanged.connect(lambda _: self.refresh())
        self.import_button.clicked.connect(self._import)
        doc.sig_changed.connect(lambda tables: tables & RELEVANT and self.refresh())
        doc.media.sig_ready.connect(self._thumb_ready)
        self.refresh()

    def asset_ids(self) -> list[int]:
        """Everything stored in the project file (imported in any session, or generated),
        oldest first; the project keeps media until the file is compacted."""
        return [a.id for a in self.doc.assets()]

    def refresh(self) -> None:
        kind = KINDS[self.filter.currentText()]
        self.list.clear()
        for aid in self.asset_ids():
            a = self.doc.asset(aid)
            if kind is not None and a.kind != kind:
                continue
            item = QListWidgetItem(self._icon(a), describe(a))
            item.setData(Qt.ItemDataRole.UserRole, a.id)
            item.setToolTip(describe(a).replace("\n", " — "))
            self.list.addItem(item)

    def _icon(self, a: AssetView) -> QIcon:
        img = self.doc.media.thumbnail(a.id)
        if img is not None:
            return QIcon(QPixmap.fromImage(img))
        pix = QPixmap(ICON)
        pix.fill(QColor(46, 122, 96) if a.kind == "audio" else QColor(60, 64, 72))
        return QIcon(pix)

    def _thumb_ready(self, asset_id: int) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == asset_id:
                item.setIcon(self._icon(self.doc.asset(asset_id)))

    def _import(self) -> None:
        exts = " ".join(f"*{e}" for e in sorted(IMAGE_EXT | VIDEO_EXT | AUDIO_EXT))
        paths, _ = QFileDialog.getOpenFileNames(self, "Import media", "", f"Media ({exts})")
        if paths:
            self.import_paths([Path(p) for p in paths])

    def import_paths(self, paths: list[Path]) -> None:
        self.message.show_message(f"Importing {len(paths)} file(s)…", "info", sticky=True)
        self.doc.import_files(
            paths, lambda _items: self.message.clear_message(), self.message.show_message
        )
