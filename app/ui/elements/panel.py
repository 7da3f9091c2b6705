"""The elements panel: the characters, props, places and styles a storyboard reuses, each with a
name, a description and reference images (drop images on an element to add them), and the
scenes that use it. Drag an element onto a scene card to put it in that scene."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.project import AddElement, EditElement, ElementView, RemoveElement, StoryloomError
from app.project.models import ELEMENT_KINDS

from ..document import ProjectDocument
from ..inline_message import InlineMessage
from ..inspector.prompt_edit import PromptEdit
from ..media_import import media_kind
from ..timeline.dropping import MIME_ELEMENT

ICON = QSize(48, 48)


class ElementList(QListWidget):
    """Elements to pick and drag; image files dropped on one become its reference images."""

    sig_images_dropped = Signal(int, object)  # element id, [Path]

    def __init__(self) -> None:
        super().__init__()
        self.setIconSize(ICON)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QListWidget.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)

    def mimeTypes(self) -> list[str]:
        return [MIME_ELEMENT, "text/uri-list"]

    def mimeData(self, items) -> QMimeData:  # type: ignore[no-untyped-def, override]
        mime = QMimeData()
        if items:
            mime.setData(MIME_ELEMENT, items[0].data(Qt.ItemDataRole.UserRole + 1).encode("utf-8"))
        return mime

    def _images(self, event) -> list[Path]:  # type: ignore[no-untyped-def]
        return [
            Path(u.toLocalFile())
            for u in event.mimeData().urls()
            if u.isLocalFile() and media_kind(Path(u.toLocalFile())) == "image"
        ]

    def dragEnterEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if self._images(event):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if self._images(event):
            event.setAccepted(self.itemAt(event.position().toPoint()) is not None)
        else:
            event.ignore()  # elements are not reordered here

    def dropEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        item = self.itemAt(event.position().toPoint())
        images = self._images(event)
        if item is not None and images:
            self.sig_images_dropped.emit(item.data(Qt.ItemDataRole.UserRole), images)
            event.acceptProposedAction()
        else:
            event.ignore()


class ElementsPanel(QWidget):
    sig_scene_activated = Signal(int)

    def __init__(self, doc: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self._loading = False
        self.message = InlineMessage()
        self.list = ElementList()
        self.add = QPushButton("Add element")
        self.remove = QPushButton("Remove")
        self.name = QLineEdit()
        self.kind = QComboBox()
        self.kind.addItems(list(ELEMENT_KINDS))
        self.description = PromptEdit(
            placeholder="What it looks like; the engine also sees its images"
        )
        self.description.setFixedHeight(60)
        self.images = QListWidget()
        self.images.setViewMode(QListWidget.ViewMode.IconMode)
        self.images.setIconSize(ICON)
        self.images.setFixedHeight(ICON.height() + 18)
        self.used_by = QListWidget()
        left = QWidget()
        lbox = QVBoxLayout(left)
        lbox.setContentsMargins(0, 0, 0, 0)
        lbox.addWidget(self.list)
        row = QHBoxLayout()
        row.addWidget(self.add)
        row.addWidget(self.remove)
        lbox.addLayout(row)
        self.editor = QWidget()
        form = QFormLayout(self.editor)
        form.addRow("Name", self.name)
        form.addRow("Kind", self.kind)
        form.addRow("Description", self.description)
        form.addRow("Images", self.images)
        form.addRow("Used by", self.used_by)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.editor)
        split.setStretchFactor(1, 2)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.message)
        outer.addWidget(split)
        self.add.clicked.connect(self.add_element)
        self.remove.clicked.connect(self.remove_element)
        self.list.currentItemChanged.connect(lambda *_: self._show_current())
        self.list.sig_images_dropped.connect(self.add_images)
        self.name.editingFinished.connect(lambda: self._edit(name=self.name.text().strip()))
        self.kind.currentTextChanged.connect(lambda k: self._edit(kind=k))
        self.description.sig_committed.connect(lambda text: self._edit(description=text))
        self.used_by.itemDoubleClicked.connect(
            lambda it: self.sig_scene_activated.emit(it.data(Qt.ItemDataRole.UserRole))
        )
        doc.sig_changed.connect(self._changed)
        doc.media.sig_ready.connect(lambda _id: self._refresh_icons())
        self.refresh()

    # ---- model -> view ---------------------------------------------------------------------------

    def current(self) -> ElementView | None:
        item = self.list.currentItem()
        eid = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return next((e for e in self.doc.elements() if e.id == eid), None)

    def _changed(self, tables: frozenset[str]) -> None:
        if tables & {"elements", "element_images", "scene_elements", "scenes", "*"}:
            self.refresh()

    def refresh(self) -> None:
        keep = self.current()
        self._loading = True
        try:
            self.list.clear()
            for e in self.doc.elements():
                item = QListWidgetItem(f"{e.name}\n{e.kind}")
                item.setData(Qt.ItemDataRole.UserRole, e.id)
                item.setData(Qt.ItemDataRole.UserRole + 1, e.name)
                item.setIcon(self._icon(e.image_asset_ids[0] if e.image_asset_ids else None))
                self.list.addItem(item)
                if keep is not None and e.id == keep.id:
                    self.list.setCurrentItem(item)
            if self.list.currentItem() is None and self.list.count():
                self.list.setCurrentRow(0)
        finally:
            self._loading = False
        self._show_current()

    def _icon(self, asset_id: int | None) -> QIcon:
        img = self.doc.media.thumbnail(asset_id) if asset_id is not None else None
        if img is None:
            pix = QPixmap(ICON)
            pix.fill(QColor(60, 64, 72))
            return QIcon(pix)
        return QIcon(QPixmap.fromImage(img))

    def _refresh_icons(self) -> None:
        by_id = {e.id: e for e in self.doc.elements()}
        for i in range(self.list.count()):
            e = by_id.get(self.list.item(i).data(Qt.ItemDataRole.UserRole))
            if e is not None and e.image_asset_ids:
                self.list.item(i).setIcon(self._icon(e.image_asset_ids[0]))
        e = self.current()
        if e is not None:
            for i, aid in enumerate(e.image_asset_ids[: self.images.count()]):
                self.images.item(i).setIcon(self._icon(aid))

    def _show_current(self) -> None:
        e = self.current()
        self.editor.setEnabled(e is not None)
        self.remove.setEnabled(e is not None)
        self._loading = True
        try:
            self.images.clear()
            self.used_by.clear()
            if e is None:
                self.name.clear()
                return
            if not self.name.hasFocus():
                self.name.setText(e.name)
            self.kind.setCurrentText(e.kind)
            self.description.set_text(e.description)
            for aid in e.image_asset_ids:
                self.images.addItem(QListWidgetItem(self._icon(aid), ""))
            for s in self.doc.scenes():
                if e.name.lower() in {n.lower() for n in s.elements}:
                    item = QListWidgetItem(
                        f"Scene {s.position + 1}: {s.prompt[:40] or '(no prompt)'}"
                    )
                    item.setData(Qt.ItemDataRole.UserRole, s.id)
                    self.used_by.addItem(item)
        finally:
            self._loading = False

    # ---- view -> model -----------------------------------------------------------------------------

    def _run(self, command) -> object:  # type: ignore[no-untyped-def]
        try:
            result = self.doc.execute(command)
        except StoryloomError as e:
            self.message.show_message(str(e))
            self.refresh()
            return None
        self.message.clear_message()
        return result

    def add_element(self) -> int | None:
        names = {e.name.lower() for e in self.doc.elements()}
        n = len(names) + 1
        while f"element{n}" in names:
            n += 1
        eid = self._run(AddElement(name=f"Element{n}", kind="character"))
        if eid is not None:
            self.refresh()
            self.select(int(eid))
            self.name.setFocus()
            self.name.selectAll()
        return eid  # type: ignore[return-value]

    def select(self, element_id: int) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == element_id:
                self.list.setCurrentRow(i)

    def remove_element(self) -> None:
        e = self.current()
        if e is not None:
            self._run(RemoveElement(e.id))

    def _edit(self, **fields) -> None:  # type: ignore[no-untyped-def]
        e = self.current()
        if self._loading or e is None:
            return
        changed = {k: v for k, v in fields.items() if getattr(e, k) != v}
        if changed:
            self._run(EditElement(e.id, **changed))

    def add_images(self, element_id: int, paths: list[Path]) -> None:
        """Decode on a worker first; a file that is not an image changes nothing."""
        self.message.show_message(f"Importing {len(paths)} image(s)…", "info", sticky=True)

        def done(items) -> None:  # type: ignore[no-untyped-def]
            self.message.clear_message()
            bad = [i.path.name for i in items if i.kind != "image"]
            if bad:
                self.message.show_message(f"{bad[0]}: only images can be reference images")
                return
            self._run(EditElement(element_id, add_images=[i.path for i in items]))

        self.doc.import_files(paths, done, self.message.show_message)
