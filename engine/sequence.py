"""Assemble one token sequence from a noisy video latent and its clean context.

Used identically by training and sampling, so the model sees context the same way in both:
  previous frames  -> kind PREVIOUS (another scene) or CONTINUATION (this clip's previous
                      chunk) at negative times (-tp .. -1); always "group" latents (4 frames each)
  reference images -> kind REFERENCE in reserved time slots far before the clip
  start image      -> the clip's own latent frame 0, clean, kind START (never predicted)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from engine.models.dit import (
    CONTINUATION,
    NOISY,
    PREVIOUS,
    REFERENCE,
    START,
    grid_positions,
    patchify,
)

REFERENCE_T0 = -16.0  # reference r sits at time REFERENCE_T0 - 2r: far from any real frame


@dataclass
class Context:
    """Clean latents that condition a clip. All (B, C, t, h, w), normalised latents."""

    start: Tensor | None = None  # (B, C, 1, h, w) first frame (image-to-video)
    previous: Tensor | None = None  # (B, C, tp, h, w) last latent frames before the clip
    continues: bool = False  # previous is this clip's own earlier chunk (not another scene)
    references: list[Tensor] | None = None  # R x (B, C, 1, h, w) element reference stills

    @property
    def empty(self) -> bool:
        return self.start is None and self.previous is None and not self.references


@dataclass
class Sequence:
    x: Tensor  # (B, N, token_dim)
    sigma: Tensor  # (B, N)
    pos: Tensor  # (B, N, 3)
    kind: Tensor  # (B, N) long
    n_context: int  # tokens before the clip's own tokens
    predict: Tensor  # (N_clip,) bool: which clip tokens are predicted (not START)


def _tokens(z: Tensor, patch, t0: float, kind: int, sigma: float | Tensor):
    B = z.shape[0]
    grid = (z.shape[2] // patch[0], z.shape[3] // patch[1], z.shape[4] // patch[2])
    x = patchify(z, patch)
    n = x.shape[1]
    pos = grid_positions(grid, t0, z.device).expand(B, n, 3)
    kinds = torch.full((B, n), kind, dtype=torch.long, device=z.device)
    if isinstance(sigma, Tensor):
        sig = sigma.to(z.device).float().view(B, 1).expand(B, n)
    else:
        sig = torch.full((B, n), float(sigma), device=z.device)
    return x, sig, pos, kinds


def build_sequence(
    z_t: Tensor,  # (B, C, T, h, w) the noisy clip latent at noise level sigma
    sigma: Tensor,  # (B,) noise level of the clip
    patch: tuple[int, int, int],
    ctx: Context | None = None,
    ctx_sigma: Tensor | float = 0.0,  # noise level of (augmented) context tokens
) -> Sequence:
    ctx = ctx or Context()
    parts = []
    if ctx.references:
        for r, ref in enumerate(ctx.references):
            parts.append(_tokens(ref, patch, REFERENCE_T0 - 2 * r, REFERENCE, ctx_sigma))
    if ctx.previous is not None:
        tp = ctx.previous.shape[2] // patch[0]
        kind = CONTINUATION if ctx.continues else PREVIOUS
        parts.append(_tokens(ctx.previous, patch, -float(tp), kind, ctx_sigma))
    n_context = sum(p[0].shape[1] for p in parts)

    x, sig, pos, kind = _tokens(z_t, patch, 0.0, NOISY, sigma)
    per_frame = x.shape[1] // (z_t.shape[2] // patch[0])
    predict = torch.ones(x.shape[1], dtype=torch.bool, device=z_t.device)
    if ctx.start is not None:
        sx, ss, _, _ = _tokens(ctx.start, patch, 0.0, START, ctx_sigma)
        x = torch.cat([sx, x[:, per_frame:]], dim=1)
        sig = torch.cat([ss, sig[:, per_frame:]], dim=1)
        kind = kind.clone()
        kind[:, :per_frame] = START
        predict[:per_frame] = False
    parts.append((x, sig, pos, kind))
    return Sequence(
        x=torch.cat([p[0] for p in parts], dim=1),
        sigma=torch.cat([p[1] for p in parts], dim=1),
        pos=torch.cat([p[2] for p in parts], dim=1),
        kind=torch.cat([p[3] for p in parts], dim=1),
        n_context=n_context,
        predict=predict,
    )
