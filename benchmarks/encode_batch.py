"""The training step's encoding of a world batch by the default model's autoencoder: the whole
batch at once (the reference) against a few clips at a time, measured in the same run:

    python benchmarks/encode_batch.py [--device cpu] [--clips 8] [--repeats 3] [--threads 1]

Every variant encodes the same rendered batch (256x144, 25 frames, the largest training
bucket); variants take turns, so the machine's drift falls on all of them, and the figure is
each one's median seconds against the reference's. `engine.train_steps.encode_batch_video`
encodes at most CPU_ENCODE_PIXELS of video a call on the CPU (two clips of this size) and the
whole batch on a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.data.synthetic import make_batch  # noqa: E402
from engine.model_bundle import ModelBundle  # noqa: E402

MODEL = ROOT / "resources" / "models" / "storyloom-tiny"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (CPU)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    vae = ModelBundle.load(a.model, a.device).vae.float()
    batch = make_batch(a.clips, 256, 144, 25, 12.0, seed=7, device=a.device)
    x = batch.video.permute(0, 4, 1, 2, 3) * 2 - 1  # (B, 3, T, H, W)

    def encode(step: int) -> float:
        sync = torch.cuda.synchronize if x.device.type == "cuda" else (lambda: None)
        sync()
        t0 = time.perf_counter()
        with torch.no_grad():
            torch.cat([vae.encode(x[i : i + step]) for i in range(0, len(x), step)])
        sync()
        return time.perf_counter() - t0

    steps = list(dict.fromkeys([a.clips, 1, 2, 4]))
    encode(a.clips)  # warm-up: allocator, kernels
    times: dict[int, list[float]] = {s: [] for s in steps}
    for _ in range(a.repeats):
        for s in steps:
            times[s].append(encode(s))
    ref = statistics.median(times[a.clips])
    print(f"{a.clips} clips 256x144x25 on {a.device} ({a.threads} thread(s)), {a.repeats} repeats")
    for s in steps:
        med = statistics.median(times[s])
        name = "whole batch (reference)" if s == a.clips else f"{s} clip(s) at a time"
        print(f"  {name:26s} {med:7.2f} s   {ref / med:5.2f}x the reference's speed")


if __name__ == "__main__":
    main()
