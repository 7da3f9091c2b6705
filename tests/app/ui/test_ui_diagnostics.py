"""Help > Collect diagnostics: a zip with the log, the versions, the system and the
preferences with the engine token blanked; and the log itself, in its own folder."""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

from app import app_log, diagnostics
from app.ui.preferences.store import EngineChoice


def test_the_help_menu_writes_a_diagnostics_zip_without_secrets(window, prefs, tmp_path: Path):
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles[-1] == "&Help"
    help_menu = window.menuBar().actions()[-1].menu()
    assert window.acts["diagnostics"] in help_menu.actions()
    assert window.acts["diagnostics"].isEnabled()  # with no project open too
    prefs.set_engine(EngineChoice("remote", "http://gpu:8765", "s3cret-token", "auto", ""))
    out = window.write_diagnostics(tmp_path / "out" / "diag.zip")
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        info = json.loads(z.read("system.json"))
        ini = z.read("preferences.ini").decode()
    assert {"system.json", "preferences.ini"} <= names
    assert "s3cret-token" not in ini and "token=" in ini and "http://gpu:8765" in ini
    v = info["versions"]
    assert v["python"].startswith("3.") and v["PySide6-Essentials"] and v["av"]
    assert v["torch (engine)"].endswith("cuda=None")
    assert info["system"]["frozen"] is False and info["system"]["cpus"] >= 1
    assert "Diagnostics saved" in window.statusBar().currentMessage()


def test_the_log_rotates_in_its_folder_and_goes_into_the_zip(tmp_path: Path):
    logs = tmp_path / "logs"
    path = app_log.setup_logging(logs)
    try:
        assert app_log.setup_logging(logs) == path  # a second call adds no second handler
        logging.getLogger("storyloom.test").info("hello from the test")
        for h in logging.getLogger("storyloom").handlers:
            h.flush()
        assert "hello from the test" in path.read_text()
        z = zipfile.ZipFile(diagnostics.collect(tmp_path / "d.zip", logs))
        assert "hello from the test" in z.read("logs/storyloom.log").decode()
        assert "preferences.ini" not in z.namelist()  # none given
    finally:
        root = logging.getLogger("storyloom")
        for h in list(root.handlers):
            if getattr(h, "baseFilename", "").startswith(str(tmp_path)):
                root.removeHandler(h)
                h.close()


def test_redact_blanks_secrets_only():
    text = "[engine]\nurl=http://x\ntoken=abc\napi_key = k\nmode=remote\n"
    assert diagnostics.redact(text) == (
        "[engine]\nurl=http://x\ntoken= <redacted>\napi_key = <redacted>\nmode=remote\n"
    )
