"""The fixed evaluation sets: prompts, start images, stories, with fixed seeds.

Every case is a ground-truth scene plus what the engine is given (prompt and context). Seeds live
in a range the trainer never draws from, so the cases are held out; the paraphrase cases use the
held-out caption templates. There are three sets of the same kinds and counts (CASE_SETS): the
held-out set the model card reports, a tuning set for choosing sampling settings, and a check set
for accepting a new model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from engine.data.world_render import render, render_uint8
from engine.data.world_sample import next_scene, sample_scene
from engine.data.world_spec import MOVES, SceneSpec, reference_spec

SEED_BASE = 7_000_000_000  # far from any training seed
# A second set like the first, for choosing sampling settings (guidance, steps): the scores a
# model card reports are then not tuned on the cases that produce them.
TUNING_SEED_BASE = SEED_BASE + 500_000
# A third set, only for accepting or refusing a new model against the shipped one. The held-out
# set chose the shipped model (it scored best there), so a later model compared on those cases
# starts behind by the luck of that choice; cases that never chose anything carry no such luck.
CHECK_SEED_BASE = SEED_BASE + 1_000_000


@dataclass(frozen=True)
class CaseSet:
    seed_base: int
    prefix: str  # of its case names, so that kept clips of two sets cannot be mixed up
    # Kept clips record it; clips of another version are other cases under the same names.
    version: int
    # Moving cases cycle through the four directions instead of drawing them: the held-out
    # set's 32 motion cases happen to lean upwards (15 of 32), which a model's bias can ride.
    balanced_moves: bool = False


CASE_SETS: dict[str, CaseSet] = {
    "held-out": CaseSet(SEED_BASE, "", 1),
    "tuning": CaseSet(TUNING_SEED_BASE, "tuning-", 1),
    "check": CaseSet(CHECK_SEED_BASE, "check-", 1, balanced_moves=True),
}
# kind -> (quick count, full count). The quick set (15 clips) is a smoke test that runs in
# about two minutes on a 2-core CPU; the full set (164 clips) is what scores a model. Each story
# and each image-to-video case also makes a twin without its context, to measure what it adds.
COUNTS = {
    "still": (2, 24),
    "motion": (3, 32),
    "bounce": (1, 12),
    "camera": (2, 24),
    "i2v": (1, 12),  # each makes two cases: with and without the start image
    "paraphrase": (2, 16),
    "story": (1, 12),  # each makes two cases: with and without context
    "two_objects": (1, 8),
}


@dataclass
class EvalCase:
    name: str
    kind: str  # still | motion | bounce | camera | i2v | i2v_without | paraphrase | story_with | story_without | two_objects
    spec: SceneSpec  # the ground truth of the clip asked for
    seed: int
    image: np.ndarray | None = None  # start image (H, W, 3) uint8
    previous: np.ndarray | None = None  # previous scene (T, H, W, 3) uint8
    references: list[np.ndarray] = field(default_factory=list)
    reference_crop_of: np.ndarray | None = None  # the character's reference still (H, W, 3)

    @property
    def prompt(self) -> str:
        return self.spec.caption


def _scene(rng, w, h, frames, fps, family, *, want=None, heldout=False, tries=200) -> SceneSpec:
    """A scene of `family` whose first object satisfies `want(spec)` (e.g. it bounces)."""
    for _ in range(tries):
        s = sample_scene(rng, w, h, frames, fps, family, heldout=heldout)
        if want is None or want(s):
            return s
    raise RuntimeError(f"no {family} scene matched after {tries} tries")


def _one_object(s: SceneSpec) -> bool:
    return len(s.looks) == 1


def build_cases(
    width: int,
    height: int,
    fps: float,
    frames: int,
    quick: bool = True,
    case_set: str = "held-out",
) -> list[EvalCase]:
    """The evaluation set at a frame size (the model's native size), the same on every run;
    `case_set`: one of CASE_SETS (held-out: what the model card reports; tuning: for choosing
    sampling settings; check: for accepting a new model)."""
    if case_set not in CASE_SETS:
        raise ValueError(f"no case set {case_set!r}: one of {', '.join(CASE_SETS)}")
    cs = CASE_SETS[case_set]
    cases: list[EvalCase] = []
    for kind, (nq, nf) in COUNTS.items():
        n = nq if quick else nf
        for i in range(n):
            seed = cs.seed_base + 1000 * list(COUNTS).index(kind) + i
            rng = np.random.default_rng(seed)
            name = f"{cs.prefix}{kind}-{i:02d}"
            # the i-th moving case's direction, where the set balances them
            move = None
            if cs.balanced_moves:
                move = lambda s, d=MOVES[i % len(MOVES)]: s.direction == d  # noqa: E731
            scene = partial(_scene, rng, width, height, frames, fps)  # of a family, given `want`
            if kind == "still":
                cases.append(EvalCase(name, kind, scene("still"), seed))
            elif kind in ("motion", "paraphrase"):
                s = scene("motion", want=move, heldout=kind == "paraphrase")
                cases.append(EvalCase(name, kind, s, seed))
            elif kind == "bounce":
                s = scene("physics", want=lambda s: s.actions[0] == "bounce")
                cases.append(EvalCase(name, kind, s, seed))
            elif kind == "camera":
                moves = ["pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out"]
                target = moves[i % len(moves)]
                s = scene("camera", want=lambda s, t=target: s.camera == t)
                cases.append(EvalCase(name, kind, s, seed))
            elif kind == "i2v":
                s = scene("motion", want=move)
                first = render_uint8(
                    replace(s, frames=1, tracks=s.tracks[:, :1], camera_track=s.camera_track[:1])
                )
                cases.append(EvalCase(name, kind, s, seed, image=first[0]))
                cases.append(EvalCase(f"{name}-without", "i2v_without", s, seed))
            elif kind == "two_objects":
                s = scene("two_objects", want=lambda s: s.actions[0] == "still")
                cases.append(EvalCase(name, kind, s, seed))
            elif kind == "story":
                cases += _story_cases(rng, name, seed, width, height, frames, fps)
    return cases


def _story_cases(rng, name, seed, width, height, frames, fps) -> list[EvalCase]:
    """Scene 2 of a story, asked for with the previous scene and a reference still, and without."""
    no_spin = lambda s: _one_object(s) and s.actions[0] != "spin"  # noqa: E731
    first = _scene(rng, width, height, frames, fps, "still", want=no_spin)
    second = next_scene(rng, first, str(rng.choice(["still", "motion"])), bool(rng.random() < 0.5))
    prev = render_uint8(first)
    ref = render_uint8(reference_spec(first.looks[0], width, height))[0]
    with_ctx = EvalCase(
        f"{name}-with",
        "story_with",
        second,
        seed,
        previous=prev,
        references=[ref],
        reference_crop_of=ref,
    )
    without = EvalCase(f"{name}-without", "story_without", second, seed, reference_crop_of=ref)
    return [with_ctx, without]


def ground_truth_clips(cases: list[EvalCase]) -> list[np.ndarray]:
    """The rendered ground truth of every case, (T, H, W, 3) uint8."""
    return [render_uint8(c.spec) for c in cases]


def noise_clips(cases: list[EvalCase], seed: int = 0) -> list[np.ndarray]:
    """Uniform random frames of each case's size: the score of knowing nothing."""
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 256, (c.spec.frames, c.spec.height, c.spec.width, 3), dtype=np.uint8)
        for c in cases
    ]


def render_batch(specs: list[SceneSpec]) -> np.ndarray:
    return (render(specs) * 255).round().byte().numpy()
