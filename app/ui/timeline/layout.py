"""Timeline arithmetic with no Qt in it: where scenes start, which scene or gap a time falls
in, snapping, and ruler steps (OpenTimelineIO viewer's pixels-per-second model)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from app.project import AudioClipView, SceneView

RULER_STEPS = (0.04, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)


@dataclass(frozen=True)
class Span:
    scene_id: int
    index: int
    start: float
    duration: float

    @property
    def end(self) -> float:
        return self.start + self.duration


def spans(scenes: Iterable[SceneView]) -> list[Span]:
    """Scenes in timeline order, laid end to end."""
    out: list[Span] = []
    t = 0.0
    for i, s in enumerate(sorted(scenes, key=lambda s: s.position)):
        out.append(Span(s.id, i, t, s.duration))
        t += s.duration
    return out


def total(spans_: list[Span]) -> float:
    return spans_[-1].end if spans_ else 0.0


def span_at(spans_: list[Span], t: float) -> Span | None:
    """The scene playing at time `t` (the last one at or past the end of the film)."""
    if not spans_:
        return None
    starts = [s.start for s in spans_]
    i = bisect.bisect_right(starts, t) - 1
    return spans_[max(0, min(i, len(spans_) - 1))]


def insertion_index(spans_: list[Span], t: float) -> int:
    """Where a scene dropped (or dragged) with its centre at `t` goes: before the first scene
    whose middle is after `t`."""
    for s in spans_:
        if t < s.start + s.duration / 2:
            return s.index
    return len(spans_)


def reorder(order: list[int], moving: list[int], to: int) -> list[int]:
    """The scene order after moving `moving` (kept in their order) to index `to` of the order
    without them, counting `to` in the original order."""
    moving_set = set(moving)
    kept = [s for s in order if s not in moving_set]
    before = sum(1 for s in order[:to] if s not in moving_set)
    ranked = [s for s in order if s in moving_set]
    return kept[:before] + ranked + kept[before:]


def moves_for(order: list[int], target: list[int]) -> list[tuple[int, int]]:
    """(scene_id, to_index) MoveScene steps that turn `order` into `target`."""
    current = list(order)
    steps = []
    for i, sid in enumerate(target):
        if current[i] != sid:
            current.remove(sid)
            current.insert(i, sid)
            steps.append((sid, i))
    return steps


def snap(t: float, targets: Iterable[float], tolerance: float) -> float:
    """`t` moved to the nearest target within `tolerance` seconds (unchanged otherwise)."""
    best, dist = t, tolerance
    for x in targets:
        d = abs(x - t)
        if d <= dist:
            best, dist = x, d
    return best


def grid_step(pps: float) -> float:
    """A snapping grid a few pixels wide at this zoom: tenths when zoomed in, seconds out."""
    for step in (0.1, 0.25, 0.5, 1.0, 2.0, 5.0):
        if step * pps >= 12:
            return step
    return 10.0


def ruler_step(pps: float, min_px: float = 70) -> float:
    for step in RULER_STEPS:
        if step * pps >= min_px:
            return step
    return RULER_STEPS[-1]


def format_time(t: float, step: float = 1.0) -> str:
    """Ruler and player time: m:ss, with tenths or frames' hundredths when the step is short."""
    t = max(0.0, t)
    m, s = divmod(t, 60)
    if step < 0.1:
        return f"{int(m)}:{s:05.2f}"
    if step < 1:
        return f"{int(m)}:{s:04.1f}"
    return f"{int(m)}:{int(s + 1e-6):02d}"


def clip_length(clip: AudioClipView, asset_duration: float | None) -> float:
    """Seconds a clip occupies on its lane."""
    end = clip.out_point if clip.out_point is not None else (asset_duration or 0.0)
    return max(0.05, end - clip.in_point)
