"""Where things are on the timeline, in scene pixels: the ruler band, the video lane, the audio
lanes (one per track plus an empty one to drop new audio on)."""

from __future__ import annotations

from dataclasses import dataclass

RULER_H = 26
GAP = 6
VIDEO_H = 92
AUDIO_H = 52
LEFT = 16  # px before time 0
TAIL = 120  # px of empty lane after the last scene (room to drop)
MIN_PPS, MAX_PPS, DEFAULT_PPS = 1.0, 600.0, 40.0
SNAP_PX = 8


@dataclass(frozen=True)
class Geometry:
    pps: float
    lanes: int  # audio lanes shown (tracks + 1 empty)

    def x(self, t: float) -> float:
        return LEFT + t * self.pps

    def t(self, x: float) -> float:
        return max(0.0, (x - LEFT) / self.pps)

    @property
    def video_top(self) -> float:
        return RULER_H + GAP

    def audio_top(self, lane: int) -> float:
        return self.video_top + VIDEO_H + GAP + lane * (AUDIO_H + GAP)

    @property
    def height(self) -> float:
        return self.audio_top(self.lanes) + GAP

    def lane_at(self, y: float) -> tuple[str, int]:
        """('ruler', 0) | ('video', 0) | ('audio', lane index) | ('none', 0) for a scene y."""
        if y < RULER_H:
            return "ruler", 0
        if y < self.video_top + VIDEO_H + GAP / 2:
            return "video", 0
        lane = int((y - self.video_top - VIDEO_H - GAP / 2) // (AUDIO_H + GAP))
        return ("audio", min(lane, self.lanes - 1)) if self.lanes else ("none", 0)
