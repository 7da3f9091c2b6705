"""Linux desktop integration: the menu entry, the icon and the .storyloom file type, installed
into a scratch XDG data folder by the real script, agree with the program and the file format."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.project import Project
from app.project.schema import APPLICATION_ID

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux desktop")


def test_install_registers_menu_entry_icon_and_file_type(tmp_path):
    data = tmp_path / "share"
    program = Path(sys.executable).with_name("storyloom")
    env = {**os.environ, "XDG_DATA_HOME": str(data), "STORYLOOM_BIN": str(program)}
    r = subprocess.run(["sh", str(LINUX / "install.sh")], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(data / "applications" / "storyloom.desktop")
    d = entry["Desktop Entry"]
    assert d["Exec"] == f'"{program}" %f' and d["TryExec"] == str(program)
    assert d["MimeType"] == "application/x-storyloom;" and d["Icon"] == "storyloom"
    assert (data / "icons/hicolor/scalable/apps/storyloom.svg").read_bytes().startswith(b"<svg")
    if shutil.which("desktop-file-validate"):
        v = subprocess.run(
            ["desktop-file-validate", str(LINUX / "storyloom.desktop")],
            capture_output=True,
            text=True,
        )
        assert v.returncode == 0, v.stdout + v.stderr
    subprocess.run(["sh", str(LINUX / "uninstall.sh")], env=env, check=True, capture_output=True)
    assert not (data / "applications" / "storyloom.desktop").exists()


def test_the_mime_type_matches_real_project_files(tmp_path):
    mime = ET.parse(LINUX / "storyloom-mime.xml").getroot().find(f"{MIME_NS}mime-type")
    assert mime.get("type") == "application/x-storyloom"
    assert mime.find(f"{MIME_NS}glob").get("pattern") == "*.storyloom"
    outer = mime.find(f"{MIME_NS}magic/{MIME_NS}match")
    inner = outer.find(f"{MIME_NS}match")
    path = tmp_path / "film.storyloom"
    Project.create(path, "Film").close()
    header = path.read_bytes()[:100]
    assert header[int(outer.get("offset")) :].startswith(outer.get("value").encode())
    offset = int(inner.get("offset"))
    assert int(inner.get("value"), 16) == APPLICATION_ID
    assert int.from_bytes(header[offset : offset + 4], "big") == APPLICATION_ID


def test_a_missing_program_is_a_clear_error(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "STORYLOOM_BIN": str(tmp_path / "nope")}
    r = subprocess.run(["sh", str(LINUX / "install.sh")], env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "run make first" in r.stderr
    assert not (tmp_path / "applications" / "storyloom.desktop").exists()
