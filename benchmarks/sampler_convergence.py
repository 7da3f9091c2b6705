"""How many sampling steps does a clip need? Each sampler at several step counts against a
many-step Euler reference of the same model, seed and prompt (PSNR of the decoded frames: the
gap a user could see), and the time per clip, all measured in one run.

    python benchmarks/sampler_convergence.py [--model DIR] [--frames 9] [--reference-steps 100]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from engine.pipeline import Engine
from engine.request import GenerationRequest

PROMPTS = [
    "a red ball moves to the left on a blue background",
    "a yellow star bounces on the grass under a sunset sky",
    "the camera pans right over a green box on a night sky",
]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--reference-steps", type=int, default=100)
    ap.add_argument("--steps", default="5,8,10,12,16,20")
    ap.add_argument("--samplers", default="euler,multistep")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    eng = Engine.load(a.model, device=a.device)

    def make(prompt: str, steps: int, sampler: str):
        req = GenerationRequest(
            prompt=prompt, frames=a.frames, steps=steps, sampler=sampler, seed=7
        )
        t0 = time.perf_counter()
        clip = eng.generate(req)
        return clip.frames, time.perf_counter() - t0

    refs = [make(p, a.reference_steps, "euler")[0] for p in PROMPTS]
    rows = []
    for sampler in a.samplers.split(","):
        for steps in [int(s) for s in a.steps.split(",")]:
            scores, times = [], []
            for p, ref in zip(PROMPTS, refs, strict=True):
                frames, dt = make(p, steps, sampler)
                scores.append(psnr(frames, ref))
                times.append(dt)
            rows.append(
                {
                    "sampler": sampler,
                    "steps": steps,
                    "psnr_vs_reference_db": round(float(np.mean(scores)), 2),
                    "seconds_per_clip": round(float(np.mean(times)), 2),
                }
            )
    if a.json:
        print(json.dumps({"model": eng.model_id, "frames": a.frames, "rows": rows}))
        return
    print(
        f"model {eng.model_id}, {a.frames} frames {eng.native.width}x{eng.native.height}, "
        f"reference: Euler {a.reference_steps} steps, {len(PROMPTS)} prompts, device {a.device}"
    )
    print(f"{'sampler':<10} {'steps':>5} {'PSNR vs ref':>12} {'s/clip':>8}")
    for r in rows:
        print(
            f"{r['sampler']:<10} {r['steps']:>5} {r['psnr_vs_reference_db']:>9.2f} dB "
            f"{r['seconds_per_clip']:>8.2f}"
        )


if __name__ == "__main__":
    main()
