"""Starting the editor: `python -m app [FILE]`, `storyloom` alone or `storyloom FILE.storyloom`."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.app_log import setup_logging

from . import theme
from .icons import icon
from .main_window import MainWindow
from .preferences.store import Preferences
from .torch_offer import maybe_offer


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(argv or sys.argv[:1])
        app.setApplicationName("Storyloom")
        app.setOrganizationName("Storyloom")
        app.setWindowIcon(icon("storyloom"))
        theme.apply(app)
    return app  # type: ignore[return-value]


def run(argv: list[str], prefs_path: Path | None = None) -> int:
    log_file = setup_logging()
    log = logging.getLogger("storyloom.ui")
    log.info("starting the editor (%s, log %s)", sys.executable, log_file)
    app = make_app(sys.argv[:1])
    window = MainWindow(Preferences(prefs_path))
    window.show()
    log.info("window shown")
    window.open_initial(Path(argv[0]) if argv else None)
    quit_ms = os.environ.get("STORYLOOM_QUIT_AFTER_MS")  # smoke tests of installs and bundles
    if quit_ms:
        QTimer.singleShot(int(quit_ms), window.close)
    else:  # a bundle on an NVIDIA machine: offer the CUDA build of torch (never blocks)
        window.torch_offer = maybe_offer(window, window.prefs)
    code = app.exec()
    log.info("the editor closed (%d)", code)
    return code
