"""Diffusion transformer over spacetime patches of a video latent.

One sequence holds noisy tokens and clean context tokens (start image, previous frames,
reference images); every token carries its own noise level, a type id and a 3D position
(time, height, width), so context enters the model the same way as the video it conditions.
Predicts the rectified-flow velocity (noise - data) for every token.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

# Token types: what a token is, embedded and added to its input. PREVIOUS: the last frames of
# the previous scene (the clip starts fresh after them); CONTINUATION: the last frames of the
# previous chunk of this same clip (the clip goes on from them).
NOISY, START, PREVIOUS, REFERENCE, CONTINUATION = 0, 1, 2, 3, 4


@dataclass
class DiTConfig:
    latent_channels: int = 16
    patch: tuple[int, int, int] = (1, 2, 2)  # (t, h, w) latent cells per token
    width: int = 384
    depth: int = 8
    heads: int = 6
    mlp_ratio: float = 4.0
    text_dim: int = 384
    n_types: int = 5
    rope_theta: float = 256.0  # positions are small integers (patch units)
    rope_split: tuple[int, int, int] = (2, 3, 3)  # share of head dims for (t, h, w)
    # The prompt's pooled sentence embedding also joins the adaLN conditioning (as DiT's class
    # label does), a direct path for global attributes such as colours and backgrounds, which
    # cross-attention alone learned slowly. False for models saved before it existed.
    pooled_text: bool = False
    # The prompt's input word embeddings (MiniLM's layer 0) beside its last-layer states: the
    # encoder, trained for sentence similarity, washes opposite directions and camera moves
    # nearly together in its layers (token cosine 0.63-0.87 for "left"/"right", 0.29 for two
    # colours) while its input keeps them as far apart as two colours (0.50). The text is then
    # (B, L, 2 * text_dim): last-layer states, then the input embeddings.
    lexical_text: bool = False
    # Where a token is in its clip, added to its input: the latent frame's time from the clip's
    # start and the height and width as a share of the frame. Rotary positions are relative
    # only, so without this a query cannot ask for "the start frame's token this many frames
    # back and this far to the side" in one step (a shift that grows with time, as a move's),
    # and nothing at high noise knows where the frame's edges are.
    absolute_pos: bool = False

    @property
    def token_dim(self) -> int:
        pt, ph, pw = self.patch
        return self.latent_channels * pt * ph * pw

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DiTConfig:
        d = dict(d)
        for key in ("patch", "rope_split"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


DIT_CONFIGS: dict[str, DiTConfig] = {
    "test": DiTConfig(latent_channels=4, width=64, depth=2, heads=2, pooled_text=True),
    # the shipped default (CPU-trainable)
    "tiny": DiTConfig(width=256, depth=6, heads=4, pooled_text=True),
    "mini": DiTConfig(width=320, depth=8, heads=5, pooled_text=True),
    "small": DiTConfig(width=512, depth=12, heads=8, pooled_text=True),
    "base": DiTConfig(width=1024, depth=20, heads=16, pooled_text=True),
    "1b": DiTConfig(width=2048, depth=20, heads=16),
}


# --------------------------------------------------------------------------- helpers


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    return x * (1 + scale) + shift


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal embedding of noise levels in [0, 1]: (...,) -> (..., dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = (t.float() * 1000.0)[..., None] * freqs
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight.to(x.dtype), self.eps)


# --------------------------------------------------------------------------- 3D RoPE


class Rope3D(nn.Module):
    """Rotary embedding over (t, h, w) float positions: any size, aspect and duration."""

    def __init__(self, head_dim: int, split: tuple[int, int, int], theta: float):
        super().__init__()
        total = sum(split)
        pairs = head_dim // 2
        n = [pairs * s // total for s in split]
        n[0] += pairs - sum(n)  # rounding leftovers go to time
        self.n = n
        for i, k in enumerate(n):
            inv = 1.0 / (theta ** (torch.arange(k, dtype=torch.float32) / max(k, 1)))
            self.register_buffer(f"inv{i}", inv, persistent=False)

    def angles(self, pos: Tensor) -> tuple[Tensor, Tensor]:
        """pos (B, N, 3) -> cos, sin (B, 1, N, head_dim/2)."""
        parts = [pos[..., i, None].float() * getattr(self, f"inv{i}") for i in range(3)]
        ang = torch.cat(parts, dim=-1)[:, None]
        return ang.cos(), ang.sin()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """x (B, heads, N, head_dim), rotating interleaved pairs."""
    x2 = rearrange(x.float(), "... (d two) -> ... d two", two=2)
    a, b = x2[..., 0], x2[..., 1]
    out = torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1)
    return rearrange(out, "... d two -> ... (d two)").type_as(x)


# --------------------------------------------------------------------------- blocks


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.q_norm = RMSNorm(dim // heads)
        self.k_norm = RMSNorm(dim // heads)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, rope: tuple[Tensor, Tensor], mask: Tensor | None) -> Tensor:
        q, k, v = rearrange(self.qkv(x), "b n (three h d) -> three b h n d", three=3, h=self.heads)
        q, k = apply_rope(self.q_norm(q), *rope), apply_rope(self.k_norm(k), *rope)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(rearrange(out, "b h n d -> b n (h d)"))


class CrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.q_norm = RMSNorm(dim // heads)
        self.k_norm = RMSNorm(dim // heads)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, ctx: Tensor, ctx_mask: Tensor) -> Tensor:
        q = rearrange(self.q(x), "b n (h d) -> b h n d", h=self.heads)
        k, v = rearrange(self.kv(ctx), "b l (two h d) -> two b h l d", two=2, h=self.heads)
        mask = ctx_mask[:, None, None, :]  # (B, 1, 1, L): padding never attended
        out = F.scaled_dot_product_attention(self.q_norm(q), self.k_norm(k), v, attn_mask=mask)
        return self.proj(rearrange(out, "b h n d -> b n (h d)"))


class DiTBlock(nn.Module):
    """Self-attention, cross-attention to the prompt, MLP; adaLN-Zero from the per-token
    noise level (shared projection + a learned per-block table, as in PixArt's adaLN-single)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.cross = CrossAttention(dim, heads)
        self.norm3 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim)
        )
        self.table = nn.Parameter(torch.randn(6, dim) / dim**0.5)

    def forward(self, x, mod, rope, mask, text, text_mask) -> Tensor:
        # mod (B, N, 6, D) from the shared time projection
        shift1, scale1, gate1, shift2, scale2, gate2 = (mod + self.table).unbind(dim=2)
        x = x + gate1 * self.attn(modulate(self.norm1(x), shift1, scale1), rope, mask)
        x = x + self.cross(self.norm2(x), text, text_mask)
        x = x + gate2 * self.mlp(modulate(self.norm3(x), shift2, scale2))
        return x


