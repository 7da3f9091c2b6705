"""Engine speed: one denoising step of the DiT at several sizes and sequence lengths, against a
plain matrix multiply of the same FLOPs measured in the same run (a ratio: machine noise
cancels), and the default model's 2-second clip end to end.

    python benchmarks/engine_speed.py --device cpu|cuda [--configs tiny,small,1b] [--e2e]
    python benchmarks/engine_speed.py --configs tiny --e2e --models DIR   # DIR's clip vs the default's
    python benchmarks/engine_speed.py --device cpu --levers   # each speed lever, measured
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from engine.models.dit import DIT_CONFIGS, DiT
from engine.sequence import build_sequence


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timeit(fn, dev, warmup: int, reps: int) -> float:
    for _ in range(warmup):
        fn()
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    sync(dev)
    return (time.perf_counter() - t0) / reps


def matmul_flops_per_s(dev, dtype, total_flops: float, reps: int) -> float:
    """A square matmul sized so one product is about the step's FLOPs (capped for memory)."""
    n = int(round((total_flops / 2) ** (1 / 3) / 64)) * 64
    n = max(256, min(n, 8192 if dev.type == "cuda" else 2048))
    a = torch.randn(n, n, device=dev, dtype=dtype)
    b = torch.randn(n, n, device=dev, dtype=dtype)
    t = timeit(lambda: a @ b, dev, 2, reps)
    return 2 * n**3 / t


def bench_step(
    name: str, lat_grid: tuple[int, int, int], dev, dtype, batch: int, reps: int
) -> dict:
    cfg = DIT_CONFIGS[name]
    torch.manual_seed(0)
    model = DiT(cfg).to(dev).eval()
    t, h, w = lat_grid
    z = torch.randn(batch, cfg.latent_channels, t, h, w, device=dev)
    seq = build_sequence(z, torch.full((batch,), 0.5, device=dev), cfg.patch)
    text = torch.randn(batch, 24, cfg.text_dim, device=dev)
    mask = torch.ones(batch, 24, dtype=torch.bool, device=dev)
    amp = dtype if dtype != torch.float32 else None

    @torch.no_grad()
    def step():
        with torch.autocast(dev.type, dtype=amp, enabled=amp is not None):
            model(seq.x, seq.sigma, seq.pos, seq.kind, text, mask)

    sec = timeit(step, dev, 2, reps)
    n_tok = seq.x.shape[1]
    flops = batch * n_tok * model.flops_per_token(n_tok, 24)
    ref = matmul_flops_per_s(dev, dtype, flops, max(3, reps))
    params = sum(p.numel() for p in model.parameters())
    return {
        "config": name,
        "params_M": round(params / 1e6, 1),
        "tokens": n_tok,
        "batch": batch,
        "ms_per_step": round(sec * 1e3, 2),
        "gflops_per_step": round(flops / 1e9, 1),
        "achieved_tflops": round(flops / sec / 1e12, 3),
        "matmul_tflops": round(ref / 1e12, 3),
        "fraction_of_matmul": round(flops / sec / ref, 3),
    }


def bench_e2e(dev_name: str, reps: int, models: list[str | None]) -> list[dict]:
    """The 2-second clip end to end with each model (None: the default), the models' runs
    alternating so that a machine's slow spell falls on all of them alike."""
    from engine.pipeline import Engine
    from engine.request import GenerationRequest

    engines, loads = [], []
    for m in models:  # the load includes the prompt encoder's, which the app's first clip waits on
        t0 = time.perf_counter()
        engines.append(Engine.load(m, device=dev_name))
        loads.append(time.perf_counter() - t0)
    req = GenerationRequest(
        prompt="a red ball moves to the right on a blue background",
        width=256,
        height=144,
        seconds=2.0,
        seed=1,
    )
    for eng in engines:
        eng.generate(req)  # warm-up
    spent = [0.0] * len(engines)
    for _ in range(reps):
        for i, eng in enumerate(engines):
            t0 = time.perf_counter()
            clip = eng.generate(req)
            spent[i] += time.perf_counter() - t0
    rows = []
    for m, eng, total, load in zip(models, engines, spent, loads, strict=True):
        sec = total / reps
        rows.append(
            {
                "model": m or "default",
                "latent_channels": eng.vae.config.latent_channels,
                "load_seconds": round(load, 2),
                "e2e_seconds": round(sec, 2),
                "clip_seconds": clip.duration,
                "realtime_factor": round(clip.duration / sec, 2),
                "frames": int(clip.frames.shape[0]),
                "steps": clip.recipe["steps"],
                "sampler": clip.recipe.get("sampler", "euler"),
                "chunk_latents": eng.config.get("chunk_latents"),
                "vs_first": round(sec / (spent[0] / reps), 3),
            }
        )
    return rows


