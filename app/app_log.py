"""The application's log: a rotating file in the platform's log folder (never next to the
program), which the editor and the `storyloom` commands write (the engine process they start
included) and "Collect diagnostics…" packs up."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import platformdirs

LOG_NAME = "storyloom.log"
MAX_BYTES = 1_000_000
BACKUPS = 3


def log_dir() -> Path:
    return platformdirs.user_log_path("storyloom")


def setup_logging(folder: Path | None = None, level: int = logging.INFO) -> Path:
    """Send the `storyloom` loggers to FOLDER/storyloom.log (1 MB, 3 old files kept), and
    uncaught exceptions too. Calling it again changes nothing."""
    folder = folder or log_dir()
    path = folder / LOG_NAME
    root = logging.getLogger("storyloom")
    for h in root.handlers:
        if isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == path:
            return path
    folder.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        # file names that are not UTF-8 (surrogates) are logged escaped, never an error
        path,
        maxBytes=MAX_BYTES,
        backupCount=BACKUPS,
        encoding="utf-8",
        errors="backslashreplace",
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    previous = sys.excepthook

    def log_uncaught(kind, value, tb):  # type: ignore[no-untyped-def]
        root.critical("uncaught exception", exc_info=(kind, value, tb))
        previous(kind, value, tb)

    sys.excepthook = log_uncaught
    return path
