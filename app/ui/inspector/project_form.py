"""The project's settings, shown in the inspector when no scene is selected: title, frame size,
fps, the style prompt shared by every scene, and the generation defaults (steps, guidance) that
each scene's request uses."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.project import EditSettings, StoryloomError

from ..document import ProjectDocument
from ..inline_message import InlineMessage
from .prompt_edit import PromptEdit


class ProjectForm(QWidget):
    def __init__(self, doc: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self._loading = False
        self.message = InlineMessage()
        self.title = QLineEdit()
        self.width_ = QSpinBox(minimum=16, maximum=8192, singleStep=16)
        self.height_ = QSpinBox(minimum=16, maximum=8192, singleStep=16)
        self.fps = QDoubleSpinBox(minimum=1.0, maximum=120.0, decimals=3)
        self.style_prompt = PromptEdit(
            placeholder="A look shared by every scene, e.g. 'flat colours, soft light'"
        )
        self.style_prompt.setFixedHeight(70)
        self.steps = QSpinBox(minimum=0, maximum=200, specialValueText="model default")
        self.guidance = QDoubleSpinBox(
            minimum=0.0, maximum=30.0, singleStep=0.5, decimals=1, specialValueText="model default"
        )
        size = QHBoxLayout()
        size.addWidget(self.width_)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_)
        box = QGroupBox("Project")
        form = QFormLayout(box)
        form.addRow("Title", self.title)
        form.addRow("Frame size", size)
        form.addRow("Frames/s", self.fps)
        form.addRow("Style", self.style_prompt)
        gen = QGroupBox("Generation defaults")
        gform = QFormLayout(gen)
        gform.addRow("Steps", self.steps)
        gform.addRow("Guidance", self.guidance)
        hint = QLabel(
            "Select a scene on the timeline to edit it.", objectName="Placeholder", wordWrap=True
        )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self.message)
        outer.addWidget(box)
        outer.addWidget(gen)
        outer.addWidget(hint)
        outer.addStretch(1)
        self.title.editingFinished.connect(lambda: self._edit(title=self.title.text()))
        self.width_.editingFinished.connect(lambda: self._edit(width=self.width_.value()))
        self.height_.editingFinished.connect(lambda: self._edit(height=self.height_.value()))
        self.fps.editingFinished.connect(lambda: self._edit(fps=self.fps.value()))
        self.style_prompt.sig_committed.connect(lambda text: self._edit(style_prompt=text))
        self.steps.editingFinished.connect(
            lambda: self._generation("steps", self.steps.value() or None)
        )
        self.guidance.editingFinished.connect(
            lambda: self._generation("guidance", self.guidance.value() or None)
        )
        self.refresh()

    def refresh(self) -> None:
        info = self.doc.project.info()
        self._loading = True
        try:
            for w, v in (
                (self.width_, info.width),
                (self.height_, info.height),
                (self.steps, info.generation.get("steps") or 0),
            ):
                if not w.hasFocus():
                    w.setValue(int(v))
            if not self.title.hasFocus():
                self.title.setText(info.title)
            if not self.fps.hasFocus():
                self.fps.setValue(info.fps)
            if not self.guidance.hasFocus():
                self.guidance.setValue(float(info.generation.get("guidance") or 0.0))
            self.style_prompt.set_text(info.style_prompt)
        finally:
            self._loading = False

    def _edit(self, **fields: Any) -> None:
        if self._loading:
            return
        info = self.doc.project.info()
        changed = {k: v for k, v in fields.items() if getattr(info, k) != v}
        if not changed:
            return
        try:
            self.doc.execute(EditSettings(**changed))
        except StoryloomError as e:
            self.message.show_message(str(e))
            self.refresh()

    def _generation(self, key: str, value: Any) -> None:
        if self._loading:
            return
        gen = dict(self.doc.project.info().generation)
        if gen.get(key) == value:
            return
        if value is None:
            gen.pop(key, None)
        else:
            gen[key] = value
        self._edit(generation=gen)
