"""The ablation bench: small variants trained from scratch on cached latents, probed as they go."""

import json
from dataclasses import replace

import pytest
import torch

from engine.ablation import (
    DIRECTIONS,
    AblationConfig,
    cached_train_set,
    oracle_token,
    prompt_batch,
    train_variant,
)
from engine.cli import main as engine_main
from engine.model_bundle import ModelBundle
from engine.models.text import MiniLMEncoder
from engine.resources_path import default_model_dir

SMALL = AblationConfig(
    width=32, height=32, frames=5, clips=8, val_clips=8, batch=4, max_steps=4, probe_every=2,
    lr=3e-3, warmup=1,
    levels=(0.8,), dit={"width": 32, "depth": 1, "heads": 2, "pooled_text": True},
)  # fmt: skip


@pytest.fixture(scope="module")
def parts():
    bundle = ModelBundle.load(default_model_dir(), "cpu")
    return bundle, MiniLMEncoder.load("cpu", lexical=True)


def test_a_variant_trains_and_is_probed_from_its_first_step(parts, tmp_path):
    rows = train_variant(*parts, SMALL, tmp_path / "cache.safetensors", log=lambda r: None)
    assert [r["step"] for r in rows] == [0, 2, 4]
    assert [r["seen"] for r in rows] == [0, 8, 16]
    keys = {f"{a}/{t}/0.8" for a in ("direction", "colour") for t in ("t2v", "i2v")}
    assert keys <= set(rows[0])
    assert rows[-1]["loss/i2v/0.8"] > 0 and rows[-1]["loss/t2v/0.8"] > 0  # held-out loss
    # adaLN-Zero: the untrained model predicts zero whatever the caption, so no gap at all
    assert all(rows[0][k] == [0.0, 0.0] for k in keys)
    # trained, its predictions depend on the caption, and the probe sees it
    assert any(rows[-1][k][1] != 0.0 for k in keys)
    assert all(0.0 <= rows[-1][k][0] <= 1.0 for k in keys)
    assert rows[-1]["loss"] == pytest.approx(rows[-1]["loss"]) and rows[-1]["loss"] > 0


def test_the_training_clips_are_encoded_once_per_setting(parts, tmp_path):
    bundle, text = parts
    cache = tmp_path / "cache.safetensors"
    first = cached_train_set(bundle.vae, text, SMALL, cache)
    assert first.z.shape[:3] == (8, bundle.vae.config.latent_channels, 2)
    assert first.states.shape[-1] == 768  # last layer and input embeddings, for any variant
    # motion clips: every one has a direction
    assert bool((first.direction >= 0).all())
    again = cached_train_set(bundle.vae, text, SMALL, cache)
    assert torch.equal(first.z, again.z) and torch.equal(first.states, again.states)
    other = cached_train_set(bundle.vae, text, replace(SMALL, seed=1), cache)
    assert not torch.equal(first.z, other.z)  # other settings: encoded anew, not reused
    weight = next(bundle.vae.encoder.parameters())
    kept = weight.detach().clone()
    with torch.no_grad():  # another encoder (a retrained autoencoder): encoded anew as well
        weight.mul_(1.5)
    try:
        changed = cached_train_set(bundle.vae, text, replace(SMALL, seed=1), cache)
    finally:
        with torch.no_grad():
            weight.copy_(kept)
    assert not torch.equal(changed.z, other.z)


def test_the_oracle_token_names_the_direction_and_is_always_read():
    ids = torch.tensor([0, 1, 2, 3, 0, -1])
    tok = oracle_token(ids, 384)
    assert tok.shape == (6, 1, 384)
    assert torch.equal(tok[0], tok[4]) and torch.equal(tok[5], torch.zeros(1, 384))
    assert len({tuple(tok[i, 0, :4].tolist()) for i in range(4)}) == len(DIRECTIONS)
    states, lengths = torch.randn(6, 5, 768).half(), torch.tensor([5, 3, 2, 5, 1, 4])
    s, m = prompt_batch(states, lengths, ids, 384, oracle=True)
    assert s.shape == (6, 6, 384) and bool(m[:, -1].all())
    assert m[:, :5].sum(1).tolist() == lengths.tolist()
    s, m = prompt_batch(states, lengths, ids, 768, oracle=False)
    assert s.shape == (6, 5, 768)


def test_the_cli_refuses_unknown_transformer_keys_in_one_line(capsys):
    code = engine_main(["ablate", "--name", "x", "--dit", json.dumps({"wdth": 64})])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --dit: unknown transformer keys ['wdth']") and "\n" not in err


def test_the_task_mix_spreads_image_to_video_steps_evenly():
    from engine.ablation import i2v_steps

    assert i2v_steps(0.5, 6) == [1, 3, 5]  # every other step, from the second
    assert i2v_steps(1.0, 4) == [0, 1, 2, 3] and i2v_steps(0.0, 4) == []
    assert len(i2v_steps(0.25, 100)) == 25


