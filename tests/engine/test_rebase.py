"""A trained transformer carried over to an autoencoder with other latent channels."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from einops import einsum
from safetensors.torch import load_file

from engine.model_bundle import recipe_dit_config
from engine.models.dit import DiT, DiTConfig, grid_positions, patchify
from engine.models.vae import VAEConfig, VideoVAE
from engine.rebase import fit_bridge, rebase_dit
from engine.request import EngineError
from engine.train import run
from engine.train_config import TrainConfig
from tests.engine.test_train import losses, tiny_config


def _rows(run_dir):
    return [json.loads(x) for x in (run_dir / "training_log.jsonl").read_text().splitlines()]


def test_a_bridged_transformer_computes_the_same_function_over_a_linear_latent_space():
    # New latents that are an exact orthonormal image of the old (8 channels from 4): the bridge
    # finds the map, and the rebased transformer predicts the old one's velocity, mapped.
    torch.manual_seed(0)
    old_vae = VideoVAE(VAEConfig.tiny(latent_channels=4)).eval()
    new_vae = VideoVAE(VAEConfig.tiny(latent_channels=8)).eval()
    mix = torch.linalg.qr(torch.randn(8, 4)).Q  # (8, 4), orthonormal columns

    def encode(vae, video):
        z = old_vae.encode(video.permute(0, 4, 1, 2, 3) * 2 - 1)  # (B, 4, t, h, w)
        return z if vae is old_vae else einsum(mix, z, "n o, b o t h w -> b n t h w")

    clips = [
        torch.rand(2, 5, 64, 96, 3, generator=torch.Generator().manual_seed(i)) for i in range(3)
    ]
    bridge = fit_bridge(old_vae, new_vae, clips, (1, 2, 2), encode)
    assert bridge.r2_to_old > 0.999 and bridge.r2_to_new > 0.999
    eye = torch.eye(16)  # white noise stays white: the map's columns are orthonormal
    assert torch.allclose(bridge.to_old.T @ bridge.to_old, eye, atol=1e-5)
    assert bridge.tokens == 3 * 2 * 2 * 4 * 6  # clips x items x latent frames x 4 x 6 patches

    old = DiT(DiTConfig(latent_channels=4, width=64, depth=2, heads=2, pooled_text=True))
    for p in old.parameters():  # a "trained" model: no layer left at its zero start
        p.data.normal_(0, 0.05)
    new = DiT(DiTConfig(latent_channels=8, width=64, depth=2, heads=2, pooled_text=True))
    initial = new.x_embed.weight.detach().clone()
    made = rebase_dit(new, old.state_dict(), bridge)
    assert made == ["out.bias", "out.weight", "x_embed.bias", "x_embed.weight"]
    # what the map leaves out reaches the blocks through the new layer's own initial weights
    left_out = torch.eye(32) - bridge.to_old @ bridge.to_old.T
    assert torch.allclose(new.x_embed.weight @ left_out, initial @ left_out, atol=1e-5)
    assert (initial @ left_out).abs().sum() > 1
    for k, v in old.state_dict().items():
        if not k.startswith(("x_embed.", "out.")):
            assert torch.equal(new.state_dict()[k], v), k

    z = torch.randn(1, 4, 2, 4, 6)
    x_old = patchify(z, (1, 2, 2))
    x_new = patchify(einsum(mix, z, "n o, b o t h w -> b n t h w"), (1, 2, 2))
    n = x_old.shape[1]
    args = (
        torch.full((1, n), 0.5),
        grid_positions((2, 2, 3))[None],
        torch.zeros(1, n, dtype=torch.long),
        torch.randn(1, 5, 384),
        torch.ones(1, 5, dtype=torch.bool),
    )
    with torch.no_grad():
        v_old, v_new = old(x_old, *args), new(x_new, *args)
    v_mapped = patchify(einsum(mix, _unpatch(v_old), "n o, b o t h w -> b n t h w"), (1, 2, 2))
    assert torch.allclose(v_new, v_mapped, atol=1e-3, rtol=1e-3)
    # from weights as a model folder stores them (fp16), the same function to fp16's precision
    again = DiT(DiTConfig(latent_channels=8, width=64, depth=2, heads=2, pooled_text=True))
    rebase_dit(again, {k: v.half() for k, v in old.state_dict().items()}, bridge)
    assert again.x_embed.weight.dtype == torch.float32
    with torch.no_grad():
        assert torch.allclose(again(x_new, *args), v_mapped, atol=2e-2, rtol=2e-2)


def _unpatch(x):
    from engine.models.dit import unpatchify

    return unpatchify(x, (1, 2, 2), (2, 2, 3))


def test_a_fresh_rebase_keeps_the_blocks_and_starts_the_latent_layers_anew():
    torch.manual_seed(0)
    old = DiT(DiTConfig(latent_channels=4, width=64, depth=2, heads=2))
    for p in old.parameters():
        p.data.normal_(0, 0.05)
    new = DiT(DiTConfig(latent_channels=8, width=64, depth=2, heads=2))
    rebase_dit(new, old.state_dict(), None)
    assert torch.count_nonzero(new.out.weight) == 0  # the output starts at zero, as a new model's
    assert new.x_embed.weight.shape == (64, 32)
    assert torch.equal(new.blocks[1].mlp[0].weight, old.blocks[1].mlp[0].weight)
    # any other difference of architecture is refused, with what differs
    wider = DiT(DiTConfig(latent_channels=8, width=96, depth=2, heads=2))
    with pytest.raises(EngineError, match="another architecture"):
        rebase_dit(wider, old.state_dict(), None)


def test_the_recipes_transformer_reads_its_autoencoders_latent_channels():
    cfg = TrainConfig(vae=VAEConfig.tiny(latent_channels=32).to_dict(), dit={"width": 64})
    assert recipe_dit_config(cfg).latent_channels == 32
    assert recipe_dit_config(TrainConfig(dit="tiny")).latent_channels == 16
    clash = TrainConfig(vae={"latent_channels": 32}, dit={"latent_channels": 16})
    with pytest.raises(EngineError, match="16 latent channels and its autoencoder makes 32"):
        recipe_dit_config(clash)
    with pytest.raises(EngineError, match="rebase_init"):
        TrainConfig(rebase_init="warm")


def four_channel_model(tmp_path):
    """A trained model folder over 4 latent channels (the shipped model in small)."""
    first = tmp_path / "first"
    cfg4 = tiny_config()
    run(cfg4, first, "vae", 5, False, "cpu")
    run(cfg4, first, "dit", 5, True, "cpu")
    return first / "model"


def eight_channel_config(**kw) -> TrainConfig:
    """The same transformer over an autoencoder of 8 channels; the config names them once."""
    return tiny_config(
        vae=VAEConfig.tiny(latent_channels=8).to_dict(),
        dit={"width": 64, "depth": 2, "heads": 2},
        **kw,
    )


def test_a_model_folder_is_rebased_onto_a_retrained_autoencoder_and_resumes_exactly(tmp_path):
    folder = four_channel_model(tmp_path)
    was = json.loads((folder / "config.json").read_text())["training"]["totals"]
    cfg8 = eight_channel_config(dit_steps=12)
    with pytest.raises(EngineError, match="--stage vae"):  # no autoencoder of its own yet
        run(cfg8, tmp_path / "none", "dit", 5, False, "cpu", init_from=folder)
    a = tmp_path / "a"
    run(cfg8, a, "vae", 5, False, "cpu")
    own = json.loads((a / "state_vae.json").read_text())["totals"]
    b = tmp_path / "b"
    shutil.copytree(a, b)
    run(cfg8, a, "dit", 5, False, "cpu", init_from=folder)
    run(cfg8, b, "dit", 5, False, "cpu", init_from=folder, stop_at=10)
    run(cfg8, b, "dit", 5, True, "cpu", init_from=folder)

    rebase = [r for r in _rows(a) if r.get("event") == "rebase"]
    assert len(rebase) == 1 and rebase[0]["step"] == 8 and rebase[0]["init"] == "bridge"
    assert rebase[0]["latent_channels"] == [4, 8] and rebase[0]["bridge_r2_in"] <= 1
    assert [r for r in _rows(b) if r.get("event") == "rebase"] == [
        {**rebase[0], "time": r["time"]} for r in _rows(b) if r.get("event") == "rebase"
    ]
    la, lb = losses(a / "training_log.jsonl"), losses(b / "training_log.jsonl")
    assert sorted(la) == list(range(1, 13))  # the folder's log, then on from its step 8
    for step in (11, 12):
        assert lb[step] == pytest.approx(la[step], rel=1e-5, abs=1e-6)

    model = json.loads((a / "model" / "config.json").read_text())
    assert model["dit"]["latent_channels"] == 8 and model["vae"]["latent_channels"] == 8
    assert model["training"]["dit_steps_done"] == 12
    # the exported autoencoder is the run's own, not the folder's
    state = load_file(str(a / "state_vae.safetensors"))
    weights = load_file(str(a / "model" / "model.safetensors"))
    enc = [k for k in state if k.startswith("vae.encoder.")]
    assert enc and all(torch.equal(weights[k], state[k].to(torch.float16)) for k in enc)
    # the record: the transformer's compute goes on, the old autoencoder's is retired
    totals = model["training"]["totals"]
    assert totals["dit_samples"] > was["dit_samples"] > 0
    assert totals["dit_seconds"] > was["dit_seconds"]
    assert totals["vae_seconds"] == own["vae_seconds"]
    assert totals["retired_vae_seconds"] == pytest.approx(was["vae_seconds"])
    stages = ("vae_seconds", "dit_seconds", "retired_vae_seconds")
    assert totals["device_seconds"]["cpu"] == pytest.approx(sum(totals[k] for k in stages))


def test_a_packed_autoencoder_made_ready_elsewhere_is_the_one_a_rebase_starts_on(tmp_path):
    # a GPU lease is short: the autoencoder and its decoder are made ready on a CPU, packed
    # without optimizer moments, and the lease only rebases the transformer onto them
    from engine.cli import main

    folder = four_channel_model(tmp_path)
    cfg8 = eight_channel_config(dit_steps=12, decoder_steps=3, decoder_lr=1e-3)
    prep, pack = tmp_path / "prep", tmp_path / "pack"
    assert main(["pack-autoencoder", str(prep), "-o", str(pack)]) == 2  # nothing to pack yet
    run(cfg8, prep, "vae", 5, False, "cpu")
    run(cfg8, prep, "decoder", 5, False, "cpu")
    assert main(["pack-autoencoder", str(prep), "-o", str(pack)]) == 0
    packed = json.loads((pack / "state_vae.json").read_text())
    tuned = load_file(str(prep / "state_decoder.safetensors"))
    weights = load_file(str(pack / "state_vae.safetensors"))
    assert sorted(weights) == sorted(k for k in tuned if k.startswith("vae."))  # no moments
    assert all(torch.equal(weights[k], tuned[k]) for k in weights)
    assert packed["decoder_step"] == 3 and packed["totals"]["decoder_seconds"] > 0

    lease = tmp_path / "lease"
    lease.mkdir()
    for name in ("state_vae.safetensors", "state_vae.json"):
        shutil.copy(pack / name, lease / name)
    run(cfg8, lease, "dit", 5, False, "cpu", init_from=folder)
    model = load_file(str(lease / "model" / "model.safetensors"))
    assert all(torch.equal(model[k], weights[k].to(torch.float16)) for k in weights)
    totals = json.loads((lease / "model" / "config.json").read_text())["training"]["totals"]
    assert totals["decoder_seconds"] == packed["totals"]["decoder_seconds"]
    assert totals["vae_seconds"] == packed["totals"]["vae_seconds"]
    stages = ("vae_seconds", "decoder_seconds", "dit_seconds", "retired_vae_seconds")
    assert totals["device_seconds"]["cpu"] == pytest.approx(sum(totals[k] for k in stages))

    # the packed stage resumes with fresh optimizer moments
    again = tmp_path / "again"
    shutil.copytree(pack, again)
    run(cfg8, again, "vae", 5, True, "cpu")
    resumed = [r for r in _rows(again) if r.get("event") == "resume"]
    assert resumed[0]["optimizer"] == "fresh" and resumed[0]["step"] == packed["step"]

    # a decoder tuned for the run's transformer is not this autoencoder's alone: not packed
    run(cfg8, prep, "dit", 5, False, "cpu")
    run(cfg8, prep, "decoder", 5, False, "cpu")
    assert main(["pack-autoencoder", str(prep), "-o", str(tmp_path / "late")]) == 2
