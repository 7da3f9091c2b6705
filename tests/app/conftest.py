"""Shared fixtures for the project-layer and CLI tests: real media files made here, and a
runner for the `storyloom` command in-process (a few tests also run it as a real subprocess)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from media_files import make_mp4, make_png, make_wav

from app.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):  # type: ignore[no-untyped-def]
    def run(*argv: object) -> Result:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse
            code = int(e.code or 0)
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return run


@dataclass
class Media:
    png: Path
    png2: Path
    wav: Path
    mp4: Path
    junk: Path


@pytest.fixture
def media(tmp_path: Path) -> Media:
    d = tmp_path / "media"
    d.mkdir()
    junk = d / "broken.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n this is not really an image")
    return Media(
        make_png(d / "mara.png"),
        make_png(d / "fox.png", color=(20, 200, 20)),
        make_wav(d / "tone.wav"),
        make_mp4(d / "clip.mp4"),
        junk,
    )


@pytest.fixture
def project_file(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "film.storyloom"
    assert cli("new", path, "--title", "Film", "--size", "640x360", "--fps", "24").code == 0
    return path
