"""`python -m engine generate / info / init`: outputs that decode, and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import av
import cv2
import numpy as np


def engine(*args, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "engine", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_generate_mp4_and_png(tmp_path, tiny_model_dir):
    img = np.zeros((48, 64, 3), np.uint8)
    img[:, :32] = 200
    cv2.imwrite(str(tmp_path / "start.png"), img)
    out = tmp_path / "clip.mp4"
    r = engine(
        "generate",
        "--prompt",
        "a red ball",
        "--frames",
        9,
        "--width",
        64,
        "--height",
        48,
        "--steps",
        2,
        "--seed",
        1,
        "--image",
        tmp_path / "start.png",
        "--model",
        tiny_model_dir,
        "--device",
        "cpu",
        "-o",
        out,
    )
    assert r.returncode == 0, r.stderr
    with av.open(str(out)) as box:
        frames = list(box.decode(video=0))
    assert len(frames) == 9 and frames[0].width == 64
    png = tmp_path / "still.png"
    r = engine(
        "generate",
        "--prompt",
        "a red ball",
        "--width",
        64,
        "--height",
        48,
        "--steps",
        2,
        "--model",
        tiny_model_dir,
        "--device",
        "cpu",
        "-o",
        png,
    )
    assert r.returncode == 0, r.stderr
    assert cv2.imread(str(png)).shape == (48, 64, 3)


def test_errors_are_one_line_with_exit_2(tmp_path, tiny_model_dir):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    cases = [
        ["--width", 50, "--height", 48],
        ["--frames", 0],
        ["--image", tmp_path / "bad.png"],
        ["--image", tmp_path / "missing.png"],
    ]
    for extra in cases:
        r = engine(
            "generate",
            "--prompt",
            "x",
            "--model",
            tiny_model_dir,
            "--device",
            "cpu",
            "-o",
            tmp_path / "o.mp4",
            *extra,
        )
        assert r.returncode == 2, (extra, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
        assert not (tmp_path / "o.mp4").exists()
    r = engine("info", "--model", tmp_path / "nowhere")
    assert r.returncode == 2 and "not found" in r.stderr


def test_init_writes_a_loadable_untrained_model(tmp_path):
    r = engine("init", "--config", "test", "-o", tmp_path / "m")
    assert r.returncode == 0, r.stderr
    r = engine("info", "--model", tmp_path / "m", "--json")
    assert r.returncode == 0 and '"dit"' in r.stdout
