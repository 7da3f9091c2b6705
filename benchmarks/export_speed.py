"""Export speed and memory: a 60-second 1280x720 24 fps timeline of 12 scenes with two audio
tracks (music across the film, an effect in every scene), exported to the default preset
(native size, H.264 + AAC MP4).

Prints the export's wall time and frames per second against PyAV encoding the same frames with
the same encoder settings and no compositing or sound, measured in the same run (ratio), and the
peak memory (RSS) of a 10-second and the 60-second export, each in its own process: it must be
flat (the picture and the sound are streamed).

    .venv/bin/python benchmarks/export_speed.py [--seconds 60] [--scenes 12]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av  # noqa: E402
import numpy as np  # noqa: E402

from app.project import AddAudioClip, AddScene, Project  # noqa: E402

SIZE, FPS, RATE = (1280, 720), 24, 48_000
TAKE_SIZE = (512, 288)  # takes come from the model smaller than the film; export scales them


def _take(path: Path, seconds: float, hue: int) -> Path:
    """A moving procedural clip: drifting colour waves, a bouncing disc, a little texture."""
    w, h = TAKE_SIZE
    texture = np.random.default_rng(hue).normal(0, 4, (h, w))[..., None]  # fixed, like detail
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    with av.open(str(path), "w", format="mp4") as box:
        v = box.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"crf": "20", "preset": "ultrafast"}
        v.time_base = Fraction(1, FPS)
        for i in range(round(seconds * FPS)):
            t = i / FPS
            img = np.empty((h, w, 3), np.float32)
            img[..., 0] = 120 + 100 * np.sin(xx / 90 + t + hue)
            img[..., 1] = 120 + 100 * np.sin(yy / 70 - t * 1.3 + hue * 2)
            img[..., 2] = 120 + 80 * np.cos((xx + yy) / 150 + t * 0.7)
            cx, cy = w * (0.5 + 0.35 * np.sin(t * 1.7)), h * (0.5 + 0.3 * np.cos(t * 2.3))
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < (h * 0.12) ** 2] = (250, 240, 200)
            img += np.roll(texture, i * 2, axis=1)
            frame = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), "rgb24")
            frame.pts = i
            for p in v.encode(frame):
                box.mux(p)
        for p in v.encode():
            box.mux(p)
    return path


def _wav(path: Path, seconds: float, freq: float, amp: float) -> Path:
    with av.open(str(path), "w", format="wav") as box:
        s = box.add_stream("pcm_s16le", rate=RATE, layout="stereo")
        done = 0
        total = round(seconds * RATE)
        while done < total:  # a second at a time: the benchmark itself stays small too
            n = min(RATE, total - done)
            t = (done + np.arange(n)) / RATE
            mono = amp * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t))
            pcm = np.repeat((mono * 32767).astype(np.int16)[:, None], 2, axis=1)
            f = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="stereo")
            f.sample_rate, f.pts = RATE, done
            for p in s.encode(f):
                box.mux(p)
            done += n
        for p in s.encode():
            box.mux(p)
    return path


def build(folder: Path, seconds: float, scenes: int) -> Path:
    path = folder / "bench.storyloom"
    per = seconds / scenes
    music = _wav(folder / "music.wav", seconds, 220.0, 0.4)
    sfx = _wav(folder / "sfx.wav", 0.5, 880.0, 0.6)
    with Project.create(path, "Export benchmark", size=SIZE, fps=FPS) as p:
        p.execute(AddAudioClip(path=music, track="Music", fade_in=1.0, fade_out=2.0))
        for i in range(scenes):
            sid = p.execute(AddScene(prompt=f"scene {i}", duration=per, seed=i))
            clip = _take(folder / f"take{i}.mp4", per, i)
            p.add_take(sid, clip, {"source": "benchmark footage", "seed": i})
            p.execute(AddAudioClip(path=sfx, track="Effects", start=i * per + 1.0, gain_db=-6))
    return path


# ---- measured in child processes, so each peak RSS is its own ----


def child_export(project: str, out: str, scenes: str) -> dict:
    from app.render import RenderSettings, export_film

    ids = None
    with Project.open(project, readonly=True) as p:
        if scenes != "all":
            ids = tuple(s.id for s in p.scenes()[: int(scenes)])
        t = time.perf_counter()
        r = export_film(p, Path(out), RenderSettings(scenes=ids))
        wall = time.perf_counter() - t
    return {"wall": wall, "frames": r.frames, "rss_mb": _rss_mb()}


def child_baseline(film: str, out: str) -> dict:
    """Encode the exported film's frames again with the export's encoder settings; only the
    encoder's calls are timed (decoding the frames back is not part of the reference)."""
    from app.render.encode import _video_options
    from app.render.formats import resolve
    from app.render.settings import RenderSettings

    spec = resolve(Path(out), RenderSettings(), SIZE, FPS)
    spent, frames = 0.0, 0
    with av.open(film) as src, av.open(out, "w", options={"movflags": "+faststart"}) as box:
        v = box.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = spec.width, spec.height, "yuv420p"
        v.time_base = Fraction(1, FPS)
        v.options = _video_options(spec)
        for f in src.decode(video=0):
            rgb = f.to_ndarray(format="rgb24")
            t = time.perf_counter()
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = frames
            for p in v.encode(frame):
                box.mux(p)
            spent += time.perf_counter() - t
            frames += 1
        t = time.perf_counter()
        for p in v.encode():
            box.mux(p)
        box.close()
        spent += time.perf_counter() - t
    return {"wall": spent, "frames": frames, "rss_mb": _rss_mb()}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _run_child(*args: str) -> dict:
    r = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if r.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--scenes", type=int, default=12)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        fn = child_export if kind == "export" else child_baseline
        print(json.dumps(fn(*rest)))
        return
    with tempfile.TemporaryDirectory(prefix="storyloom-bench-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        project = build(folder, args.seconds, args.scenes)
        print(
            f"built {args.scenes} scenes, {args.seconds:g} s at {SIZE[0]}x{SIZE[1]} {FPS} fps "
            f"(takes {TAKE_SIZE[0]}x{TAKE_SIZE[1]}), 2 audio tracks in "
            f"{time.perf_counter() - t:.1f} s"
        )
        short_scenes = max(1, round(args.scenes * 10 / args.seconds))
        film = folder / "film.mp4"
        full = _run_child("export", str(project), str(film), "all")
        short = _run_child("export", str(project), str(folder / "short.mp4"), str(short_scenes))
        base = _run_child("baseline", str(film), str(folder / "plain.mp4"))
    fps_full = full["frames"] / full["wall"]
    fps_base = base["frames"] / base["wall"]
    short_s = short["frames"] / FPS
    print(f"{'':34}{'frames':>8}{'wall s':>9}{'frames/s':>10}{'peak RSS MB':>13}")
    print(
        f"{'storyloom export (default preset)':34}{full['frames']:>8}{full['wall']:>9.1f}"
        f"{fps_full:>10.1f}{full['rss_mb']:>13.0f}"
    )
    print(
        f"{'PyAV encode only, same frames':34}{base['frames']:>8}{base['wall']:>9.1f}"
        f"{fps_base:>10.1f}{base['rss_mb']:>13.0f}"
    )
    print(f"export / plain encode wall time: {full['wall'] / base['wall']:.2f}x")
    print(
        f"peak RSS: {short_s:.0f} s film {short['rss_mb']:.0f} MB, {full['frames'] / FPS:.0f} s "
        f"film {full['rss_mb']:.0f} MB ({full['rss_mb'] / short['rss_mb']:.2f}x for "
        f"{full['frames'] / short['frames']:.0f}x the length)"
    )


if __name__ == "__main__":
    main()
