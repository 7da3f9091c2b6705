"""Causal 3D video autoencoder: 1 + 4k frames <-> 1 + k latent frames, 8x8 (or 16x16) spatial.

Cheap at high resolution (space-to-depth input, per-frame 3x3 convs, few channels), temporal and
wide at low resolution. Every temporal conv is causal (padding only on the past side), so the first
frame is encoded alone, a still image is one latent frame, and encode/decode can run in temporal
chunks with a feature cache (each causal conv keeps the input frames its next window needs).
Norms are per position (channel RMSNorm), so chunking and spatial tiling change nothing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import Tensor, nn

from engine.request import EngineError

Cache = dict[nn.Module, Any]  # per-call feature cache: module -> frames carried to the next chunk


# -------------------- Config --------------------------------------------------------------


@dataclass
class VAEConfig:
    latent_channels: int = 16
    spatial_factor: int = 8  # 8 (default) or 16 (faster CPU tier, more channels)
    temporal_factor: int = 4  # first frame alone, then every 4 frames -> 1 latent frame
    patch_size: int = 2  # space-to-depth before the first conv (no full-resolution convs)
    base_channels: int = 32  # channels at level 0 (resolution 1/patch_size): kept small
    channel_mult: tuple[int, ...] = (1, 4, 8)  # per level; each next level halves H and W
    enc_blocks: tuple[int, ...] = (1, 1, 1)  # residual blocks per level, encoder
    dec_blocks: tuple[int, ...] = (2, 2, 2)  # residual blocks per level, decoder
    block_kt: tuple[int, ...] = (1, 1, 3)  # temporal kernel of each block's first conv per level
    mid_blocks: int = 1  # blocks at the lowest resolution after / before the latent
    l1_weight: float = 1.0
    mse_weight: float = 1.0
    edge_weight: float = 0.5  # L1 on spatial finite differences: keeps edges and small patterns
    kl_weight: float = 1e-4  # on the per-element mean KL
    # the last N latent channels also get an encoder branch of their own that reads the pixels
    # (a widened autoencoder's added channels: engine/autoencoder_widen.py); 0: one encoder
    branch_channels: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):  # JSON round trips give lists
            if isinstance(getattr(self, f.name), list):
                setattr(self, f.name, tuple(getattr(self, f.name)))
        n = len(self.channel_mult)
        if self.patch_size * 2 ** (n - 1) != self.spatial_factor:
            raise ValueError(
                f"patch_size * 2**(levels-1) = {self.patch_size * 2 ** (n - 1)}"
                f" must equal spatial_factor {self.spatial_factor}"
            )
        if not (len(self.enc_blocks) == len(self.dec_blocks) == len(self.block_kt) == n):
            raise ValueError("enc_blocks, dec_blocks and block_kt need one entry per level")
        if not 0 <= self.branch_channels <= self.latent_channels:
            raise ValueError("branch_channels must be between 0 and latent_channels")
        nt = int(math.log2(self.temporal_factor))
        if 2**nt != self.temporal_factor or nt > n:
            raise ValueError("temporal_factor must be a power of two <= 2**levels")

    @property
    def channels(self) -> list[int]:
        return [self.base_channels * m for m in self.channel_mult]

    @property
    def temporal_levels(self) -> list[bool]:
        """Whether the transition after level i halves time (the deepest levels do)."""
        n, nt = len(self.channel_mult), int(math.log2(self.temporal_factor))
        return [i >= n - nt for i in range(n)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VAEConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def named(cls, name: str) -> VAEConfig:
        presets = {"tiny": cls.tiny, "default": cls, "fast16": cls.fast16}
        if name not in presets:
            raise EngineError(f"unknown autoencoder config {name!r} (known: {', '.join(presets)})")
        return presets[name]()

    @classmethod
    def tiny(cls, latent_channels: int = 16) -> VAEConfig:
        """For tests: ~0.7M parameters, the default's structure with 8/32/64 channels."""
        return cls(
            latent_channels=latent_channels,
            base_channels=8,
            enc_blocks=(1, 1, 1),
            dec_blocks=(1, 1, 1),
            mid_blocks=1,
        )

    @classmethod
    def fast16(cls) -> VAEConfig:
        """16x16 spatial compression with more latent channels: the faster CPU tier."""
        return cls(
            latent_channels=64,
            spatial_factor=16,
            patch_size=2,
            channel_mult=(1, 2, 4, 4),
            enc_blocks=(1, 1, 1, 2),
            dec_blocks=(1, 1, 2, 2),
            block_kt=(1, 1, 1, 3),
        )


