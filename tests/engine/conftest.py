"""Tiny model folders made by the engine's own `init` command, for fast CPU tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from engine.cli import main as engine_main
from engine.model_bundle import ModelBundle


def make_model(path: Path, chunk_latents: int = 7, perturb: float = 0.05) -> Path:
    assert engine_main(["init", "--config", "test", "-o", str(path)]) == 0
    cfg = json.loads((path / "config.json").read_text())
    cfg["chunk_latents"] = chunk_latents
    cfg["native"] = {"width": 64, "height": 48, "fps": 8.0}
    cfg["sampling"]["steps"] = 4
    (path / "config.json").write_text(json.dumps(cfg))
    if perturb:  # adaLN-Zero starts as the zero map; perturb so outputs depend on the inputs
        bundle = ModelBundle.load(path)
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in bundle.dit.parameters():
                p.add_(torch.randn(p.shape, generator=g) * perturb)
        bundle.save(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return make_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_dir):
    from engine.pipeline import Engine

    return Engine.load(tiny_model_dir, device="cpu")
