"""What a clip shows where its object's colour, or the direction of its move, was missed.

`colour_accuracy` says how often the main object comes out in the prompt's colour, not what the
model drew instead, and the remedies differ: a near colour (lime for green) is a model that has
the idea and lacks precision; the object's and the background's colours traded, or the
background's colour read as the object, is a model that has not bound each colour to its role;
nothing found is a model that drew no object at all. Likewise for direction: an object held
still is a model that does not move what it draws, a move the wrong way one that moves without
reading the prompt's direction.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from engine.data import detector as D
from engine.data.recognise import recogniser_for
from engine.data.world_spec import COLOURS, MOVES, OPPOSITE, PALETTE

# The palette's colours are 97-225 apart in RGB; under this they are near enough to be a shade
# off (green and lime, blue and cyan or purple, pink and white, red and orange or brown).
NEAR = 150.0
# In the order a miss is told: the first that fits names it.
MISS_KINDS = (
    "nothing_found",
    "object_colour_as_background",
    "background_colour_as_object",
    "near_colour",
    "far_colour",
)
KINDS_WITH_COLOUR = ("still", "motion", "i2v", "paraphrase")  # as colour_accuracy's


def colour_distance(a: str, b: str) -> float:
    return float(np.linalg.norm(np.subtract(PALETTE[a], PALETTE[b], dtype=np.float64)))


def colour_miss(case, clip: np.ndarray) -> str | None:
    """None where the clip's main object has the case's colour, else the kind of miss."""
    return _colour_told(case, clip)[0]


def _colour_told(case, clip: np.ndarray) -> tuple[str | None, str | None]:
    """(the kind of miss or None, the main object's colour as drawn or None)."""
    want = case.spec.looks[0].colour
    got = D.main_colour(clip)
    if got == want:
        return None, got
    if got is None:
        return "nothing_found", None
    rec = recogniser_for(case.spec.width, case.spec.height)
    if rec.background(clip[0]) == f"solid:{want}":
        return "object_colour_as_background", got
    if case.spec.background.label == f"solid:{got}":
        return "background_colour_as_object", got
    return ("near_colour" if colour_distance(want, got) < NEAR else "far_colour"), got


def colour_misses(cases: list, clips: list[np.ndarray]) -> dict:
    """Over the cases colour_accuracy scores: how many, how many missed, each kind of miss, and
    `by_colour`: per colour the prompt asks for, its cases, how many came out in it, and what
    the misses drew `instead` (a colour, or "nothing"), most often first; a colour the model
    never draws hides in the mean as a direction does. Empty where no case has a colour to miss."""
    told = [
        (c.spec.looks[0].colour, *_colour_told(c, x))
        for c, x in zip(cases, clips, strict=True)
        if c.kind in KINDS_WITH_COLOUR
    ]
    if not told:
        return {}
    misses = [m for _, m, _ in told]
    out: dict = {"cases": len(misses), "missed": sum(m is not None for m in misses)}
    out.update({k: misses.count(k) for k in MISS_KINDS})
    asked = Counter(w for w, _, _ in told)
    drawn = Counter(w for w, m, _ in told if m is None)
    instead = {w: Counter() for w in asked}
    for w, m, got in told:
        if m is not None:
            instead[w][got or "nothing"] += 1
    out["by_colour"] = {
        c: {"cases": asked[c], "drawn": drawn[c], "instead": dict(instead[c].most_common())}
        for c in COLOURS
        if asked[c]
    }
    return out


# A direction miss, in the order it is told. `not_found`: no object in the prompt's colour (the
# colour missed, or no object at all); `still`: found, but it moves less than the detector's
# threshold; `opposite` / `across`: it moves, the other way or at a right angle.
DIRECTION_MISS_KINDS = ("not_found", "still", "opposite", "across")
# Text-to-video and image-to-video are told apart: a start image places the object, and the two
# miss for other reasons.
DIRECTION_GROUPS = {"text_to_video": ("motion", "paraphrase"), "image_to_video": ("i2v",)}


def direction_miss(case, clip: np.ndarray) -> str | None:
    """None where the clip's object moves the case's way, else the kind of miss."""
    want = case.spec.direction
    got = D.direction(clip, case.spec.looks[0].colour)
    if got == want:
        return None
    if got == "none":
        return "not_found"
    if got == "still":
        return "still"
    return "opposite" if OPPOSITE[want] == got else "across"


def direction_misses(cases: list, clips: list[np.ndarray]) -> dict[str, dict]:
    """For text-to-video and image-to-video apart: how many cases, how many missed, each kind of
    miss, and `by_direction`: per direction the prompt asks for, its cases and how many moved
    that way (a set whose directions lean would hide a model that moves one way whatever it is
    asked). A group without cases is left out."""
    out = {}
    for group, kinds in DIRECTION_GROUPS.items():
        told = [
            (c.spec.direction, direction_miss(c, x))
            for c, x in zip(cases, clips, strict=True)
            if c.kind in kinds
        ]
        if not told:
            continue
        misses = [m for _, m in told]
        counts: dict = {"cases": len(misses), "missed": sum(m is not None for m in misses)}
        counts.update({k: misses.count(k) for k in DIRECTION_MISS_KINDS})
        asked = Counter(w for w, _ in told)
        moved = Counter(w for w, m in told if m is None)
        counts["by_direction"] = {
            d: {"cases": asked[d], "moved": moved[d]} for d in MOVES if asked[d]
        }
        out[group] = counts
    return out
