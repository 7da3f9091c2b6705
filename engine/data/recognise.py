"""Shape and background recognition. Backgrounds: nearest neighbours over analytic features,
fitted on a few world renders at the clip size when a `Recogniser` is built (deterministic, a
second). Shapes: the shipped shape network (`engine/data/shape_net.py`)."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from engine.data.backgrounds import N_PARAMS, background_names
from engine.data.detector import find_blobs
from engine.data.shape_net import read_shape
from engine.data.world_render import render
from engine.data.world_spec import Background, SceneSpec, background_class

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


class Recogniser:
    """Classifies the shape of an object and the background of a frame of size (width, height)."""

    def __init__(self, width: int, height: int, seed: int = 0, per_class: int = 8):
        rng = np.random.default_rng(seed)
        self.width, self.height = width, height
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

    def shape(self, frames: np.ndarray, colour: str, samples: int = 5) -> str | None:
        """The shape of the object of `colour`, read by the shape network over a few frames."""
        idx = np.linspace(0, len(frames) - 1, min(samples, len(frames))).astype(int)
        return read_shape([frames[i] for i in idx], colour)

    def background(self, frame: np.ndarray) -> str:
        f = background_features(frame)
        d = ((self._bg_x - f) ** 2).sum(-1)
        return self._bg_y[int(d.argmin())]


@lru_cache(maxsize=8)
def recogniser_for(width: int, height: int) -> Recogniser:
    """A shared recogniser per frame size (it is deterministic, so sharing changes nothing)."""
    return Recogniser(width, height)
