"""Reading images and videos, writing clips (PyAV for video: no ffmpeg executable needed)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from engine.request import EngineError


def read_image(path: str | Path) -> np.ndarray:
    """-> (H, W, 3) uint8 RGB; a clear error for a missing or undecodable file."""
    p = Path(path)
    if not p.is_file():
        raise EngineError(f"image not found: {p}")
    data = np.fromfile(str(p), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise EngineError(f"cannot read image {p}: not a supported image file")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_video(path: str | Path, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """-> frames (T, H, W, 3) uint8 RGB and fps."""
    p = Path(path)
    if not p.is_file():
        raise EngineError(f"video not found: {p}")
    try:
        with av.open(str(p)) as box:
            stream = box.streams.video[0]
            fps = float(stream.average_rate or 24)
            frames = []
            for frame in box.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
                if max_frames and len(frames) >= max_frames:
                    break
    except (av.error.FFmpegError, IndexError) as e:
        raise EngineError(f"cannot read video {p}: {e}") from None
    if not frames:
        raise EngineError(f"video {p} has no frames")
    return np.stack(frames), fps


def write_video(
    path: str | Path, frames: np.ndarray, fps: float, crf: int = 18, metadata: dict | None = None
) -> None:
    """H.264 yuv420p MP4 (even sizes are padded by the encoder's needs: we crop to even)."""
    p = Path(path)
    h, w = frames.shape[1] // 2 * 2, frames.shape[2] // 2 * 2
    rate = Fraction(fps).limit_denominator(1001)
    tmp = p.with_name(f".{p.name}.partial{p.suffix}")
    try:
        with av.open(str(tmp), mode="w", format="mp4") as box:
            for k, v in (metadata or {}).items():
                box.metadata[k] = str(v)
            s = box.add_stream("libx264", rate=rate)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.options = {"crf": str(crf), "preset": "veryfast", "movflags": "+faststart"}
            for f in frames:
                for pkt in s.encode(
                    av.VideoFrame.from_ndarray(np.ascontiguousarray(f[:h, :w]), format="rgb24")
                ):
                    box.mux(pkt)
            for pkt in s.encode():
                box.mux(pkt)
        tmp.replace(p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_image(path: str | Path, frame: np.ndarray) -> None:
    p = Path(path)
    ok, buf = cv2.imencode(p.suffix or ".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    if not ok:
        raise EngineError(f"cannot write image {p}")
    tmp = p.with_name(f".{p.name}.partial")
    tmp.write_bytes(buf.tobytes())
    tmp.replace(p)