def pooled_prompt(text: Tensor, text_mask: Tensor) -> Tensor:
    """(B, L, D) token states, (B, L) mask -> (B, D) unit mean of the real tokens (the sentence
    embedding MiniLM was trained to give); zeros for an empty or dropped prompt."""
    m = text_mask.to(text.dtype)[..., None]
    mean = (text * m).sum(1) / m.sum(1).clamp(min=1.0)
    return F.normalize(mean.float(), dim=-1, eps=1e-6)


ABS_POS_FEATURES = 32  # time: 8 sin/cos pairs; height and width: 4 pairs each


def absolute_features(pos: Tensor, seq_id: Tensor | None = None) -> Tensor:
    """(B, N, 3) (t, h, w) positions in patch units -> (B, N, 32) Fourier features of the
    time and of the height and width as a share of the frame (-1 at one edge, +1 at the other).
    The frame's extent is the largest position of the token's sequence: of its row, or with
    packing ids (B, N) of the tokens with its id (padding, id -1, counts for none)."""
    t, hw = pos[..., :1].float(), pos[..., 1:].float()
    if seq_id is None:
        extent = hw.amax(dim=1, keepdim=True)  # (B, 1, 2)
    else:
        ids = seq_id.clamp(min=0)[..., None].expand(-1, -1, 2)  # (B, N, 2)
        real = torch.where(seq_id[..., None] >= 0, hw, torch.zeros_like(hw))
        per_id = torch.zeros_like(real)  # room for N ids (no device sync to count them)
        extent = per_id.scatter_reduce(1, ids, real, "amax").gather(1, ids)  # (B, N, 2)
    u = 2 * hw / extent.clamp(min=1.0) - 1  # (B, N, 2)
    ft = 2.0 ** -torch.arange(8, device=pos.device, dtype=torch.float32)  # 1 .. 1/128
    fs = math.pi / 2 * torch.arange(1, 5, device=pos.device, dtype=torch.float32)
    at = t * ft  # (B, N, 8)
    au = rearrange(u[..., None] * fs, "b n two k -> b n (two k)")  # (B, N, 8)
    return torch.cat([at.sin(), at.cos(), au.sin(), au.cos()], dim=-1)