def test_the_motion_loss_sees_only_how_the_error_changes_from_frame_to_frame():
    from engine.train_steps import motion_loss

    still = torch.randn(2, 1, 6, 3).expand(2, 4, 6, 3).reshape(2, 24, 3)  # 4 frames of 6 tokens
    assert float(motion_loss(still, 4, 0)) == 0.0  # the same error in every frame cancels
    moving = torch.zeros(2, 4, 6, 3)
    moving[:, 2] = 1.0  # off in frame 2 alone: two of the three differences are 1 at every value
    assert float(motion_loss(moving.reshape(2, 24, 3), 4, 0)) == pytest.approx(2 / 3)
    # a given start frame is not predicted, so its error does not count
    moving[:, 0] = 5.0
    assert float(motion_loss(moving.reshape(2, 24, 3), 4, 1)) == pytest.approx(1.0)
    assert float(motion_loss(moving.reshape(2, 24, 3)[:, :12], 2, 1)) == 0.0  # one frame left


def test_a_variant_with_the_motion_loss_trains_and_stays_deterministic(parts, tmp_path):
    cfg = replace(SMALL, frames=9, motion_weight=1.0, i2v_share=0.5, max_steps=2, probe_every=2)
    cache = tmp_path / "cache.safetensors"
    a = train_variant(*parts, cfg, cache, log=lambda r: None)
    b = train_variant(*parts, cfg, cache, log=lambda r: None)
    plain = train_variant(*parts, replace(cfg, motion_weight=0.0), cache, log=lambda r: None)
    assert a[-1]["loss"] == b[-1]["loss"] and a[-1]["loss"] > plain[-1]["loss"] > 0


def test_a_variant_goes_on_from_its_checkpoint_as_if_never_stopped(parts, tmp_path):
    cache, ckpt = tmp_path / "cache.safetensors", tmp_path / "state.safetensors"
    whole = train_variant(*parts, SMALL, cache, log=lambda r: None)  # steps 0, 2, 4
    first = train_variant(*parts, replace(SMALL, max_steps=2), cache, lambda r: None, ckpt)
    assert [r["step"] for r in first] == [0, 2] and ckpt.is_file()
    rest = train_variant(*parts, SMALL, cache, lambda r: None, ckpt)
    assert [r["step"] for r in rest] == [4]  # the checkpoint's own row is not logged again
    drop = ("minutes",)
    assert {k: v for k, v in rest[0].items() if k not in drop} == {
        k: v for k, v in whole[-1].items() if k not in drop
    }
    from engine.request import EngineError

    with pytest.raises(EngineError, match="other settings"):
        train_variant(*parts, replace(SMALL, lr=1e-3), cache, lambda r: None, ckpt)


def test_the_last_row_generates_clips_and_scores_their_direction(parts, tmp_path):
    from engine.ablation import VAL_SEED, encode_set, generated_direction
    from engine.models.dit import DiT, DiTConfig

    bundle, text = parts
    cfg = replace(SMALL, width=128, height=96, frames=17, val_clips=12)
    val = encode_set(bundle.vae, text, cfg, cfg.val_clips, VAL_SEED, keep_specs=True)
    # the detector reads the moves of the held-out clips through the autoencoder (at this small
    # size it loses the colour of some small objects: 9 of these 12, 84 % of 96)
    assert generated_direction(None, bundle.vae, val, text, cfg, "cpu", None) >= 0.7
    torch.manual_seed(0)
    dit = DiT(DiTConfig(latent_channels=bundle.vae.config.latent_channels, **cfg.dit)).eval()
    # untrained (adaLN-Zero: it predicts no velocity), the clip stays noise: no move is seen
    # after the start frame, and without one nothing is
    for task in ("t2v", "i2v", "two_pass"):
        acc = generated_direction(dit, bundle.vae, val, text, cfg, "cpu", task)
        assert acc == generated_direction(dit, bundle.vae, val, text, cfg, "cpu", task)
        assert acc <= 0.25
    rows = train_variant(*parts, replace(SMALL, max_steps=2), tmp_path / "c", log=lambda r: None)
    tasks = ("t2v", "i2v", "two_pass", "truth")
    assert {f"generated/{t}/direction" for t in tasks} <= set(rows[-1])
    assert "generated/t2v/direction" not in rows[0]


def test_a_variant_given_reference_stills_trains_and_its_probe_reads_them(parts, tmp_path):
    from engine.ablation import _has_reference, _is_i2v

    # at 0.5 each, reference steps and image-to-video steps alternate
    assert [_has_reference(k, 0.5) for k in range(4)] == [True, False, True, False]
    assert [_is_i2v(k, 0.5) for k in range(4)] == [False, True, False, True]
    cfg = replace(SMALL, ref_share=0.5, attributes=("reference", "colour"))
    cache = tmp_path / "cache.safetensors"
    data = cached_train_set(parts[0].vae, parts[1], cfg, cache)
    assert data.refs is not None and data.refs.shape == (8, *data.z.shape[1:2], 1, 4, 4)
    assert cached_train_set(parts[0].vae, parts[1], SMALL, cache).refs is None  # other key
    assert torch.equal(cached_train_set(parts[0].vae, parts[1], cfg, cache).refs, data.refs)
    rows = train_variant(*parts, cfg, cache, log=lambda r: None)
    keys = [f"reference/{t}/0.8" for t in ("t2v", "i2v")]
    assert all(rows[0][k] == [0.0, 0.0] for k in keys)  # adaLN-Zero: nothing is read yet
    assert any(rows[-1][k][1] != 0.0 for k in keys)  # trained with stills, they matter
    assert "loss/t2v/0.8" in rows[-1]  # the held-out loss comes from the prompt attribute


def test_the_cli_refuses_a_probe_of_the_reference_alone(capsys):
    assert engine_main(["ablate", "--name", "x", "--attributes", "reference"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --attributes 'reference'") and "\n" not in err
