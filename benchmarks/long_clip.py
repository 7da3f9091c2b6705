"""A long clip on the default model: wall time and peak memory against a short one, each in a
fresh process (peak RSS is per process). Chunked generation and streamed decoding keep the peak
flat; what grows is only the uint8 frames of the clip itself.

    python benchmarks/long_clip.py [--seconds 10,60] [--steps N] [--model DIR] [--out clip.mp4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
from engine.pipeline import Engine
from engine.request import GenerationRequest
seconds, steps, model, out = float(sys.argv[1]), sys.argv[2], sys.argv[3] or None, sys.argv[4]
eng = Engine.load(model, device="cpu")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
req = GenerationRequest(prompt="a red ball bounces on the grass, the camera pans right",
                        seconds=seconds, seed=5, steps=int(steps) if steps else None)
chunks = []
t0 = time.perf_counter()
clip = eng.generate(req, on_step=lambda i: chunks.append(i.chunks))
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if out:
    from engine.media_io import write_video
    write_video(out, clip.frames, clip.fps)
print(json.dumps({"seconds": seconds, "frames": int(clip.frames.shape[0]), "chunks": chunks[-1],
                  "wall_s": wall, "peak_rss": peak, "loaded_rss": base,
                  "frames_bytes": int(clip.frames.nbytes)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", default="10,60")
    ap.add_argument("--steps", default="")
    ap.add_argument("--model", default="")
    ap.add_argument("--out", default="", help="also write the longest clip here")
    a = ap.parse_args()
    lengths = [float(s) for s in a.seconds.split(",")]
    rows = []
    for s in lengths:
        out = a.out if s == max(lengths) else ""
        res = subprocess.run(
            [sys.executable, "-c", CHILD, str(s), a.steps, a.model, out],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    mb = 1 / 2**20
    print(
        f"{'clip':>7} {'frames':>6} {'chunks':>6} {'wall':>8} {'x real time':>11} "
        f"{'peak RSS':>9} {'above load':>10} {'of it frames':>12}"
    )
    for r in rows:
        above = (r["peak_rss"] - r["loaded_rss"]) * mb
        print(
            f"{r['seconds']:>6.0f}s {r['frames']:>6} {r['chunks']:>6} {r['wall_s']:>7.1f}s "
            f"{r['wall_s'] / r['seconds']:>10.2f}x {r['peak_rss'] * mb:>7.0f}MB "
            f"{above:>8.0f}MB {r['frames_bytes'] * mb:>10.0f}MB"
        )
    if len(rows) > 1:
        a0, a1 = rows[0], rows[-1]
        growth = (a1["peak_rss"] - a0["peak_rss"]) * mb
        frames = (a1["frames_bytes"] - a0["frames_bytes"]) * mb
        print(
            f"peak grows {growth:.0f} MB from {a0['seconds']:.0f}s to {a1['seconds']:.0f}s, "
            f"of which {frames:.0f} MB are the extra uint8 frames"
        )


if __name__ == "__main__":
    main()
