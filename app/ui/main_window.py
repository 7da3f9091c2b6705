"""The main window: opening, creating, copying and closing projects, the welcome page when none
is open, menus, preferences, export, and a clean shutdown (typing saved, generation stopped,
project closed). Every edit is already in the file, so there is no Save."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import diagnostics
from app.app_log import log_dir
from app.project import Project, StoryloomError

from . import actions
from .document import ProjectDocument
from .editor import Editor
from .export.dialog import ExportDialog
from .first_run import ensure_sample
from .inline_message import InlineMessage
from .preferences.dialog import PreferencesDialog
from .preferences.store import Preferences, prune_cache
from .undo_group import UndoGroup
from .workers import Workers

FILTER = "Storyloom projects (*.storyloom)"
log = logging.getLogger("storyloom.ui")


def copy_project(src: Path, dst: Path) -> None:
    """A consistent copy of a project (its media and history included) via SQLite's backup."""
    tmp = dst.with_name(f".{dst.name}.copying")
    tmp.unlink(missing_ok=True)
    try:
        with (
            sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True) as a,
            sqlite3.connect(tmp) as b,
        ):
            a.backup(b)
        tmp.replace(dst)
    except (sqlite3.Error, OSError) as e:
        tmp.unlink(missing_ok=True)
        raise StoryloomError(f"cannot write {dst.name}: {e}") from e