# --------------------------------------------------------------------------- model


class DiT(nn.Module):
    # Parts that start as a no-op: a trained model without them grows them and keeps its function.
    GROWABLE = ("text_pool.", "text_lex.", "pos_embed.")

    def __init__(self, config: DiTConfig):
        super().__init__()
        self.config = c = config
        d = c.width
        self.x_embed = nn.Linear(c.token_dim, d)
        self.type_embed = nn.Embedding(c.n_types, d)
        self.t_embed = nn.Sequential(nn.Linear(256, d), nn.SiLU(), nn.Linear(d, d))
        self.t_mod = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))
        self.text_proj = nn.Sequential(
            nn.Linear(c.text_dim, d), nn.GELU(approximate="tanh"), nn.Linear(d, d)
        )
        # Always-valid learned token: an empty or dropped prompt still has something to attend to.
        self.text_null = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        if c.pooled_text:
            self.text_pool = nn.Sequential(nn.Linear(c.text_dim, d), nn.SiLU(), nn.Linear(d, d))
        if c.lexical_text:  # added to the projected states, so each prompt token keeps one slot
            self.text_lex = nn.Sequential(
                nn.Linear(c.text_dim, d), nn.GELU(approximate="tanh"), nn.Linear(d, d)
            )
        if c.absolute_pos:
            self.pos_embed = nn.Sequential(
                nn.Linear(ABS_POS_FEATURES, d), nn.SiLU(), nn.Linear(d, d)
            )
        self.rope = Rope3D(d // c.heads, c.rope_split, c.rope_theta)
        self.blocks = nn.ModuleList([DiTBlock(d, c.heads, c.mlp_ratio) for _ in range(c.depth)])
        self.final_norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.final_mod = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, c.token_dim)
        self._init()

    def _init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.type_embed.weight, std=0.02)
        # adaLN-Zero: every residual branch and the output start at zero.
        nn.init.zeros_(self.t_mod[-1].weight)
        nn.init.zeros_(self.final_mod.weight)
        nn.init.zeros_(self.out.weight)
        for blk in self.blocks:
            with torch.no_grad():
                blk.table[2].zero_()
                blk.table[5].zero_()
            nn.init.zeros_(blk.cross.proj.weight)
        # These start as no-ops, so they can also be added to a trained model.
        if self.config.pooled_text:
            nn.init.zeros_(self.text_pool[-1].weight)
        if self.config.lexical_text:
            nn.init.zeros_(self.text_lex[-1].weight)
        if self.config.absolute_pos:
            nn.init.zeros_(self.pos_embed[-1].weight)

    def forward(
        self,
        x: Tensor,  # (B, N, token_dim) patch tokens
        sigma: Tensor,  # (B, N) noise level per token, 0 = clean context
        pos: Tensor,  # (B, N, 3) (t, h, w) positions in patch units
        kind: Tensor,  # (B, N) token type ids
        text: Tensor,  # (B, L, text_dim) prompt token states (2 * text_dim: lexical_text)
        text_mask: Tensor,  # (B, L) bool, True = real token
        seq_id: Tensor
        | None = None,  # (B, N) packing ids; tokens attend within one id; -1 = padding
    ) -> Tensor:
        B, N, _ = x.shape
        h = self.x_embed(x) + self.type_embed(kind)
        if self.config.absolute_pos:
            h = h + self.pos_embed(absolute_features(pos, seq_id).to(h.dtype))
        t = self.t_embed(timestep_embedding(sigma, 256).to(h.dtype))  # (B, N, D)
        text, lex = text[..., : self.config.text_dim], text[..., self.config.text_dim :]
        if self.config.pooled_text:
            t = t + self.text_pool(pooled_prompt(text, text_mask).to(h.dtype))[:, None]
        mod = rearrange(self.t_mod(t), "b n (six d) -> b n six d", six=6)
        words = self.text_proj(text)  # (B, L, D)
        if self.config.lexical_text:
            words = words + self.text_lex(lex)
        ctx = torch.cat([self.text_null.expand(B, -1, -1), words], dim=1)
        ctx_mask = torch.cat([text_mask.new_ones(B, 1), text_mask], dim=1)
        rope = self.rope.angles(pos)
        mask = None
        if seq_id is not None:
            same = seq_id[:, :, None] == seq_id[:, None, :]
            # Padding tokens attend to themselves only, so no row is fully masked.
            eye = torch.eye(N, dtype=torch.bool, device=x.device)[None]
            mask = (same & (seq_id[:, :, None] >= 0)) | eye
            mask = mask[:, None]  # (B, 1, N, N)
        for blk in self.blocks:
            h = blk(h, mod, rope, mask, ctx, ctx_mask)
        shift, scale = self.final_mod(F.silu(t)).chunk(2, dim=-1)
        return self.out(modulate(self.final_norm(h), shift, scale))

    def flops_per_token(self, n_tokens: int, n_text: int = 32) -> float:
        """Forward multiply-adds x2 per token (matmuls + attention), for FLOP/s reports."""
        c = self.config
        d = c.width
        per_block = 2 * (
            4 * d * d + 2 * d * d + 2 * c.mlp_ratio * d * d
        )  # qkv+proj, q+proj(cross), mlp
        per_block += 2 * 2 * d * n_text / 1  # cross kv computed per text token, amortised ~small
        per_block += 2 * 2 * n_tokens * d  # self-attention scores + weighted sum
        per_block += 2 * 2 * (n_text + 1) * d
        return c.depth * per_block + 2 * (c.token_dim * d * 2 + 6 * d * d)


