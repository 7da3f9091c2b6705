"""Captions for scenes: templates with paraphrases and synonyms, and a held-out set of templates.

"a crimson ball drifts to the left" and "red circle moves left" describe the same scene. The held-out
templates (`heldout=True`) never appear in training, so a model's score on them measures whether it
understood the words rather than memorised the sentences.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from engine.data.world_spec import SceneSpec

COLOUR_WORDS = {
    "red": ["red", "crimson", "scarlet"],
    "orange": ["orange", "tangerine"],
    "yellow": ["yellow", "golden", "lemon-yellow"],
    "lime": ["lime", "lime-green", "chartreuse"],
    "green": ["green", "emerald", "dark green"],
    "cyan": ["cyan", "turquoise", "aqua"],
    "blue": ["blue", "cobalt", "royal blue"],
    "purple": ["purple", "violet"],
    "pink": ["pink", "rosy", "hot pink"],
    "brown": ["brown", "chocolate"],
    "white": ["white", "snow-white"],
    "black": ["black", "jet-black"],
}
SHAPE_WORDS = {
    "circle": ["circle", "ball", "disc"],
    "square": ["square", "box", "block"],
    "triangle": ["triangle", "triangular block"],
    "star": ["star", "five-pointed star"],
    "ring": ["ring", "donut", "hoop"],
    "cross": ["cross", "plus sign"],
}
SIZE_WORDS = {
    "small": ["small", "little", "tiny"],
    "medium": ["", "medium-sized"],
    "large": ["large", "big"],
}
PATTERN_WORDS = {
    "stripes": ["striped"],
    "dots": ["spotted", "polka-dot"],
    "checks": ["checked", "chequered"],
    "two_tone": ["two-tone"],
    "confetti": ["speckled", "confetti-covered"],
}
MOVE_WORDS = {
    "left": ["moves left", "drifts to the left", "slides left", "travels leftwards", "glides left"],
    "right": [
        "moves right",
        "drifts to the right",
        "slides right",
        "travels rightwards",
        "glides right",
    ],
    "up": ["moves up", "rises", "floats upward", "climbs up"],
    "down": ["moves down", "sinks", "descends", "slides downward"],
}
SPEED_WORDS = {
    "slow": ["slowly", "gently", "", "at a slow pace"],
    "fast": ["quickly", "fast", "rapidly", "swiftly"],
}
ACTION_WORDS = {
    "still": ["stays still", "sits still", "rests", "does not move"],
    "bounce": ["bounces", "bounces up and down", "bounces on the ground"],
    "fall": ["falls to the ground", "drops and lands", "falls down"],
    "jump": ["jumps", "jumps up and down", "hops"],
    "grow": ["grows", "gets bigger", "expands"],
    "shrink": ["shrinks", "gets smaller", "contracts"],
    "spin": ["spins", "rotates", "twirls around"],
}
RELATION_WORDS = {
    "left_of": ["to the left of", "left of", "on the left of"],
    "right_of": ["to the right of", "right of", "on the right of"],
    "above": ["above", "over"],
    "below": ["below", "under", "beneath"],
}
CAMERA_WORDS = {
    "static": ["a still shot", "a static shot", "the camera holds still"],
    "pan_left": ["the camera pans left", "the camera pans to the left", "a pan to the left"],
    "pan_right": ["the camera pans right", "the camera pans to the right", "a pan to the right"],
    "tilt_up": ["the camera tilts up", "the camera tilts upward", "a tilt up"],
    "tilt_down": ["the camera tilts down", "the camera tilts downward", "a tilt down"],
    "zoom_in": ["the camera zooms in", "a zoom in", "the view zooms in"],
    "zoom_out": ["the camera zooms out", "a zoom out", "the view zooms out"],
}
BACKGROUND_WORDS = {
    "sky": ["in a blue sky", "against a clear sky"],
    "sunset": ["at sunset", "against a sunset sky"],
    "night": ["at night", "under a night sky"],
    "grass": ["in a grassy field", "on a green meadow"],
    "beach": ["on a beach", "by the sea"],
    "snow": ["in the snow", "on a snowy field"],
    "desert": ["in the desert", "on desert sand"],
    "hills": ["among rolling hills", "in front of green hills"],
    "mountains": ["in front of mountains", "with mountains behind"],
    "clouds": ["among the clouds", "in a cloudy sky"],
    "bricks": ["in front of a brick wall", "against a brick wall"],
    "tiles": ["on a tiled floor", "over floor tiles"],
    "photo": ["over a photograph", "across a photo"],
    "image": ["over the picture", "across the image"],
    "grey": ["on a plain grey background"],
}
TRAIN_TEMPLATES = ["{np} {vp} {bg}.", "{np} {vp}, {bg}.", "{Bg}, {np} {vp}.", "{np} {vp}."]
HELDOUT_TEMPLATES = [
    "We see {np} that {vp} {bg}.",
    "There is {np} {bg}; it {vp}.",
    "{Bg} you can see {np}, which {vp}.",
]


def _pick(rng: np.random.Generator, words: list[str]) -> str:
    return words[int(rng.integers(len(words)))]


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def noun_phrase(spec: SceneSpec, i: int, rng: np.random.Generator) -> str:
    lk = spec.looks[i]
    words = [_pick(rng, SIZE_WORDS[lk.size])]
    if rng.random() < 0.35:  # the pattern's kind, never its colours: those only context can carry
        words.append(_pick(rng, PATTERN_WORDS[lk.pattern]))
    words += [_pick(rng, COLOUR_WORDS[lk.colour]), _pick(rng, SHAPE_WORDS[lk.shape])]
    return _article(" ".join(w for w in words if w))


def background_phrase(spec: SceneSpec, rng: np.random.Generator) -> str:
    bg = spec.background
    if bg.kind == "solid":
        colour = _pick(rng, COLOUR_WORDS[bg.name])
        return _pick(
            rng, [f"on {_article(colour)} background", f"against a plain {colour} backdrop"]
        )
    return _pick(rng, BACKGROUND_WORDS.get(bg.name, ["on a background"]))


def _verb_phrase(spec: SceneSpec, i: int, rng: np.random.Generator) -> str:
    action = spec.actions[i]
    if action.startswith("move_"):
        adverb = _pick(rng, SPEED_WORDS[spec.speeds[i] or "slow"])
        return " ".join(w for w in [_pick(rng, MOVE_WORDS[action[5:]]), adverb] if w)
    return _pick(rng, ACTION_WORDS[action])


def _two(spec: SceneSpec, rng: np.random.Generator) -> tuple[str, str]:
    a, b = noun_phrase(spec, 0, rng), noun_phrase(spec, 1, rng)
    rel = _pick(rng, RELATION_WORDS[spec.relation])
    if spec.actions[0] == "push":
        side = "right" if spec.relation == "left_of" else "left"
        verb = _pick(
            rng, [f"pushes {b} to the {side}", f"rolls into {b} and knocks it to the {side}"]
        )
        return a, verb
    return a, _pick(rng, [f"is {rel} {b}", f"sits {rel} {b}", f"stays {rel} {b}"])


def describe(spec: SceneSpec, rng: np.random.Generator, heldout: bool = False) -> str:
    """A caption of the scene; `heldout` draws from the templates kept out of training."""
    templates = HELDOUT_TEMPLATES if heldout else TRAIN_TEMPLATES
    bg = background_phrase(spec, rng)
    if spec.family == "camera" or spec.camera != "static":
        cam = _pick(rng, CAMERA_WORDS[spec.camera])
        if spec.looks:
            sub = _pick(rng, ["past", "over", "across"]) if spec.camera != "static" else "of"
            text = f"{cam} {sub} {noun_phrase(spec, 0, rng)} {bg}"
        else:
            text = f"{cam} {bg}"
        return text[0].upper() + text[1:] + "."
    if spec.family == "two_objects":
        np_, vp = _two(spec, rng)
    else:
        np_, vp = noun_phrase(spec, 0, rng), _verb_phrase(spec, 0, rng)
    tpl = _pick(rng, templates)
    if (
        not heldout
        and spec.background.kind != "plain"
        and tpl == TRAIN_TEMPLATES[-1]
        and rng.random() < 0.7
    ):
        tpl = TRAIN_TEMPLATES[0]  # keep the background named in most captions
    text = tpl.format(np=np_, vp=vp, bg=bg, Bg=bg[0].upper() + bg[1:])
    if spec.continues and rng.random() < 0.3:
        text = "Then " + text[0].lower() + text[1:]
    return text[0].upper() + text[1:]


def caption_vocabulary() -> list[str]:
    """Every piece of text a caption is built from: the string literals of this module (word
    lists, templates and the phrases inside the functions above), read from its source so that a
    word added anywhere here is included. For cutting a prompt encoder down to the world."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    return sorted(
        {
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
    )