class Welcome(QWidget):
    def __init__(self, win: MainWindow) -> None:
        super().__init__()
        self.message = InlineMessage(hide_after_ms=600000)
        title = QLabel("Storyloom", alignment=Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 28px; font-weight: 600;")
        hint = QLabel(
            "Write a storyboard, generate its scenes, make a film.",
            objectName="Placeholder",
            alignment=Qt.AlignmentFlag.AlignCenter,
        )
        row = QHBoxLayout()
        row.addStretch(1)
        for text, fn in (
            ("New project…", win.new_project),
            ("Open…", win.open_dialog),
            ("Open the sample", win.open_sample),
        ):
            b = QPushButton(text)
            b.clicked.connect(fn)
            row.addWidget(b)
        row.addStretch(1)
        box = QVBoxLayout(self)
        box.addStretch(1)
        box.addWidget(title)
        box.addWidget(hint)
        box.addLayout(row)
        box.addWidget(self.message, 0, Qt.AlignmentFlag.AlignHCenter)
        box.addStretch(2)


class MainWindow(QMainWindow):
    def __init__(self, prefs: Preferences) -> None:
        super().__init__()
        self.prefs = prefs
        self.editor: Editor | None = None
        self.undo_group = UndoGroup(self)
        self.workers = Workers(1, self)
        self.setWindowTitle("Storyloom")
        self.resize(1440, 900)
        self.stack = QStackedWidget()
        self.welcome = Welcome(self)
        self.stack.addWidget(self.welcome)
        self.setCentralWidget(self.stack)
        self.engine_label = QLabel()
        self.statusBar().addPermanentWidget(self.engine_label)
        self.recent_menu = None
        self.panels_menu = None
        self.torch_offer = None  # the CUDA torch offer, when one is shown
        self.acts = actions.build(self)
        self._list_keys = actions.ListKeys(self)
        QApplication.instance().installEventFilter(self._list_keys)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._update_actions()
        geometry = prefs.q.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)

    # ---- projects ------------------------------------------------------------------------------

    def open_path(self, path: Path) -> bool:
        """Open a project for editing; a problem (locked, not a project, too new) is shown on
        the welcome page and nothing else changes."""
        self.close_project()
        try:
            project = Project.open(path, cache_dir=self.prefs.cache_dir())
        except StoryloomError as e:
            log.warning("could not open %s: %s", path, e)
            self.show_problem(str(e))
            return False
        log.info("opened %s", path)
        doc = ProjectDocument(project)
        self.editor = Editor(self, doc, self.prefs.engine().make)
        self.editor.timeline.context_actions = [
            self.acts[k] for k in ("generate", "duplicate", "split", "delete")
        ]
        self.editor.timeline.sig_message.connect(
            lambda text, _lvl: self.statusBar().showMessage(text, 8000)
        )
        self.editor.generator.sig_message.connect(
            lambda text, _lvl: self.statusBar().showMessage(text, 8000)
        )
        doc.sig_error.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.stack.addWidget(self.editor.central)
        self.stack.setCurrentWidget(self.editor.central)
        self.undo_group.add(doc.undo.stack)
        self._fill_panels_menu()
        self.prefs.add_recent(path)
        self.setWindowTitle(f"{project.info().title} — {path.name} — Storyloom")
        self.engine_label.setText(self.prefs.engine().describe())
        if project.upgraded_from is not None:
            self.statusBar().showMessage(
                f"Upgraded from an older Storyloom; a backup is at {project.backup_path}", 15000
            )
        elif project.interrupted_jobs:
            self.statusBar().showMessage(
                f"{len(project.interrupted_jobs)} job(s) were interrupted last time: see the render queue",
                15000,
            )
        self._update_actions()
        self.editor.timeline.fit()
        return True

    def show_problem(self, text: str) -> None:
        self.welcome.message.show_message(text, "error", sticky=True)
        self.statusBar().showMessage(text, 15000)

    def close_project(self) -> None:
        if self.editor is None:
            return
        editor, self.editor = self.editor, None
        self.undo_group.remove(editor.doc.undo.stack)
        editor.close()
        self.stack.setCurrentWidget(self.welcome)
        self.setWindowTitle("Storyloom")
        self.engine_label.setText("")
        self._update_actions()

    def new_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "New project", str(Path.home() / "Untitled.storyloom"), FILTER
        )
        if path:
            self.create_project(Path(path))

    def create_project(self, path: Path) -> bool:
        path = path if path.suffix == ".storyloom" else path.with_suffix(".storyloom")
        try:
            Project.create(
                path,
                path.stem,
                self.prefs.default_size(),
                self.prefs.default_fps(),
                self.prefs.cache_dir(),
            ).close()
        except StoryloomError as e:
            self.show_problem(str(e))
            return False
        return self.open_path(path)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", FILTER)
        if path:
            self.open_path(Path(path))

    def open_sample(self) -> None:
        try:
            self.open_path(ensure_sample(self.prefs.cache_dir()))
        except StoryloomError as e:
            self.show_problem(str(e))

    def open_initial(self, path: Path | None) -> None:
        """`storyloom FILE` opens FILE; with none, the last project, else the sample storyboard."""
        if path is not None:
            self.open_path(path)
            return
        last = self.prefs.last_project()
        if last is not None and self.open_path(last):
            return
        self.open_sample()

    def save_copy(self) -> None:
        if self.editor is None:
            return
        src = self.editor.doc.path
        dst, _ = QFileDialog.getSaveFileName(
            self, "Save a copy as", str(src.with_name(src.stem + " copy.storyloom")), FILTER
        )
        if dst:
            self.copy_to(Path(dst))

    def copy_to(self, dst: Path) -> None:
        assert self.editor is not None
        src = self.editor.doc.path
        if dst.resolve() == src.resolve():
            self.statusBar().showMessage(
                "That is this project's own file: every edit is already saved in it", 8000
            )
            return
        self.statusBar().showMessage(f"Copying to {dst.name}…")
        self.workers.start(
            lambda _st: copy_project(src, dst),
            on_done=lambda _r: self.statusBar().showMessage(f"Saved a copy as {dst}", 8000),
            on_failed=lambda msg: self.statusBar().showMessage(msg, 15000),
        )

    # ---- dialogs -------------------------------------------------------------------------------------

    def export_dialog(self) -> ExportDialog | None:
        if self.editor is None:
            return None
        dialog = ExportDialog(self.editor.doc, self.editor.selection.scene_ids, parent=self)
        dialog.show()
        return dialog

    def collect_diagnostics(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save diagnostics", str(diagnostics.default_path()), "Zip files (*.zip)"
        )
        if path:
            self.write_diagnostics(Path(path))

    def write_diagnostics(self, path: Path) -> Path | None:
        """The diagnostics zip (log, versions, system, redacted preferences) at PATH."""
        try:
            out = diagnostics.collect(path, log_dir(), self.prefs.path)
        except OSError as e:
            self.statusBar().showMessage(f"Could not write {path.name}: {e}", 15000)
            return None
        self.statusBar().showMessage(
            f"Diagnostics saved to {out}: attach it to your problem report", 15000
        )
        return out

    def preferences(self) -> None:
        dialog = PreferencesDialog(self.prefs, self)
        if dialog.exec():
            if self.editor is not None:
                self.editor.generator.set_engine_factory(self.prefs.engine().make)
                self.engine_label.setText(self.prefs.engine().describe())

    # ---- menus -----------------------------------------------------------------------------------------

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.prefs.recent():
            a = self.recent_menu.addAction(str(p))
            a.setEnabled(p.is_file())
            a.triggered.connect(lambda _=False, p=p: self.open_path(p))
        if not self.recent_menu.actions():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _fill_panels_menu(self) -> None:
        self.panels_menu.clear()
        if self.editor is not None:
            for dock in self.editor.docks.values():
                self.panels_menu.addAction(dock.toggleViewAction())

    def _update_actions(self) -> None:
        for a in self.acts.values():
            if a.property("needs_editor"):
                a.setEnabled(self.editor is not None)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.prefs.q.setValue("window/geometry", self.saveGeometry())
        self.close_project()
        self.workers.wait()
        if self.prefs.cache_mb():
            prune_cache(self.prefs.cache_dir(), self.prefs.cache_mb() * 2**20)
        QApplication.instance().removeEventFilter(self._list_keys)
        super().closeEvent(event)
