"""Sound of one medium (an audio file or a take's own sound track) as float32 stereo at the
mix's rate, read front to back through PyAV from the project file, seeking when asked to jump."""

from __future__ import annotations

from collections.abc import Iterator

import av
import numpy as np

from app.project import AssetView, Project

from .errors import RenderError

SEEK_AHEAD_S = 5.0  # a jump further than this seeks instead of decoding through


def _why(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


class PcmReader:
    """`read(pos, n)` -> (n, 2) float32: samples pos..pos+n of the medium (at `rate`), silence
    past its end. Positions should not decrease (going back reopens the medium)."""

    def __init__(self, project: Project, asset: AssetView, label: str, rate: int) -> None:
        self._project, self._asset, self._label, self._rate = project, asset, label, rate
        self._box: av.container.InputContainer | None = None
        self._frames: Iterator[av.AudioFrame] = iter(())
        self._buf = np.zeros((0, 2), np.float32)
        self._buf_start = 0  # media sample index of self._buf[0]
        self._eof = True
        self._resampler: av.AudioResampler | None = None
        self._mono = False
        self._t0 = 0.0

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None

    def _fail(self, e: BaseException) -> RenderError:
        return RenderError(f"{self._label}: its sound cannot be decoded ({_why(e)})")

    def _open(self, pos: int) -> None:
        self.close()
        try:
            self._box = av.open(self._project.open_asset(self._asset.id))
            if not self._box.streams.audio:
                raise RenderError(f"{self._label}: its media has no sound")
            stream = self._box.streams.audio[0]
            self._t0 = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
            if pos > 0 and stream.time_base:
                target = self._t0 + max(0.0, pos / self._rate - 0.1)
                self._box.seek(int(target / stream.time_base), stream=stream, backward=True)
        except av.FFmpegError as e:
            raise self._fail(e) from e
        self._start(stream)
        if pos > 0 and self._buf_start > pos:  # the seek overshot: decode from the start
            self._open(0)

    def _start(self, stream: av.AudioStream) -> None:
        channels = stream.codec_context.channels or 2
        self._mono = channels == 1
        layout = "mono" if self._mono else "stereo"  # swr's mono->stereo would drop 3 dB
        self._resampler = av.AudioResampler(format="flt", layout=layout, rate=self._rate)
        self._frames = self._box.decode(stream)
        self._buf = np.zeros((0, 2), np.float32)
        self._buf_start = -1  # set from the first decoded frame's time
        self._eof = False
        self._decode_more()

    def _decode_more(self) -> bool:
        """Append the next decoded frame's samples to the buffer; False at the end."""
        assert self._resampler is not None
        try:
            frame = next(self._frames, None)
            outs = self._resampler.resample(frame)
        except av.FFmpegError as e:
            raise self._fail(e) from e
        if self._buf_start < 0 and frame is not None and frame.time is not None:
            self._buf_start = round((float(frame.time) - self._t0) * self._rate)
        elif self._buf_start < 0:
            self._buf_start = 0
        parts = [self._buf]
        for out in outs:
            pcm = out.to_ndarray().reshape(-1, 1 if self._mono else 2)
            parts.append(np.repeat(pcm, 2, axis=1) if self._mono else pcm)
        self._buf = np.concatenate(parts) if len(parts) > 1 else self._buf
        if frame is None:
            self._eof = True
        return frame is not None

    def read(self, pos: int, n: int) -> np.ndarray:
        end_buf = self._buf_start + len(self._buf)
        if self._box is None or pos < self._buf_start or pos > end_buf + SEEK_AHEAD_S * self._rate:
            self._open(pos)
        while not self._eof and (self._buf_start < 0 or self._buf_start + len(self._buf) < pos + n):
            self._decode_more()
        out = np.zeros((n, 2), np.float32)
        a = max(pos, self._buf_start)
        b = min(pos + n, self._buf_start + len(self._buf))
        if b > a:
            out[a - pos : b - pos] = self._buf[a - self._buf_start : b - self._buf_start]
        drop = max(0, min(len(self._buf), pos + n - self._buf_start))
        self._buf, self._buf_start = self._buf[drop:], self._buf_start + drop
        return out
