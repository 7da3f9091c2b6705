"""The start-image slot of a scene: shows the image, takes an image dropped from the desktop or
the media bin (or chosen with a file dialog), and clears. It only asks; the inspector edits."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..media_cache import MediaCache
from ..media_import import IMAGE_EXT, media_kind
from ..timeline.dropping import MIME_ASSETS

SLOT = QSize(176, 99)


class ImageSlot(QWidget):
    sig_file = Signal(object)  # Path of an image file to import
    sig_asset = Signal(int)  # media already in the project
    sig_cleared = Signal()

    def __init__(self, media: MediaCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.media = media
        self.asset_id: int | None = None
        self.setAcceptDrops(True)
        self.picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.picture.setFixedSize(SLOT)
        self.picture.setStyleSheet(
            "QLabel { border: 1px dashed #5a616c; border-radius: 4px; color: #8a919c; }"
        )
        self.choose = QPushButton("Choose…")
        self.clear = QPushButton("Clear")
        self.choose.clicked.connect(self._choose)
        self.clear.clicked.connect(self.sig_cleared)
        buttons = QVBoxLayout()
        buttons.addWidget(self.choose)
        buttons.addWidget(self.clear)
        buttons.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.picture)
        row.addLayout(buttons)
        row.addStretch(1)
        media.sig_ready.connect(lambda aid: aid == self.asset_id and self._show())
        self.set_asset(None)

    def set_asset(self, asset_id: int | None) -> None:
        self.asset_id = asset_id
        self.clear.setEnabled(asset_id is not None)
        self._show()

    def _show(self) -> None:
        img = self.media.thumbnail(self.asset_id) if self.asset_id is not None else None
        if img is None:
            self.picture.setPixmap(QPixmap())
            self.picture.setText("Drop a start image here" if self.asset_id is None else "…")
            return
        pix = QPixmap.fromImage(img).scaled(
            SLOT, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.picture.setPixmap(pix)

    def _choose(self) -> None:
        pattern = " ".join(f"*{e}" for e in sorted(IMAGE_EXT))
        path, _ = QFileDialog.getOpenFileName(self, "Start image", "", f"Images ({pattern})")
        if path:
            self.sig_file.emit(Path(path))

    # ---- drops ---------------------------------------------------------------------------------

    def _image_file(self, mime) -> Path | None:  # type: ignore[no-untyped-def]
        for url in mime.urls():
            p = Path(url.toLocalFile())
            if url.isLocalFile() and media_kind(p) == "image":
                return p
        return None

    def dragEnterEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        mime = event.mimeData()
        if self._image_file(mime) is not None or mime.hasFormat(MIME_ASSETS):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        mime = event.mimeData()
        path = self._image_file(mime)
        if path is not None:
            self.sig_file.emit(path)
        elif mime.hasFormat(MIME_ASSETS):
            ids = json.loads(bytes(mime.data(MIME_ASSETS).data()).decode("utf-8"))
            if ids:
                self.sig_asset.emit(int(ids[0]))  # the inspector checks that it is an image
        event.acceptProposedAction()
