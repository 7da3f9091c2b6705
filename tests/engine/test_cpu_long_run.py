"""docs/cpu_long_run.sh: one learning-rate cycle over several sessions, resumed exactly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.train import lr_at, run
from tests.engine.test_train import losses, tiny_config

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "cpu_long_run.sh"


def long_run(model: Path, run_dir: Path, extra: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "M": str(model), "RUN": str(run_dir), "STEPS": "4", "TOK": "192"}
    env.update(WU="2", LR="1e-3", EXTRA=extra)
    return subprocess.run(
        ["bash", str(SCRIPT), "5", sys.executable],
        env=env,
        cwd=run_dir.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_session_resumes_the_cycle_where_the_last_one_stopped(tmp_path):
    cfg = tiny_config(warmup=2)
    run(cfg, tmp_path / "first", "vae", 5, False, "cpu")
    run(cfg, tmp_path / "first", "dit", 5, True, "cpu", stop_at=4)
    model = tmp_path / "first" / "model"  # a model folder as shipped, its recipe beside it
    shutil.copy(tmp_path / "first" / "train_config.json", model / "train_config.json")

    whole, cut = tmp_path / "whole", tmp_path / "cut"
    done = long_run(model, whole)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "one cycle to step 8" in done.stdout
    first = long_run(model, cut, extra="--stop-at 6")  # a session that ends at step 6
    assert first.returncode == 0, first.stderr[-2000:]
    second = long_run(model, cut)  # the next session
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming" in second.stdout and "at step 6" in second.stdout

    rows = [json.loads(x) for x in (cut / "training_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r.get("event") == "init"] == [4]  # one start, not two
    saved = json.loads((cut / "train_config.json").read_text())
    assert saved["dit_steps"] == 8 and saved["tokens_per_batch"] == 192
    lrs = {r["step"]: r["lr"] for r in rows if r.get("event") == "step" and r["stage"] == "dit"}
    for step in (5, 6, 7, 8):  # one warm-up and one cosine from step 4, across the two sessions
        assert lrs[step] == pytest.approx(lr_at(step - 1 - 4, 1e-3, 2, 4, cfg.min_lr_ratio))
    la, lb = losses(whole / "training_log.jsonl"), losses(cut / "training_log.jsonl")
    for step in (5, 6, 7, 8):  # the interrupted cycle is the uninterrupted one
        assert lb[step] == pytest.approx(la[step], rel=1e-5, abs=1e-6)
    exported = json.loads((cut / "model" / "config.json").read_text())
    assert exported["training"]["dit_steps_done"] == 8


def test_a_folder_without_a_checkpoint_is_not_taken_for_a_run(tmp_path):
    stray = tmp_path / "runs" / "long"
    stray.mkdir(parents=True)
    (stray / "notes.txt").write_text("mine")
    r = long_run(tmp_path / "no-model", stray)
    assert r.returncode == 1
    assert "holds no transformer checkpoint" in r.stdout
    assert (stray / "notes.txt").read_text() == "mine"
