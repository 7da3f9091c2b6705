"""Media and projects for the render tests: real files made with PyAV, real project files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from app.project import AddAudioClip, AddScene, Project

RATE = 48_000


def make_video(
    path: Path,
    frame: Callable[[int], np.ndarray] | tuple[int, int, int],
    seconds: float,
    fps: int = 24,
    size: tuple[int, int] = (160, 90),
    sound: np.ndarray | None = None,
) -> Path:
    """An H.264 MP4 whose frame i is `frame(i)` (or a solid colour); with `sound` ((n, 2)
    float32 at 48 kHz) as AAC."""
    w, h = size
    n = round(seconds * fps)
    with av.open(str(path), "w", format="mp4") as box:
        v = box.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.time_base = Fraction(1, fps)
        v.options = {"crf": "1", "preset": "ultrafast"}
        a = box.add_stream("aac", rate=RATE, layout="stereo") if sound is not None else None
        for i in range(n):
            img = np.empty((h, w, 3), np.uint8)
            img[:] = frame(i) if callable(frame) else frame
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for p in v.encode(f):
                box.mux(p)
        for p in v.encode():
            box.mux(p)
        if a is not None and sound is not None:
            af = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(sound, np.float32).reshape(1, -1),
                format="flt",
                layout="stereo",
            )
            af.sample_rate, af.pts = RATE, 0
            for p in a.encode(af):
                box.mux(p)
            for p in a.encode():
                box.mux(p)
    return path


def make_wav(path: Path, pcm: np.ndarray, rate: int = RATE) -> Path:
    """(n,) mono or (n, 2) stereo float in [-1, 1] -> 16-bit WAV through PyAV."""
    pcm = np.asarray(pcm, np.float32)
    layout = "mono" if pcm.ndim == 1 else "stereo"
    data = np.clip(np.rint(pcm * 32767), -32768, 32767).astype(np.int16).reshape(1, -1)
    with av.open(str(path), "w", format="wav") as box:
        s = box.add_stream("pcm_s16le", rate=rate, layout=layout)
        f = av.AudioFrame.from_ndarray(data, format="s16", layout=layout)
        f.sample_rate, f.pts = rate, 0
        for p in s.encode(f):
            box.mux(p)
        for p in s.encode():
            box.mux(p)
    return path


def tone(seconds: float, amp: float, freq: float = 440.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def constant(seconds: float, amp: float, rate: int = RATE) -> np.ndarray:
    """A DC-free 'level' signal: a square wave at `amp`, easy to measure block by block."""
    n = round(seconds * rate)
    return (amp * np.where((np.arange(n) // 24) % 2 == 0, 1.0, -1.0)).astype(np.float32)


def build_project(
    path: Path,
    media: Path,
    scenes: Sequence[tuple[float, tuple[int, int, int] | None]],
    size: tuple[int, int] = (160, 90),
    fps: float = 24,
    take_size: tuple[int, int] | None = None,
) -> tuple[Project, list[int]]:
    """A project with one scene per (duration, colour); colour None leaves the scene without
    a take. Takes are solid-colour MP4s as long as their scene plus a second."""
    media.mkdir(exist_ok=True)
    p = Project.create(path, "Render test", size=size, fps=fps)
    ids = []
    for i, (dur, colour) in enumerate(scenes):
        sid = p.execute(AddScene(prompt=f"scene {i}", duration=dur, title=f"Shot {i}", seed=i))
        ids.append(sid)
        if colour is not None:
            clip = make_video(media / f"take{i}.mp4", colour, dur + 1, int(fps), take_size or size)
            p.add_take(
                sid,
                clip,
                {"model": "test-model", "model_hash": "abc123", "seed": i, "prompt": f"scene {i}"},
            )
    return p, ids


def add_audio(p: Project, path: Path, track: str = "Audio 1", **kw: float) -> int:
    return p.execute(AddAudioClip(path=path, track=track, **kw))


def decode_video(path: Path) -> tuple[list[np.ndarray], av.video.stream.VideoStream, float]:
    with av.open(str(path)) as box:
        s = box.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in box.decode(s)]
        return frames, s, float(s.average_rate)


def decode_audio(path: Path) -> np.ndarray:
    """(n, 2) float32 at the stream's rate (48 kHz for our exports)."""
    with av.open(str(path)) as box:
        s = box.streams.audio[0]
        res = av.AudioResampler(format="flt", layout="stereo", rate=s.rate)
        parts = []
        for f in box.decode(s):
            for o in res.resample(f):
                parts.append(o.to_ndarray().reshape(-1, 2))
        for o in res.resample(None):
            parts.append(o.to_ndarray().reshape(-1, 2))
        return np.concatenate(parts) if parts else np.zeros((0, 2), np.float32)
