"""The causal video autoencoder: shapes, causality, chunked == one pass, tiling, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.models.vae import VAEConfig, VideoVAE
from engine.request import EngineError

# (width, height), multiples of 8: 16:9, 9:16, 1:1 and 2.375:1 (the nearest to 2.39:1 on the grid)
ASPECTS = {"16:9": (128, 72), "9:16": (72, 128), "1:1": (64, 64), "2.39:1": (152, 64)}
DURATIONS = [1, 5, 17, 33]


def randomised_vae(seed: int = 0, **overrides) -> VideoVAE:
    """A tiny VAE with every weight random: the zero-initialised residual and temporal convs
    would otherwise make the temporal cache and the receptive field invisible to the tests."""
    torch.manual_seed(seed)
    vae = VideoVAE(VAEConfig.tiny(**overrides)).eval()
    with torch.no_grad():
        for p in vae.parameters():
            p.add_(torch.randn_like(p) * (0.3 / max(1, p[0].numel()) ** 0.5))
    return vae


def video(frames: int, width: int, height: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, frames, height, width, generator=g) * 2 - 1  # (B, 3, T, H, W)


@pytest.fixture(scope="module")
def vae() -> VideoVAE:
    return randomised_vae()


@pytest.mark.parametrize("aspect", ASPECTS)
@pytest.mark.parametrize("frames", DURATIONS)
@torch.inference_mode()
def test_shapes_and_chunked_equals_one_pass(vae: VideoVAE, aspect: str, frames: int) -> None:
    w, h = ASPECTS[aspect]
    x = video(frames, w, h)
    z = vae.encode(x)
    k = (frames - 1) // 4
    assert z.shape == (1, vae.config.latent_channels, 1 + k, h // 8, w // 8)
    y = vae.decode(z)
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0
    for chunk in (1, 2, 3):
        zc = vae.encode(x, chunk_latents=chunk)
        torch.testing.assert_close(zc, z, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(vae.decode(z, chunk_latents=chunk), y, atol=1e-5, rtol=1e-4)


@torch.inference_mode()
def test_encoding_is_causal_prefix_gives_same_latents(vae: VideoVAE) -> None:
    x = video(33, 48, 40, seed=1)
    z = vae.encode(x)  # (1, C, 9, 5, 6)
    for k in (0, 1, 3, 6):
        torch.testing.assert_close(
            vae.encode(x[:, :, : 1 + 4 * k]), z[:, :, : 1 + k], atol=1e-5, rtol=1e-4
        )
    # and the future really matters to later latents (the test could fail)
    x2 = x.clone()
    x2[:, :, 20:] = -x2[:, :, 20:]
    z2 = vae.encode(x2)
    torch.testing.assert_close(z2[:, :, :5], z[:, :, :5], atol=1e-5, rtol=1e-4)
    assert (z2[:, :, 5:] - z[:, :, 5:]).abs().max() > 1e-3


@torch.inference_mode()
def test_decoding_is_causal(vae: VideoVAE) -> None:
    z = torch.randn(1, vae.config.latent_channels, 6, 4, 5)
    y = vae.decode(z)
    assert y.shape[2] == 21
    for t in (1, 2, 4):
        torch.testing.assert_close(
            vae.decode(z[:, :, :t]), y[:, :, : 1 + 4 * (t - 1)], atol=1e-5, rtol=1e-4
        )


@torch.inference_mode()
def test_still_image_is_one_latent_frame_and_first_frame_is_encoded_alone(vae: VideoVAE) -> None:
    x = video(9, 48, 48, seed=2)
    z_img = vae.encode(x[:, :, :1])
    assert z_img.shape[2] == 1
    torch.testing.assert_close(z_img, vae.encode(x)[:, :, :1], atol=1e-5, rtol=1e-4)
    assert vae.decode(z_img).shape == (1, 3, 1, 48, 48)


@torch.inference_mode()
def test_tiled_decode_matches_untiled() -> None:
    z = torch.randn(1, 16, 3, 14, 20, generator=torch.Generator().manual_seed(3))
    # freshly initialised, the decoder is local (zero-init residual convs): tiles are exact
    torch.manual_seed(0)
    local = VideoVAE(VAEConfig.tiny()).eval()
    torch.testing.assert_close(local.decode(z, tile=12), local.decode(z), atol=1e-5, rtol=1e-4)
    # fully random weights reach further than the overlap: close, not exact
    vae = randomised_vae(seed=3)
    full = vae.decode(z)
    tiled = vae.decode(z, tile=12)
    assert tiled.shape == full.shape
    err = (tiled - full).abs()
    assert 0 < err.mean() < 0.02 * full.abs().mean(), (err.mean(), full.abs().mean())
    assert err.max() < 0.25
    torch.testing.assert_close(vae.decode(z, tile=12, chunk_latents=1), tiled, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(vae.decode(z, tile=20), full)  # tile covers the frame: one pass


@pytest.mark.parametrize("tile", [None, 12])
@torch.inference_mode()
def test_stream_decoder_chunk_by_chunk_equals_one_pass(tile) -> None:
    # How the pipeline decodes: each sampled chunk as it comes, in uneven sizes.
    vae = randomised_vae(seed=5)
    z = torch.randn(1, 16, 9, 14, 20, generator=torch.Generator().manual_seed(4))
    whole = vae.decode(z, tile=tile)
    dec = vae.stream_decoder(tile=tile)
    parts = [dec.decode(z[:, :, a:b]) for a, b in ((0, 3), (3, 4), (4, 9))]
    assert [p.shape[2] for p in parts] == [9, 4, 20]  # 1 + 4k frames for the first chunk
    torch.testing.assert_close(torch.cat(parts, dim=2), whole, atol=1e-5, rtol=1e-4)


@torch.inference_mode()
def test_latent_stats_normalise_and_are_saved(vae: VideoVAE) -> None:
    x = video(5, 48, 48, seed=4)
    raw = vae.encode(x)
    other = randomised_vae()
    mean, std = (
        torch.linspace(-1, 1, vae.config.latent_channels),
        torch.linspace(0.5, 2, vae.config.latent_channels),
    )
    other.set_latent_stats(mean, std)
    z = other.encode(x)
    torch.testing.assert_close(z, (raw - mean[:, None, None, None]) / std[:, None, None, None])
    torch.testing.assert_close(other.decode(z), vae.decode(raw), atol=1e-5, rtol=1e-4)
    state = other.state_dict()
    torch.testing.assert_close(state["latent_mean"], mean)
    fresh = VideoVAE(VAEConfig.tiny())
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.latent_std, std)


@torch.inference_mode()
def test_sampling_is_seeded_and_differs_from_mean(vae: VideoVAE) -> None:
    x = video(5, 48, 48, seed=5)
    a = vae.encode(x, sample=True, generator=torch.Generator().manual_seed(7))
    b = vae.encode(x, sample=True, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a, b)
    assert (a - vae.encode(x)).abs().max() > 1e-4


def test_bad_shapes_are_clear_errors(vae: VideoVAE) -> None:
    with pytest.raises(EngineError, match="1 \\+ 4k frames"):
        vae.encode(video(4, 48, 48))
    with pytest.raises(EngineError, match="multiples of 8"):
        vae.encode(video(5, 50, 48))
    with pytest.raises(EngineError, match="latent must be"):
        vae.decode(torch.zeros(1, 3, 2, 4, 4))


def test_config_round_trips_and_validates() -> None:
    import json

    cfg = VAEConfig.fast16()
    assert VAEConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError):
        VAEConfig(spatial_factor=16)  # 3 levels with patch 2 give 8x, not 16x
    assert VAEConfig.named("tiny") == VAEConfig.tiny() and VAEConfig.named("default") == VAEConfig()
    with pytest.raises(EngineError, match="unknown autoencoder config"):
        VAEConfig.named("huge")


@torch.inference_mode()
def test_default_and_fast_configs_build_with_right_latent_shape() -> None:
    for cfg, f in ((VAEConfig(), 8), (VAEConfig.fast16(), 16)):
        vae = VideoVAE(cfg).eval()
        z = vae.encode(video(5, 32, 32))
        assert z.shape == (1, cfg.latent_channels, 2, 32 // f, 32 // f)
        assert vae.decode(z).shape == (1, 3, 5, 32, 32)


def moving_square_clip(frames: int, size: int, seed: int) -> torch.Tensor:
    """A coloured square moving over a flat background, (3, T, H, W) in [-1, 1]."""
    rng = np.random.default_rng(seed)
    bg, fg = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
    clip = np.empty((3, frames, size, size), np.float32)
    clip[:] = bg[:, None, None, None]
    side, (x0, y0), (dx, dy) = size // 3, rng.integers(0, size // 3, 2), rng.integers(1, 3, 2)
    for t in range(frames):
        x, y = x0 + dx * t, y0 + dy * t
        clip[:, t, y : y + side, x : x + side] = fg[:, None, None]
    return torch.from_numpy(clip)


def test_tiny_vae_overfits_two_clips() -> None:
    torch.manual_seed(0)
    vae = VideoVAE(VAEConfig.tiny())
    clips = torch.stack([moving_square_clip(9, 32, s) for s in (0, 1)])  # (2, 3, 9, 32, 32)
    opt = torch.optim.AdamW(vae.parameters(), lr=3e-3)
    with torch.no_grad():
        start = vae.loss(clips)["recon"].item()
    for _ in range(100):
        out = vae.loss(clips)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    with torch.no_grad():
        end = vae.loss(clips)["recon"].item()
    assert end < 0.4 * start, (start, end)


def test_weighted_loss_is_a_weighted_mean_that_can_single_out_pixels() -> None:
    vae = randomised_vae(1)
    x = video(5, 32, 24, seed=3)

    def loss(weight=None):
        torch.manual_seed(0)  # the same latent sample each time
        with torch.no_grad():
            return vae.loss(x, weight=weight)

    plain, ones = loss(), loss(torch.full((1, 1, 5, 24, 32), 3.0))
    for k in ("l1", "mse", "edge"):
        assert torch.allclose(plain[k], ones[k], rtol=1e-5), k
    # weight only on the left half: the terms become that half's means
    left = torch.zeros(1, 1, 5, 24, 32)
    left[..., :16] = 1.0
    torch.manual_seed(0)
    with torch.no_grad():
        mean, logvar = vae.encode_moments(x)
        rec = vae.decoder(mean + torch.randn_like(mean) * torch.exp(0.5 * logvar))
    d = (rec - x)[..., :16]
    half = loss(left)
    assert torch.allclose(half["l1"], d.abs().mean(), rtol=1e-5)
    assert torch.allclose(half["mse"], d.square().mean(), rtol=1e-5)
    assert not torch.allclose(half["l1"], plain["l1"], rtol=1e-3)


def test_latent_noise_is_per_sample_gaussian_in_latent_std_units() -> None:
    vae = randomised_vae(2)
    vae.set_latent_stats(
        torch.zeros(vae.config.latent_channels), torch.full((vae.config.latent_channels,), 2.5)
    )
    x = torch.cat([video(5, 32, 24, seed=s) for s in (4, 5)])  # (2, 3, 5, 24, 32)

    def loss(noise: float):
        torch.manual_seed(0)
        with torch.no_grad():
            return vae.loss(x, latent_noise=noise)

    # no noise: exactly the posterior sample the loss always drew
    torch.manual_seed(0)
    with torch.no_grad():
        mean, logvar = vae.encode_moments(x)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        assert torch.allclose(loss(0.0)["l1"], (vae.decoder(z) - x).abs().mean())
        # noise: each sample's own scale U(0, 0.4), times the latent std (2.5 here)
        u = torch.rand(2, 1, 1, 1, 1)
        noisy = z + torch.randn_like(z) * u * 0.4 * 2.5
        assert torch.allclose(loss(0.4)["l1"], (vae.decoder(noisy) - x).abs().mean(), rtol=1e-5)
    assert not torch.allclose(loss(0.4)["l1"], loss(0.0)["l1"], rtol=1e-3)


def test_decoder_fine_tuning_leaves_the_encoder_without_gradient() -> None:
    vae = randomised_vae(3)
    out = vae.loss(video(5, 32, 24, seed=6), train_encoder=False, latent_noise=0.3)
    out["loss"].backward()
    assert all(p.grad is None for p in vae.encoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in vae.decoder.parameters())


def test_a_training_batch_encodes_on_the_cpu_a_few_clips_at_a_time_as_it_would_at_once():
    from engine.train_steps import encode_batch_video

    torch.manual_seed(0)
    vae = VideoVAE(VAEConfig.tiny()).eval()
    video = torch.rand(5, 5, 32, 48, 3)
    with torch.no_grad():
        whole = vae.encode(video.permute(0, 4, 1, 2, 3) * 2 - 1)
    two_a_call = 2 * 5 * 32 * 48  # pixels: calls of 2, 2 and 1 clips
    for max_pixels in (two_a_call, 1, 10**9):  # a call holds at least one clip, at most all
        z = encode_batch_video(vae, video, max_pixels=max_pixels)
        assert z.shape == whole.shape and z.dtype == torch.float32
        assert torch.allclose(z, whole, atol=1e-5)
