"""The mix, with pydub: every audible clip placed on the timeline, trimmed, with its gain and
fades, overlaid into one bus, one block of the timeline at a time (so memory stays flat however
long the film is). pydub works on PCM decoded by PyAV; no ffmpeg executable is involved.

Blocks are 32-bit fixed point with 1.0 at 2**24: pydub's gains and overlays then have 42 dB of
headroom before they would saturate, and the master bus (normalisation, limiter) sees the true
sum. Track gain is added to each clip's gain (the same thing for a linear mix).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from app.project import Project

from .audio_source import PcmReader
from .plan import AudioSource

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pydub warns at import that there is no ffmpeg: none needed
    from pydub import AudioSegment

FULL = float(1 << 24)  # full scale in the int32 blocks
SILENT_DB = -120.0  # pydub's "silence" for fades


def to_segment(pcm: np.ndarray, rate: int) -> AudioSegment:
    """(n, 2) float32 -> a 32-bit stereo AudioSegment."""
    data = np.clip(np.rint(pcm * FULL), -(2**31), 2**31 - 1).astype("<i4")
    return AudioSegment(data=data.tobytes(), sample_width=4, frame_rate=rate, channels=2)


def from_segment(seg: AudioSegment) -> np.ndarray:
    return (np.frombuffer(seg.raw_data, "<i4").astype(np.float32) / FULL).reshape(-1, 2)


def _db(amplitude: float) -> float:
    return SILENT_DB if amplitude <= 1e-6 else 20 * math.log10(amplitude)


class Mixer:
    """`render(t0, n)`: the timeline's sound for samples t0..t0+n, as (n, 2) float32."""

    def __init__(self, project: Project, sources: tuple[AudioSource, ...], rate: int) -> None:
        self._project, self._sources, self._rate = project, sources, rate
        self._readers: dict[int, PcmReader] = {}
        # each source's span on the timeline, in samples
        self._spans = [
            (round(s.start * rate), round(s.start * rate) + round(s.length * rate)) for s in sources
        ]

    def close(self) -> None:
        for r in self._readers.values():
            r.close()
        self._readers.clear()

    def _ms(self, samples: int) -> int:
        return round(samples * 1000 / self._rate)

    def _fades(self, seg: AudioSegment, src: AudioSource, span: tuple[int, int], t0: int, n: int):
        """The part of the clip's fade-in and fade-out that falls in this block, with pydub."""
        s0, s1 = span
        fi, fo = round(src.fade_in * self._rate), round(src.fade_out * self._rate)
        if fi > 0:
            a, b = max(t0, s0), min(t0 + n, s0 + fi)
            if self._ms(b - t0) > self._ms(a - t0):
                seg = seg.fade(
                    from_gain=_db((a - s0) / fi),
                    to_gain=_db(min(1.0, (b - s0) / fi)),
                    start=self._ms(a - t0),
                    end=self._ms(b - t0),
                )
        if fo > 0:
            a, b = max(t0, s1 - fo), min(t0 + n, s1)
            if self._ms(b - t0) > self._ms(a - t0):
                seg = seg.fade(
                    from_gain=_db(min(1.0, (s1 - a) / fo)),
                    to_gain=_db((s1 - b) / fo),
                    start=self._ms(a - t0),
                    end=self._ms(b - t0),
                )
        return seg

    def render(self, t0: int, n: int) -> np.ndarray:
        bus: AudioSegment | None = None
        for k, (src, span) in enumerate(zip(self._sources, self._spans, strict=True)):
            s0, s1 = span
            a, b = max(t0, s0), min(t0 + n, s1)
            if s1 <= t0 and k in self._readers:
                self._readers.pop(k).close()  # this clip is over: free its decoder
            if a >= b:
                continue
            reader = self._readers.get(k)
            if reader is None:
                reader = self._readers[k] = PcmReader(
                    self._project, src.asset, src.label, self._rate
                )
            block = np.zeros((n, 2), np.float32)
            block[a - t0 : b - t0] = reader.read(round(src.in_point * self._rate) + a - s0, b - a)
            seg = to_segment(block, self._rate)
            if src.gain_db:
                seg = seg.apply_gain(src.gain_db)
            seg = self._fades(seg, src, span, t0, n)
            bus = seg if bus is None else bus.overlay(seg)
        if bus is None:
            return np.zeros((n, 2), np.float32)
        return from_segment(bus)
