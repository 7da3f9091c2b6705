"""The bundle's recipe, checked without building it (`make bundle-test` builds and runs it):
what data goes in and what stays out, the icons drawn from the SVG, and the Windows, macOS and
AppImage recipes pointing at files that exist."""

from __future__ import annotations

import ast
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))

import bundle_contents as bc  # noqa: E402
import icons  # noqa: E402


def test_resources_go_in_as_the_resources_package_with_the_default_model():
    datas = bc.resource_datas()
    dest = {(Path(src).name, folder) for src, folder in datas}
    assert ("model.safetensors", "storyloom_resources/models/storyloom-tiny") in dest
    assert ("config.json", "storyloom_resources/models/storyloom-tiny") in dest
    assert ("storyboard.json", "storyloom_resources/sample") in dest
    assert ("__init__.py", "storyloom_resources") in dest  # so it imports
    assert ("storyloom.svg", "storyloom_resources/icons") in dest
    for src, _ in datas:
        assert Path(src).is_relative_to(ROOT / "resources"), src
        assert "__pycache__" not in src and not src.endswith(".pyc")


def test_a_cache_or_test_file_in_resources_stays_out(tmp_path: Path):
    res = tmp_path / "resources"
    for rel in ("__init__.py", "sample/a.json", "__pycache__/x.pyc", "tests/t.py", "m.partial"):
        (res / rel).parent.mkdir(parents=True, exist_ok=True)
        (res / rel).write_text("x")
    assert sorted(Path(s).name for s, _ in bc.resource_datas(tmp_path)) == ["__init__.py", "a.json"]


def test_the_prompt_encoder_files_go_where_the_engine_looks_for_them():
    from engine.models.text import FILES, PACKAGE

    datas = bc.encoder_datas()
    assert bc.ENCODER_PACKAGE == PACKAGE
    placed = {Path(src).name for src, folder in datas if folder == f"{PACKAGE}/model"}
    assert set(FILES) <= placed
    assert (Path(datas[0][0]).name, datas[0][1]) == ("__init__.py", PACKAGE)
    assert all(Path(src).is_file() for src, _ in datas)


def test_the_spec_is_python_and_excludes_other_qt_bindings_and_test_tools():
    spec = (PACKAGING / "storyloom.spec").read_text()
    ast.parse(spec)
    assert "COLLECT(" in spec and "exclude_binaries=True" in spec  # one-folder mode
    for name in ("PyQt5", "PyQt6", "PySide6.QtWebEngineCore", "pytest", "schemathesis"):
        assert name in bc.EXCLUDES
    for needed in ("PySide6.QtMultimedia", "PySide6.QtSvg", "torch", "av", "cv2"):
        assert needed not in bc.EXCLUDES
    assert {"app", "engine", "uvicorn", "pip"} <= set(bc.HIDDEN_PACKAGES)


def test_test_programs_and_unused_qt_plugins_are_dropped_but_not_what_runs():
    for dest in (
        "torch/test/Dict_test",
        "torch/bin/test_api",
        "torch/bin/protoc",
        "torch/lib/libtorchbind_test.so",
        "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
        "PySide6/Qt/lib/libQt6Pdf.so.6",
        "libQt6VirtualKeyboardQml.so.6",
    ):
        assert bc.dropped(dest), dest
    for dest in (
        "torch/bin/torch_shm_manager",
        "torch/lib/libtorch_cpu.so",
        "torch/testing/__init__.py",  # imported by torch itself
        "PySide6/Qt/lib/libQt6Quick.so.6",  # the FFmpeg multimedia plugin links it
        "libQt6Quick.so.6",
        "PySide6/Qt/plugins/multimedia/libffmpegmediaplugin.so",
        "storyloom_resources/models/storyloom-tiny/model.safetensors",
    ):
        assert not bc.dropped(dest), dest


def test_every_version_the_diagnostics_report_has_its_metadata_in_the_bundle():
    from app import diagnostics

    assert set(diagnostics.PACKAGES) <= set(bc.METADATA)
    assert "for dist in bc.METADATA" in (PACKAGING / "storyloom.spec").read_text()


def test_the_torch_build_record_says_cpu_and_the_app_reads_it(tmp_path: Path):
    from app.engine_client import torch_env

    src, dest = bc.torch_build_record(tmp_path)
    assert dest == "." and Path(src).name == torch_env.BUILD_INFO == bc.TORCH_BUILD_FILE
    text = Path(src).read_text()
    assert '"cuda": null' in text and '"version": "2.' in text


