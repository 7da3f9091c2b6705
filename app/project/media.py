"""Probing and validating imported media: images through OpenCV, video and audio through PyAV.

Every import is decoded here, so a file that cannot be played fails on import with a clear
message, not at render time. The probe also makes the small previews the editor shows: a JPEG
thumbnail for images and video, a peak summary (uint8, WAVEFORM_BINS values) for audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from .errors import MediaError

# OpenCV prints decoder complaints to stderr; we report a bad image ourselves, in one line.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

THUMB_MAX = 160  # longest side of a thumbnail, pixels
WAVEFORM_BINS = 512


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # image | video | audio
    format: str = ""
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    thumbnail: bytes | None = None
    waveform: bytes | None = None


def thumbnail_jpeg(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 RGB -> a JPEG whose longest side is THUMB_MAX."""
    h, w = rgb.shape[:2]
    scale = THUMB_MAX / max(h, w)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), cv2.INTER_AREA)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80]
    )
    return buf.tobytes() if ok else b""


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Image bytes -> (H, W, 3) uint8 RGB, or MediaError."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if arr is None:
        raise MediaError(f"{name}: not an image that can be decoded")
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)


def probe_image(path: Path) -> MediaInfo:
    rgb = decode_image(_read(path), path.name)
    fmt = path.suffix.lower().lstrip(".")
    return MediaInfo("image", fmt, None, rgb.shape[1], rgb.shape[0], thumbnail=thumbnail_jpeg(rgb))


def probe_video(path: Path) -> MediaInfo:
    try:
        with av.open(str(path)) as box:
            if not box.streams.video:
                raise MediaError(f"{path.name}: has no video stream")
            stream = box.streams.video[0]
            frames, first = 0, None
            for frame in box.decode(stream):
                if first is None:
                    first = frame.to_ndarray(format="rgb24")  # (H, W, 3)
                frames += 1
            if first is None:
                raise MediaError(f"{path.name}: no video frame could be decoded")
            fps = float(stream.average_rate or stream.guessed_rate or 0) or None
            duration = frames / fps if fps else _seconds(box.duration)
            return MediaInfo(
                "video",
                box.format.name.split(",")[0],
                duration,
                first.shape[1],
                first.shape[0],
                fps,
                thumbnail=thumbnail_jpeg(first),
            )
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise MediaError(f"{path.name}: not a video that can be decoded") from e


def probe_audio(path: Path) -> MediaInfo:
    """Decode the whole file (that is the validation) and keep per-block peaks as we go."""
    try:
        with av.open(str(path)) as box:
            if not box.streams.audio:
                raise MediaError(f"{path.name}: has no audio stream")
            stream = box.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate or 0)
            channels = int(stream.codec_context.channels or 0)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate or None)
            peaks: list[float] = []
            samples = 0
            block = max(1, (rate or 44100) // 100)  # 10 ms blocks
            carry = np.zeros(0, np.float32)
            for frame in box.decode(stream):
                for out in resampler.resample(frame):
                    mono = out.to_ndarray().reshape(-1)  # (n,) float32 in [-1, 1]
                    samples += mono.shape[0]
                    carry = np.concatenate([carry, np.abs(mono)])
                    whole = carry.shape[0] // block * block
                    if whole:
                        peaks.extend(carry[:whole].reshape(-1, block).max(axis=1).tolist())
                        carry = carry[whole:]
            if carry.shape[0]:
                peaks.append(float(carry.max()))
            if samples == 0:
                raise MediaError(f"{path.name}: no audio could be decoded")
            return MediaInfo(
                "audio",
                box.format.name.split(",")[0],
                samples / rate if rate else None,
                sample_rate=rate,
                channels=channels,
                waveform=_summarise(np.asarray(peaks)),
            )
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise MediaError(f"{path.name}: not an audio file that can be decoded") from e


def probe(path: Path, kind: str) -> MediaInfo:
    return {"image": probe_image, "video": probe_video, "audio": probe_audio}[kind](path)


def _summarise(peaks: np.ndarray) -> bytes:
    """Block peaks (n,) -> WAVEFORM_BINS uint8 maxima (fewer if the clip is very short)."""
    if peaks.size == 0:
        return b""
    bins = np.array_split(peaks, min(WAVEFORM_BINS, peaks.size))
    top = np.array([b.max() for b in bins])
    return np.clip(np.round(top * 255), 0, 255).astype(np.uint8).tobytes()


def _seconds(av_duration: int | None) -> float | None:
    return av_duration / av.time_base if av_duration else None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise MediaError(f"{path.name}: cannot be read ({e.strerror})") from e
