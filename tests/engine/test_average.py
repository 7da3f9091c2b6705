"""Checkpoint averaging: the transformer's weighted mean over folders of one lineage."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from engine.average import average_models
from engine.cli import main as engine_main
from engine.model_bundle import ModelBundle, sha256_file
from engine.model_card import write as write_card
from engine.request import EngineError
from tests.engine.conftest import make_model


def _continued(src, dst, seed: int, steps: int):
    """`src` continued: the same autoencoder, its transformer moved, a later step count."""
    shutil.copytree(src, dst)
    bundle = ModelBundle.load(dst)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in bundle.dit.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
    bundle.config["training"] = {"dit_steps_done": steps}
    bundle.save(dst)
    return dst


@pytest.fixture(scope="module")
def lineage(tmp_path_factory):
    root = tmp_path_factory.mktemp("lineage")
    first = make_model(root / "step10")
    cfg = json.loads((first / "config.json").read_text())
    cfg["training"] = {"dit_steps_done": 10}
    (first / "config.json").write_text(json.dumps(cfg))
    (first / "training_log.jsonl").write_text('{"step": 10}\n')
    second = _continued(first, root / "step20", seed=1, steps=20)
    (second / "training_log.jsonl").write_text('{"step": 10}\n{"step": 20}\n')
    return first, second


def test_the_mean_is_the_weighted_mean_of_the_transformers_on_their_one_autoencoder(
    lineage, tmp_path, capsys
):
    first, second = lineage
    out = tmp_path / "mean"
    assert (
        engine_main(["average", str(first), str(second), "-o", str(out), "--shares", "1", "3"]) == 0
    )
    assert "step10 (step 10, 0.25), step20 (step 20, 0.75)" in capsys.readouterr().out

    a, b, m = (ModelBundle.load(p) for p in (first, second, out))
    sa, sb, sm = a.dit.state_dict(), b.dit.state_dict(), m.dit.state_dict()
    moved = 0
    for k, v in sm.items():
        want = 0.25 * sa[k] + 0.75 * sb[k]
        assert torch.allclose(v, want, atol=2e-3), k  # fp16 on disk
        moved += int(not torch.equal(sa[k], sb[k]))
    assert moved > 10  # the two transformers differ, so the test reads the mean, not a copy
    for k, v in a.vae.state_dict().items():
        assert torch.equal(m.vae.state_dict()[k], v)

    cfg = json.loads((out / "config.json").read_text())
    assert cfg["training"]["dit_steps_done"] == 20  # the most trained folder's record
    assert [e["model"] for e in cfg["training"]["averaged"]] == ["step10", "step20"]
    assert [e["share"] for e in cfg["training"]["averaged"]] == [0.25, 0.75]
    assert cfg["training"]["averaged"][1]["weights_sha256"] == sha256_file(
        second / "model.safetensors"
    )
    assert cfg["weights_sha256"] == sha256_file(out / "model.safetensors")
    assert (out / "training_log.jsonl").read_text() == '{"step": 10}\n{"step": 20}\n'

    card = write_card(out, []).read_text()
    assert "mean of 2 runs of this lineage: step 10 (25 %), step 20 (75 %)" in card
    assert "mean of" not in write_card(second, []).read_text()


def test_equal_shares_by_default_and_the_output_may_be_a_source(lineage, tmp_path):
    first, second = lineage
    work = shutil.copytree(second, tmp_path / "work")
    average_models([first, work], work)  # every folder is read before the output is written
    sa = ModelBundle.load(first).dit.state_dict()
    sb = ModelBundle.load(second).dit.state_dict()
    sm = ModelBundle.load(work).dit.state_dict()
    assert all(torch.allclose(sm[k], (sa[k] + sb[k]) / 2, atol=2e-3) for k in sm)


def test_folders_that_cannot_be_averaged_are_refused_with_one_line(lineage, tmp_path, capsys):
    first, second = lineage
    other_vae = tmp_path / "other"
    shutil.copytree(second, other_vae)
    bundle = ModelBundle.load(other_vae)
    with torch.no_grad():
        next(bundle.vae.parameters()).add_(0.1)
    bundle.save(other_vae)
    with pytest.raises(EngineError, match="different autoencoders"):
        average_models([first, other_vae], tmp_path / "x")

    wider = tmp_path / "retuned"
    shutil.copytree(second, wider)
    cfg = json.loads((wider / "config.json").read_text())
    cfg["dit"]["rope_theta"] *= 2  # loads, but is another model
    (wider / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(EngineError, match="different transformer configs"):
        average_models([first, wider], tmp_path / "x")

    with pytest.raises(EngineError, match="at least two"):
        average_models([first], tmp_path / "x")
    with pytest.raises(EngineError, match="3 shares for 2"):
        average_models([first, second], tmp_path / "x", [1, 2, 3])
    with pytest.raises(EngineError, match="above 0"):
        average_models([first, second], tmp_path / "x", [1, 0])

    assert engine_main(["average", str(first), str(other_vae), "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "different autoencoders" in err and "\n" not in err
    assert not (tmp_path / "x").exists()  # nothing written


def test_a_run_continued_from_a_mean_no_longer_calls_its_weights_a_mean(tmp_path):
    from engine.train import run
    from tests.engine.test_train import tiny_config

    cfg = tiny_config()
    run(cfg, tmp_path / "a", "vae", 5, False, "cpu")
    run(cfg, tmp_path / "a", "dit", 5, True, "cpu", stop_at=2)
    second = _continued(tmp_path / "a" / "model", tmp_path / "b", seed=2, steps=2)
    average_models([tmp_path / "a" / "model", second], tmp_path / "mean")
    assert "averaged" in json.loads((tmp_path / "mean" / "config.json").read_text())["training"]

    on = tmp_path / "on"
    run(tiny_config(dit_restart=True), on, "dit", 5, False, "cpu", init_from=tmp_path / "mean")
    training = json.loads((on / "model" / "config.json").read_text())["training"]
    assert training["dit_steps_done"] > 2 and "averaged" not in training
