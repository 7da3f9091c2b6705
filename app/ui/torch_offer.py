"""The offer of the CUDA build of torch (a bundle on a machine with an NVIDIA GPU), and its
install: pip in a QProcess, so the window stays live, with its last line shown, and Cancel.
Whether to offer, the command and the pin are `app.engine_client.torch_env`'s."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.engine_client import launch, torch_env

from .preferences.store import Preferences

DECLINED_KEY = "gpu/cuda_torch_declined"


class TorchOfferDialog(QDialog):
    """Non-modal. `command` is the pip command line (built by torch_env.install_command)."""

    sig_finished = Signal(bool)  # True: installed and pinned

    def __init__(
        self,
        command: list[str],
        version: str,
        tag: str,
        data: Path,
        prefs: Preferences | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.command, self.version, self.tag, self.data, self.prefs = (
            command,
            version,
            tag,
            data,
            prefs,
        )
        self.setWindowTitle("Use your NVIDIA GPU")
        self.setModal(False)
        self.text = QLabel(
            f"Storyloom found an NVIDIA GPU. Generating on it is many times faster, but needs "
            f"the CUDA build of PyTorch {version} ({tag}, about 3 GB to download). Install it "
            f"now? It goes into {data / torch_env.TORCH_DIR} and is used from then on."
        )
        self.text.setWordWrap(True)
        self.status = QLabel("", objectName="Placeholder")
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # pip gives no overall fraction: busy
        self.bar.hide()
        self.buttons = QDialogButtonBox()
        self.install = QPushButton("Install")
        self.later = QPushButton("Not now")
        self.never = QPushButton("Don't ask again")
        self.cancel = QPushButton("Cancel")
        self.cancel.hide()
        for b in (self.install, self.later, self.never, self.cancel):
            self.buttons.addButton(b, QDialogButtonBox.ButtonRole.ActionRole)
        self.install.clicked.connect(self.start)
        self.later.clicked.connect(self.reject)
        self.never.clicked.connect(self.decline)
        self.cancel.clicked.connect(self.stop)
        box = QVBoxLayout(self)
        for w in (self.text, self.bar, self.status, self.buttons):
            box.addWidget(w)
        self.proc: QProcess | None = None
        self.cancelled = False

    def start(self) -> None:
        staged = torch_env.staging_dir(self.data)
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(parents=True)
        self.proc = QProcess(self)
        self.proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.proc.readyReadStandardOutput.connect(self._output)
        self.proc.finished.connect(self._finished)
        for b in (self.install, self.later, self.never):
            b.hide()
        self.cancel.show()
        self.bar.show()
        self.status.setText("Starting pip…")
        self.proc.start(self.command[0], self.command[1:])

    def _output(self) -> None:
        text = bytes(self.proc.readAllStandardOutput()).decode(errors="replace")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if lines:
            self.status.setText(lines[-1][:200])

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self.bar.hide()
        self.cancel.hide()
        ok = False
        if self.cancelled:
            self.status.setText("Cancelled: nothing was installed.")
        elif code == 0:
            try:
                folder = torch_env.finish_install(self.version, self.tag, self.data)
                self.status.setText(
                    f"Installed in {folder}. The engine uses it from its next start."
                )
                ok = True
            except OSError as e:
                self.status.setText(f"The install could not be finished: {e}")
        else:
            self.status.setText(f"pip failed (exit code {code}): {self.status.text()}")
        if not ok:
            shutil.rmtree(torch_env.staging_dir(self.data), ignore_errors=True)
            self.install.setText("Try again")
            self.install.show()
        self.later.setText("Close")
        self.later.show()
        self.sig_finished.emit(ok)

    def stop(self) -> None:
        if self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning:
            self.cancelled = True
            self.proc.kill()

    def decline(self) -> None:
        if self.prefs is not None:
            self.prefs.q.setValue(DECLINED_KEY, True)
            self.prefs.q.sync()
        self.reject()

    def reject(self) -> None:
        self.stop()
        super().reject()


def maybe_offer(parent: QWidget, prefs: Preferences) -> TorchOfferDialog | None:
    """Show the offer when torch_env says so (a bundle, NVIDIA, CPU torch, no pin, no 'no')."""
    torch = torch_env.bundled_torch()
    data = torch_env.data_dir()
    offer = torch_env.should_offer(
        platform=sys.platform,
        frozen=launch.frozen(),
        gpu=torch_env.has_nvidia_gpu(),
        torch=torch,
        pinned=torch_env.pinned_torch_dir(data, torch) is not None,
        declined=str(prefs.q.value(DECLINED_KEY, False)).lower() == "true",
    )
    if not offer or torch is None:
        return None
    tag = torch_env.cuda_build_for(torch_env.nvidia_driver())
    cmd = torch_env.install_command(
        launch.pip_command(), torch_env.staging_dir(data), torch.version, tag
    )
    dialog = TorchOfferDialog(cmd, torch.version, tag, data, prefs, parent)
    QTimer.singleShot(0, dialog.show)
    return dialog
