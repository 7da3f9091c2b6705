"""The render queue dock: one row per job (newest first) with its status, progress, elapsed
time, ETA and error text in place; the live preview frame the engine sends; generate, cancel the
selected job or all, retry. Interrupted jobs from a session that died are shown as such."""

from __future__ import annotations

import base64
import time

from PySide6.QtCore import QModelIndex, QSize, Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.engine_client import Progress
from app.project import JobView

from ..document import ProjectDocument
from ..inline_message import InlineMessage
from ..selection import Selection
from ..timeline.items import first_words
from .controller import GenerationController

COLUMNS = ("Scene", "Status", "Progress", "Elapsed", "ETA", "Message")
PROGRESS_COL = 2
SHOWN_JOBS = 300
PREVIEW = QSize(160, 90)


def clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class ProgressDelegate(QStyledItemDelegate):
    def sizeHint(self, option, index: QModelIndex) -> QSize:  # type: ignore[no-untyped-def]
        hint = super().sizeHint(option, index)
        return QSize(hint.width(), max(hint.height(), 22))

    def paint(self, painter, option, index: QModelIndex) -> None:  # type: ignore[no-untyped-def]
        value = index.data(Qt.ItemDataRole.UserRole)
        if value is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum, bar.progress = 0, 100, int(value * 100)
        bar.text, bar.textVisible = f"{int(value * 100)}%", True
        QApplication.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class RenderQueue(QWidget):
    def __init__(
        self,
        doc: ProjectDocument,
        selection: Selection,
        generator: GenerationController,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.doc, self.selection, self.generator = doc, selection, generator
        self.message = InlineMessage(hide_after_ms=15000)
        self.preview = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.preview.setFixedSize(PREVIEW)
        self.preview.setStyleSheet(
            "QLabel { background: #0a0b0d; color: #8a919c; border-radius: 3px; }"
        )
        self.preview.setText("no generation")
        self.now = QLabel("", wordWrap=True)
        self.b_generate = QPushButton("Generate scene")
        self.b_missing = QPushButton("Generate all missing")
        self.b_from = QPushButton("Regenerate from here")
        self.b_cancel_job = QPushButton("Cancel job")
        self.b_cancel_job.setToolTip(
            "Cancel the selected job's scene; the rest of the queue goes on"
        )
        self.b_cancel = QPushButton("Cancel all")
        self.b_retry = QPushButton("Retry")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setItemDelegateForColumn(PROGRESS_COL, ProgressDelegate(self.tree))
        for col, width in enumerate((200, 80, 110, 56, 56)):
            self.tree.setColumnWidth(col, width)
        buttons = QVBoxLayout()
        for b in (
            self.b_generate,
            self.b_missing,
            self.b_from,
            self.b_cancel_job,
            self.b_cancel,
            self.b_retry,
        ):
            buttons.addWidget(b)
        buttons.addStretch(1)
        side = QVBoxLayout()
        side.addWidget(self.preview)
        side.addWidget(self.now)
        side.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(side)
        body.addWidget(self.tree, 1)
        body.addLayout(buttons)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addWidget(self.message)
        box.addLayout(body)
        self.b_generate.clicked.connect(self.generate_current)
        self.b_missing.clicked.connect(generator.render_missing)
        self.b_from.clicked.connect(self.render_from_current)
        self.b_cancel.clicked.connect(generator.cancel)
        self.b_cancel_job.clicked.connect(self.cancel_selected)
        self.b_retry.clicked.connect(self.retry_selected)
        self.tree.currentItemChanged.connect(lambda *_: self._buttons())
        generator.sig_progress.connect(self._progress)
        generator.sig_busy.connect(lambda _b: self._buttons())
        generator.sig_message.connect(lambda text, level: self.message.show_message(text, level))
        doc.sig_changed.connect(lambda t: t & {"render_jobs", "scenes", "*"} and self.refresh())
        selection.sig_changed.connect(self._buttons)
        self._tick = QTimer(self, interval=1000)
        self._tick.timeout.connect(self.refresh)
        self._tick.start()
        self.refresh()
        interrupted = doc.project.interrupted_jobs
        if interrupted:
            self.message.show_message(
                f"{len(interrupted)} job(s) were interrupted when Storyloom last stopped; select one and press Retry",
                "error",
                sticky=True,
            )

    def stop(self) -> None:
        self._tick.stop()

    # ---- actions ----------------------------------------------------------------------------

    def generate_current(self) -> None:
        if self.selection.current is None:
            self.message.show_message("Select a scene to generate", "info")
            return
        for sid in self.selection.scene_ids or (self.selection.current,):
            self.generator.generate(sid)

    def render_from_current(self) -> None:
        if self.selection.current is None:
            self.message.show_message("Select the scene to regenerate from", "info")
            return
        self.generator.render_from(self.selection.current)

    def selected_job(self) -> int | None:
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def cancel_selected(self) -> None:
        jid = self.selected_job()
        if jid is None:
            return
        job = self.doc.project.job(jid)
        if job.status in ("queued", "running") and job.scene_id is not None:
            self.generator.cancel_scene(job.scene_id)

    def retry_selected(self) -> None:
        job_id = self.selected_job()
        if job_id is not None:
            self.generator.retry(job_id)

    def _buttons(self) -> None:
        has_scene = self.selection.current is not None
        self.b_generate.setEnabled(has_scene)
        self.b_from.setEnabled(has_scene)
        self.b_cancel.setEnabled(self.generator.busy)
        job_id = self.selected_job()
        job = next((j for j in self.doc.jobs() if j.id == job_id), None)
        self.b_retry.setEnabled(
            job is not None and job.status in ("failed", "cancelled") and job.scene_id is not None
        )
        self.b_cancel_job.setEnabled(
            self.generator.busy
            and job is not None
            and job.status in ("queued", "running")
            and job.scene_id is not None
        )

    # ---- view ----------------------------------------------------------------------------------

    def _scene_label(self, job: JobView) -> str:
        s = self.doc.scene(job.scene_id) if job.scene_id is not None else None
        if s is None:
            return "(removed scene)"
        return f"{s.position + 1}. {first_words(s.prompt, 5) or '(no prompt)'}"

    def _row(self, job: JobView) -> list[str]:
        live = self.generator.last.get(job.id)
        end = job.finished_at or time.time()
        elapsed = end - job.started_at if job.started_at else None
        eta = live.eta_s if live is not None and job.status == "running" else None
        status = "interrupted" if job.interrupted else job.status
        return [self._scene_label(job), status, "", clock(elapsed), clock(eta), job.error]

    def refresh(self) -> None:
        keep = self.selected_job()
        jobs = list(reversed(self.doc.jobs()))[:SHOWN_JOBS]
        if self.tree.topLevelItemCount() != len(jobs):
            self.tree.clear()
            for _ in jobs:
                self.tree.addTopLevelItem(QTreeWidgetItem())
        for i, job in enumerate(jobs):
            item = self.tree.topLevelItem(i)
            for col, text in enumerate(self._row(job)):
                if item.text(col) != text:
                    item.setText(col, text)
            item.setData(0, Qt.ItemDataRole.UserRole, job.id)
            live = self.generator.last.get(job.id)
            progress = (
                live.progress if live is not None and job.status == "running" else job.progress
            )
            item.setData(PROGRESS_COL, Qt.ItemDataRole.UserRole, progress)
            item.setToolTip(5, job.error)
            if job.id == keep:
                self.tree.setCurrentItem(item)
        self._buttons()

    def _progress(self, p: Progress) -> None:
        s = self.doc.scene(p.scene_id)
        where = f"Scene {s.position + 1}" if s is not None else "A scene"
        if p.status == "running":
            self.now.setText(
                f"{where}: step {p.step}/{p.steps}"
                + (f", {clock(p.eta_s)} left" if p.eta_s else "")
            )
        else:
            self.now.setText(f"{where}: {p.status}")
        if p.preview:
            img = QImage.fromData(base64.b64decode(p.preview))
            if not img.isNull():
                self.preview.setPixmap(
                    QPixmap.fromImage(img).scaled(PREVIEW, Qt.AspectRatioMode.KeepAspectRatio)
                )
        self.refresh()
