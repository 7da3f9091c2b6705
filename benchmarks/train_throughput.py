"""Training throughput of the default model's transformer stage, with its batches prepared in
the step (the reference) and ahead in a thread (`prepare_ahead`), measured in the same run:

    python benchmarks/train_throughput.py --device cpu [--steps 24] [--tokens 2048]
    python benchmarks/train_throughput.py --device cuda --steps 200 --tokens 32768 --workers 14

Each variant continues the shipped model for the same steps (the same batches: the variants
change when a batch is made, not what it is) in a run folder of its own; the reference runs
first and last, and the figure is the variant's steps per second against their mean. The
phases (wait_s, data_s, model_s, prepare_s) are means over the measured steps.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.train import run  # noqa: E402
from engine.train_config import TrainConfig  # noqa: E402

MODEL = ROOT / "resources" / "models" / "storyloom-tiny"
SKIP = 3  # start-up steps (first batches, kernels) left out of the rate


def measure(model: Path, device: str, steps: int, sets: list[str], out: Path) -> dict:
    cfg = TrainConfig.load(
        model / "train_config.json",
        [
            "dit_steps=100000000",
            "dit_restart=true",
            "log_every=1",
            "val_every=100000000",
            "checkpoint_minutes=100000",
            *sets,
        ],
    )
    start = json.loads((model / "config.json").read_text())["training"]["dit_steps_done"]
    run(cfg, out, "dit", 60.0, False, device, init_from=model, stop_at=start + steps)
    rows = [json.loads(x) for x in (out / "training_log.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r.get("event") == "step" and r["step"] > start]
    timed = rows[SKIP:]
    if len(timed) < 2:
        raise SystemExit(f"too few steps to time ({len(rows)}): give --steps > {SKIP + 2}")
    seconds = timed[-1]["time"] - timed[0]["time"]
    phases = {
        k: sum(r.get(k, 0.0) for r in timed[1:]) / (len(timed) - 1)
        for k in ("wait_s", "data_s", "model_s", "prepare_s")
    }
    return {"steps_per_s": (len(timed) - 1) / seconds, **phases}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--steps", type=int, default=24)
    ap.add_argument("--tokens", type=int, default=2048, help="tokens_per_batch")
    ap.add_argument("--replay", type=int, default=3, help="replay_ratio (the lease's)")
    ap.add_argument("--workers", type=int, default=0, help="data_workers")
    ap.add_argument("--ahead", type=int, default=2, help="prepare_ahead of the variant")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    common = [
        f"tokens_per_batch={a.tokens}",
        f"replay_ratio={a.replay}",
        f"data_workers={a.workers}",
    ]
    variants = [
        ("in the step (reference)", ["prepare_ahead=0"]),
        (f"ahead in a thread ({a.ahead})", [f"prepare_ahead={a.ahead}"]),
        ("in the step (reference, again)", ["prepare_ahead=0"]),
    ]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, sets) in enumerate(variants):
            results[name] = measure(a.model, a.device, a.steps, common + sets, Path(tmp) / str(i))
    ref = (results[variants[0][0]]["steps_per_s"] + results[variants[2][0]]["steps_per_s"]) / 2
    for r in results.values():
        r["speedup"] = r["steps_per_s"] / ref
    if a.json:
        print(json.dumps({"device": a.device, "tokens_per_batch": a.tokens, **results}))
        return
    print(
        f"{a.device}, tokens_per_batch {a.tokens}, replay_ratio {a.replay}, "
        f"data_workers {a.workers}, {a.steps} steps each"
    )
    print(
        f"{'batches prepared':34s} {'steps/s':>8s} {'x ref':>6s}  wait_s data_s model_s prepare_s"
    )
    for name, r in results.items():
        print(
            f"{name:34s} {r['steps_per_s']:8.3f} {r['speedup']:6.2f}  {r['wait_s']:.3f}  "
            f"{r['data_s']:.3f}  {r['model_s']:.3f}  {r['prepare_s']:.3f}"
        )


if __name__ == "__main__":
    main()
