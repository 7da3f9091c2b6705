"""The procedural story world: seeded batches of captioned clips for training, and a preview CLI.

`make_batch(...)` is what the trainer calls. Everything random is drawn from `numpy` with the given
seed while the scene specs are built; rendering is deterministic torch on any device.

Curriculum: `curriculum` maps task families to relative weights (missing families get 0):
  still        one patterned object at rest (colour, shape, size, background)
  motion       one object moving left/right/up/down, slow or fast
  physics      bounce under gravity, fall and land, jump
  transform    grow, shrink, spin
  camera       pan/tilt/zoom (or a still shot) over a textured background or photo, 0-1 object
  two_objects  two objects left of/right of/above/below each other, sometimes one pushes the other
Default: DEFAULT_CURRICULUM. A stills-first curriculum is e.g. {"still": 1.0}, then add motion.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from engine.data.backgrounds import photos as available_photos
from engine.data.world_render import render, render_with_coverage
from engine.data.world_sample import next_scene, sample_scene, sample_story
from engine.data.world_spec import FAMILIES, SceneSpec, reference_spec, tail

DEFAULT_CURRICULUM: dict[str, float] = {
    "still": 0.15,
    "motion": 0.35,
    "physics": 0.15,
    "transform": 0.1,
    "camera": 0.15,
    "two_objects": 0.1,
}
NO_PREVIOUS_SHARE = 0.2  # with story_context, this share of items is a story's first scene


@dataclass
class WorldBatch:
    video: Tensor  # (B, T, H, W, 3) float in [0, 1] on `device`
    captions: list[str]
    start_image: Tensor | None  # always None: frame 0 of video is the start image
    previous: Tensor | None  # (B, Tp, H, W, 3) the previous scene's last frames, or None
    previous_valid: Tensor | None  # (B,) bool: which items actually have a previous scene
    references: Tensor | None  # (B, R, H, W, 3) reference stills of the clip's characters
    references_valid: Tensor | None  # (B, R) bool
    specs: list  # list[SceneSpec]: ground truth of each clip
    coverage: Tensor | None = None  # (B, T, H, W) in [0, 1]: the objects' pixels, if asked for


def curriculum_weights(curriculum: dict | None) -> tuple[list[str], list[float]]:
    cur = DEFAULT_CURRICULUM if curriculum is None else curriculum
    unknown = set(cur) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown curriculum families {sorted(unknown)}; known: {list(FAMILIES)}")
    fams = [f for f in FAMILIES if cur.get(f, 0) > 0]
    if not fams:
        raise ValueError("the curriculum gives no family a positive weight")
    return fams, [float(cur[f]) for f in fams]


def _pick_family(rng: np.random.Generator, fams: list[str], w: list[float]) -> str:
    p = np.asarray(w) / np.sum(w)
    return str(rng.choice(fams, p=p))


def make_batch(
    batch_size: int,
    width: int,
    height: int,
    frames: int,
    fps: float,
    *,
    seed: int,
    device: str | torch.device = "cpu",
    story_context: bool = False,
    n_references: int = 0,
    previous_frames: int = 5,
    heldout_captions: bool = False,
    curriculum: dict | None = None,
    photos: bool = False,
    coverage: bool = False,
    continue_share: float = 0.5,
) -> WorldBatch:
    """A batch of world clips, the same for the same arguments on every device. photos: camera
    moves may also cross scikit-image's bundled photos (needs that training-only extra).
    continue_share: with story_context, the chance that a scene goes on where the previous one
    ended rather than cutting (a camera move or two characters always cut)."""
    if photos and not available_photos():
        raise ValueError("photo backgrounds need scikit-image (pip install 'storyloom[train]')")
    rng = np.random.default_rng(int(seed) % 2**63)  # any int, negative ones too
    fams, w = curriculum_weights(curriculum)
    specs: list[SceneSpec] = []
    prevs: list[SceneSpec | None] = []
    for _ in range(batch_size):
        fam = _pick_family(rng, fams, w)
        if not story_context or rng.random() < NO_PREVIOUS_SHARE:
            specs.append(
                sample_scene(
                    rng, width, height, frames, fps, fam, heldout=heldout_captions, photos=photos
                )
            )
            prevs.append(None)
            continue
        prev = sample_scene(rng, width, height, frames, fps, _pick_family(rng, fams, w))
        if not prev.looks:
            prev = sample_scene(rng, width, height, frames, fps, "still")
        cont = bool(rng.random() < continue_share)
        cur = next_scene(rng, prev, fam, cont, heldout_captions, photos)
        specs.append(cur)
        prevs.append(prev)
    video, cover = render_with_coverage(specs, device, coverage)
    previous = previous_valid = None
    if story_context:
        previous_valid = torch.tensor([p is not None for p in prevs], device=device)
        previous = torch.zeros(batch_size, previous_frames, height, width, 3, device=device)
        have = [i for i, p in enumerate(prevs) if p is not None]
        if have:
            tails = [tail(prevs[i], previous_frames) for i in have]
            previous[torch.tensor(have, device=device)] = render(tails, device)
    references = references_valid = None
    if n_references > 0:
        references, references_valid = _references(specs, n_references, width, height, device)
    return WorldBatch(
        video=video,
        captions=[s.caption for s in specs],
        start_image=None,
        previous=previous,
        previous_valid=previous_valid,
        references=references,
        references_valid=references_valid,
        specs=specs,
        coverage=cover,
    )


def _references(specs: list[SceneSpec], n: int, width: int, height: int, device):
    """(B, n, H, W, 3) stills of each clip's characters on plain grey, and (B, n) validity."""
    refs = torch.zeros(len(specs), n, height, width, 3, device=device)
    valid = torch.zeros(len(specs), n, dtype=torch.bool, device=device)
    todo = [
        (b, k, reference_spec(lk, width, height))
        for b, s in enumerate(specs)
        for k, lk in enumerate(s.looks[:n])
    ]
    if todo:
        stills = render([t[2] for t in todo], device)[:, 0]  # (N, H, W, 3)
        bi = torch.tensor([t[0] for t in todo], device=device)
        ki = torch.tensor([t[1] for t in todo], device=device)
        refs[bi, ki] = stills
        valid[bi, ki] = True
    return refs, valid


