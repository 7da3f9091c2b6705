"""The inspector dock: the current scene's form, or the project's settings when no scene is
selected."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QStackedWidget, QWidget

from ..document import ProjectDocument
from ..selection import Selection
from .project_form import ProjectForm
from .scene_form import SceneForm


class InspectorPanel(QScrollArea):
    def __init__(
        self, doc: ProjectDocument, selection: Selection, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.doc, self.selection = doc, selection
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        self.project_form = ProjectForm(doc)
        self.scene_form = SceneForm(doc)
        self.stack.addWidget(self.project_form)
        self.stack.addWidget(self.scene_form)
        self.setWidget(self.stack)
        # never narrower than the form (its rows are clipped rather than wrapped otherwise)
        self.setMinimumWidth(
            self.stack.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 4
        )
        selection.sig_changed.connect(self._selection_changed)
        doc.sig_changed.connect(self._changed)
        self._selection_changed()

    def _selection_changed(self) -> None:
        current = self.selection.current
        self.scene_form.bind(current)
        self.stack.setCurrentWidget(self.scene_form if current is not None else self.project_form)

    def _changed(self, tables: frozenset[str]) -> None:
        if self.selection.current is not None and self.doc.scene(self.selection.current) is None:
            return  # the scene went away; the selection follows on its own
        if tables & {"project", "*"}:
            self.project_form.refresh()
        if tables - {"render_jobs", "assets"}:
            self.scene_form.refresh()

    def focus_prompt(self) -> None:
        if self.selection.current is not None:
            self.scene_form.prompt.setFocus()
