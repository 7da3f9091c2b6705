"""Carry a trained transformer over to an autoencoder with another latent space.

A transformer trained on one autoencoder's latents keeps what its blocks learned (the prompt,
motion, layout, context) when the autoencoder is retrained, say with more latent channels; only
its first layer (token -> width) and its last (width -> token) speak the latent space. A rebase
loads every other weight as it was and makes those two new.

"bridge" makes them from a map between the two latent spaces, fitted on the same world clips
encoded by both autoencoders: the first layer reads a new token as the old token it maps to, and
the last writes the old prediction in new latents, so the blocks see nearly the inputs they were
trained on from the first step. The map is orthonormal (orthogonal Procrustes), not a free
least-squares fit: the model's input is data plus white noise, and a free fit, exploiting how
correlated the new channels are on data, amplifies the noise (on the shipped model the first
loss was 2.5x a fresh start's). An orthonormal map keeps white noise white at unit scale.

The new latent directions the map leaves out keep the new layers' own initial weights: the
first layer's random ones, so what the old latents lacked reaches the blocks from the first
step, and the last layer's zeros. (With the first layer's zero there too, the output could only
learn them once both layers had grown from zero, and the rebased model's loss stayed above a
fresh start's after 50 steps on the CPU.) "fresh" starts the two layers as a new model's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.models.dit import DiT, patchify
from engine.request import EngineError

LATENT_LAYERS = ("x_embed.", "out.")  # the layers whose shapes follow the latent channels


@dataclass
class Bridge:
    to_old: Tensor  # (d_new, d_old), orthonormal columns: old token ~= new token @ to_old
    r2_to_old: float  # share of the old tokens' variance the map explains
    r2_to_new: float  # share of the new tokens' variance the way back explains
    tokens: int  # how many token pairs it was fitted on

    @property
    def to_new(self) -> Tensor:  # (d_old, d_new): new token ~= old token @ to_new
        return self.to_old.T


def _r2(pred: Tensor, y: Tensor) -> float:
    total = (y - y.mean(0)).pow(2).sum().clamp_min(1e-12)
    return float(1 - (pred - y).pow(2).sum() / total)


def _procrustes(x: Tensor, y: Tensor) -> Tensor:
    """W (a, b) with orthonormal columns (a >= b) that maximises tr(W^T x^T y): U V^T from the
    SVD of x^T y. x (n, a), y (n, b). For a == b it is argmin |x W - y|; for a > b only close to
    it, as |x W| then depends on W (it can lean on new directions that correlate with the old)."""
    u, _, vh = torch.linalg.svd(x.double().T @ y.double(), full_matrices=False)
    return (u @ vh).float()


def check_compatible(old_vae, new_vae) -> None:
    """Both autoencoders must cut frames into the same latent grid."""
    o, n = old_vae.config, new_vae.config
    if (o.spatial_factor, o.temporal_factor) != (n.spatial_factor, n.temporal_factor):
        raise EngineError(
            "cannot rebase across autoencoders that compress differently: "
            f"{o.spatial_factor}x/{o.temporal_factor}x against "
            f"{n.spatial_factor}x/{n.temporal_factor}x (spatial/temporal)"
        )


@torch.no_grad()
def fit_bridge(
    old_vae,
    new_vae,
    clips: Iterable[Tensor],
    patch: tuple[int, int, int],
    encode,
) -> Bridge:
    """Fit the orthonormal map between new and old tokens. `clips` yields (B, T, H, W, 3)
    videos in [0, 1]; `encode(vae, video)` gives normalised latents (B, C, t, h, w)."""
    check_compatible(old_vae, new_vae)
    olds, news = [], []
    for video in clips:
        olds.append(patchify(encode(old_vae, video), patch).flatten(0, 1).cpu())
        news.append(patchify(encode(new_vae, video), patch).flatten(0, 1).cpu())
    old, new = torch.cat(olds), torch.cat(news)  # (M, d_old), (M, d_new)
    if new.shape[1] < old.shape[1]:
        raise EngineError(
            "a rebase goes to as many latent channels or more; "
            f"{old.shape[1]} -> {new.shape[1]} token values would drop some"
        )
    if old.shape[0] < 4 * new.shape[1]:
        raise EngineError(f"too few tokens ({old.shape[0]}) to fit the latent bridge")
    d = old.shape[1]
    if torch.allclose(new[:, :d], old, rtol=0, atol=1e-4):
        # a widened autoencoder (engine/autoencoder_widen.py): its first channels are the old
        # latents, and the map is that selection, exact both ways on them
        to_old = torch.eye(new.shape[1], d)
    else:
        to_old = _procrustes(new, old)
    return Bridge(to_old, _r2(new @ to_old, old), _r2(old @ to_old.T, new), int(old.shape[0]))


@torch.no_grad()
def rebase_dit(dit: DiT, old_state: dict[str, Tensor], bridge: Bridge | None) -> list[str]:
    """Load `old_state` (a transformer over the old latents) into `dit` (built for the new
    ones). Every weight but the latent layers must match in shape. With a bridge the latent
    layers are mapped through it (and keep `dit`'s initial weights in the directions it leaves
    out); without, `dit` keeps its own initial ones. Returns the names
    of the weights made new."""
    own = dit.state_dict()
    new_keys = sorted(k for k in own if k.startswith(LATENT_LAYERS))
    kept = {k: v for k, v in old_state.items() if not k.startswith(LATENT_LAYERS)}
    missing = [k for k in own if k not in kept and k not in new_keys]
    if missing and any(not k.startswith(DiT.GROWABLE) for k in missing):
        raise EngineError(f"the transformer to rebase lacks {missing[:4]}: another architecture")
    mismatch = [k for k, v in kept.items() if k in own and own[k].shape != v.shape]
    unknown = [k for k in kept if k not in own]
    if mismatch or unknown:
        raise EngineError(
            "the transformer to rebase has another architecture than the config's "
            f"(differing: {(mismatch + unknown)[:4]}); only the latent channels may change"
        )
    dit.load_state_dict(kept, strict=False)
    if bridge is not None:
        # on the CPU in fp32, whatever the device and precision of either model
        w_in, w_out = (
            old_state[k].detach().float().cpu() for k in ("x_embed.weight", "out.weight")
        )
        if bridge.to_old.shape != (dit.x_embed.in_features, w_in.shape[1]):
            raise EngineError(
                f"the latent bridge maps {tuple(bridge.to_old.shape)}, the transformer needs "
                f"({dit.x_embed.in_features}, {w_in.shape[1]})"
            )
        to_old, to_new = bridge.to_old.float().cpu(), bridge.to_new.float().cpu()
        kept_out = torch.eye(to_old.shape[0]) - to_old @ to_old.T  # onto what the map leaves out
        initial = dit.x_embed.weight.detach().float().cpu()
        # (D, d_old) @ (d_old, d_new) + (D, d_new) @ (d_new, d_new)
        dit.x_embed.weight.copy_(w_in @ to_old.T + initial @ kept_out)
        dit.x_embed.bias.copy_(old_state["x_embed.bias"])
        dit.out.weight.copy_(to_new.T @ w_out)  # (d_new, d_old) @ (d_old, D)
        dit.out.bias.copy_(to_new.T @ old_state["out.bias"].float().cpu())
    return new_keys
