"""A patch discriminator for the decoder's adversarial fine-tune (pix2pix's PatchGAN, per frame).

A decoder trained by L1 and MSE draws what its latent leaves uncertain as the mean: for a
character's fine pattern (stripes, dots) that is its main colour, so the pattern is lost although
the encoder's latent does change with it. A discriminator that judges small patches of single
frames as real renders or decodes penalises that flat mean, so the decoder learns to draw the
texture the latent hints at. Each output logit sees a patch of about 34x34 pixels: a character
and its pattern, not the whole frame's layout (which the reconstruction terms already fix).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn
from einops import rearrange
from torch import Tensor


@dataclass(frozen=True)
class PatchDiscConfig:
    channels: int = 32  # of the first layer; doubled at each further layer
    layers: int = 3  # strided convolutions: 2, 2, then 1 (receptive field 34 px at 3)


class PatchDiscriminator(nn.Module):
    def __init__(self, cfg: PatchDiscConfig = PatchDiscConfig()):
        super().__init__()
        ch = cfg.channels
        mods: list[nn.Module] = [nn.Conv2d(3, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
        for i in range(1, cfg.layers):
            stride = 2 if i < cfg.layers - 1 else 1
            mods += [
                nn.Conv2d(ch, ch * 2, 4, stride, 1),
                nn.GroupNorm(8, ch * 2),
                nn.LeakyReLU(0.2),
            ]
            ch *= 2
        mods.append(nn.Conv2d(ch, 1, 4, 1, 1))  # one logit per patch
        self.net = nn.Sequential(*mods)

    def forward(self, video: Tensor) -> Tensor:
        """(B, 3, T, H, W) in [-1, 1] -> (B*T, 1, h, w) logits, one per patch of each frame."""
        return self.net(rearrange(video, "b c t h w -> (b t) c h w"))