# -------------------- Layers (each takes the feature cache; None means one pass with no state kept)


class Conv3d(nn.Conv3d):
    """Conv3d that always takes oneDNN on CPU in fp32: PyTorch's heuristic sends small inputs
    (N*C*T*H <= 20480, i.e. short chunks of small frames) to a native kernel 10x slower."""

    def forward(self, x: Tensor) -> Tensor:
        cpu = x.device.type == "cpu" and torch.backends.mkldnn.is_available()
        if cpu and x.dtype == self.weight.dtype == torch.float32:
            args = (self.padding, self.stride, self.dilation, self.groups)
            return torch.ops.aten.mkldnn_convolution(x, self.weight, self.bias, *args)
        return super().forward(x)


class ChannelRMSNorm(nn.Module):
    """RMS norm over channels at each (t, h, w): local, so chunks and tiles see the same values."""

    def __init__(self, dim: int):
        super().__init__()
        self.scale = math.sqrt(dim)
        self.gamma = nn.Parameter(torch.ones(dim, 1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:  # (B, C, T, H, W)
        return F.normalize(x, dim=1) * self.scale * self.gamma


class CausalConv3d(nn.Module):
    """Conv3d padded in time on the past side only (first frame replicated on the first chunk)."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int, int], t_stride: int = 1):
        super().__init__()
        kt, kh, kw = kernel
        self.kt, self.t_stride = kt, t_stride
        self.conv = Conv3d(
            cin, cout, kernel, stride=(t_stride, 1, 1), padding=(0, kh // 2, kw // 2)
        )

    def pad(self, x: Tensor, cache: Cache | None) -> Tensor:
        """Input frames plus the past ones the first window needs: (B, C, P + T, H, W)."""
        if self.kt == 1 and self.t_stride == 1:
            return x
        prev = cache.get(self) if cache is not None else None
        if prev is None:
            prev = x[:, :, :1].expand(-1, -1, self.kt - 1, -1, -1)
        buf = torch.cat([prev, x], dim=2)
        if cache is not None:
            n = (buf.shape[2] - self.kt) // self.t_stride + 1  # windows computed now
            cache[self] = buf[:, :, n * self.t_stride :].clone()
        return buf

    def forward(self, x: Tensor, cache: Cache | None = None) -> Tensor:
        return self.conv(self.pad(x, cache))


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, kt: int = 1):
        super().__init__()
        self.norm1 = ChannelRMSNorm(cin)
        self.conv1 = CausalConv3d(cin, cout, (kt, 3, 3))
        self.norm2 = ChannelRMSNorm(cout)
        self.conv2 = CausalConv3d(cout, cout, (1, 3, 3))
        nn.init.zeros_(self.conv2.conv.weight)  # block starts as identity: fast, stable training
        nn.init.zeros_(self.conv2.conv.bias)
        self.skip = Conv3d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: Tensor, cache: Cache | None = None) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)), cache)
        h = self.conv2(F.silu(self.norm2(h)), cache)
        return self.skip(x) + h


class SpatialDown(nn.Module):
    """Halve H, W: space-to-depth + conv, plus a parameter-free shortcut (DC-AE style)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = Conv3d(4 * cin, cout, 1)  # the blocks around it do the spatial mixing
        self.group = 4 * cin // cout if (4 * cin) % cout == 0 else 0

    def forward(self, x: Tensor) -> Tensor:  # (B, C, T, H, W) -> (B, C', T, H/2, W/2)
        x = _cl(rearrange(x, "b c t (h p) (w q) -> b (c p q) t h w", p=2, q=2))
        out = self.conv(x)
        if self.group:
            out = out + rearrange(x, "b (c g) t h w -> b c g t h w", g=self.group).mean(2)
        return out


class SpatialUp(nn.Module):
    """Double H, W: conv to 4x channels + depth-to-space, plus a channel-repeat shortcut."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = Conv3d(cin, 4 * cout, 1)
        self.reps = 4 * cout // cin if (4 * cout) % cin == 0 else 0

    def forward(self, x: Tensor) -> Tensor:  # (B, C, T, H, W) -> (B, C', T, 2H, 2W)
        out = self.conv(x)
        if self.reps:
            out = out + repeat(x, "b c t h w -> b (c r) t h w", r=self.reps)
        return _cl(rearrange(out, "b (c p q) t h w -> b c t (h p) (w q)", p=2, q=2))


class TemporalDown(nn.Module):
    """Causal stride-2 in time: 1 + 2m frames -> 1 + m (frame 0 alone, then pairs)."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv = CausalConv3d(dim, dim, (3, 1, 1), t_stride=2)
        nn.init.zeros_(self.conv.conv.weight)
        nn.init.zeros_(self.conv.conv.bias)

    def forward(self, x: Tensor, cache: Cache | None = None) -> Tensor:
        buf = self.conv.pad(x, cache)  # (B, C, 2 + T, H, W); window j = frames 2j-2 .. 2j
        out = self.conv.conv(buf)
        n = out.shape[2]
        return out + (buf[:, :, 1 : 2 * n : 2] + buf[:, :, 2 : 2 * n + 1 : 2]) / 2


class TemporalUp(nn.Module):
    """Causal x2 in time: t frames -> 2t, minus the first one on the first chunk (1 + 2(t-1))."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv = CausalConv3d(dim, 2 * dim, (3, 1, 1))
        nn.init.zeros_(self.conv.conv.weight)
        nn.init.zeros_(self.conv.conv.bias)

    def forward(self, x: Tensor, cache: Cache | None = None) -> Tensor:
        first = cache is None or self not in cache
        out = self.conv(x, cache) + repeat(x, "b c t h w -> b (r c) t h w", r=2)
        out = _cl(rearrange(out, "b (r c) t h w -> b c (t r) h w", r=2))
        if cache is not None:
            cache[self] = True
        return out[:, :, 1:] if first else out


# -------------------- Encoder and decoder -------------------------------------------------


class Encoder(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        ch, p, n = cfg.channels, cfg.patch_size, len(cfg.channels)
        self.patch = p
        self.conv_in = Conv3d(3 * p * p, ch[0], (1, 3, 3), padding=(0, 1, 1))
        self.levels = nn.ModuleList()
        for i in range(n):
            level = nn.ModuleDict(
                {
                    "blocks": nn.ModuleList(
                        ResBlock(ch[i], ch[i], cfg.block_kt[i]) for _ in range(cfg.enc_blocks[i])
                    )
                }
            )
            if i < n - 1:
                level["down"] = SpatialDown(ch[i], ch[i + 1])
            if cfg.temporal_levels[i]:
                level["tdown"] = TemporalDown(ch[min(i + 1, n - 1)])
            self.levels.append(level)
        self.mid = nn.ModuleList(ResBlock(ch[-1], ch[-1], 3) for _ in range(cfg.mid_blocks))
        self.norm_out = ChannelRMSNorm(ch[-1])
        self.conv_out = Conv3d(ch[-1], 2 * cfg.latent_channels, (1, 3, 3), padding=(0, 1, 1))

    def forward(self, x: Tensor, cache: Cache | None = None) -> Tensor:
        # (B, 3, T, H, W) -> (B, 2C, t, h, w) moments
        x = _cl(rearrange(x, "b c t (h p) (w q) -> b (c p q) t h w", p=self.patch, q=self.patch))
        x = self.conv_in(x)
        for level in self.levels:
            for block in level["blocks"]:
                x = block(x, cache)
            if "down" in level:
                x = level["down"](x)
            if "tdown" in level:
                x = level["tdown"](x, cache)
        for block in self.mid:
            x = block(x, cache)
        return self.conv_out(F.silu(self.norm_out(x)))


class Decoder(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        ch, p, n = cfg.channels, cfg.patch_size, len(cfg.channels)
        self.patch = p
        self.conv_in = Conv3d(cfg.latent_channels, ch[-1], (1, 3, 3), padding=(0, 1, 1))
        self.mid = nn.ModuleList(ResBlock(ch[-1], ch[-1], 3) for _ in range(cfg.mid_blocks))
        self.levels = nn.ModuleList()  # deepest first, mirroring the encoder
        for i in reversed(range(n)):
            level = nn.ModuleDict()
            if cfg.temporal_levels[i]:
                level["tup"] = TemporalUp(ch[min(i + 1, n - 1)])
            if i < n - 1:
                level["up"] = SpatialUp(ch[i + 1], ch[i])
            level["blocks"] = nn.ModuleList(
                ResBlock(ch[i], ch[i], cfg.block_kt[i]) for _ in range(cfg.dec_blocks[i])
            )
            self.levels.append(level)
        self.norm_out = ChannelRMSNorm(ch[0])
        self.conv_out = Conv3d(ch[0], 3 * p * p, (1, 3, 3), padding=(0, 1, 1))

    def forward(self, z: Tensor, cache: Cache | None = None) -> Tensor:
        # (B, C, t, h, w) raw latent -> (B, 3, T, H, W), unclamped
        x = self.conv_in(_cl(z))
        for block in self.mid:
            x = block(x, cache)
        for level in self.levels:
            if "tup" in level:
                x = level["tup"](x, cache)
            if "up" in level:
                x = level["up"](x)
            for block in level["blocks"]:
                x = block(x, cache)
        x = self.conv_out(F.silu(self.norm_out(x)))
        return rearrange(x, "b (c p q) t h w -> b c t (h p) (w q)", p=self.patch, q=self.patch)


# -------------------- The autoencoder -----------------------------------------------------


class VideoVAE(nn.Module):
    def __init__(self, config: VAEConfig | None = None):
        super().__init__()
        self.config = cfg = config or VAEConfig()
        self.encoder = Encoder(cfg)
        n = cfg.branch_channels
        self.branch = Encoder(replace(cfg, latent_channels=n, branch_channels=0)) if n else None
        self.decoder = Decoder(cfg)
        # per-channel latent normalisation, saved with the weights
        self.register_buffer("latent_mean", torch.zeros(cfg.latent_channels))
        self.register_buffer("latent_std", torch.ones(cfg.latent_channels))

    # ---- shapes ---------------------------------------------------------------------------

    def latent_frames(self, frames: int) -> int:
        return 1 + (frames - 1) // self.config.temporal_factor

    def video_frames(self, latent_frames: int) -> int:
        return 1 + self.config.temporal_factor * (latent_frames - 1)

    def _check_video(self, video: Tensor) -> None:
        f, tf = self.config.spatial_factor, self.config.temporal_factor
        if video.ndim != 5 or video.shape[1] != 3:
            raise EngineError(f"video must be (B, 3, T, H, W), got {tuple(video.shape)}")
        _, _, t, h, w = video.shape
        if (t - 1) % tf:
            raise EngineError(f"the autoencoder needs 1 + {tf}k frames, got {t}")
        if h % f or w % f:
            raise EngineError(f"width and height must be multiples of {f}, got {w}x{h}")

    # ---- latent normalisation ---------------------------------------------------------------

    def set_latent_stats(self, mean: Tensor, std: Tensor) -> None:
        self.latent_mean.copy_(mean.reshape(-1).to(self.latent_mean))
        self.latent_std.copy_(std.reshape(-1).to(self.latent_std).clamp_min(1e-6))

    def normalize(self, z: Tensor) -> Tensor:  # raw (B, C, t, h, w) -> normalised
        return (z - self.latent_mean[:, None, None, None]) / self.latent_std[:, None, None, None]

    def denormalize(self, z: Tensor) -> Tensor:
        return z * self.latent_std[:, None, None, None] + self.latent_mean[:, None, None, None]

    # ---- encode ---------------------------------------------------------------------------

    def encode_moments(
        self, video: Tensor, *, chunk_latents: int | None = None
    ) -> tuple[Tensor, Tensor]:
        """video (B, 3, 1+4k, H, W) in [-1, 1] -> raw (mean, logvar), each (B, C, 1+k, H/f, W/f)."""
        self._check_video(video)
        tf = self.config.temporal_factor
        if chunk_latents is None:
            moments = self._moments(video, None)
        else:  # chunk 0: 1 + 4(n-1) frames, then 4n frames each; the cache carries the past
            n, cache, parts = max(1, chunk_latents), {}, []
            bounds = [0, *range(1 + tf * (n - 1), video.shape[2], tf * n), video.shape[2]]
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                parts.append(self._moments(video[:, :, a:b], cache))
            moments = torch.cat(parts, dim=2)
        mean, logvar = moments.chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def _moments(self, video: Tensor, cache: Cache | None) -> Tensor:
        """(B, 3, T, H, W) -> (B, 2C, t, h, w): the encoder's moments, plus the branch's for the
        last branch_channels channels (its means and log-variances add to the encoder's)."""
        moments = self.encoder(video, cache)
        if self.branch is None:
            return moments
        c, n = self.config.latent_channels, self.config.branch_channels
        mean, logvar = moments.chunk(2, dim=1)
        b_mean, b_logvar = self.branch(video, cache).chunk(2, dim=1)  # each (B, n, t, h, w)
        mean = torch.cat([mean[:, : c - n], mean[:, c - n :] + b_mean], dim=1)
        logvar = torch.cat([logvar[:, : c - n], logvar[:, c - n :] + b_logvar], dim=1)
        return torch.cat([mean, logvar], dim=1)

    def encode(
        self,
        video: Tensor,
        *,
        sample: bool = False,
        generator: torch.Generator | None = None,
        chunk_latents: int | None = None,
    ) -> Tensor:
        """video (B, 3, 1+4k, H, W) in [-1, 1] -> normalised latent (B, C, 1+k, H/f, W/f)."""
        mean, logvar = self.encode_moments(video, chunk_latents=chunk_latents)
        z = mean
        if sample:
            noise = torch.randn(
                mean.shape, generator=generator, device=mean.device, dtype=mean.dtype
            )
            z = mean + noise * torch.exp(0.5 * logvar)
        return self.normalize(z)

    # ---- decode ---------------------------------------------------------------------------

    def decode(
        self, z: Tensor, *, chunk_latents: int | None = None, tile: int | None = None
    ) -> Tensor:
        """Normalised latent (B, C, t, h, w) -> video (B, 3, 1+4(t-1), h*f, w*f) in [-1, 1].

        chunk_latents: latent frames per temporal chunk (memory stays flat with length).
        tile: spatial tile size in latent pixels (overlapping tiles, linearly blended).
        """
        chunk = chunk_latents if chunk_latents is not None else max(1, z.shape[2])
        return StreamDecoder(self, tile, chunk).decode(z)

    def stream_decoder(self, tile: int | None = None) -> StreamDecoder:
        """A decoder that takes the latent a chunk at a time (as a sampler makes it) and keeps
        the causal feature cache between chunks, so the caller never holds the whole video."""
        return StreamDecoder(self, tile)

    # ---- training -------------------------------------------------------------------------

    def loss(
        self,
        video: Tensor,
        *,
        kl_weight: float | None = None,
        train_encoder: bool = True,
        weight: Tensor | None = None,
        latent_noise: float = 0.0,
        keep_output: bool = False,
    ) -> dict[str, Tensor]:
        """Reconstruction (L1 + MSE + edge L1) + weighted KL; video (B, 3, 1+4k, H, W) in [-1, 1].
        train_encoder=False: no gradient reaches the encoder (decoder fine-tuning).
        weight (B, 1, T, H, W) >= 0: per-pixel weights of the reconstruction terms (a weighted
        mean), so that small objects count for more than their share of the pixels.
        latent_noise: each sample's latent gets extra Gaussian noise of std U(0, latent_noise)
        latent stds, so the decoder learns to draw from latents off the encoder's (generated).
        keep_output: the reconstruction is returned too, as "output" (for an adversarial term)."""
        cfg = self.config
        with torch.set_grad_enabled(train_encoder and torch.is_grad_enabled()):
            mean, logvar = self.encode_moments(video)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        if latent_noise > 0:
            # (B, 1, 1, 1, 1) scales x per-channel std (C, 1, 1, 1): normalised-latent units
            u = torch.rand(z.shape[0], 1, 1, 1, 1, device=z.device, dtype=z.dtype)
            std = self.latent_std[:, None, None, None].to(z.dtype)
            z = z + torch.randn_like(z) * u * latent_noise * std
        rec = self.decoder(z)
        diff = rec - video
        w = torch.ones_like(video[:, :1]) if weight is None else weight.to(diff.dtype)

        def wmean(e: Tensor, wt: Tensor) -> Tensor:
            return (e * wt).sum() / (wt.sum() * e.shape[1]).clamp_min(1e-6)

        l1, mse = wmean(diff.abs(), w), wmean(diff.square(), w)
        # an edge term between two pixels weighs as much as the heavier of them
        wx, wy = (
            torch.maximum(w[..., 1:], w[..., :-1]),
            torch.maximum(w[..., 1:, :], w[..., :-1, :]),
        )
        edge = (wmean(diff.diff(dim=-1).abs(), wx) + wmean(diff.diff(dim=-2).abs(), wy)) / 2
        recon = cfg.l1_weight * l1 + cfg.mse_weight * mse + cfg.edge_weight * edge
        kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean()
        kw = cfg.kl_weight if kl_weight is None else kl_weight
        out = {
            "loss": recon + kw * kl,
            "recon": recon,
            "kl": kl,
            "l1": l1,
            "mse": mse,
            "edge": edge,
        }
        if keep_output:
            out["output"] = rec
        return out


class StreamDecoder:
    """Decode consecutive latent chunks of one clip; the concatenation of what `decode` returns
    equals `VideoVAE.decode` of the concatenated latent. Spatial tiles keep a cache each."""

    def __init__(self, vae: VideoVAE, tile: int | None, chunk_latents: int = 4):
        self.vae, self.tile, self.chunk = vae, tile, chunk_latents
        self.caches: dict[tuple[int, int], Cache] = {}

    def decode(self, z: Tensor) -> Tensor:
        """Normalised latent chunk (B, C, t, h, w) -> its video frames (B, 3, T, H, W) in [-1, 1]."""
        vae = self.vae
        if z.ndim != 5 or z.shape[1] != vae.config.latent_channels:
            raise EngineError(
                f"latent must be (B, {vae.config.latent_channels}, t, h, w), got {tuple(z.shape)}"
            )
        z = vae.denormalize(z)
        # at most `chunk` latent frames through the decoder at once: its activations stay small
        parts = [self._piece(z[:, :, a : a + self.chunk]) for a in range(0, z.shape[2], self.chunk)]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)

    def _piece(self, z: Tensor) -> Tensor:  # denormalised (B, C, t, h, w)
        vae, f = self.vae, self.vae.config.spatial_factor
        b, _, t, h, w = z.shape
        tile = self.tile
        if tile is None or (h <= tile and w <= tile):
            return vae.decoder(z, self.caches.setdefault((0, 0), {})).clamp(-1.0, 1.0)
        overlap = max(1, tile // 4)
        out = weight = None
        for y in _tile_starts(h, tile, overlap):
            for x in _tile_starts(w, tile, overlap):
                th, tw = min(tile, h - y), min(tile, w - x)
                part = vae.decoder(
                    z[..., y : y + th, x : x + tw], self.caches.setdefault((y, x), {})
                )
                if out is None:
                    out = z.new_zeros(b, 3, part.shape[2], h * f, w * f)
                    weight = z.new_zeros(1, 1, 1, h * f, w * f)
                wy = _ramp(th * f, overlap * f, y > 0, y + th < h, z)
                wx = _ramp(tw * f, overlap * f, x > 0, x + tw < w, z)
                mask = wy[:, None] * wx[None, :]  # (th*f, tw*f)
                out[..., y * f : (y + th) * f, x * f : (x + tw) * f] += part * mask
                weight[..., y * f : (y + th) * f, x * f : (x + tw) * f] += mask
        return (out / weight).clamp(-1.0, 1.0)


def _cl(x: Tensor) -> Tensor:
    """Channels-last layout: 2-3x faster convs and norms on CPU (oneDNN), fine on CUDA."""
    return x.contiguous(memory_format=torch.channels_last_3d)


def _tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, max(1, tile - overlap)))
    return [*starts, size - tile]


def _ramp(n: int, ramp: int, lo: bool, hi: bool, like: Tensor) -> Tensor:
    """1D blend weights on sides that overlap a neighbour: the outer half of the overlap is dropped
    (zero padding disturbs it), the inner half ramps linearly; the neighbour covers both."""
    w, margin = like.new_ones(n), ramp // 2
    r = torch.arange(ramp, device=like.device, dtype=like.dtype) + 0.5
    r = ((r - margin) / (ramp - margin)).clamp(0.0, 1.0)
    if lo:
        w[:ramp] = torch.minimum(w[:ramp], r)
    if hi:
        w[n - ramp :] = torch.minimum(w[n - ramp :], r.flip(0))
    return w


__all__ = ["VAEConfig", "VideoVAE"]
