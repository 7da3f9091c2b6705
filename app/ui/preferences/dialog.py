"""Preferences: where the engine runs (a local process on this computer, or a remote engine at
a URL with its token), its device, the size and fps of new projects, and the cache size."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .store import DEVICES, EngineChoice, Preferences


class PreferencesDialog(QDialog):
    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.prefs = prefs
        e = prefs.engine()
        self.local = QRadioButton("On this computer (a local engine process)")
        self.remote = QRadioButton("A remote engine")
        (self.remote if e.mode == "remote" else self.local).setChecked(True)
        self.url = QLineEdit(e.url, placeholderText="http://gpu-box:8765")
        self.token = QLineEdit(e.token, echoMode=QLineEdit.EchoMode.Password)
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device.setCurrentText(e.device)
        self.model = QLineEdit(e.model, placeholderText="(the default model)")
        w, h = prefs.default_size()
        self.width_ = QSpinBox(minimum=16, maximum=8192, value=w)
        self.height_ = QSpinBox(minimum=16, maximum=8192, value=h)
        self.fps = QDoubleSpinBox(minimum=1, maximum=120, value=prefs.default_fps())
        self.cache = QSpinBox(minimum=64, maximum=1_000_000, value=prefs.cache_mb(), suffix=" MB")
        engine = QGroupBox("Engine")
        ef = QFormLayout(engine)
        ef.addRow(self.local)
        ef.addRow("Device", self.device)
        ef.addRow("Model folder", self.model)
        ef.addRow(self.remote)
        ef.addRow("URL", self.url)
        ef.addRow("Token", self.token)
        size = QHBoxLayout()
        size.addWidget(self.width_)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_)
        new = QGroupBox("New projects")
        nf = QFormLayout(new)
        nf.addRow("Frame size", size)
        nf.addRow("Frames/s", self.fps)
        nf.addRow("Media cache", self.cache)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addWidget(engine)
        box.addWidget(new)
        box.addWidget(buttons)
        self.local.toggled.connect(self._enable)
        self._enable()

    def _enable(self) -> None:
        local = self.local.isChecked()
        for w in (self.device, self.model):
            w.setEnabled(local)
        for w in (self.url, self.token):
            w.setEnabled(not local)

    def choice(self) -> EngineChoice:
        return EngineChoice(
            "local" if self.local.isChecked() else "remote",
            self.url.text().strip(),
            self.token.text().strip(),
            self.device.currentText(),
            self.model.text().strip(),
        )

    def accept(self) -> None:
        self.prefs.set_engine(self.choice())
        self.prefs.set_defaults((self.width_.value(), self.height_.value()), self.fps.value())
        self.prefs.set_cache_mb(self.cache.value())
        super().accept()
