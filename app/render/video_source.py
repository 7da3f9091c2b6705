"""A take's picture, read in timeline order and fitted to the output frame.

Each source decodes its video once, front to back, through PyAV from the project file (no
temporary copies); `frame_at(t)` returns the take's frame shown at `t` seconds into the take
(its last frame is held past the end, its first before the start), scaled by swscale straight
from the decoder's YUV into RGB at the output size, with letterbox/pillarbox (fit) or crop (fill).
"""

from __future__ import annotations

from collections.abc import Iterator

import av
import cv2
import numpy as np

from app.project import AssetView, Project

from .errors import RenderError

EPS = 1e-4  # seconds: frame times are compared with this slack for float rounding


def _open(project: Project, asset: AssetView, label: str) -> av.container.InputContainer:
    try:
        return av.open(project.open_asset(asset.id))
    except (av.FFmpegError, ValueError, OSError) as e:
        raise RenderError(f"{label}: its video cannot be read ({_why(e)})") from e


def _why(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def probe_take(project: Project, asset: AssetView, label: str) -> tuple[bool, float]:
    """Check that the take's video decodes (its first frame) and say whether it has sound and
    how long that sound is (seconds). Raises RenderError naming the scene otherwise."""
    box = _open(project, asset, label)
    try:
        if not box.streams.video:
            raise RenderError(f"{label}: its media has no picture")
        try:
            next(box.decode(box.streams.video[0]))
        except (av.FFmpegError, StopIteration) as e:
            raise RenderError(f"{label}: its video cannot be decoded") from e
        if not box.streams.audio:
            return False, 0.0
        a = box.streams.audio[0]
        if a.duration is not None and a.time_base is not None:
            return True, float(a.duration * a.time_base)
        return True, float(box.duration / av.time_base) if box.duration else float("inf")
    finally:
        box.close()


def placement(src: tuple[int, int], dst: tuple[int, int], fit: str) -> tuple[int, int, int, int]:
    """(scaled width, scaled height, x offset, y offset) of a `src` picture in a `dst` frame.
    Offsets are where the scaled picture's top-left lands: positive pads, negative crops."""
    sw, sh = src
    dw, dh = dst
    s = min(dw / sw, dh / sh) if fit == "fit" else max(dw / sw, dh / sh)
    w, h = max(1, round(sw * s)), max(1, round(sh * s))
    if fit == "fit":
        w, h = min(w, dw), min(h, dh)
    return w, h, (dw - w) // 2, (dh - h) // 2


def fit_into(img: np.ndarray, dst: tuple[int, int], x: int, y: int) -> np.ndarray:
    """Place (h, w, 3) `img` at (x, y) of a black (H, W, 3) frame, cropping what falls outside."""
    dw, dh = dst
    h, w = img.shape[:2]
    if (w, h) == (dw, dh) and x == 0 and y == 0:
        return img
    out = np.zeros((dh, dw, 3), np.uint8)
    sx, sy = max(0, -x), max(0, -y)
    tx, ty = max(0, x), max(0, y)
    cw, ch = min(w - sx, dw - tx), min(h - sy, dh - ty)
    out[ty : ty + ch, tx : tx + cw] = img[sy : sy + ch, sx : sx + cw]
    return out


class VideoSource:
    """Frames of one take for increasing times; reopens itself if asked to go back."""

    def __init__(
        self, project: Project, asset: AssetView, label: str, size: tuple[int, int], fit: str
    ) -> None:
        self._project, self._asset, self._label = project, asset, label
        self._size, self._fit = size, fit
        self._box: av.container.InputContainer | None = None
        self._frames: Iterator[av.VideoFrame] = iter(())
        self._t0: float | None = None
        self._count = 0
        self._fps = 0.0
        self._cur: av.VideoFrame | None = None
        self._cur_time = -1.0
        self._cur_img: np.ndarray | None = None
        self._pending: tuple[av.VideoFrame, float] | None = None
        self._done = False
        self._open()

    def _open(self) -> None:
        self.close()
        self._box = _open(self._project, self._asset, self._label)
        if not self._box.streams.video:
            raise RenderError(f"{self._label}: its media has no picture")
        stream = self._box.streams.video[0]
        stream.thread_type = "AUTO"
        self._fps = float(stream.average_rate or stream.guessed_rate or 24)
        self._frames = self._box.decode(stream)
        self._t0, self._count, self._done = None, 0, False
        self._cur, self._cur_time, self._cur_img, self._pending = None, -1.0, None, None

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None

    def _next(self) -> tuple[av.VideoFrame, float] | None:
        if self._done:
            return None
        try:
            frame = next(self._frames)
        except StopIteration:
            self._done = True
            return None
        except av.FFmpegError as e:
            raise RenderError(f"{self._label}: its video cannot be decoded ({_why(e)})") from e
        t = float(frame.time) if frame.time is not None else self._count / self._fps
        if self._t0 is None:
            self._t0 = t
        self._count += 1
        return frame, t - self._t0

    def frame_at(self, t: float) -> np.ndarray:
        """(H, W, 3) uint8 RGB: the take's frame on screen `t` seconds into it."""
        if self._cur is not None and t < self._cur_time - EPS and self._cur_time > 0:
            self._open()  # asked to go back (not in a normal export): start again
        while True:
            if self._pending is None:
                self._pending = self._next()
                if self._pending is None:
                    break
            frame, ft = self._pending
            if self._cur is not None and ft > t + EPS:
                break
            self._cur, self._cur_time, self._cur_img = frame, ft, None
            self._pending = None
        if self._cur is None:
            raise RenderError(f"{self._label}: its video has no frames")
        if self._cur_img is None:
            self._cur_img = self._convert(self._cur)
        return self._cur_img

    def _convert(self, frame: av.VideoFrame) -> np.ndarray:
        w, h, x, y = placement((frame.width, frame.height), self._size, self._fit)
        try:
            if x >= 0 and y >= 0:  # fits: one swscale pass from YUV to RGB at the final size
                img = frame.to_ndarray(format="rgb24", width=w, height=h, interpolation="BICUBIC")
                return fit_into(img, self._size, x, y)
            # fill: crop in the source first, so a 9:16 crop of 16:9 does not scale 3x wide
            src = frame.to_ndarray(format="rgb24")  # (h, w, 3)
        except av.FFmpegError as e:
            raise RenderError(f"{self._label}: a frame cannot be converted ({_why(e)})") from e
        s = w / frame.width
        dw, dh = self._size
        cx, cy = round(-min(x, 0) / s), round(-min(y, 0) / s)
        cw, ch = max(1, round(dw / s)), max(1, round(dh / s))
        crop = src[cy : cy + ch, cx : cx + cw]
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
        return cv2.resize(crop, (dw, dh), interpolation=interp)
