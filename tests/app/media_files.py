"""Real media files for the tests, written with OpenCV, the wave module and PyAV."""

from __future__ import annotations

import math
import struct
import wave
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


def make_png(
    path: Path, w: int = 64, h: int = 48, color: tuple[int, int, int] = (0, 128, 255)
) -> Path:
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = color
    img[: h // 2, : w // 2] = 255 - np.array(color, np.uint8)
    cv2.imwrite(str(path), img)
    return path


def make_wav(path: Path, seconds: float = 0.5, rate: int = 8000, freq: float = 440.0) -> Path:
    n = int(seconds * rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / rate)))
                for i in range(n)
            )
        )
    return path


def make_mp4(path: Path, frames: int = 6, w: int = 64, h: int = 48, fps: int = 12) -> Path:
    with av.open(str(path), "w") as box:
        stream = box.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(frames):
            img = np.full((h, w, 3), (i * 40) % 255, np.uint8)  # (H, W, 3)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    return path
