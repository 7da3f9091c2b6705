"""A wider autoencoder that keeps a trained one's latent channels exactly.

Rebasing the transformer onto an autoencoder trained anew throws away what its first and last
layers know: the two latent spaces share only about half their variance (engine/rebase.py), and
the rebased model starts far behind. Widening keeps the old latent space as the first `kept`
channels of the new one, bit for bit, and adds channels for what it loses (shape, patterns):
the encoder is the old one, frozen, with new output rows for the added channels' moments; the
decoder starts as the old one and reads the added channels through input weights that start at
zero, so the widened autoencoder begins as exactly the old one.

With `branch`, the added channels also get an encoder of their own that reads the pixels
(VAEConfig.branch_channels): the frozen encoder's last features were made for the old channels
and hold little of the shape detail the added ones are for. Its output layer starts at zero, so
the widened autoencoder still begins as exactly the old one.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models.vae import VAEConfig, VideoVAE


def widen(old: VideoVAE, channels: int, *, branch: bool = False) -> VideoVAE:
    """old's autoencoder with `channels` latent channels, the first old.C of them old's own;
    with `branch`, the added channels get an encoder branch of their own too."""
    kept = old.config.latent_channels
    if channels <= kept:
        raise ValueError(f"widening needs more than the {kept} latent channels there are")
    if old.branch is not None:
        raise ValueError("this autoencoder is widened already: widen the one it came from")
    wide = {"latent_channels": channels, "branch_channels": channels - kept if branch else 0}
    new = VideoVAE(VAEConfig.from_dict({**old.config.to_dict(), **wide}))
    state = {k: v.clone() for k, v in old.state_dict().items()}
    own = new.state_dict()
    # the encoder's output is (mean C | logvar C): the old rows go to the head of each half
    for name in ("encoder.conv_out.weight", "encoder.conv_out.bias"):
        w = own[name].clone()
        w[:kept], w[channels : channels + kept] = state[name][:kept], state[name][kept:]
        w[kept:channels] *= 0.1  # added means start small: the decoder reads them from zero
        state[name] = w
    # the decoder's first layer reads the added channels with weights that start at zero
    w = torch.zeros_like(own["decoder.conv_in.weight"])
    w[:, :kept] = state["decoder.conv_in.weight"]
    state["decoder.conv_in.weight"] = w
    mean, std = torch.zeros(channels), torch.ones(channels)
    mean[:kept], std[:kept] = state["latent_mean"], state["latent_std"]
    state["latent_mean"], state["latent_std"] = mean, std
    if new.branch is not None:  # a fresh branch whose output starts at zero
        for name, v in new.branch.state_dict().items():
            state[f"branch.{name}"] = torch.zeros_like(v) if name.startswith("conv_out.") else v
    new.load_state_dict(state)
    return new


def train_only_added(vae: VideoVAE, kept: int) -> list[nn.Parameter]:
    """Freeze what makes the first `kept` channels (the encoder, and its output rows for them)
    and return the parameters to train: the added channels' encoder rows, their branch (if
    any) and the decoder.
    The old rows get no gradient, so AdamW (no weight decay) leaves them exactly as they are."""
    c = vae.config.latent_channels
    if not 0 < kept < c:
        raise ValueError(f"kept channels must be between 0 and {c}, not {kept}")
    vae.encoder.requires_grad_(False)
    head = vae.encoder.conv_out
    head.requires_grad_(True)
    rows = torch.zeros(2 * c, dtype=torch.bool)
    rows[kept:c] = rows[c + kept :] = True  # the added channels' mean and logvar rows

    def only_added(grad: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (grad.dim() - 1)
        return grad * rows.to(grad.device, grad.dtype).view(shape)

    for p in (head.weight, head.bias):
        p.register_hook(only_added)
    if vae.branch is not None:
        vae.branch.requires_grad_(True)
    vae.decoder.requires_grad_(True)
    return [p for p in vae.parameters() if p.requires_grad]