# ---------------------------------------------------------------- preview CLI
def write_mp4(path: Path, frames: np.ndarray, fps: float) -> None:
    """(T, H, W, 3) uint8 -> H.264 MP4 (even sizes)."""
    from fractions import Fraction

    import av

    T, H, W, _ = frames.shape
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = W - W % 2, H - H % 2, "yuv420p"
        for f in frames:
            vf = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(f[: H - H % 2, : W - W % 2]), format="rgb24"
            )
            for pkt in stream.encode(vf):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)


def preview(
    out_dir: Path, stories: int, width: int, height: int, fps: float, seconds: float, seed: int
) -> list[Path]:
    """Write `stories` stories as story{i}_scene{j}.mp4 + .txt caption; returns the video paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    frames = max(1, int(round(seconds * fps)) + 1)
    fams, w = curriculum_weights(None)
    written = []
    for i in range(stories):
        n = int(rng.integers(2, 6))
        scenes = sample_story(rng, width, height, frames, fps, n, fams, w, story_id=i)
        for j, spec in enumerate(scenes):
            video = (render([spec])[0] * 255).round().to(torch.uint8).numpy()
            p = out_dir / f"story{i:02d}_scene{j}.mp4"
            write_mp4(p, video, fps)
            note = "continues" if spec.continues else "cut"
            p.with_suffix(".txt").write_text(f"{spec.caption}\n# {spec.family}, {note}\n")
            written.append(p)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m engine.data.synthetic")
    sub = ap.add_subparsers(dest="cmd", required=True)
    pv = sub.add_parser("preview", help="write a few stories as MP4 + caption files")
    pv.add_argument("-o", "--out", required=True, type=Path)
    pv.add_argument("--stories", type=int, default=3)
    pv.add_argument("--width", type=int, default=256)
    pv.add_argument("--height", type=int, default=144)
    pv.add_argument("--fps", type=float, default=12.0)
    pv.add_argument("--seconds", type=float, default=2.0)
    pv.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.width < 16 or a.height < 16 or a.stories < 1 or a.fps <= 0 or a.seconds < 0:
        print(
            "error: width/height must be >= 16, stories >= 1, fps > 0, seconds >= 0",
            file=sys.stderr,
        )
        return 2
    paths = preview(a.out, a.stories, a.width, a.height, a.fps, a.seconds, a.seed)
    print(f"wrote {len(paths)} scenes to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
