"""Rectified-flow sampling: x_sigma = (1 - sigma) * data + sigma * noise, v = noise - data.

Samplers share k-diffusion's shape: `sampler(model_fn, x, sigmas, callback=...)`, where
model_fn(x, sigma) returns the (guided) velocity and callback(info) is called after every
step; a callback that raises stops sampling within one step (that is how cancel works).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

ModelFn = Callable[[Tensor, float], Tensor]


def resolution_shift(
    n_tokens: int,
    base_tokens: int = 256,
    max_tokens: int = 4096,
    base_shift: float = 0.5,
    max_shift: float = 1.15,
) -> float:
    """Timestep shift that grows with the token count (more tokens keep more signal at a
    given noise level, so larger or longer clips need more time at high noise; SD3/Flux)."""
    m = (max_shift - base_shift) / (max_tokens - base_tokens)
    mu = base_shift + m * (n_tokens - base_tokens)
    return math.exp(mu)


def sigma_schedule(steps: int, shift: float = 1.0) -> Tensor:
    """Noise levels from 1 to 0 (steps + 1 values), warped by `shift` towards high noise."""
    t = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    s = shift * t / (1 + (shift - 1) * t)
    return s.float()


def _integrate(
    model_fn: ModelFn, x: Tensor, sigmas: Tensor, callback, second_order: bool
) -> Tensor:
    sig = sigmas.tolist()  # host floats: no device sync inside the loop
    v_prev, h_prev = None, None
    for i in range(len(sig) - 1):
        v = model_fn(x, sig[i])
        if callback is not None:
            callback(
                {
                    "i": i,
                    "x": x,
                    "sigma": sig[i],
                    "sigma_next": sig[i + 1],
                    "denoised": x - sig[i] * v,
                }
            )
        h = sig[i + 1] - sig[i]
        if v_prev is None or not second_order:
            x = x + h * v
        else:  # extrapolate the slope from the last two velocities (uneven steps: ratio r)
            r = h / h_prev
            x = x + h * ((1 + r / 2) * v - (r / 2) * v_prev)
        v_prev, h_prev = v, h
    return x


@torch.no_grad()
def sample_euler(
    model_fn: ModelFn, x: Tensor, sigmas: Tensor, callback: Callable[[dict], None] | None = None
) -> Tensor:
    """Euler integration of the flow ODE from sigmas[0] (noise) to sigmas[-1] (data)."""
    return _integrate(model_fn, x, sigmas, callback, second_order=False)


@torch.no_grad()
def sample_multistep(
    model_fn: ModelFn, x: Tensor, sigmas: Tensor, callback: Callable[[dict], None] | None = None
) -> Tensor:
    """Second-order Adams-Bashforth on the velocity, for uneven steps: one model call per step
    like Euler, but the step uses the slope extrapolated from the last two velocities, so the
    ODE's trajectory is followed with error O(h^2) instead of O(h). The first step is Euler.
    Same result as Euler in the limit of many steps; close to it in about half the steps
    (benchmarks/sampler_convergence.py measures how close)."""
    return _integrate(model_fn, x, sigmas, callback, second_order=True)


SAMPLERS = {"euler": sample_euler, "multistep": sample_multistep}


def get_sampler(name: str):
    try:
        return SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r} ({', '.join(SAMPLERS)})") from None


def guided(
    v_uncond: Tensor, v_ctx: Tensor | None, v_full: Tensor, text_scale: float, context_scale: float
) -> Tensor:
    """Two-condition classifier-free guidance with separate text and context scales.

    v_uncond: neither text nor context; v_ctx: context only; v_full: text and context.
    Without context, v_ctx is None and this is plain CFG on the text.
    """
    if v_ctx is None:
        return v_uncond + text_scale * (v_full - v_uncond)
    return v_uncond + context_scale * (v_ctx - v_uncond) + text_scale * (v_full - v_ctx)
