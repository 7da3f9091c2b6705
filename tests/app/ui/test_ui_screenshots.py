"""The screenshot script under a real X server (Xvfb): it walks the editor's main states and
writes PNGs of a window at least 1280x800 that show something (not a blank or black frame)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

STATES = (
    "1-empty-project",
    "2-storyboard-with-takes",
    "3-inspector",
    "4-render-queue-busy",
    "5-export-dialog",
)

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is not installed (`make sysdeps` installs it: apt-get install xvfb)",
)


def colours(img: QImage, step: int = 16) -> int:
    seen = set()
    for y in range(0, img.height(), step):
        for x in range(0, img.width(), step):
            seen.add(img.pixel(x, y))
    return len(seen)


def test_screenshot_script_writes_the_main_states(tmp_path):
    out = tmp_path / "shots"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # a real X display
    r = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1600x1000x24",
            sys.executable,
            "-m",
            "app.ui.screenshots",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    images = {}
    for name in STATES:
        img = QImage(str(out / f"{name}.png"))
        assert not img.isNull(), name
        assert img.width() >= 1280 and img.height() >= 800, (name, img.width(), img.height())
        assert colours(img) > 40, f"{name} looks blank"
        images[name] = img
    assert images["2-storyboard-with-takes"] != images["1-empty-project"]
    assert images["5-export-dialog"] != images["4-render-queue-busy"]
