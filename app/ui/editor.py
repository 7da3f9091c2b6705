"""Everything that exists while one project is open: its document, selection and play head, and
the panels over it (timeline, preview, inspector, elements, media bin, render queue, history),
installed into the main window's docks and removed again when the project closes."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QSplitter, QUndoView, QWidget

from . import edits
from .document import ProjectDocument
from .elements.panel import ElementsPanel
from .inspector.panel import InspectorPanel
from .media_bin.panel import MediaBin
from .preview.player import PreviewPlayer
from .preview.transport import Transport
from .queue.controller import EngineFactory, GenerationController
from .queue.panel import RenderQueue
from .selection import Selection
from .timeline.view import TimelineView

DOCKS = (
    ("inspector", "Inspector", Qt.DockWidgetArea.RightDockWidgetArea),
    ("history", "History", Qt.DockWidgetArea.RightDockWidgetArea),
    ("media", "Media", Qt.DockWidgetArea.LeftDockWidgetArea),
    ("elements", "Elements", Qt.DockWidgetArea.LeftDockWidgetArea),
    ("queue", "Render queue", Qt.DockWidgetArea.BottomDockWidgetArea),
)


class Editor(QObject):
    def __init__(
        self, window: QMainWindow, doc: ProjectDocument, engine_factory: EngineFactory
    ) -> None:
        super().__init__(window)
        self.window, self.doc = window, doc
        self.selection = Selection(self)
        self.transport = Transport(self)
        self.generator = GenerationController(doc, engine_factory, self)
        self.timeline = TimelineView(doc, self.selection, self.transport)
        self.preview = PreviewPlayer(doc, self.selection, self.transport)
        self.inspector = InspectorPanel(doc, self.selection)
        self.elements = ElementsPanel(doc)
        self.media = MediaBin(doc)
        self.queue = RenderQueue(doc, self.selection, self.generator)
        self.history = QUndoView(doc.undo.stack)
        self.history.setEmptyLabel("<opened>")
        self.central = QSplitter(Qt.Orientation.Vertical)
        self.central.addWidget(self.preview)
        self.central.addWidget(self.timeline)
        self.central.setStretchFactor(0, 3)
        self.central.setStretchFactor(1, 2)
        self.docks: dict[str, QDockWidget] = {}
        widgets: dict[str, QWidget] = {
            "inspector": self.inspector,
            "history": self.history,
            "media": self.media,
            "elements": self.elements,
            "queue": self.queue,
        }
        for key, title, area in DOCKS:
            dock = QDockWidget(title, window, objectName=f"dock-{key}")
            dock.setWidget(widgets[key])
            window.addDockWidget(area, dock)
            self.docks[key] = dock
        window.tabifyDockWidget(self.docks["inspector"], self.docks["history"])
        window.tabifyDockWidget(self.docks["media"], self.docks["elements"])
        self.docks["inspector"].raise_()
        self.docks["media"].raise_()
        window.resizeDocks(
            [self.docks["inspector"], self.docks["media"]], [400, 300], Qt.Orientation.Horizontal
        )
        window.resizeDocks([self.docks["queue"]], [150], Qt.Orientation.Vertical)
        self.timeline.sig_scene_activated.connect(self._activate_scene)
        self.elements.sig_scene_activated.connect(self._activate_scene)
        self.inspector.scene_form.sig_generate.connect(
            lambda sid, n: self.generator.generate(sid, n)
        )
        self.inspector.scene_form.sig_play_take.connect(self.preview.play_take)
        self.generator.sig_progress.connect(lambda _p: self.timeline.update_states())

    def add_scene(self) -> int | None:
        """A new empty scene after the current one (or at the end), ready for its prompt."""
        current = (
            self.doc.scene(self.selection.current) if self.selection.current is not None else None
        )
        at = current.position + 1 if current is not None else None
        sid = self.timeline.run_edit(lambda: edits.add_scene(self.doc, at))
        if isinstance(sid, int):
            self._activate_scene(sid)
            return sid
        return None

    def _activate_scene(self, scene_id: int) -> None:
        self.timeline.select_scene(scene_id)
        self.docks["inspector"].raise_()
        self.inspector.focus_prompt()

    def close(self) -> None:
        """Save typing in progress, stop generating, close the project, remove the panels."""
        focus = QApplication.focusWidget()
        if focus is not None:
            focus.clearFocus()  # a field being edited commits now, while the file is open
        self.inspector.scene_form.commit_pending()
        self.transport.pause()
        self.preview.audio.stop()
        self.generator.shutdown()
        self.queue.stop()
        self.doc.close()
        for obj in (
            self.doc,
            self.doc.media,
            self.doc.undo,
            self.generator,
            self.transport,
            self.selection,
        ):
            obj.blockSignals(True)  # what was still queued must not reach the panels
        self.central.setEnabled(False)
        for dock in self.docks.values():
            dock.widget().setEnabled(False)
            self.window.removeDockWidget(dock)
            dock.deleteLater()
        self.central.deleteLater()
