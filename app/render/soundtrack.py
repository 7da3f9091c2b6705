"""The film's sound in output order: each segment's span of the project timeline, mixed, with
silence under cards, exactly as many samples as the picture lasts.

`blocks()` yields (n, 2) float32 blocks of at most BLOCK samples that never straddle a segment
boundary. Where two consecutive segments are not neighbours on the timeline (a card, or scenes
picked out of order) the sound jumps, so both sides get a short fade against clicks.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from app.project import Project

from .master import master, normalise_gain
from .mix import Mixer
from .plan import Plan
from .settings import MasterSettings

BLOCK = 48_000  # samples per block: a second at 48 kHz
DECLICK_S = 0.005


def total_samples(plan: Plan) -> int:
    """As long as the picture: frames / fps, in samples."""
    return round(plan.frames * plan.sample_rate / plan.fps)


def _spans(plan: Plan) -> list[tuple[int, int, int | None]]:
    """(first output sample, end output sample, first timeline sample or None) per segment."""
    rate, total = plan.sample_rate, total_samples(plan)
    bounds = [min(total, round(s.start * rate)) for s in plan.segments] + [total]
    out = []
    for seg, a, b in zip(plan.segments, bounds, bounds[1:], strict=False):
        tl = None if seg.timeline_start is None else round(seg.timeline_start * rate)
        out.append((a, b, tl))
    return out


def blocks(project: Project, plan: Plan) -> Iterator[np.ndarray]:
    """The mix before the master bus."""
    mixer = Mixer(project, plan.sources, plan.sample_rate)
    spans = _spans(plan)
    declick = max(1, round(DECLICK_S * plan.sample_rate))
    try:
        for i, (a, b, tl) in enumerate(spans):
            joined_before = i > 0 and _joined(spans[i - 1], spans[i])
            joined_after = i + 1 < len(spans) and _joined(spans[i], spans[i + 1])
            for m in range(a, b, BLOCK):
                n = min(BLOCK, b - m)
                if tl is None or not plan.sources:
                    yield np.zeros((n, 2), np.float32)
                    continue
                block = mixer.render(tl + (m - a), n)
                if not joined_before and m == a and i > 0:
                    k = min(declick, n)
                    block[:k] *= np.linspace(0, 1, k, dtype=np.float32)[:, None]
                if not joined_after and m + n == b and i + 1 < len(spans):
                    k = min(declick, n)
                    block[n - k :] *= np.linspace(1, 0, k, dtype=np.float32)[:, None]
                yield block
    finally:
        mixer.close()


def _joined(left: tuple[int, int, int | None], right: tuple[int, int, int | None]) -> bool:
    """True when `right` carries on the timeline exactly where `left` stops."""
    if left[2] is None or right[2] is None:
        return False
    return left[2] + (left[1] - left[0]) == right[2]


def peak(project: Project, plan: Plan) -> float:
    """The mix's sample peak (first pass, for normalisation)."""
    top = 0.0
    for block in blocks(project, plan):
        if block.size:
            top = max(top, float(np.abs(block).max()))
    return top


def mastered(
    project: Project, plan: Plan, settings: MasterSettings, mix_peak: float
) -> Iterator[np.ndarray]:
    gain = normalise_gain(mix_peak, settings.normalise_db, settings.max_boost_db)
    return master(blocks(project, plan), gain, settings.ceiling_db, plan.sample_rate)


class SampleFifo:
    """Blocks in, exactly-sized pieces out (the encoder wants audio up to each frame's end)."""

    def __init__(self, source: Iterator[np.ndarray]) -> None:
        self._source = source
        self._buf = np.zeros((0, 2), np.float32)
        self._pos = 0  # samples of _buf already handed out

    def take(self, n: int) -> np.ndarray:
        while len(self._buf) - self._pos < n:
            nxt = next(self._source, None)
            if nxt is None:
                break
            self._buf = np.concatenate([self._buf[self._pos :], nxt])
            self._pos = 0
        out = self._buf[self._pos : self._pos + n]
        self._pos += len(out)
        if len(out) < n:  # the mix fell short (it never should): pad, keep the length exact
            out = np.concatenate([out, np.zeros((n - len(out), 2), np.float32)])
        return out