def bench_levers(dev_name: str, reps: int) -> list[dict]:
    """Each speed lever on the default model's 2-second clip, against the old setting, in one run:
    sampler and steps, chunk length, attention backend, torch.compile."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from engine.pipeline import Engine
    from engine.request import GenerationRequest

    eng = Engine.load(device=dev_name)
    dev = eng.device
    base_chunk = eng.config.get("chunk_latents", 7)

    def clip_time(sampler: str, steps: int, chunk: int, g_min: float | None = 0.0) -> float:
        eng.config["chunk_latents"] = chunk
        req = GenerationRequest(
            prompt="a red ball moves to the right on a blue background",
            seconds=2.0,
            seed=1,
            steps=steps,
            sampler=sampler,
            guidance_min_sigma=g_min,
        )
        eng.generate(req)  # warm-up at this shape
        t0 = time.perf_counter()
        for _ in range(reps):
            eng.generate(req)
        return (time.perf_counter() - t0) / reps

    rows = []
    ref = clip_time("euler", 20, 3)
    for label, sampler, steps, chunk in [
        ("Euler 20 steps, chunks of 3 latents (before)", "euler", 20, 3),
        ("multistep 12 steps, chunks of 3", "multistep", 12, 3),
        ("multistep 12 steps, one chunk of 7", "multistep", 12, 7),
        ("multistep 10 steps, one chunk of 7", "multistep", 10, 7),
    ]:
        sec = (
            ref if (sampler, steps, chunk) == ("euler", 20, 3) else clip_time(sampler, steps, chunk)
        )
        rows.append({"lever": label, "seconds": round(sec, 2), "speed-up": round(ref / sec, 2)})
    eng.config["chunk_latents"] = base_chunk
    # guidance only at high noise: the late steps take one model call instead of two
    g_min = eng.config.get("sampling", {}).get("guidance_min_sigma", 0.0)
    if g_min:
        sec = clip_time("multistep", 12, base_chunk, g_min)
        rows.append(
            {
                "lever": f"multistep 12, one chunk, guided only at sigma >= {g_min} (default)",
                "seconds": round(sec, 2),
                "speed-up": round(ref / sec, 2),
            }
        )

    # One transformer step (prompt + unconditional batched) at the 2-second clip's size.
    dit = eng.dit
    z = torch.randn(2, dit.config.latent_channels, 7, 18, 32, device=dev)
    seq = build_sequence(z, torch.full((2,), 0.5, device=dev), dit.config.patch)
    text = torch.randn(2, 16, dit.config.text_dim, device=dev)
    mask = torch.ones(2, 16, dtype=torch.bool, device=dev)
    args = (seq.x, seq.sigma, seq.pos, seq.kind, text, mask)

    def step_time(fn) -> float:
        with torch.no_grad():
            return timeit(lambda: fn(*args), dev, 2, max(5, reps * 3))

    eager = step_time(dit)
    rows.append(
        {"lever": "DiT step, eager, default SDPA", "seconds": round(eager, 4), "speed-up": 1.0}
    )
    for backend in (SDPBackend.MATH, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION):
        try:
            with sdpa_kernel(backend):
                sec = step_time(dit)
        except RuntimeError:  # not available on this device
            continue
        rows.append(
            {
                "lever": f"DiT step, SDPA {backend.name}",
                "seconds": round(sec, 4),
                "speed-up": round(eager / sec, 2),
            }
        )
    t0 = time.perf_counter()
    compiled = torch.compile(dit, dynamic=True)
    with torch.no_grad():
        compiled(*args)
    compile_s = time.perf_counter() - t0
    sec = step_time(compiled)
    rows.append(
        {
            "lever": f"DiT step, torch.compile (dynamic; first call {compile_s:.0f} s)",
            "seconds": round(sec, 4),
            "speed-up": round(eager / sec, 2),
        }
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--configs", default="tiny,small,1b")
    ap.add_argument("--e2e", action="store_true", help="also time the default model's 2 s clip")
    ap.add_argument(
        "--models",
        default="",
        help="--e2e: comma-separated model folders to time against the default (a ratio)",
    )
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--levers", action="store_true", help="measure each speed lever, then stop")
    a = ap.parse_args()
    if a.levers:
        rows = bench_levers(a.device, a.reps)
        print(f"{'lever':62} {'seconds':>9} {'speed-up':>9}")
        for r in rows:
            print(f"{r['lever']:62} {r['seconds']:>9} {r['speed-up']:>8}x")
        return
    dev = torch.device(a.device)
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    torch.backends.cuda.matmul.allow_tf32 = True
    # Latent grids (t, h, w): 256x144 at 2 s / 12 fps; 480p 5 s; 768x512 ~ 16k and 32k tokens.
    grids = {
        "cpu": [(7, 18, 32), (13, 18, 32)],
        "cuda": [(7, 18, 32), (16, 60, 104), (31, 60, 104)],
    }
    rows = []
    for name in a.configs.split(","):
        for grid in grids["cuda" if dev.type == "cuda" else "cpu"]:
            if dev.type == "cpu" and name in ("1b", "base") and grid[0] > 7:
                continue
            batch = 2  # the guidance passes are batched
            rows.append(bench_step(name, grid, dev, dtype, batch, a.reps))
            print(json.dumps(rows[-1]), flush=True)
    if a.e2e:
        others = [m for m in a.models.split(",") if m]
        for row in bench_e2e(a.device, a.reps, [None, *others]):
            print(json.dumps(row), flush=True)
    print(
        f"{'config':8} {'params':>8} {'tokens':>7} {'ms/step':>9} {'GFLOP':>8} {'TFLOP/s':>8} {'vs matmul':>9}"
    )
    for r in rows:
        print(
            f"{r['config']:8} {r['params_M']:>7}M {r['tokens']:>7} {r['ms_per_step']:>9} "
            f"{r['gflops_per_step']:>8} {r['achieved_tflops']:>8} {r['fraction_of_matmul']:>9}"
        )


if __name__ == "__main__":
    main()