def test_icons_are_drawn_at_every_size_and_as_ico_and_icns(tmp_path: Path):
    r = subprocess.run(
        [sys.executable, str(PACKAGING / "icons.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    for size in icons.PNG_SIZES:
        png = (tmp_path / f"hicolor/{size}x{size}/apps/storyloom.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (size, size)
    ico = (tmp_path / "storyloom.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, len(icons.ICO_SIZES))
    for i, size in enumerate(icons.ICO_SIZES):
        w, h, *_rest, length, offset = struct.unpack("<BBBBHHII", ico[6 + 16 * i : 22 + 16 * i])
        assert (w or 256, h or 256) == (size, size)
        assert ico[offset : offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + length <= len(ico)
    icns = (tmp_path / "storyloom.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    pos, kinds = 8, []
    while pos < len(icns):
        kind, length = icns[pos : pos + 4], struct.unpack(">I", icns[pos + 4 : pos + 8])[0]
        assert icns[pos + 8 : pos + 16] == b"\x89PNG\r\n\x1a\n"
        kinds.append(kind)
        pos += length
    assert pos == len(icns) and kinds == [k for k, _ in icons.ICNS_TYPES]


def test_the_windows_installer_ships_the_bundle_and_owns_the_file_type():
    iss = (PACKAGING / "windows" / "storyloom.iss").read_text()
    win = PACKAGING / "windows"
    sources = re.findall(r'Source: "([^"*]+)', iss)
    assert sources == ["..\\..\\dist\\Storyloom\\"]
    icon = re.search(r"SetupIconFile=(.+)", iss).group(1).strip()
    assert (win / icon.replace("\\", "/")).resolve() == ROOT / "build" / "icons" / "storyloom.ico"
    assert 'Subkey: "Software\\Classes\\.storyloom"' in iss and '""%1""' in iss
    assert "Storyloom.exe" in iss and "PrivilegesRequired=lowest" in iss


def test_the_dmg_recipe_and_the_appimage_script_are_valid_shell():
    for script in (PACKAGING / "macos" / "make_dmg.sh", PACKAGING / "linux" / "appimage.sh"):
        r = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    dmg = (PACKAGING / "macos" / "make_dmg.sh").read_text()
    assert "dist/Storyloom.app" in dmg and "hdiutil create" in dmg
    spec = (PACKAGING / "storyloom.spec").read_text()
    assert 'f"{bc.APP_NAME}.app"' in spec and "storyloom.icns" in spec


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux AppDir")
def test_the_appdir_has_apprun_desktop_entry_icon_and_mime_type(tmp_path: Path):
    bundle = tmp_path / "Storyloom"
    bundle.mkdir()
    (bundle / "Storyloom").write_text('#!/bin/sh\necho frozen "$@"\n')
    (bundle / "Storyloom").chmod(0o755)
    subprocess.run(
        [sys.executable, str(PACKAGING / "icons.py"), str(tmp_path / "icons")],
        check=True,
        capture_output=True,
    )
    env = {"PATH": "/usr/bin:/bin"}  # no appimagetool: the AppDir and a clear message
    r = subprocess.run(
        [
            "sh",
            str(PACKAGING / "linux" / "appimage.sh"),
            str(bundle),
            str(tmp_path / "icons"),
            str(tmp_path),
            "1.0",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "appimagetool is not on PATH" in r.stdout and len(r.stdout.strip().splitlines()) == 1
    appdir = tmp_path / "Storyloom.AppDir"
    run = subprocess.run([str(appdir / "AppRun"), "film.storyloom"], capture_output=True, text=True)
    assert run.stdout.strip() == "frozen film.storyloom"
    desktop = (appdir / "storyloom.desktop").read_text()
    assert "Icon=storyloom" in desktop and "MimeType=application/x-storyloom;" in desktop
    assert "TryExec" not in desktop
    assert (appdir / "storyloom.png").read_bytes()[:4] == b"\x89PNG"
    assert (appdir / "usr/share/mime/packages/storyloom.xml").is_file()
    assert (appdir / "usr/share/icons/hicolor/512x512/apps/storyloom.png").is_file()
