"""docs/cpu_long_run.sh: one learning-rate cycle over several sessions, resumed exactly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine import checkpoint as ckpt
from engine.request import EngineError
from engine.train import lr_at, run
from tests.engine.test_train import losses, tiny_config

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "cpu_long_run.sh"


def long_run(
    model: Path, run_dir: Path, extra: str = "", cycle: Path | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "M": str(model), "RUN": str(run_dir), "STEPS": "4", "TOK": "192"}
    cycle = cycle or run_dir.with_name(run_dir.name + "-cycle")
    env.update(WU="2", LR="1e-3", EXTRA=extra, CYCLE=str(cycle))
    return subprocess.run(
        ["bash", str(SCRIPT), "5", sys.executable],
        env=env,
        cwd=run_dir.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


def shipped_model(tmp_path: Path) -> Path:
    """A tiny model folder at transformer step 4, its recipe beside it, as shipped."""
    cfg = tiny_config(warmup=2)
    run(cfg, tmp_path / "first", "vae", 5, False, "cpu")
    run(cfg, tmp_path / "first", "dit", 5, True, "cpu", stop_at=4)
    model = tmp_path / "first" / "model"
    shutil.copy(tmp_path / "first" / "train_config.json", model / "train_config.json")
    return model


def step_rows(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "training_log.jsonl").read_text().splitlines()]


def test_a_session_resumes_the_cycle_where_the_last_one_stopped(tmp_path):
    cfg = tiny_config(warmup=2)
    model = shipped_model(tmp_path)

    whole, cut = tmp_path / "whole", tmp_path / "cut"
    done = long_run(model, whole)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "one cycle to step 8" in done.stdout
    first = long_run(model, cut, extra="--stop-at 6")  # a session that ends at step 6
    assert first.returncode == 0, first.stderr[-2000:]
    second = long_run(model, cut)  # the next session
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming" in second.stdout and "at step 6" in second.stdout

    rows = step_rows(cut)
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


def test_a_new_checkout_goes_on_with_the_cycle_from_its_committed_live_weights(tmp_path):
    cfg = tiny_config(warmup=2)
    model, cycle = shipped_model(tmp_path), tmp_path / "cycle"
    first = long_run(model, tmp_path / "a", extra="--stop-at 6", cycle=cycle)
    assert first.returncode == 0, first.stderr[-2000:]
    kept = json.loads((cycle / "config.json").read_text())
    assert kept["training"]["dit_steps_done"] == 6
    recipe = json.loads((cycle / "train_config.json").read_text())
    assert (recipe["dit_cycle_from"], recipe["dit_steps"], recipe["dit_restart"]) == (4, 8, True)
    # the live weights, not the EMA: what the optimizer was at, in fp16 as model folders are
    live = ckpt.split_prefix(ckpt.load_state_file(tmp_path / "a" / "state_dit.safetensors"), "dit.")
    folder = ckpt.split_prefix(ckpt.read_weights(cycle, device="cpu"), "dit.")
    assert live.keys() == folder.keys()
    for k, v in live.items():
        assert torch.equal(folder[k], v.half()), k
    assert not list(tmp_path.glob("cycle.*"))  # written beside and renamed: no half folder left

    shutil.rmtree(tmp_path / "a")  # a new checkout: the run is gone, the committed cycle is not
    second = long_run(model, tmp_path / "b", cycle=cycle)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "going on with the cycle" in second.stdout and "at step 6" in second.stdout
    rows = step_rows(tmp_path / "b")
    assert [r["step"] for r in rows if r.get("event") == "init"] == [4, 6]  # one log goes on
    lrs = {r["step"]: r["lr"] for r in rows if r.get("event") == "step" and r["stage"] == "dit"}
    for step in (7, 8):  # the cycle's cosine from step 4; the fresh moments warm up over 2 steps
        cosine = lr_at(step - 1 - 4, 1e-3, 2, 4, cfg.min_lr_ratio)
        assert lrs[step] == pytest.approx(cosine * min(1.0, (step - 6) / 2))
    assert json.loads((cycle / "config.json").read_text())["training"]["dit_steps_done"] == 8

    shutil.rmtree(tmp_path / "b")
    done = long_run(model, tmp_path / "c", cycle=cycle)
    assert done.returncode == 1 and "ended at step 8" in done.stdout
    assert not (tmp_path / "c").exists()


def test_a_run_behind_the_kept_cycle_is_not_resumed(tmp_path):
    model, cycle = shipped_model(tmp_path), tmp_path / "cycle"
    assert long_run(model, tmp_path / "a", extra="--stop-at 5", cycle=cycle).returncode == 0
    stale = tmp_path / "stale"
    shutil.copytree(tmp_path / "a", stale)  # a run from before the cycle's last commit
    assert long_run(model, tmp_path / "a", extra="--stop-at 6", cycle=cycle).returncode == 0
    r = long_run(model, stale, cycle=cycle)
    assert r.returncode == 1 and "is behind" in r.stdout


def test_a_cycle_cannot_begin_after_the_weights_it_continues(tmp_path):
    model = shipped_model(tmp_path)
    cfg = tiny_config(warmup=2, dit_restart=True, dit_cycle_from=5)
    with pytest.raises(EngineError, match="dit_cycle_from 5 is after"):
        run(cfg, tmp_path / "late", "dit", 5, False, "cpu", init_from=model)


def test_a_write_of_the_live_weights_cut_short_loses_none_kept(tmp_path, monkeypatch):
    from engine.model_bundle import ModelBundle
    from engine.train import Trainer

    tr = Trainer(tiny_config(), tmp_path / "run", "cpu")
    kept = tmp_path / "cycle.old"  # a swap cut between its two renames: the last kept is .old
    kept.mkdir()
    (kept / "config.json").write_text("{}")

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ModelBundle, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        tr.export_live(3, tmp_path / "cycle")
    assert (tmp_path / "cycle" / "config.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cycle", "run"]
    monkeypatch.undo()
    tr.export_live(3, tmp_path / "cycle")  # and the next write replaces it whole
    written = json.loads((tmp_path / "cycle" / "config.json").read_text())
    assert written["training"]["dit_steps_done"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cycle", "run"]


def test_a_cycle_left_as_old_by_a_cut_write_is_not_started_over(tmp_path):
    (tmp_path / "cycle.old").mkdir()  # the folder's last kept weights, its swap cut short
    r = long_run(tmp_path / "no-model", tmp_path / "runs-long", cycle=tmp_path / "cycle")
    assert r.returncode == 1 and "rename it to" in r.stdout
    assert not (tmp_path / "runs-long").exists() and (tmp_path / "cycle.old").is_dir()
