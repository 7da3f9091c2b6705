"""Encoders: frames and PCM in, a file (or a folder of PNGs) out, through PyAV, streamed.

Each sink writes through a file object we own (output.GuardedFile), so a full disk surfaces as
an OSError we turn into one clear message, and the temporary file is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Protocol

import av
import numpy as np

from .formats import OutputSpec

AUDIO_BITRATE = {"aac": 192_000, "libopus": 128_000}


class Sink(Protocol):
    def video(self, rgb: np.ndarray) -> None: ...

    def audio(self, pcm: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


# ---- GIF: a fixed 6x7x6 colour cube with ordered dithering (swscale has no palette output) ----

_LEVELS = np.array([6, 7, 6])
_BAYER = (
    np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5
) / 16 - 0.5


def gif_palette() -> np.ndarray:
    """(256, 4) ARGB: the 252 colours of the cube, then black."""
    r, g, b = np.meshgrid(*(np.linspace(0, 255, n) for n in _LEVELS), indexing="ij")
    cube = np.stack([np.full(r.size, 255), r.ravel(), g.ravel(), b.ravel()], axis=1)
    pal = np.zeros((256, 4), np.uint8)
    pal[: len(cube)] = np.rint(cube).astype(np.uint8)
    pal[len(cube) :, 0] = 255
    return pal


def gif_indices(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) uint8 palette indices, dithered."""
    h, w = rgb.shape[:2]
    thresh = np.tile(_BAYER, (h // 4 + 1, w // 4 + 1))[:h, :w, None]
    steps = (_LEVELS - 1).astype(np.float32)
    q = np.clip(np.floor(rgb.astype(np.float32) / 255 * steps + 0.5 + thresh), 0, steps)
    q = q.astype(np.uint8)
    return ((q[..., 0] * _LEVELS[1] + q[..., 1]) * _LEVELS[2] + q[..., 2]).astype(np.uint8)


# ---- a container: MP4 (H.264/H.265 + AAC), WebM (VP9 + Opus), GIF, WAV ----


def _video_options(spec: OutputSpec) -> dict[str, str]:
    codec = spec.format.video
    opts: dict[str, str] = {}
    if codec in ("libx264", "libx265"):
        opts["preset"] = spec.speed
        if spec.crf is not None:
            opts["crf"] = str(spec.crf)
        if codec == "libx265":
            opts["x265-params"] = "log-level=error"
    elif codec == "libvpx-vp9":
        opts.update({"deadline": "good", "cpu-used": "4", "row-mt": "1"})
        if spec.crf is not None:
            opts.update({"crf": str(spec.crf), "b": "0"})
    return opts


class ContainerSink:
    def __init__(self, target: BinaryIO, spec: OutputSpec, metadata: dict[str, str]) -> None:
        fmt = spec.format
        options = {"movflags": "+faststart"} if fmt.container == "mp4" else {}
        self._box = av.open(target, mode="w", format=fmt.container, options=options)
        for k, v in metadata.items():
            self._box.metadata[k] = v
        self._spec = spec
        self._v = self._a = None
        self._frames = self._samples = 0
        self._palette = gif_palette() if fmt.video == "gif" else None
        if fmt.video is not None:
            v = self._box.add_stream(fmt.video, rate=spec.fps)
            v.width, v.height, v.pix_fmt = spec.width, spec.height, fmt.pix_fmt
            v.time_base = Fraction(1, 1) / spec.fps
            v.options = _video_options(spec)
            if spec.bitrate is not None and fmt.video != "gif":
                v.bit_rate = spec.bitrate
            if fmt.video == "libx265":
                v.codec_tag = "hvc1"  # what Apple's players look for
            self._v = v
        if fmt.audio is not None:
            a = self._box.add_stream(fmt.audio, rate=spec.sample_rate, layout="stereo")
            if fmt.audio in AUDIO_BITRATE:
                a.bit_rate = AUDIO_BITRATE[fmt.audio]
            self._a = a
        self._audio_fmt = "s16" if fmt.audio == "pcm_s16le" else "flt"

    def video(self, rgb: np.ndarray) -> None:
        if self._palette is not None:
            frame = av.VideoFrame.from_ndarray((gif_indices(rgb), self._palette), format="pal8")
        else:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self._frames
        self._frames += 1
        for packet in self._v.encode(frame):
            self._box.mux(packet)

    def audio(self, pcm: np.ndarray) -> None:
        if self._a is None or not len(pcm):
            return
        if self._audio_fmt == "s16":
            data = np.clip(np.rint(pcm * 32767), -32768, 32767).astype(np.int16)
        else:
            data = np.ascontiguousarray(pcm, np.float32)
        frame = av.AudioFrame.from_ndarray(
            data.reshape(1, -1), format=self._audio_fmt, layout="stereo"
        )
        frame.sample_rate = self._spec.sample_rate
        frame.pts = self._samples
        self._samples += len(pcm)
        for packet in self._a.encode(frame):
            self._box.mux(packet)

    def close(self) -> None:
        for stream in (self._v, self._a):
            if stream is not None:
                for packet in stream.encode(None):
                    self._box.mux(packet)
        self._box.close()

    def abort(self) -> None:
        try:
            self._box.close()
        except (OSError, av.FFmpegError):
            pass  # the file is being thrown away; a second disk-full on the trailer is expected


# ---- a folder of PNG frames ----


class PngSink:
    def __init__(self, folder: Path, spec: OutputSpec, opener: Callable[[Path], BinaryIO]) -> None:
        self._folder, self._spec, self._open = folder, spec, opener
        self._codec = av.CodecContext.create("png", "w")
        self._codec.width, self._codec.height, self._codec.pix_fmt = (
            spec.width,
            spec.height,
            "rgb24",
        )
        self._codec.time_base = Fraction(1, 1) / spec.fps
        self._frames = 0

    def video(self, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self._frames
        self._frames += 1
        data = b"".join(bytes(p) for p in self._codec.encode(frame))
        with self._open(self._folder / f"frame_{self._frames:06d}.png") as f:
            f.write(data)

    def audio(self, pcm: np.ndarray) -> None:
        return None

    def close(self) -> None:
        return None

    def abort(self) -> None:
        return None
