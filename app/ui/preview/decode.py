"""Decoding media for the preview and the timeline through PyAV (worker threads only).

Takes are short clips, so a take is decoded whole at draft size and kept as frames; audio is
decoded to float32 stereo at the mixer's rate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import av
import numpy as np

from app.project import MediaError

MIX_RATE = 44100


@dataclass(frozen=True)
class DecodedVideo:
    frames: list[np.ndarray]  # each (H, W, 3) uint8 RGB
    fps: float

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps if self.fps else 0.0

    def frame_at(self, t: float) -> np.ndarray | None:
        """The frame shown at `t` seconds into the clip (the last one held after its end)."""
        if not self.frames:
            return None
        i = int(max(0.0, t) * self.fps + 1e-6)
        return self.frames[min(i, len(self.frames) - 1)]


def _draft_size(w: int, h: int, max_height: int) -> tuple[int, int]:
    if h <= max_height:
        return w - w % 2, h - h % 2
    s = max_height / h
    return max(2, int(w * s) // 2 * 2), max(2, int(h * s) // 2 * 2)


def decode_video(
    source: BinaryIO | str, max_height: int = 360, name: str = "video", check=None
) -> DecodedVideo:
    """All frames of a clip at most `max_height` tall. `check()` is called between frames (it
    raises to stop)."""
    try:
        with av.open(source) as box:
            stream = box.streams.video[0]
            stream.thread_type = "AUTO"
            fps = float(stream.average_rate or stream.guessed_rate or 24)
            frames: list[np.ndarray] = []
            size: tuple[int, int] | None = None
            for frame in box.decode(stream):
                if check is not None:
                    check()
                if size is None:
                    size = _draft_size(frame.width, frame.height, max_height)
                frames.append(frame.reformat(size[0], size[1], format="rgb24").to_ndarray())
            return DecodedVideo(frames, fps)
    except (av.error.FFmpegError, IndexError, ValueError) as e:
        raise MediaError(f"{name}: cannot be decoded for the preview") from e


def pick_evenly(frames: list[np.ndarray], n: int) -> list[np.ndarray]:
    if not frames or n <= 0:
        return []
    idx = np.linspace(0, len(frames) - 1, num=min(n, len(frames))).round().astype(int)
    return [frames[i] for i in idx]


def decode_audio(source: BinaryIO | str, name: str = "audio", check=None) -> np.ndarray:
    """(n, 2) float32 samples at MIX_RATE."""
    try:
        with av.open(source) as box:
            stream = box.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="stereo", rate=MIX_RATE)
            parts: list[np.ndarray] = []
            for frame in box.decode(stream):
                if check is not None:
                    check()
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1, 2))  # packed (n, 2)
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1, 2))
    except (av.error.FFmpegError, IndexError, ValueError) as e:
        raise MediaError(f"{name}: cannot be decoded for the preview") from e
    if not parts:
        return np.zeros((0, 2), np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)
