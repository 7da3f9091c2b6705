"""The analytic detector reads world renders back into their ground truth, and noise as nothing."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from engine.data import detector as D
from engine.data.recognise import recogniser_for
from engine.data.synthetic import make_batch
from engine.data.world_render import render_uint8
from engine.data.world_sample import sample_look
from engine.data.world_spec import reference_spec


@pytest.fixture(scope="module")
def clips():
    b = make_batch(
        40,
        256,
        144,
        13,
        12,
        seed=21,
        curriculum={"still": 1, "motion": 1, "camera": 1, "two_objects": 0.5, "physics": 0.5},
    )
    return b.specs, (b.video * 255).round().byte().numpy()


@pytest.fixture(scope="module")
def recogniser():
    return recogniser_for(256, 144)


def _rate(pairs):
    assert pairs, "no cases of this kind in the batch"
    return np.mean([a == b for a, b in pairs])


def test_colour_shape_and_background_of_rendered_clips(clips, recogniser):
    specs, video = clips
    single = [
        (s, v)
        for s, v in zip(specs, video, strict=True)
        if len(s.looks) == 1 and s.camera == "static"
    ]
    assert _rate([(D.main_blobs(v, 1, 4)[0], s.looks[0].colour) for s, v in single]) >= 0.98
    assert (
        _rate([(recogniser.shape(v, s.looks[0].colour), s.looks[0].shape) for s, v in single])
        >= 0.98
    )
    assert (
        _rate(
            [
                (recogniser.background(v[0]), s.background.label)
                for s, v in single
                if s.background.kind != "image"
            ]
        )
        >= 0.98
    )


@pytest.mark.parametrize(
    "soften, least",
    [
        (lambda f: cv2.GaussianBlur(f, (0, 0), 1.5), 0.85),
        (
            lambda f: cv2.resize(cv2.resize(f, (64, 36), interpolation=cv2.INTER_AREA), (256, 144)),
            0.75,
        ),
    ],
    ids=["blurred", "4x-coarser"],
)
def test_a_soft_edged_object_keeps_its_shape(clips, recogniser, soften, least):
    """A generator draws edges softer than the world; the outline in the main colour that
    filling a blob's contour relies on is then gone, but the object still stands out."""
    specs, video = clips
    single = [
        (s, np.stack([soften(f) for f in v]))
        for s, v in zip(specs, video, strict=True)
        if len(s.looks) == 1 and s.camera == "static"
    ]
    assert (
        _rate([(recogniser.shape(v, s.looks[0].colour), s.looks[0].shape) for s, v in single])
        >= least
    )


def test_motion_direction_camera_move_relation_and_count(clips):
    specs, video = clips
    sv = list(zip(specs, video, strict=True))
    assert (
        _rate([(D.direction(v, s.looks[0].colour), s.direction) for s, v in sv if s.direction])
        >= 0.98
    )
    assert _rate([(D.camera_move(v), s.camera) for s, v in sv if s.family == "camera"]) >= 0.98
    two = [(s, v) for s, v in sv if s.family == "two_objects"]
    assert (
        _rate(
            [(D.relation(v[0], s.looks[0].colour, s.looks[1].colour), s.relation) for s, v in two]
        )
        >= 0.98
    )
    assert _rate([(D.count(v[0]), 2) for s, v in two]) >= 0.98
    still = [(s, v) for s, v in sv if s.family == "still"]
    assert all(D.direction(v, s.looks[0].colour) == "still" for s, v in still)


def test_a_bouncing_ball_fits_parabolas_and_a_sliding_one_does_not():
    b = make_batch(30, 256, 144, 25, 12, seed=4, curriculum={"physics": 1, "motion": 1})
    video = (b.video * 255).round().byte().numpy()
    bouncing = [(s, v) for s, v in zip(b.specs, video, strict=True) if s.actions[0] == "bounce"]
    sliding = [(s, v) for s, v in zip(b.specs, video, strict=True) if s.direction]
    assert bouncing and sliding
    assert all(D.bounces(v, s.fps, s.looks[0].colour) for s, v in bouncing)
    assert not any(D.bounces(v, s.fps, s.looks[0].colour) for s, v in sliding)


def test_noise_has_no_objects_and_no_camera_move():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (6, 144, 256, 3), dtype=np.uint8)
    assert all(D.find_blobs(f) == [] for f in noise)
    assert D.camera_move(np.repeat(noise[:1], 6, axis=0)) == "static"
    assert D.flicker(noise) > 50
    assert D.psnr(noise[0], noise[0]) == 60.0 and D.psnr(noise[0], noise[1]) < 10


def test_identity_similarity_tells_the_same_character_from_a_lookalike():
    rng = np.random.default_rng(3)
    same, other = [], []
    for _ in range(8):
        look = sample_look(rng)
        twin = replace(sample_look(rng, [look.colour]), shape=look.shape, size=look.size)
        ref = render_uint8(reference_spec(look, 256, 144))[0]
        small = replace(reference_spec(look, 256, 144), looks=[replace(look, radius_frac=0.12)])
        small.tracks[0, 0, 2] = 0.12 * 144
        a = D.object_crop(ref, look.colour)
        same.append(D.identity_similarity(a, D.object_crop(render_uint8(small)[0], look.colour)))
        small_twin = replace(small, looks=[replace(twin, radius_frac=0.12)])
        other.append(
            D.identity_similarity(a, D.object_crop(render_uint8(small_twin)[0], look.colour))
        )
    assert np.mean(same) > 0.75
    assert np.mean(same) > np.mean(other) + 0.25
