"""The detector's shape reader: trained by its own recipe, shipped as safetensors, and reading
world objects, clean or softened, by their shape."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from engine.data.shape_net import (
    CROP,
    ShapeNet,
    degrade,
    load_shape_net,
    read_shape,
    shape_crop,
    train,
    weights_path,
)
from engine.data.synthetic import make_batch
from engine.data.world_render import render_uint8
from engine.data.world_sample import sample_look
from engine.data.world_spec import SHAPES, Background, SceneSpec


def _still(
    shape: str, colour: str = "red", x: float = 100, y: float = 60, angle: float = 0.0
) -> np.ndarray:
    look = sample_look(np.random.default_rng(3), [colour])
    look = replace(look, shape=shape, radius_frac=0.165, pattern="stripes")
    spec = SceneSpec(
        256,
        144,
        1,
        12.0,
        "still",
        Background("solid", "blue", (0.5,) * 8),
        [look],
        ["still"],
        [""],
        np.array([[[x, y, 0.165 * 144, angle]]]),
    )
    return render_uint8(spec)[0]


def test_the_crop_is_centred_on_the_named_object():
    frame = _still("square", x=60, y=40)
    crop = shape_crop(frame, "red")
    assert crop is not None and crop.shape == (4, CROP, CROP)
    near = crop[3]  # closeness to red: high on the object's rim, low on the blue around it
    ys, xs = np.nonzero(near > 0.5)
    assert (
        abs((xs.min() + xs.max()) / 2 - CROP / 2) < 2
        and abs((ys.min() + ys.max()) / 2 - CROP / 2) < 2
    )
    assert 0.5 * CROP < xs.max() - xs.min() < CROP  # the whole object, with a margin
    assert max(near[0].mean(), near[-1].mean(), near[:, 0].mean(), near[:, -1].mean()) < 0.2
    assert shape_crop(frame, "green") is None  # no green object


def test_the_shipped_reader_names_every_shape_upright_turned_and_blurred():
    for shape in SHAPES:
        for angle in (0.0, 0.3):
            frame = _still(shape, angle=angle)
            assert read_shape([frame], "red") == shape, (shape, angle)
            assert read_shape([cv2.GaussianBlur(frame, (0, 0), 1.2)], "red") == shape


def test_degrading_is_seeded_and_keeps_the_frame():
    frame = _still("star")
    a, b = degrade(frame, np.random.default_rng(5)), degrade(frame, np.random.default_rng(5))
    assert a.dtype == np.uint8 and a.shape == frame.shape and np.array_equal(a, b)
    assert not np.array_equal(a, frame)


def test_the_weights_are_safetensors_with_the_numbers_of_their_training():
    path = weights_path()
    assert path.read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle
    report = json.loads(path.with_suffix(".json").read_text())
    assert report["held_out_clean_accuracy"] >= 0.98
    assert report["held_out_degraded_accuracy"] >= 0.85


def test_the_recipe_trains_and_writes_loadable_weights(tmp_path):
    out = tmp_path / "shape_net.safetensors"
    report = train(out, samples=96, epochs=1, log=lambda *_: None)
    assert report["samples"] == 96 and 0.0 <= report["held_out_clean_accuracy"] <= 1.0
    net = load_shape_net(str(out))
    assert isinstance(net, ShapeNet) and not net.training
    with torch.no_grad():
        assert net(torch.zeros(2, 4, CROP, CROP)).shape == (2, len(SHAPES))
    assert json.loads(out.with_suffix(".json").read_text())["epochs"] == 1


@pytest.mark.parametrize("width, height", [(512, 288), (384, 384)])
def test_shapes_are_read_at_other_frame_sizes(width, height):
    """A bigger checkpoint's native size: the crop is scale-free, so the same reader serves."""
    b = make_batch(16, width, height, 3, 12, seed=5, curriculum={"still": 1, "motion": 1})
    video = (b.video * 255).round().byte().numpy()
    single = [(s, v) for s, v in zip(b.specs, video, strict=True) if len(s.looks) == 1]
    assert len(single) >= 12
    rate = np.mean([read_shape(list(v), s.looks[0].colour) == s.looks[0].shape for s, v in single])
    assert rate >= 0.95


def test_the_cli_refuses_an_empty_recipe_in_one_line(capsys):
    from engine.data.shape_net import main

    assert main(["train", "--samples", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1
