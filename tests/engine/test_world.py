"""The procedural story world: seeded, any size, visible objects and motion, stories, preview."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch

from engine.data import detector as D
from engine.data.synthetic import main as synthetic_main
from engine.data.synthetic import make_batch
from engine.data.world_render import render_uint8
from engine.data.world_sample import image_scene, sample_story
from engine.data.world_spec import FAMILIES


def test_same_seed_gives_the_same_batch_and_another_seed_a_different_one():
    a = make_batch(6, 96, 64, 5, 12, seed=3, story_context=True, n_references=2)
    b = make_batch(6, 96, 64, 5, 12, seed=3, story_context=True, n_references=2)
    c = make_batch(6, 96, 64, 5, 12, seed=4, story_context=True, n_references=2)
    assert a.captions == b.captions
    for x, y in ((a.video, b.video), (a.previous, b.previous), (a.references, b.references)):
        assert torch.equal(x, y)
    assert a.captions != c.captions
    assert not torch.equal(a.video, c.video)


def test_the_share_of_carried_scenes_that_go_on_can_be_set():
    """0: every scene after a previous one cuts away; 1: every one that can go on does (a camera
    move or two characters always cut); the default, between the two."""

    def going_on(share: float) -> tuple[int, int]:
        b = make_batch(48, 96, 64, 5, 12, seed=5, story_context=True, continue_share=share)
        after = [s for s, v in zip(b.specs, b.previous_valid, strict=True) if v]
        return sum(s.continues for s in after), len(after)

    none, n = going_on(0.0)
    assert n > 20 and none == 0
    every, _ = going_on(1.0)
    some, _ = going_on(0.5)
    assert 0 < some < every <= n


def test_a_share_of_carried_scenes_outside_0_to_1_is_refused():
    from engine.request import EngineError
    from engine.train_config import TrainConfig

    with pytest.raises(EngineError, match="carry_continue_share is a share 0-1"):
        TrainConfig(carry_continue_share=1.5)


@pytest.mark.parametrize(
    "width,height,frames", [(96, 64, 5), (64, 112, 9), (80, 80, 1), (160, 64, 3)]
)
def test_batches_have_the_asked_shape_with_context_and_references(width, height, frames):
    b = make_batch(
        5, width, height, frames, 8, seed=1, story_context=True, n_references=2, previous_frames=3
    )
    assert b.video.shape == (5, frames, height, width, 3)
    assert b.video.dtype == torch.float32 and 0 <= b.video.min() and b.video.max() <= 1
    assert b.previous.shape == (5, 3, height, width, 3) and b.previous_valid.shape == (5,)
    assert b.references.shape == (5, 2, height, width, 3) and b.references_valid.shape == (5, 2)
    assert b.start_image is None and len(b.captions) == len(b.specs) == 5
    # items without a previous scene or a second character carry zeros, flagged invalid
    assert torch.all(b.previous[~b.previous_valid] == 0)
    assert torch.all(b.references[~b.references_valid] == 0)
    for spec, valid in zip(b.specs, b.references_valid, strict=True):
        assert valid.sum().item() == min(2, len(spec.looks))


def test_batch_without_context_has_none():
    b = make_batch(2, 64, 48, 3, 12, seed=0)
    assert b.previous is None and b.previous_valid is None and b.references is None


def test_curriculum_picks_the_families_and_rejects_unknown_ones():
    b = make_batch(8, 64, 48, 3, 12, seed=2, curriculum={"still": 1.0})
    assert {s.family for s in b.specs} == {"still"}
    b = make_batch(40, 64, 48, 3, 12, seed=2, curriculum={f: 1.0 for f in FAMILIES})
    assert len({s.family for s in b.specs}) >= 5
    with pytest.raises(ValueError, match="unknown curriculum"):
        make_batch(2, 64, 48, 3, 12, seed=2, curriculum={"dance": 1.0})


def test_objects_are_large_enough_and_moves_cross_the_frame_within_two_seconds():
    b = make_batch(48, 256, 144, 25, 12, seed=5, curriculum={"still": 1, "motion": 2})
    for spec in b.specs:
        r0 = spec.tracks[0, 0, 2]
        assert 9.5 <= r0 <= 30
        if spec.direction:
            extent = spec.width if spec.direction in ("left", "right") else spec.height
            moved = np.abs(spec.tracks[0, -1, :2] - spec.tracks[0, 0, :2]).max()
            assert moved >= 0.2 * extent, spec.caption
        st = spec.screen_tracks()
        assert np.all(
            (st[..., 0] > 0)
            & (st[..., 0] < spec.width)
            & (st[..., 1] > 0)
            & (st[..., 1] < spec.height)
        )


def test_a_story_keeps_its_characters_and_a_continued_scene_starts_where_the_last_ended():
    rng = np.random.default_rng(11)
    fams = ["still", "motion", "physics", "transform"]
    stories = [
        sample_story(rng, 128, 72, 9, 12, 5, fams, [1, 1, 1, 1], story_id=i) for i in range(6)
    ]
    continued, then = 0, []
    for scenes in stories:
        assert 2 <= len(scenes) <= 5
        first = scenes[0].looks[0]
        for prev, cur in zip(scenes[:-1], scenes[1:], strict=True):
            assert cur.looks[0] == first  # the same identity pattern, colours and all
            then.append((cur.caption.startswith("Then "), cur.continues))
            if cur.continues:
                continued += 1
                assert cur.background == prev.background
                np.testing.assert_allclose(cur.tracks[0, 0, :3], prev.screen_tracks()[0, -1, :3])
    assert continued > 0
    # some continuations say so ("Then a red ball ..."); a cut never does
    assert any(t for t, c in then if c) and not any(t for t, c in then if not c)


def test_a_camera_move_over_a_start_image_begins_with_that_image():
    rng = np.random.default_rng(0)
    img = np.zeros((72, 128, 3), np.uint8)
    img[:] = rng.integers(0, 256, (9, 16, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    img = np.ascontiguousarray(img)
    for move in ("pan_left", "zoom_in", "tilt_down"):
        spec = image_scene(img, move, 13, 12)
        clip = render_uint8(spec)
        assert np.abs(clip[0].astype(int) - img).max() <= 1
        assert np.abs(clip[-1].astype(int) - img).mean() > 10
        assert D.camera_move(clip) == move
        assert (
            "camera" in spec.caption.lower()
            or "pan" in spec.caption.lower()
            or "zoom" in spec.caption.lower()
            or "tilt" in spec.caption.lower()
        )


def test_heldout_captions_use_only_the_heldout_templates():
    marks = ("We see", "There is", "you can see")
    train = make_batch(24, 64, 48, 1, 12, seed=8, curriculum={"still": 1, "motion": 1})
    held = make_batch(
        24, 64, 48, 1, 12, seed=8, curriculum={"still": 1, "motion": 1}, heldout_captions=True
    )
    assert not any(m in c for c in train.captions for m in marks)
    assert all(any(m in c for m in marks) for c in held.captions)


def test_preview_writes_playable_mp4s_with_captions(tmp_path, capsys):
    rc = synthetic_main(
        [
            "preview",
            "-o",
            str(tmp_path),
            "--stories",
            "1",
            "--width",
            "96",
            "--height",
            "64",
            "--seconds",
            "0.5",
            "--fps",
            "8",
        ]
    )
    assert rc == 0
    videos = sorted(tmp_path.glob("*.mp4"))
    assert 2 <= len(videos) <= 5
    for v in videos:
        assert v.with_suffix(".txt").read_text().strip()
        with av.open(str(v)) as c:
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(frames) == 5 and frames[0].shape == (64, 96, 3)
    assert synthetic_main(["preview", "-o", str(tmp_path), "--width", "4"]) == 2


def test_photo_backgrounds_only_when_asked_for_and_a_clear_error_without_scikit_image():
    """Whether an optional package is installed must not change a seeded world: photos come
    only with photos=True (a training config's "photos"), and need scikit-image then."""
    from engine.data.backgrounds import photos
    from engine.data.synthetic import make_batch

    kw = dict(seed=11, curriculum={"camera": 1.0})
    plain = make_batch(4, 64, 48, 5, 8.0, **kw)
    assert all(s.background.kind != "photo" for s in plain.specs)
    if photos():
        with_photos = make_batch(16, 64, 48, 5, 8.0, photos=True, **kw)
        assert any(s.background.kind == "photo" for s in with_photos.specs)
    else:
        with pytest.raises(ValueError, match="scikit-image"):
            make_batch(4, 64, 48, 5, 8.0, photos=True, **kw)


def test_coverage_marks_exactly_the_pixels_the_objects_drew():
    import dataclasses

    from engine.data.world_render import render, render_with_coverage

    b = make_batch(6, 96, 64, 5, 12, seed=5, coverage=True)
    assert b.coverage.shape == (6, 5, 64, 96) and 0 <= b.coverage.min() <= b.coverage.max() <= 1
    assert torch.equal(b.video, make_batch(6, 96, 64, 5, 12, seed=5).video)
    bare = [
        dataclasses.replace(s, looks=[], actions=[], speeds=[], tracks=s.tracks[:0])
        for s in b.specs
    ]
    background = render(bare)
    drawn = (b.video - background).abs().amax(-1) > 1 / 255
    assert drawn.any() and torch.all(b.coverage[drawn] > 0)
    untouched = b.coverage == 0
    assert torch.equal(b.video[untouched], background[untouched])
    with_objects = [i for i, s in enumerate(b.specs) if s.looks]
    assert with_objects and all(0 < b.coverage[i].mean() < 0.5 for i in with_objects)
    assert render_with_coverage(b.specs, coverage=False)[1] is None
