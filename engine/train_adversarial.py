"""The decoder stage's adversarial term: hinge losses of a patch discriminator, and the
generator term scaled as VQGAN scales it (engine/models/patch_disc.py says why)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def adversarial_generator_term(
    disc, rec: Tensor, recon_loss: Tensor, last_layer: Tensor
) -> tuple[Tensor, Tensor]:
    """(the decoder's adversarial loss, its scale). The scale makes the term's gradient at the
    decoder's last layer as large as the reconstruction's, so one weight suits any batch and
    stage of training (Esser et al. 2021, eq. 7); the discriminator is held fixed here."""
    disc.requires_grad_(False)
    try:
        g = -disc(rec.float()).mean()  # float: the decoder may run under bf16 autocast
    finally:
        disc.requires_grad_(True)
    g_rec = torch.autograd.grad(recon_loss, last_layer, retain_graph=True)[0]
    g_adv = torch.autograd.grad(g, last_layer, retain_graph=True)[0]
    scale = (g_rec.norm() / (g_adv.norm() + 1e-4)).clamp(0.0, 1e4).detach()
    return g, scale


def discriminator_backward(disc, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
    """The discriminator's hinge loss on real frames and (detached) decodes, backpropagated into
    its parameters only; returns what the log shows."""
    real_logits, fake_logits = disc(real.float()), disc(fake.float())
    loss = 0.5 * (F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean())
    loss.backward()
    return {
        "adv_d": loss.detach(),
        "adv_real": real_logits.mean().detach(),
        "adv_fake": fake_logits.mean().detach(),
    }