# --------------------------------------------------------------------------- patches


def patchify(z: Tensor, patch: tuple[int, int, int]) -> Tensor:
    """(B, C, T, H, W) latent -> (B, T/pt * H/ph * W/pw, C*pt*ph*pw) tokens."""
    pt, ph, pw = patch
    return rearrange(z, "b c (t pt) (h ph) (w pw) -> b (t h w) (c pt ph pw)", pt=pt, ph=ph, pw=pw)


def unpatchify(x: Tensor, patch: tuple[int, int, int], grid: tuple[int, int, int]) -> Tensor:
    """Inverse of patchify; grid = (T/pt, H/ph, W/pw)."""
    pt, ph, pw = patch
    t, h, w = grid
    return rearrange(
        x, "b (t h w) (c pt ph pw) -> b c (t pt) (h ph) (w pw)", t=t, h=h, w=w, pt=pt, ph=ph, pw=pw
    )


def grid_positions(grid: tuple[int, int, int], t0: float = 0.0, device=None) -> Tensor:
    """(t, h, w) positions of a token grid, time starting at t0: -> (t*h*w, 3)."""
    t, h, w = grid
    tt, hh, ww = torch.meshgrid(
        torch.arange(t, device=device, dtype=torch.float32) + t0,
        torch.arange(h, device=device, dtype=torch.float32),
        torch.arange(w, device=device, dtype=torch.float32),
        indexing="ij",
    )
    return torch.stack([tt, hh, ww], dim=-1).reshape(-1, 3)
