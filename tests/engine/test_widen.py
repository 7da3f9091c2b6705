"""A wider autoencoder that keeps a trained one's latent channels exactly."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from engine.autoencoder_widen import train_only_added, widen
from engine.model_bundle import ModelBundle
from engine.models.vae import VAEConfig, VideoVAE
from engine.rebase import fit_bridge
from engine.request import EngineError
from engine.train import run
from tests.engine.test_rebase import eight_channel_config, four_channel_model


def _video(seed: int) -> torch.Tensor:  # (B, 3, T, H, W) in [-1, 1]
    return torch.rand(2, 3, 5, 48, 64, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_a_widened_autoencoder_starts_as_the_old_one():
    torch.manual_seed(0)
    old = VideoVAE(VAEConfig.tiny(latent_channels=4)).eval()
    old.set_latent_stats(torch.randn(4), torch.rand(4) + 0.5)
    new = widen(old, 8).eval()
    assert new.config.latent_channels == 8
    x = _video(1)
    with torch.no_grad():
        z_old, z_new = old.encode(x), new.encode(x)  # normalised latents
        assert torch.equal(z_new[:, :4], z_old)
        assert z_new[:, 4:].abs().sum() > 0  # the added channels carry something
        # the decoder reads the added channels with zero weights: the old picture, whatever
        # they hold
        noise = torch.randn_like(z_new[:, 4:]) * 3
        rec = new.decode(torch.cat([z_old, noise], dim=1))
        assert torch.allclose(rec, old.decode(z_old), atol=1e-5)
    with pytest.raises(ValueError, match="more than the 4"):
        widen(old, 4)


def test_a_widened_autoencoder_with_a_branch_starts_as_the_old_one_and_the_branch_learns():
    torch.manual_seed(0)
    old = VideoVAE(VAEConfig.tiny(latent_channels=4)).eval()
    new = widen(old, 8, branch=True)
    assert new.config.branch_channels == 4 and new.branch is not None
    x = _video(1)
    with torch.no_grad():  # the branch's output starts at zero, and the old channels are old's
        assert not new.branch(x).any()
        z = new.eval().encode(x)
        assert torch.equal(z[:, :4], old.encode(x))
        assert torch.allclose(new.decode(z), old.decode(z[:, :4]), atol=1e-5)
    before = {k: v.clone() for k, v in new.state_dict().items()}
    opt = torch.optim.AdamW(train_only_added(new.train(), 4), lr=1e-2, weight_decay=0.0)
    for i in range(3):
        opt.zero_grad()
        new.loss(_video(i))["loss"].backward()
        opt.step()
    after = new.state_dict()
    for k in before:
        if k.startswith("branch."):  # the whole branch learns, body and output
            assert not torch.equal(after[k], before[k]), k
    with torch.no_grad():  # and the old channels stay exactly the old latents
        z = new.eval().encode(x)
        assert torch.equal(z[:, :4], old.encode(x))
        # chunked encoding (the causal feature cache) covers the branch too
        video = torch.rand(1, 3, 13, 48, 64, generator=torch.Generator().manual_seed(5)) * 2 - 1
        assert torch.allclose(new.encode(video, chunk_latents=1), new.encode(video), atol=1e-5)
    with pytest.raises(ValueError, match="widened already"):
        widen(new, 12)
    with pytest.raises(ValueError, match="branch_channels"):
        VAEConfig(latent_channels=4, branch_channels=5)


def test_only_the_added_channels_and_the_decoder_learn():
    torch.manual_seed(0)
    new = widen(VideoVAE(VAEConfig.tiny(latent_channels=4)), 8)
    before = {k: v.clone() for k, v in new.state_dict().items()}
    params = train_only_added(new, 4)
    opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.0)
    for i in range(3):
        opt.zero_grad()
        new.loss(_video(i))["loss"].backward()
        opt.step()
    after = new.state_dict()
    head_w, head_b = "encoder.conv_out.weight", "encoder.conv_out.bias"
    for k in before:
        if k.startswith("encoder.") and k not in (head_w, head_b):
            assert torch.equal(after[k], before[k]), k  # the encoder's body is frozen
    for k in (head_w, head_b):
        kept = torch.cat([after[k][:4], after[k][8:12]])  # the old mean and logvar rows
        assert torch.equal(kept, torch.cat([before[k][:4], before[k][8:12]])), k
        added = torch.cat([after[k][4:8], after[k][12:]])
        assert not torch.equal(added, torch.cat([before[k][4:8], before[k][12:]])), k
    assert not torch.equal(after["decoder.conv_in.weight"], before["decoder.conv_in.weight"])
    with pytest.raises(ValueError, match="between 0 and 8"):
        train_only_added(new, 8)


def test_the_autoencoder_stage_widens_a_model_folders_autoencoder_and_resumes(tmp_path):
    folder = four_channel_model(tmp_path)
    was = json.loads((folder / "config.json").read_text())["training"]["totals"]
    cfg8 = eight_channel_config(vae_kept_channels=4, vae_steps=2)
    with pytest.raises(EngineError, match="needs --init-from a model folder"):
        run(cfg8, tmp_path / "none", "vae", 5, False, "cpu")
    wide = tmp_path / "wide"
    run(cfg8, wide, "vae", 5, False, "cpu", init_from=folder)
    cfg8.vae_steps = 4
    run(cfg8, wide, "vae", 5, True, "cpu", init_from=folder)  # resumed, not widened again
    rows = [json.loads(x) for x in (wide / "training_log.jsonl").read_text().splitlines()]
    assert [r["kept"] for r in rows if r.get("event") == "widen"] == [4]
    assert [r["step"] for r in rows if r.get("event") == "step" and r["stage"] == "vae"][-4:] == [
        1,
        2,
        3,
        4,
    ]

    old = ModelBundle.load(folder, device="cpu").vae.eval()
    new = ModelBundle.load(wide / "model", device="cpu").vae.eval()
    x = _video(3)
    with torch.no_grad():  # the old latents, exactly (fp16 weights on both sides)
        assert torch.equal(new.encode(x)[:, :4], old.encode(x))
    assert torch.equal(new.latent_mean[:4], old.latent_mean)
    assert torch.equal(new.latent_std[:4], old.latent_std)
    weights = load_file(str(wide / "model" / "model.safetensors"))
    ref = load_file(str(folder / "model.safetensors"))
    assert not torch.equal(
        weights["vae.decoder.conv_out.weight"], ref["vae.decoder.conv_out.weight"]
    )
    # the record: the old autoencoder's compute and this stage's, no transformer yet
    totals = json.loads((wide / "state_vae.json").read_text())["totals"]
    assert totals["vae_seconds"] > was["vae_seconds"] > 0
    assert totals["dit_seconds"] == 0 and totals["dit_samples"] == 0


def test_the_autoencoder_stage_widens_with_a_branch(tmp_path):
    folder = four_channel_model(tmp_path)
    cfg8 = eight_channel_config(vae_kept_channels=4, vae_steps=2)
    cfg8.vae = {**cfg8.vae, "branch_channels": 3}
    with pytest.raises(EngineError, match="branch_channels 3 must be 0 or the 4"):
        run(cfg8, tmp_path / "odd", "vae", 5, False, "cpu", init_from=folder)
    cfg8.vae = {**cfg8.vae, "branch_channels": 4}
    wide = tmp_path / "wide"
    run(cfg8, wide, "vae", 5, False, "cpu", init_from=folder)
    old = ModelBundle.load(folder, device="cpu").vae.eval()
    new = ModelBundle.load(wide / "model", device="cpu").vae.eval()
    assert new.branch is not None
    x = _video(3)
    with torch.no_grad():
        assert torch.equal(new.encode(x)[:, :4], old.encode(x))
    weights = load_file(str(wide / "model" / "model.safetensors"))
    assert weights["vae.branch.conv_out.weight"].abs().sum() > 0  # the branch trained


def test_the_bridge_onto_a_widened_autoencoder_is_the_exact_selection_of_its_old_channels():
    torch.manual_seed(0)
    old = VideoVAE(VAEConfig.tiny(latent_channels=4)).eval()
    new = widen(old, 8).eval()
    for p in new.encoder.conv_out.parameters():  # added channels that correlate with the old
        p.data[4:8] += p.data[:4]

    def encode(vae, video):
        return vae.encode(video.permute(0, 4, 1, 2, 3) * 2 - 1)

    clips = [
        torch.rand(2, 5, 64, 96, 3, generator=torch.Generator().manual_seed(i)) for i in range(3)
    ]
    bridge = fit_bridge(old, new, clips, (1, 2, 2), encode)
    assert torch.equal(bridge.to_old, torch.eye(32, 16))  # 4 channels x 4 patch values
    assert bridge.r2_to_old == pytest.approx(1.0)
