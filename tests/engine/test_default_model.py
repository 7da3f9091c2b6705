"""The shipped default model: it loads from the resources, says what it is, and generates."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from engine.pipeline import Engine
from engine.request import GenerationRequest
from engine.resources_path import default_model_dir


def test_default_model_folder_is_complete_and_small():
    d = default_model_dir()
    for name in (
        "config.json",
        "model.safetensors",
        "train_config.json",
        "MODEL_CARD.md",
        "training_log.jsonl",
    ):
        assert (d / name).is_file(), name
    assert (d / "model.safetensors").stat().st_size < 60_000_000
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["training"]["dit_steps_done"] > 0


def test_default_model_generates_a_short_clip():
    eng = Engine.load(device="cpu")
    assert eng.trained
    clip = eng.generate(
        GenerationRequest(
            prompt="a red circle moves to the right on a blue background",
            width=eng.native.width,
            height=eng.native.height,
            frames=9,
            steps=4,
            seed=0,
        )
    )
    assert clip.frames.shape == (9, eng.native.height, eng.native.width, 3)
    assert clip.frames.std() > 2  # an image, not a constant
    assert np.isfinite(clip.frames).all()


def test_engine_info_reports_the_default_model():
    r = subprocess.run(
        [sys.executable, "-m", "engine", "info", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["name"] == "storyloom-tiny" and info["parameters"]["dit"] > 1_000_000
