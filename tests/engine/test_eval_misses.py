"""What the evaluation says a clip drew where it missed the object's colour or its move."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.data.world_render import render_uint8
from engine.data.world_spec import COLOURS, MOVES, PALETTE, Background
from engine.eval import build_cases, case_scores, first_of_each_kind, ground_truth_clips
from engine.eval_misses import (
    DIRECTION_GROUPS,
    DIRECTION_MISS_KINDS,
    MISS_KINDS,
    NEAR,
    colour_distance,
    colour_miss,
    colour_misses,
    direction_miss,
    direction_misses,
)


def _solid_still_with_colours():
    """A still on a solid background, with a near, a far and a third colour to draw it in."""
    for c in build_cases(256, 144, 12.0, 25, quick=False):
        if c.kind != "still" or c.spec.background.kind != "solid":
            continue
        want, bg = c.spec.looks[0].colour, c.spec.background.name
        others = sorted(
            (x for x in COLOURS if x not in (want, bg)), key=lambda x: colour_distance(want, x)
        )
        if colour_distance(want, bg) >= NEAR and colour_distance(want, others[0]) < NEAR:
            return c, want, bg, others[0], others[-1]
    raise AssertionError("no still on a solid background in the set")


def _drawn(case, colour: str, background: str) -> np.ndarray:
    """The case's scene with its object plain in `colour` on a solid `background`."""
    look = replace(case.spec.looks[0], colour=colour)
    look = replace(look, pattern_colours=(look.rgb(),) * len(look.pattern_colours))
    spec = replace(case.spec, looks=[look], background=Background("solid", background))
    return render_uint8(spec)


def test_each_kind_of_colour_miss_is_told_apart():
    case, want, bg, near, far = _solid_still_with_colours()
    third = next(x for x in COLOURS if x not in (want, bg) and colour_distance(bg, x) >= NEAR)
    drawn = {
        None: _drawn(case, want, bg),
        "nothing_found": np.broadcast_to(
            np.array(PALETTE[bg], np.uint8), _drawn(case, want, bg).shape
        ).copy(),
        "object_colour_as_background": _drawn(case, bg, want),  # the two colours traded
        "background_colour_as_object": _drawn(case, bg, third),
        "near_colour": _drawn(case, near, bg),
        "far_colour": _drawn(case, far, bg),
    }
    for kind, clip in drawn.items():
        assert colour_miss(case, clip) == kind, (kind, want, bg)
    counts = colour_misses([case] * len(drawn), list(drawn.values()))
    by_colour = counts.pop("by_colour")
    assert counts == {"cases": 6, "missed": 5, **{k: 1 for k in MISS_KINDS}}
    # the two misses in the background's colour first, then each other colour drawn instead
    instead = {bg: 2, "nothing": 1, near: 1, far: 1}
    assert by_colour == {want: {"cases": 6, "drawn": 1, "instead": instead}}
    assert next(iter(by_colour[want]["instead"])) == bg


@pytest.mark.parametrize("kind", ["two_objects", "camera"])
def test_cases_without_a_colour_score_have_no_misses(kind):
    cases = [c for c in build_cases(256, 144, 12.0, 25, quick=True) if c.kind == kind]
    assert colour_misses(cases, ground_truth_clips(cases)) == {}


