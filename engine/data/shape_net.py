"""The detector's shape reader: a small CNN that names an object's shape from a crop around it.

Silhouette analysis reads the world's crisp renders perfectly but not a generated object, whose
outline is soft and whose pattern bleeds into it and into the background; on the default
autoencoder's round trip of the ground truth it named barely half the shapes a person can still
see. So, as the evaluation's design allows where analysis is not robust, a classifier reads the
shape. It is trained here on world renders degraded in generic ways (blur, a coarse grid, a
pattern that bleeds, motion smear, colour shifts, noise), never on any model's output, and
checked on a held-out set of the same; its weights ship in `resources/detector/`.

    python -m engine.data.shape_net train [-o FILE] [--samples N] [--epochs N]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from engine.data.detector import blob_of, object_silhouette
from engine.data.world_render import render
from engine.data.world_sample import sample_scene
from engine.data.world_spec import PALETTE, SHAPES
from engine.resources_path import resources_dir

CROP = 32  # the crop the network reads: (4, CROP, CROP)
MARGIN = 1.35  # the crop spans the object's box times this, so its outline is all in view
SEED = 7_340_000  # the training world's seeds: far from the evaluation's
SIZES = ((256, 144), (256, 144), (192, 192), (320, 180))  # mostly the default model's native size


class ShapeNet(nn.Module):
    """(B, 4, 32, 32) crop -> (B, len(SHAPES)) logits. Channels: RGB in [0, 1] and how close
    each pixel is to the object's named colour (which object is meant, when two are near)."""

    def __init__(self, width: int = 16):
        super().__init__()
        w = width

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.SiLU(),
                nn.Conv2d(cout, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.SiLU(),
            )

        self.features = nn.Sequential(
            block(4, w),  # (B, w, 32, 32)
            nn.MaxPool2d(2),
            block(w, 2 * w),  # (B, 2w, 16, 16)
            nn.MaxPool2d(2),
            block(2 * w, 4 * w),  # (B, 4w, 8, 8)
            nn.MaxPool2d(2),
            block(4 * w, 4 * w),  # (B, 4w, 4, 4)
        )
        self.head = nn.Linear(4 * w, len(SHAPES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((2, 3)))


# ---------------------------------------------------------------- crops
def shape_crop(
    frame: np.ndarray, colour: str, jitter: np.random.Generator | None = None
) -> np.ndarray | None:
    """(4, CROP, CROP) float32: the square around the object of `colour` in frame (H, W, 3)
    uint8, or None when there is none. `jitter` shifts and scales the square a little (training)."""
    b = blob_of(frame, colour)
    if b is None:
        return None
    sil, comp = object_silhouette(frame, b)
    ys, xs = np.nonzero(sil | comp | b.mask)
    cx, cy = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
    half = max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) / 2 * MARGIN + 2
    if jitter is not None:
        half *= jitter.uniform(0.88, 1.15)
        cx += jitter.uniform(-0.1, 0.1) * half
        cy += jitter.uniform(-0.1, 0.1) * half
    # the square, resampled to CROP x CROP (area-averaged: pre-blur when shrinking)
    k = CROP / (2 * half)
    src = frame
    if k < 0.7:
        src = cv2.GaussianBlur(frame, (0, 0), 0.45 / k)
    m = np.array([[k, 0, CROP / 2 - k * cx], [0, k, CROP / 2 - k * cy]], np.float32)
    crop = cv2.warpAffine(
        src, m, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    rgb = crop.astype(np.float32) / 255.0
    d = np.sqrt(((crop.astype(np.float32) - np.float32(PALETTE[colour])) ** 2).sum(-1))
    near = np.exp(-d / 60.0)
    return np.concatenate([rgb.transpose(2, 0, 1), near[None]], 0).astype(np.float32)


# ---------------------------------------------------------------- generic degradations
def degrade(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The frame as some generator might draw it, chosen at random: softened (blur, or a grid 4
    or 8 times coarser), its pattern bled into the colour around it, smeared along a motion,
    with colour shifts, blotches and noise. None of this looks at a model."""
    H, W = frame.shape[:2]
    s = min(H, W) / 144
    f = frame.astype(np.float32)
    if rng.random() < 0.5:  # pattern and edges bleed: part of a heavily blurred copy
        a = rng.uniform(0.2, 0.9)
        f = f * (1 - a) + cv2.GaussianBlur(f, (0, 0), rng.uniform(1.5, 4.0) * s) * a
    kind = rng.integers(4)
    if kind == 1:
        f = cv2.GaussianBlur(f, (0, 0), rng.uniform(0.6, 2.5) * s)
    elif kind >= 2:
        g = 8 if kind == 2 else 4
        small = cv2.resize(f, (max(1, W // g), max(1, H // g)), interpolation=cv2.INTER_AREA)
        f = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
        f = cv2.GaussianBlur(f, (0, 0), rng.uniform(0.5, 1.5) * s)
    if rng.random() < 0.25:  # motion smear along a random direction
        n = int(rng.integers(3, 10))
        ker = np.zeros((n, n), np.float32)
        ang = rng.uniform(0, math.pi)
        c = (n - 1) / 2
        for t in np.linspace(-c, c, 2 * n):
            ker[int(round(c + t * math.sin(ang))), int(round(c + t * math.cos(ang)))] = 1
        f = cv2.filter2D(f, -1, ker / ker.sum())
    if rng.random() < 0.5:  # smooth blotches, as a generated background has
        lo = rng.normal(0, 1, (max(2, H // 16), max(2, W // 16), 3)).astype(np.float32)
        f = f + cv2.resize(lo, (W, H), interpolation=cv2.INTER_CUBIC) * rng.uniform(0, 12)
    f = f * rng.uniform(0.9, 1.1, 3).astype(np.float32) + rng.uniform(-12, 12, 3).astype(np.float32)
    f = f + rng.normal(0, rng.uniform(0, 6), f.shape).astype(np.float32)
    return np.clip(f, 0, 255).round().astype(np.uint8)


# ---------------------------------------------------------------- data and training
def make_set(n: int, seed: int, clean_share: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """n crops (n, 4, CROP, CROP) of single world objects and their shape indices (n,):
    still scenes on the world's backgrounds, at a few frame sizes and any angle, most of them
    degraded."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    while len(xs) < n:
        W, H = SIZES[int(rng.integers(len(SIZES)))]
        specs = [sample_scene(rng, W, H, 1, 12.0, "still") for _ in range(32)]
        for spec in specs:  # the world's stills stand upright; a generated one may not
            if rng.random() < 0.6:
                spec.tracks[..., 3] = rng.uniform(0, 2 * math.pi)
        frames = (render(specs)[:, 0] * 255).round().byte().numpy()
        for spec, fr in zip(specs, frames, strict=True):
            look = spec.looks[0]
            if rng.random() < 0.5:  # mirrored (training also turns crops a quarter)
                fr = fr[:, ::-1].copy()
            x = fr if rng.random() < clean_share else degrade(fr, rng)
            c = shape_crop(x, look.colour, jitter=rng)
            if c is not None:
                xs.append(c)
                ys.append(SHAPES.index(look.shape))
    return np.stack(xs[:n]), np.array(ys[:n])


def accuracy(net: ShapeNet, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        pred = net.eval()(torch.from_numpy(x)).argmax(-1).numpy()
    return float((pred == y).mean())


def train(out: Path, samples: int = 20000, epochs: int = 14, seed: int = SEED, log=print) -> dict:
    """Train the shape reader from scratch and write its weights (safetensors) and a JSON of how
    it was made and what it scores on held-out renders, clean and degraded."""
    t0 = time.time()
    torch.manual_seed(seed)
    x, y = make_set(samples, seed)
    vx, vy = make_set(max(64, samples // 8), seed + 1, clean_share=0.0)
    cx, cy = make_set(max(64, samples // 16), seed + 2, clean_share=1.0)
    log(f"data: {len(x)} training crops, {time.time() - t0:.0f} s")
    net = ShapeNet()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    batch, steps = 128, epochs * math.ceil(len(x) / 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), batch):
            idx = perm[i : i + batch]
            xb = X[idx]
            k = int(torch.randint(4, (1,), generator=gen))  # quarter turns: shapes have no up
            xb = torch.rot90(xb, k, (2, 3))
            loss = F.cross_entropy(net(xb), Y[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        log(
            f"epoch {ep + 1}/{epochs}: loss {loss.item():.3f}, degraded {accuracy(net, vx, vy):.3f}"
        )
    net.eval()
    report = {
        "samples": len(x),
        "epochs": epochs,
        "seed": seed,
        "held_out_degraded_accuracy": accuracy(net, vx, vy),
        "held_out_clean_accuracy": accuracy(net, cx, cy),
        "seconds": round(time.time() - t0, 1),
        "torch": torch.__version__,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp))
    tmp.chmod(0o644)  # shipped with the application: readable by every user
    tmp.replace(out)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    return report


# ---------------------------------------------------------------- use
def weights_path() -> Path:
    return resources_dir() / "detector" / "shape_net.safetensors"


@lru_cache(maxsize=2)
def load_shape_net(path: str | None = None) -> ShapeNet:
    """The shipped shape reader (safetensors only), in eval mode on the CPU."""
    net = ShapeNet()
    net.load_state_dict(load_file(str(path or weights_path())))
    return net.eval()


def read_shape(frames: list[np.ndarray], colour: str, net: ShapeNet | None = None) -> str | None:
    """The shape of the object of `colour` over frames (each (H, W, 3) uint8): the class with
    the most evidence summed over the frames it is found in; None when it is in none."""
    crops = [c for c in (shape_crop(f, colour) for f in frames) if c is not None]
    if not crops:
        return None
    net = net or load_shape_net()
    with torch.no_grad():
        logp = F.log_softmax(net(torch.from_numpy(np.stack(crops))), -1).sum(0)
    return SHAPES[int(logp.argmax())]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.data.shape_net")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the detector's shape reader from scratch")
    t.add_argument("-o", "--out", type=Path, default=None)
    t.add_argument("--samples", type=int, default=20000)
    t.add_argument("--epochs", type=int, default=14)
    a = p.parse_args(argv)
    if a.samples < 1 or a.epochs < 1:
        print("error: --samples and --epochs must be >= 1", file=sys.stderr)
        return 2
    report = train(a.out or weights_path(), a.samples, a.epochs)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
