"""Shape and background recognition: nearest neighbours over analytic features, fitted on a few
world renders at the clip size, and softened copies of them, when a `Recogniser` is built
(deterministic, a few seconds)."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import cv2
import numpy as np

from engine.data.backgrounds import N_PARAMS, background_names
from engine.data.detector import blob_of, find_blobs, object_silhouette, shape_features
from engine.data.world_render import render
from engine.data.world_sample import sample_look
from engine.data.world_spec import SHAPES, Background, SceneSpec, background_class

BANDS = 8


def background_features(frame: np.ndarray) -> np.ndarray:
    """Mean colour and texture of horizontal bands, with object pixels left out."""
    H, W = frame.shape[:2]
    keep = np.ones((H, W), bool)
    for b in find_blobs(frame):
        keep &= ~cv2.dilate(b.silhouette().astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    f = frame.astype(np.float32) / 255.0
    g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grad = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)) / 64.0
    feats = []
    edges = np.linspace(0, H, BANDS + 1).astype(int)
    last = None
    for y0, y1 in zip(edges[:-1], edges[1:], strict=True):
        k = keep[y0:y1]
        if k.sum() < 4:  # a band hidden by objects: repeat the one above
            feats.append(last if last is not None else np.zeros(4))
            continue
        col = f[y0:y1][k].mean(0)
        tex = min(2.0, float(grad[y0:y1][k].mean()))
        last = np.array([*col, tex])
        feats.append(last)
    return np.concatenate(feats)


def degraded(frame: np.ndarray, size: int) -> list[np.ndarray]:
    """The frame as a generator may draw it: blurred, and through an 8x coarser grid (the
    autoencoder's). Shapes are fitted on these too, so a soft-edged circle is still a circle."""
    H, W = frame.shape[:2]
    soft = cv2.GaussianBlur(frame, (0, 0), max(1.0, size / 72))
    small = cv2.resize(frame, (max(1, W // 8), max(1, H // 8)), interpolation=cv2.INTER_AREA)
    coarse = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
    return [soft, cv2.GaussianBlur(coarse, (0, 0), 1.0)]


class Recogniser:
    """Classifies the shape of an object and the background of a frame of size (width, height)."""

    def __init__(self, width: int, height: int, seed: int = 0, per_class: int = 8):
        rng = np.random.default_rng(seed)
        self.width, self.height = width, height
        S = min(width, height)
        # shapes: single objects of every pattern and size at random angles on a grey backdrop
        specs = []
        for shape in SHAPES:
            for i in range(per_class * 2):
                look = sample_look(rng, ["red", "blue", "yellow", "green", "white", "black"])
                look = look.__class__(**{**look.__dict__, "shape": shape})
                r = look.radius_frac * S
                tr = np.array([[[width / 2, height / 2, r, rng.uniform(0, 2 * np.pi) * (i % 2)]]])
                specs.append(
                    SceneSpec(
                        width,
                        height,
                        1,
                        1.0,
                        "still",
                        Background("plain", "grey", (0.5, 0.5, 0.5)),
                        [look],
                        ["still"],
                        [""],
                        tr,
                    )
                )
        frames = (render(specs)[:, 0] * 255).round().byte().numpy()
        feats, names = [], []
        for spec, fr in zip(specs, frames, strict=True):
            for look in (fr, *degraded(fr, S)):
                f = self._shape_feats(look, spec.looks[0].colour)
                if f is not None:
                    feats.append(f)
                    names.append(spec.looks[0].shape)
        self._shape_x, self._shape_y = np.array(feats), names
        # backgrounds: every class with several random parameter draws, no objects
        bgs = [
            Background(k, n, tuple(float(x) for x in rng.random(N_PARAMS)))
            for k, n in background_names()
            for _ in range(per_class)
        ]
        bspecs = [
            SceneSpec(width, height, 1, 1.0, "still", bg, [], [], [], np.zeros((0, 1, 4)))
            for bg in bgs
        ]
        bframes = (render(bspecs)[:, 0] * 255).round().byte().numpy()
        self._bg_x = np.array([background_features(f) for f in bframes])
        self._bg_y = [background_class(b.kind, b.name) for b in bgs]

    @staticmethod
    def _shape_feats(frame: np.ndarray, colour: str) -> np.ndarray | None:
        b = blob_of(frame, colour)
        if b is None:
            return None
        return shape_features(*object_silhouette(frame, b))

    def shape_of(self, frame: np.ndarray, colour: str) -> str | None:
        f = self._shape_feats(frame, colour)
        if f is None:
            return None
        d = (((self._shape_x - f) * np.array([1.0, 1.0, 1.0, 3.0])) ** 2).sum(-1)
        return self._shape_y[int(d.argmin())]

    def shape(self, frames: np.ndarray, colour: str, samples: int = 5) -> str | None:
        """Majority vote over a few frames of the clip."""
        idx = np.linspace(0, len(frames) - 1, min(samples, len(frames))).astype(int)
        votes = [s for s in (self.shape_of(frames[i], colour) for i in idx) if s]
        return Counter(votes).most_common(1)[0][0] if votes else None

    def background(self, frame: np.ndarray) -> str:
        f = background_features(frame)
        d = ((self._bg_x - f) ** 2).sum(-1)
        return self._bg_y[int(d.argmin())]


@lru_cache(maxsize=8)
def recogniser_for(width: int, height: int) -> Recogniser:
    """A shared recogniser per frame size (it is deterministic, so sharing changes nothing)."""
    return Recogniser(width, height)