def test_the_misses_are_the_cases_colour_accuracy_counts_wrong():
    cases = first_of_each_kind(build_cases(256, 144, 12.0, 25, quick=False), 3)
    clips = ground_truth_clips(cases)
    rng = np.random.default_rng(0)
    # every other clip of the truth replaced by noise, so there are misses to count
    clips = [x if i % 2 else rng.integers(0, 256, x.shape, np.uint8) for i, x in enumerate(clips)]
    scored = [case_scores(c, x) for c, x in zip(cases, clips, strict=True)]
    counts = colour_misses(cases, clips)
    with_colour = [s for s in scored if "colour_accuracy" in s]
    assert counts["cases"] == len(with_colour)
    assert counts["missed"] == sum(s["colour_accuracy"] == 0 for s in with_colour) > 0
    assert counts["missed"] == sum(counts[k] for k in MISS_KINDS)
    # colour by colour: the cases that asked for it, and those colour_accuracy counts right
    by_colour = counts["by_colour"]
    paired = [(c, s) for c, s in zip(cases, scored, strict=True) if "colour_accuracy" in s]
    asked = {c.spec.looks[0].colour for c, _ in paired}
    assert list(by_colour) == [c for c in COLOURS if c in asked] and len(asked) > 1
    for colour, told in by_colour.items():
        mine = [s for c, s in paired if c.spec.looks[0].colour == colour]
        assert told["cases"] == len(mine)
        assert told["drawn"] == sum(s["colour_accuracy"] == 1 for s in mine)
        assert sum(told["instead"].values()) == told["cases"] - told["drawn"]
    assert sum(t["drawn"] for t in by_colour.values()) == counts["cases"] - counts["missed"]


def test_each_kind_of_direction_miss_is_told_apart():
    case = next(c for c in build_cases(256, 144, 12.0, 25, quick=False) if c.kind == "motion")
    truth = ground_truth_clips([case])[0]
    drawn = {
        None: truth,
        "not_found": np.broadcast_to(truth[:1, :1, :1], truth.shape).copy(),  # background only
        "still": np.repeat(truth[:1], len(truth), axis=0),  # the first frame held
        "opposite": truth[::-1].copy(),  # played backwards
        "across": truth.transpose(0, 2, 1, 3).copy(),  # x and y swapped: a right angle
    }
    for kind, clip in drawn.items():
        assert direction_miss(case, clip) == kind, (kind, case.spec.direction)
    i2v = next(c for c in build_cases(256, 144, 12.0, 25, quick=False) if c.kind == "i2v")
    counts = direction_misses([case] * len(drawn) + [i2v], [*drawn.values(), truth])
    assert counts["text_to_video"] == {
        "cases": 5,
        "missed": 4,
        **dict.fromkeys(DIRECTION_MISS_KINDS, 1),
        "by_direction": {case.spec.direction: {"cases": 5, "moved": 1}},
    }
    assert counts["image_to_video"]["cases"] == 1  # apart, and its own clip is another scene's


def test_the_direction_misses_are_the_cases_direction_accuracy_counts_wrong():
    cases = [
        c
        for c in build_cases(256, 144, 12.0, 25, quick=False)
        if c.kind in ("motion", "paraphrase", "i2v", "still")  # stills have no direction
    ][::4]
    clips = ground_truth_clips(cases)
    clips = [x if i % 2 else x[::-1].copy() for i, x in enumerate(clips)]  # half played backwards
    scored = [case_scores(c, x) for c, x in zip(cases, clips, strict=True)]
    counts = direction_misses(cases, clips)
    t2v = [s for s in scored if "direction_accuracy" in s or "paraphrase_direction_accuracy" in s]
    wrong = sum(
        s.get("direction_accuracy", s.get("paraphrase_direction_accuracy")) == 0 for s in t2v
    )
    assert counts["text_to_video"]["cases"] == len(t2v)
    assert counts["text_to_video"]["missed"] == wrong > 0
    i2v = [s for s in scored if "i2v_direction_accuracy" in s]
    assert counts["image_to_video"]["cases"] == len(i2v)
    assert counts["image_to_video"]["missed"] == sum(s["i2v_direction_accuracy"] == 0 for s in i2v)
    for g in counts.values():
        assert g["missed"] == sum(g[k] for k in DIRECTION_MISS_KINDS)
    # direction by direction: the cases asking for it, and those whose object moved that way
    for group, kinds in DIRECTION_GROUPS.items():
        these = [(c, s) for c, s in zip(cases, scored, strict=True) if c.kind in kinds]
        want = {
            d: {
                "cases": sum(c.spec.direction == d for c, _ in these),
                "moved": sum(
                    c.spec.direction == d and min(v for k, v in s.items() if "direction" in k) == 1
                    for c, s in these
                ),
            }
            for d in MOVES
            if any(c.spec.direction == d for c, _ in these)
        }
        assert counts[group]["by_direction"] == want and len(want) > 1
