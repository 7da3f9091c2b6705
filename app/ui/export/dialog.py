"""The export dialog (Ctrl+E): where to, which format and preset, quality, fit, transitions,
title and end cards, the whole film or the selected scenes; then a progress bar with ETA and
cancel while app.render exports on a worker. The window stays usable meanwhile."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.render import (
    FORMATS,
    PRESETS,
    ExportResult,
    Progress,
    RenderSettings,
    Transition,
    export_film,
)

from ..document import ProjectDocument
from ..inline_message import InlineMessage
from ..workers import TaskState

SUFFIX = {"mp4": ".mp4", "hevc": ".mp4", "webm": ".webm", "gif": ".gif", "png": "", "wav": ".wav"}
TRANSITIONS = {"Cut": "cut", "Crossfade": "crossfade", "Fade through black": "fade"}


class ExportDialog(QDialog):
    def __init__(
        self,
        doc: ProjectDocument,
        selected: tuple[int, ...] = (),
        folder: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setMinimumWidth(520)
        self.doc, self.selected = doc, selected
        self.task: TaskState | None = None
        self._cancel = threading.Event()
        self.result: ExportResult | None = None
        title = doc.project.info().title or "film"
        base = folder or doc.path.parent
        self.path = QLineEdit(str(base / f"{title}.mp4"))
        browse = QPushButton("Browse…")
        self.format = QComboBox()
        for name, fmt in FORMATS.items():
            self.format.addItem(fmt.description, name)
        self.preset = QComboBox()
        for name, p in PRESETS.items():
            self.preset.addItem(f"{name} — {p.description}", name)
        self.preset.setCurrentIndex(list(PRESETS).index("web-720p"))
        self.crf = QSpinBox(minimum=0, maximum=63, specialValueText="preset's quality")
        self.fit = QComboBox()
        self.fit.addItem("Fit (letterbox)", "fit")
        self.fit.addItem("Fill (crop)", "fill")
        self.transition = QComboBox()
        self.transition.addItems(list(TRANSITIONS))
        self.transition_s = QDoubleSpinBox(
            minimum=0.0, maximum=5.0, singleStep=0.25, value=0.5, suffix=" s"
        )
        self.title_card = QDoubleSpinBox(minimum=0.0, maximum=10.0, singleStep=0.5, suffix=" s")
        self.end_card = QDoubleSpinBox(minimum=0.0, maximum=10.0, singleStep=0.5, suffix=" s")
        self.only_selected = QCheckBox(f"Only the {len(selected)} selected scene(s)")
        self.only_selected.setEnabled(bool(selected))
        self.message = InlineMessage(hide_after_ms=60000)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.hide()
        self.status = QLabel("")
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        trans_row = QHBoxLayout()
        trans_row.addWidget(self.transition)
        trans_row.addWidget(self.transition_s)
        form = QFormLayout()
        form.addRow("Save to", path_row)
        form.addRow("Format", self.format)
        form.addRow("Preset", self.preset)
        form.addRow("Quality (CRF)", self.crf)
        form.addRow("Frame", self.fit)
        form.addRow("Cuts", trans_row)
        form.addRow("Title card", self.title_card)
        form.addRow("End card", self.end_card)
        form.addRow("", self.only_selected)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.message)
        box.addWidget(self.bar)
        box.addWidget(self.status)
        box.addWidget(self.buttons)
        browse.clicked.connect(self._browse)
        self.transition.currentTextChanged.connect(
            lambda t: self.transition_s.setEnabled(t != "Cut")
        )
        self.transition_s.setEnabled(False)
        self.format.currentIndexChanged.connect(lambda _: self._suffix())
        self.export_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.close_or_cancel)

    def _suffix(self) -> None:
        suffix = SUFFIX.get(self.format.currentData(), "")
        p = Path(self.path.text())
        self.path.setText(str(p.with_suffix(suffix) if suffix else p.with_suffix("")))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text())
        if path:
            self.path.setText(path)

    def settings(self) -> RenderSettings:
        kind = TRANSITIONS[self.transition.currentText()]
        return RenderSettings(
            preset=self.preset.currentData(),
            format=self.format.currentData(),
            crf=self.crf.value() or None,
            fit=self.fit.currentData(),
            transition=Transition(kind, self.transition_s.value() if kind != "cut" else 0.0),
            title_card=self.title_card.value(),
            end_card=self.end_card.value(),
            scenes=self.selected if self.only_selected.isChecked() else None,
        )

    def start(self) -> None:
        """Export on a worker; progress and the result come back here."""
        if self.task is not None:
            return
        try:
            settings = self.settings()
        except Exception as e:  # a RenderError from the settings' own checks
            self.message.show_message(str(e))
            return
        out = Path(self.path.text()).expanduser()
        project, cancel = self.doc.project, threading.Event()
        self._cancel = cancel
        self.message.clear_message()
        self.bar.setValue(0)
        self.bar.show()
        self.export_button.setEnabled(False)
        self.close_button.setText("Cancel")

        def work(state: TaskState) -> ExportResult:
            return export_film(project, out, settings, progress=state.set_partial, cancel=cancel)

        self.task = self.doc.workers.start(
            work, self._done, self._failed, on_partial=self._progress
        )

    def _progress(self, p: Progress) -> None:
        self.bar.setValue(int(p.fraction * 1000))
        eta = f", about {int(p.eta_s)} s left" if p.eta_s is not None else ""
        self.status.setText(f"{p.phase}: frame {p.frames_done} of {p.frames_total}{eta}")

    def _finish(self) -> None:
        self.task = None
        self.export_button.setEnabled(True)
        self.close_button.setText("Close")

    def _done(self, result: ExportResult) -> None:
        self._finish()
        self.result = result
        self.bar.setValue(1000)
        self.status.setText(
            f"Exported {result.path.name}: {result.width}×{result.height}, {result.duration:.1f} s in {result.seconds:.1f} s"
        )
        self.message.show_message(f"Saved {result.path}", "info", sticky=True)

    def _failed(self, message: str) -> None:
        self._finish()
        self.bar.hide()
        self.status.setText("")
        self.message.show_message(message, "error", sticky=True)

    def close_or_cancel(self) -> None:
        if self.task is not None:
            self._cancel.set()
            self.status.setText("Cancelling…")
        else:
            self.reject()

    def reject(self) -> None:
        if self.task is not None:  # closing the window cancels the export
            self._cancel.set()
            return
        super().reject()
