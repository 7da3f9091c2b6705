"""Procedural media for the sample storyboard: element pictures, scene footage, music and a
chime, drawn with numpy/OpenCV and encoded with PyAV. This is sample footage, not the output of
the model, and the takes made from it say so in their recipe."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

SAMPLE_RATE = 44_100  # the sounds are written at 44.1 kHz; the mix resamples them


def _rgb(c: list[int]) -> np.ndarray:
    return np.asarray(c, np.float32)


def element_image(path: Path, spec: dict[str, Any]) -> Path:
    """A 128x128 PNG reference picture of an element."""
    img = np.full((128, 128, 3), 235, np.uint8)  # RGB
    colour = tuple(int(v) for v in spec["colour"])
    if spec["shape"] == "figure":
        cv2.circle(img, (64, 70), 40, colour, -1, cv2.LINE_AA)
        for x in (50, 78):
            cv2.circle(img, (x, 62), 6, (30, 30, 40), -1, cv2.LINE_AA)
    elif spec["shape"] == "lantern":
        cv2.rectangle(img, (44, 40), (84, 100), colour, -1)
        cv2.rectangle(img, (54, 26), (74, 40), (140, 110, 60), -1)
    else:
        img[:] = colour
        for x in range(8, 128, 24):
            cv2.fillConvexPoly(img, np.array([[x, 110], [x + 10, 40], [x + 20, 110]]), (10, 40, 30))
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return path


def _frame(f: dict[str, Any], u: float, size: tuple[int, int]) -> np.ndarray:
    """Scene footage at progress u in [0, 1]: sky, trees with parallax, Mara, the lantern."""
    w, h = size
    horizon = int(h * 0.68)
    ramp = np.linspace(0, 1, horizon, dtype=np.float32)[:, None, None]
    img = np.empty((h, w, 3), np.float32)
    img[:horizon] = _rgb(f["sky"]) * (1 - ramp) + _rgb(f["horizon"]) * ramp
    img[horizon:] = _rgb(f["ground"])
    pan = f["pan"] * u * w
    for k, (depth, shade) in enumerate(((0.5, 0.55), (1.0, 0.3))):
        step = w // (5 + 3 * k)
        for i in range(-2, w // step + 3):
            x = int((i * step + 37 * k - pan * depth) % (w + 2 * step)) - step
            top = int(horizon - h * (0.35 + 0.12 * ((i * 7 + k) % 3)) * depth)
            pts = np.array([[x, horizon + 4], [x + step // 2, top], [x + step, horizon + 4]])
            cv2.fillConvexPoly(img, pts, tuple(float(c) * shade for c in f["ground"]))
    glow = f["glow"][0] + (f["glow"][1] - f["glow"][0]) * u
    mx = int(w * (f["mara"][0] + (f["mara"][1] - f["mara"][0]) * u))
    my = int(horizon - h * 0.08 - abs(np.sin(u * 18)) * h * 0.02)
    r = int(h * 0.07)
    lantern = f["lantern"]
    lx = mx + int(r * 1.4) if lantern == "carried" else int(w * lantern) if lantern else None
    if lx is not None and glow > 0:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        d = np.sqrt((xx - lx) ** 2 + (yy - my) ** 2) / (h * 0.45)
        img += (np.exp(-(d**2)) * glow * 120)[..., None] * np.array([1.0, 0.8, 0.35], np.float32)
    cv2.circle(img, (mx, my), r, (240, 130, 40), -1, cv2.LINE_AA)
    for dx in (-r // 3, r // 3):
        cv2.circle(img, (mx + dx, my - r // 5), max(2, r // 6), (30, 30, 40), -1, cv2.LINE_AA)
    if lx is not None:
        lw = max(4, r // 2)
        cv2.rectangle(img, (lx - lw // 2, my - lw), (lx + lw // 2, my + lw), (250, 210, 60), -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def footage(
    path: Path, spec: dict[str, Any], seconds: float, fps: int, size: tuple[int, int]
) -> Path:
    """An H.264 MP4 of the scene described by `spec`."""
    n = round(seconds * fps)
    with av.open(str(path), "w", format="mp4") as box:
        v = box.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = size[0], size[1], "yuv420p"
        v.time_base = Fraction(1, fps)
        v.options = {"crf": "20", "preset": "veryfast"}
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(_frame(spec, i / max(1, n - 1), size), "rgb24")
            frame.pts = i
            for p in v.encode(frame):
                box.mux(p)
        for p in v.encode():
            box.mux(p)
    return path


def _pad(seconds: float) -> np.ndarray:
    """Soft chords (A minor, F, C, G), slow attack and release, slightly wide. (n, 2)"""
    chords = [
        (220.0, 261.63, 329.63),
        (174.61, 220.0, 261.63),
        (196.0, 261.63, 329.63),
        (196.0, 246.94, 293.66),
    ]
    n = round(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    out = np.zeros((n, 2), np.float32)
    per = seconds / len(chords)
    for i, chord in enumerate(chords):
        a, b = round(i * per * SAMPLE_RATE), round((i + 1) * per * SAMPLE_RATE)
        tt = t[a:b] - t[a]
        env = np.minimum(1, tt / 0.6) * np.minimum(1, (per - tt) / 0.8)
        for j, f in enumerate(chord):
            for ch, detune in enumerate((0.998, 1.002)):
                out[a:b, ch] += 0.12 * env * np.sin(2 * np.pi * f * detune * tt + j)
    return out


def _chime(seconds: float) -> np.ndarray:
    n = round(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tone = sum(
        a * np.sin(2 * np.pi * f * t) * np.exp(-t * d)
        for f, a, d in ((1318.5, 0.5, 3.0), (1975.5, 0.3, 4.0), (2637.0, 0.2, 6.0))
    )
    attack = np.minimum(1, t / 0.004)
    mono = (tone * attack).astype(np.float32)
    return np.stack([mono, mono * 0.85], axis=1)


def sound(path: Path, kind: str, seconds: float) -> Path:
    """A 16-bit stereo WAV: 'pad' (music) or 'chime' (an effect)."""
    pcm = _pad(seconds) if kind == "pad" else _chime(seconds)
    data = np.clip(np.rint(pcm * 32767), -32768, 32767).astype(np.int16).reshape(1, -1)
    with av.open(str(path), "w", format="wav") as box:
        s = box.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="stereo")
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
        frame.sample_rate, frame.pts = SAMPLE_RATE, 0
        for p in s.encode(frame):
            box.mux(p)
        for p in s.encode():
            box.mux(p)
    return path
