"""The picture, frame by frame: each segment's take (or card), the transitions between them
and burnt-in subtitles. Only the sources around the current frame are open, so memory does not
grow with the film's length.

A transition of D frames is centred on its cut: for frame k of the window the outgoing picture
is blended with the incoming one at alpha = (k + 0.5) / D (crossfade), or faded to black and
back up (fade). Outside windows a frame shows its own segment alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from app.project import Project

from . import cards
from .plan import Plan, Segment
from .settings import Cue
from .subtitles import active
from .video_source import VideoSource


def alpha(k: int, frames: int) -> float:
    return (k + 0.5) / frames


def blend(kind: str, out_img: np.ndarray, in_img: np.ndarray, a: float) -> np.ndarray:
    if kind == "crossfade":
        return cv2.addWeighted(out_img, 1.0 - a, in_img, a, 0.0)
    if a < 0.5:  # fade through black: down over the first half, up over the second
        return cv2.convertScaleAbs(out_img, alpha=1.0 - 2 * a)
    return cv2.convertScaleAbs(in_img, alpha=2 * a - 1.0)


class Compositor:
    def __init__(self, project: Project, plan: Plan, fit: str, subtitles: tuple[Cue, ...]) -> None:
        self._project, self._plan, self._fit, self._cues = project, plan, fit, subtitles
        self._size = (plan.width, plan.height)
        self._sources: dict[int, VideoSource] = {}
        self._stills: dict[int, np.ndarray] = {}
        # each cut's window: (first frame, frames) per incoming segment index
        self._windows: dict[int, tuple[int, int]] = {}
        for j, seg in enumerate(plan.segments):
            if j and not seg.transition_in.is_cut:
                d = max(1, round(seg.transition_in.duration * plan.fps))
                self._windows[j] = (seg.first - d // 2, d)

    def close(self) -> None:
        for s in self._sources.values():
            s.close()
        self._sources.clear()

    def frames(self) -> Iterator[np.ndarray]:
        """(H, W, 3) uint8 RGB frames in order; closes its sources when done or abandoned."""
        segs = self._plan.segments
        i = 0
        try:
            for n in range(self._plan.frames):
                while i + 1 < len(segs) and n >= segs[i + 1].first:
                    i += 1
                img, used = self._picture(n, i)
                for j in [j for j in self._sources if j < min(used)]:
                    self._sources.pop(j).close()  # behind us for good
                for j in [j for j in self._stills if j < min(used)]:
                    del self._stills[j]
                yield self._subtitled(img, n, segs[i])
        finally:
            self.close()

    def _picture(self, n: int, i: int) -> tuple[np.ndarray, tuple[int, ...]]:
        for j in (i, i + 1):
            win = self._windows.get(j)
            if win is not None and win[0] <= n < win[0] + win[1]:
                a = alpha(n - win[0], win[1])
                kind = self._plan.segments[j].transition_in.kind
                return blend(kind, self._image(j - 1, n), self._image(j, n), a), (j - 1, j)
        return self._image(i, n), (i,)

    def _image(self, j: int, n: int) -> np.ndarray:
        seg = self._plan.segments[j]
        if seg.video is None:
            if j not in self._stills:
                self._stills[j] = self._still(seg)
            return self._stills[j]
        src = self._sources.get(j)
        if src is None:
            src = self._sources[j] = VideoSource(
                self._project, seg.video, seg.label, self._size, self._fit
            )
        return src.frame_at(n / self._plan.fps - seg.start)

    def _still(self, seg: Segment) -> np.ndarray:
        if seg.kind == "placeholder":
            return cards.placeholder_card(seg.lines, self._size)
        return cards.title_card("\n".join(seg.lines), self._size)

    def _subtitled(self, img: np.ndarray, n: int, seg: Segment) -> np.ndarray:
        if not self._cues or seg.timeline_start is None:
            return img
        t = seg.timeline_start + (n / self._plan.fps - seg.start)
        return cards.draw_subtitles(img, active(self._cues, t))
