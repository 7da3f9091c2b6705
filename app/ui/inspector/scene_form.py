"""The scene inspector: everything about the current scene, each change one edit (one undo
step) through the document; refreshed from the file after every change, so undo shows here too."""

from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.project import UNSET, ChooseTake, DeleteTake, EditScene, SceneView, StoryloomError

from ..document import ProjectDocument
from ..inline_message import InlineMessage
from .image_slot import ImageSlot
from .prompt_edit import PromptEdit
from .takes import TakesList

SEED_MAX = 2**31 - 1


class SceneForm(QWidget):
    sig_generate = Signal(int, int)  # scene id, takes
    sig_play_take = Signal(int)  # take id

    def __init__(self, doc: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.scene_id: int | None = None
        self._loading = False
        self.message = InlineMessage()
        self.title = QLineEdit(placeholderText="Untitled scene")
        self.prompt = PromptEdit(
            placeholder="What happens in this scene? Type @ to name an element"
        )
        self.prompt.setFixedHeight(96)
        self.negative = QLineEdit(placeholderText="What to avoid (optional)")
        self.duration = QDoubleSpinBox(
            minimum=0.1, maximum=600.0, singleStep=0.5, decimals=2, suffix=" s"
        )
        self.seed = QSpinBox(minimum=0, maximum=SEED_MAX)
        self.seed_lock = QCheckBox("Lock")
        self.seed_random = QPushButton("Randomise")
        self.image = ImageSlot(doc.media)
        self.elements = QListWidget()
        self.elements.setFixedHeight(84)
        self.carry = QCheckBox("Continue from the previous scene")
        self.strength = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        # per-scene overrides of the project's generation defaults (0: the project's value)
        self.steps = QSpinBox(minimum=0, maximum=500, specialValueText="project default")
        self.guidance = QDoubleSpinBox(
            minimum=0.0,
            maximum=50.0,
            singleStep=0.5,
            decimals=1,
            specialValueText="project default",
        )
        self.takes = TakesList(doc.media)
        self.generate = QPushButton("Generate scene")

        seed_row = QHBoxLayout()
        for w in (self.seed, self.seed_lock, self.seed_random):
            seed_row.addWidget(w)
        carry_row = QHBoxLayout()
        carry_row.addWidget(self.carry)
        carry_row.addWidget(self.strength)
        self.box = QGroupBox("Scene")
        form = QFormLayout(self.box)
        form.addRow("Title", self.title)
        form.addRow("Prompt", self.prompt)
        form.addRow("Avoid", self.negative)
        form.addRow("Duration", self.duration)
        form.addRow("Seed", seed_row)
        form.addRow("Start image", self.image)
        form.addRow("Elements", self.elements)
        form.addRow("Carry-over", carry_row)
        form.addRow("Steps", self.steps)
        form.addRow("Guidance", self.guidance)
        takes_box = QGroupBox("Takes")
        QVBoxLayout(takes_box).addWidget(self.takes)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self.message)
        outer.addWidget(self.box)
        outer.addWidget(takes_box)
        outer.addWidget(self.generate)
        outer.addStretch(1)

        self.title.editingFinished.connect(lambda: self._edit(title=self.title.text()))
        self.prompt.sig_committed.connect(lambda text: self._edit(prompt=text))
        self.negative.editingFinished.connect(
            lambda: self._edit(negative_prompt=self.negative.text())
        )
        self.duration.editingFinished.connect(
            lambda: self._edit(duration=round(self.duration.value(), 3))
        )
        self.seed.editingFinished.connect(
            lambda: self.seed_lock.isChecked() and self._edit(seed=self.seed.value())
        )
        self.seed_lock.toggled.connect(
            lambda on: self._edit(seed=self.seed.value() if on else None)
        )
        self.seed_random.clicked.connect(lambda: self._edit(seed=random.randrange(SEED_MAX)))
        self.image.sig_file.connect(self._import_image)
        self.image.sig_asset.connect(self._use_asset)
        self.image.sig_cleared.connect(lambda: self._edit(image_asset_id=None))
        self.elements.itemChanged.connect(self._elements_ticked)
        self.carry.toggled.connect(lambda on: self._edit(carry_over=on))
        self.strength.editingFinished.connect(
            lambda: self._edit(carry_over_strength=round(self.strength.value(), 3))
        )
        self.steps.editingFinished.connect(lambda: self._override("steps", self.steps.value()))
        self.guidance.editingFinished.connect(
            lambda: self._override("guidance", round(self.guidance.value(), 2))
        )
        self.takes.sig_choose.connect(self._choose)
        self.takes.sig_delete.connect(self._delete_take)
        self.takes.sig_play.connect(self.sig_play_take)
        self.takes.sig_generate.connect(
            lambda n: self.scene_id is not None and self.sig_generate.emit(self.scene_id, n)
        )
        self.generate.clicked.connect(
            lambda: self.scene_id is not None and self.sig_generate.emit(self.scene_id, 1)
        )

    # ---- model -> view --------------------------------------------------------------------------

    def bind(self, scene_id: int | None) -> None:
        if scene_id != self.scene_id:
            self.commit_pending()
            self.message.clear_message()
            self.scene_id = scene_id
        self.refresh()

    def commit_pending(self) -> None:
        """Save typing not yet committed (before the form shows another scene)."""
        if self.scene_id is not None and self.doc.scene(self.scene_id) is not None:
            self.prompt.commit()

    def refresh(self) -> None:
        s = self.doc.scene(self.scene_id) if self.scene_id is not None else None
        if s is None:
            return
        self._loading = True
        try:
            self._show(s)
        finally:
            self._loading = False

    def _show(self, s: SceneView) -> None:
        self.box.setTitle(f"Scene {s.position + 1}")
        names = [e.name for e in self.doc.elements()]
        self.prompt.set_names(names)
        self.prompt.set_text(s.prompt)
        for w, text in ((self.title, s.title), (self.negative, s.negative_prompt)):
            if not w.hasFocus() and w.text() != text:
                w.setText(text)
        if not self.duration.hasFocus():
            self.duration.setValue(s.duration)
        self.seed_lock.setChecked(s.seed is not None)
        if s.seed is not None and not self.seed.hasFocus():
            self.seed.setValue(s.seed)
        self.seed.setEnabled(s.seed is not None)
        self.image.set_asset(s.image_asset_id)
        self.elements.clear()
        having = {n.lower() for n in s.elements}
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if name.lower() in having else Qt.CheckState.Unchecked
            )
            self.elements.addItem(item)
        if not names:
            self.elements.addItem(
                QListWidgetItem("(no elements yet: add them in the Elements panel)")
            )
        self.carry.setChecked(s.carry_over)
        self.carry.setEnabled(s.position > 0)
        self.strength.setEnabled(s.carry_over and s.position > 0)
        if not self.strength.hasFocus():
            self.strength.setValue(s.carry_over_strength)
        for w, key in ((self.steps, "steps"), (self.guidance, "guidance")):
            if not w.hasFocus():
                w.setValue(s.generation.get(key) or 0)
        self.takes.set_takes(s, [self.doc.take(t) for t in s.takes])

    # ---- view -> model ----------------------------------------------------------------------------

    def _edit(self, **fields) -> None:  # type: ignore[no-untyped-def]
        if self._loading or self.scene_id is None:
            return
        s = self.doc.scene(self.scene_id)
        if s is None:
            return
        changed = {k: v for k, v in fields.items() if getattr(s, k, UNSET) != v}
        if not changed:
            return
        try:
            self.doc.execute(EditScene(self.scene_id, **changed))
        except StoryloomError as e:
            self.message.show_message(str(e))
            self.refresh()
        else:
            self.message.clear_message()

    def _override(self, key: str, value: float) -> None:
        s = self.doc.scene(self.scene_id) if self.scene_id is not None else None
        if s is None:
            return
        generation = {k: v for k, v in s.generation.items() if k != key}
        if value:  # 0 is "project default"
            generation[key] = value
        self._edit(generation=generation)

    def _elements_ticked(self, _item: QListWidgetItem) -> None:
        if self._loading:
            return
        names = [
            self.elements.item(i).text()
            for i in range(self.elements.count())
            if self.elements.item(i).checkState() == Qt.CheckState.Checked
        ]
        s = self.doc.scene(self.scene_id) if self.scene_id is not None else None
        if s is not None and sorted(n.lower() for n in names) != sorted(
            n.lower() for n in s.elements
        ):
            self._edit(elements=names)

    def _import_image(self, path: Path) -> None:
        sid = self.scene_id
        self.message.show_message(f"Importing {path.name}…", "info", sticky=True)

        def done(items) -> None:  # type: ignore[no-untyped-def]
            self.message.clear_message()
            if sid == self.scene_id and items:
                self._edit(image_asset_id=items[0].asset_id)

        self.doc.import_files([path], done, lambda msg: self.message.show_message(msg))

    def _use_asset(self, asset_id: int) -> None:
        if self.doc.asset(asset_id).kind != "image":
            self.message.show_message("Only an image can be a start image")
            return
        self._edit(image_asset_id=asset_id)

    def _delete_take(self, take_id: int) -> None:
        try:
            self.doc.execute(DeleteTake(take_id))
        except StoryloomError as e:
            self.message.show_message(str(e))

    def _choose(self, take_id: int) -> None:
        if self.scene_id is None:
            return
        try:
            self.doc.execute(ChooseTake(self.scene_id, take_id))
        except StoryloomError as e:
            self.message.show_message(str(e))
