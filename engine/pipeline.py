"""GenerationRequest -> Clip: prompt encoding, context, chunked sampling, decoding.

Long clips are made chunk by chunk, each conditioned on the last latent frames of the one
before, and each chunk is decoded as soon as it is sampled (the autoencoder keeps its causal
feature cache between chunks), so memory does not grow with the clip's length beyond its frames.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.frames import fit_frames, resample_fps, to_uint8
from engine.model_bundle import ModelBundle
from engine.models.dit import unpatchify
from engine.precision import transformer_dtype
from engine.request import Cancelled, Clip, EngineError, GenerationRequest, StepInfo
from engine.resources_path import default_model_dir
from engine.sampling import SAMPLERS, get_sampler, guided, resolution_shift, sigma_schedule
from engine.sequence import Context, build_sequence

StepCallback = Callable[[StepInfo], "bool | None"]
MAX_FRAMES = 24 * 600  # ten minutes at 24 fps: a sanity bound, not a memory limit


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise EngineError("device 'cuda' asked for, but no CUDA GPU is available")
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise EngineError("device 'mps' asked for, but Apple MPS is not available")
    if name not in ("cpu", "cuda", "mps") and not name.startswith("cuda:"):
        raise EngineError(f"unknown device {name!r} (auto, cpu, cuda or mps)")
    return torch.device(name)


@dataclass(frozen=True)
class Native:
    width: int
    height: int
    fps: float


class Engine:
    def __init__(self, bundle: ModelBundle, text_encoder, device: torch.device, model_dir: Path):
        self.bundle, self.text, self.device, self.model_dir = (
            bundle,
            text_encoder,
            device,
            model_dir,
        )
        self.vae, self.dit, self.config = bundle.vae, bundle.dit, bundle.config
        n = self.config.get("native", {})
        self.native = Native(
            int(n.get("width", 256)), int(n.get("height", 144)), float(n.get("fps", 12))
        )
        self.amp = torch.bfloat16 if device.type == "cuda" else None  # autoencoder
        self.amp_dit = transformer_dtype(device)  # transformer: bf16 on CUDA and bf16-capable CPUs

    @classmethod
    def load(cls, model_dir: str | Path | None = None, device: str = "auto") -> Engine:
        from engine.models.text import MiniLMEncoder

        dev = pick_device(device)
        path = Path(model_dir) if model_dir is not None else default_model_dir()
        bundle = ModelBundle.load(path, device=str(dev))
        text = MiniLMEncoder.load(device=str(dev), lexical=bundle.dit.config.lexical_text)
        return cls(bundle, text, dev, path)

    @property
    def model_id(self) -> str:
        return str(self.config.get("name", self.model_dir.name))

    @property
    def model_hash(self) -> str:
        return str(self.config.get("weights_sha256", ""))

    @property
    def trained(self) -> bool:
        return bool(self.config.get("training", {}).get("dit_steps_done"))

    @property
    def multiple(self) -> int:
        """Width and height must be multiples of this (autoencoder factor x patch size)."""
        return self.vae.config.spatial_factor * max(self.dit.config.patch[1:])

    # ----------------------------------------------------------------- validation
    def check(self, req: GenerationRequest) -> tuple[int, float]:
        """Validate a request without generating: -> (frames out, fps out) or EngineError."""
        m = self.multiple
        if not isinstance(req.prompt, str):
            raise EngineError("prompt must be text")
        for name, v in (("width", req.width), ("height", req.height)):
            if not isinstance(v, int) or v < m or v % m:
                raise EngineError(f"{name} must be a positive multiple of {m}, got {v}")
        if req.width * req.height > 4096 * 4096:
            raise EngineError(f"frame size {req.width}x{req.height} is too large")
        fps = float(req.fps or self.native.fps)
        if not 1 <= fps <= 120:
            raise EngineError(f"fps must be between 1 and 120, got {fps:g}")
        if req.frames is not None and req.frames < 1:
            raise EngineError(f"frames must be at least 1, got {req.frames}")
        if req.frames is None and (req.seconds is None or req.seconds <= 0):
            raise EngineError("duration must be positive")
        n = req.frame_count(self.native.fps) if req.fps is None else req.frame_count(fps)
        if n < 1:
            raise EngineError("the clip would have no frames; give a longer duration")
        if n > MAX_FRAMES:
            raise EngineError(f"{n} frames is more than the {MAX_FRAMES} allowed in one clip")
        if req.steps is not None and not 1 <= req.steps <= 1000:
            raise EngineError(f"steps must be between 1 and 1000, got {req.steps}")
        if req.sampler is not None and req.sampler not in SAMPLERS:
            raise EngineError(f"unknown sampler {req.sampler!r} ({', '.join(SAMPLERS)})")
        g_min = req.guidance_min_sigma
        if g_min is not None and not 0.0 <= g_min <= 1.0:
            raise EngineError(f"guidance_min_sigma must be between 0 and 1, got {g_min}")
        return n, fps

    # ----------------------------------------------------------------- encoding helpers
    @torch.no_grad()
    def encode_frames(self, frames: np.ndarray, width: int, height: int) -> torch.Tensor:
        """uint8 (T, H, W, 3), T = 1 + 4k -> latent (1, C, 1 + k, h, w)."""
        fitted = fit_frames(frames, width, height)
        x = torch.from_numpy(fitted).to(self.device).float().div(127.5).sub(1)
        x = x.permute(3, 0, 1, 2)[None]  # (1, 3, T, H, W)
        with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
            z = self.vae.encode(x)
        return z.float()

    @torch.no_grad()
    def autoencode(self, frames: np.ndarray) -> np.ndarray:
        """uint8 (T, H, W, 3), T = 1 + 4k, through the autoencoder alone (encode, decode): the
        best any clip of this model can look, since every clip it makes leaves by this decoder."""
        h, w = frames.shape[1:3]
        return self._decode(self.encode_frames(frames, w, h))

    def _previous_latents(self, req: GenerationRequest) -> torch.Tensor | None:
        if req.carry_over_strength <= 0:
            return None
        if req.previous_latents is not None:
            z = torch.as_tensor(req.previous_latents).float().to(self.device)
            z = z[None] if z.ndim == 4 else z
            grid = (
                req.height // self.vae.config.spatial_factor,
                req.width // self.vae.config.spatial_factor,
            )
            if tuple(z.shape[-2:]) == grid and z.shape[1] == self.vae.config.latent_channels:
                return z[:, :, -2:]
            if req.previous is None:  # frames would have been re-encoded at this size instead
                raise EngineError(
                    f"the previous clip's latents have shape {tuple(z.shape[1:])}, but this "
                    f"request needs ({self.vae.config.latent_channels}, t, {grid[0]}, {grid[1]}): "
                    "send its frames instead, or the same size and model"
                )
        if req.previous is None:
            return None
        prev = np.asarray(req.previous)
        if prev.ndim == 3:
            prev = prev[None]
        k = int(self.config.get("previous_frames", 9))
        if prev.shape[0] < k:  # too short: hold its first frame
            prev = np.concatenate([np.repeat(prev[:1], k - prev.shape[0], axis=0), prev])
        return self.encode_frames(prev[-k:], req.width, req.height)[:, :, -2:]

    def _text(self, req: GenerationRequest):
        states, mask = self.text.encode([req.prompt, req.negative_prompt or ""])
        if not req.negative_prompt:
            mask[1] = False  # no negative prompt: the unconditional branch sees only the null token
        return states.to(self.device), mask.to(self.device)

    # ----------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(self, req: GenerationRequest, on_step: StepCallback | None = None) -> Clip:
        start_time = time.time()
        n_out, fps_out = self.check(req)
        native = self.native.fps
        n_gen = n_out if req.fps is None else max(1, round(n_out / fps_out * native))
        seed = (
            int(req.seed)
            if req.seed is not None
            else int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
        )
        steps = int(req.steps or self.config.get("sampling", {}).get("steps", 20))
        sampler = req.sampler or self.config.get("sampling", {}).get("sampler", "euler")
        g_text = float(
            req.guidance
            if req.guidance is not None
            else self.config["sampling"].get("guidance", 4.0)
        )
        g_ctx = float(
            req.context_guidance
            if req.context_guidance is not None
            else self.config["sampling"].get("context_guidance", 1.0)
        )
        g_min = float(
            req.guidance_min_sigma
            if req.guidance_min_sigma is not None
            else self.config["sampling"].get("guidance_min_sigma", 0.0)
        )
        f, C = self.vae.config.spatial_factor, self.vae.config.latent_channels
        h, w = req.height // f, req.width // f
        t_lat = 1 + (n_gen - 1 + 3) // 4

        text, text_mask = self._text(req)
        start = (
            self.encode_frames(np.asarray(req.image)[None], req.width, req.height)
            if req.image is not None
            else None
        )
        refs = [
            self.encode_frames(np.asarray(r)[None], req.width, req.height) for r in req.references
        ] or None
        previous = self._previous_latents(req)
        ctx_scale = g_ctx * (req.carry_over_strength if previous is not None else 1.0)

        noise_gen = torch.Generator().manual_seed(seed)
        spans = self._spans(t_lat)
        # Each chunk is decoded as soon as it is sampled (the decoder keeps its causal cache), so
        # only the uint8 output grows with length: no full-length latent or float video is held
        # (unless the request keeps the latents).
        frames = np.empty((n_gen, req.height, req.width, 3), np.uint8)
        decoder = self.vae.stream_decoder(tile=self._decode_tile(h, w))
        recent: torch.Tensor | None = None  # the last two latent frames so far
        kept: list[torch.Tensor] = []
        filled = 0
        for ci, (a, b) in enumerate(spans):
            ctx = Context(start=start if ci == 0 else None, references=refs)
            if ci == 0:
                ctx.previous = previous
            else:
                ctx.previous, ctx.continues = recent, True
            noise = torch.randn((1, C, b - a, h, w), generator=noise_gen).to(self.device)
            z = self._sample_chunk(
                noise,
                ctx,
                text,
                text_mask,
                steps,
                g_text,
                ctx_scale,
                on_step,
                ci,
                len(spans),
                start_time,
                req.preview_every,
                sampler,
                g_min,
            )
            recent = z[:, :, -2:] if recent is None else torch.cat([recent, z], dim=2)[:, :, -2:]
            if req.keep_latents:
                kept.append(z[0].float().cpu())
            filled = self._decode_chunk(decoder, z, frames, filled)
        if req.fps is not None and abs(fps_out - native) > 1e-6:
            frames = resample_fps(frames, native, fps_out, n_out)
        clip_fps = fps_out if req.fps is not None else native
        tail = recent[0].float().cpu() if t_lat >= 3 else None
        recipe = {
            "model": self.model_id,
            "model_hash": self.model_hash,
            "prompt": req.prompt,
            "negative_prompt": req.negative_prompt,
            "seed": seed,
            "steps": steps,
            "sampler": sampler,
            "guidance": g_text,
            "context_guidance": g_ctx,
            "guidance_min_sigma": g_min,
            "width": req.width,
            "height": req.height,
            "frames": int(frames.shape[0]),
            "fps": clip_fps,
            "start_image": req.image is not None,
            "references": len(req.references),
            "previous": previous is not None,
            "carry_over_strength": req.carry_over_strength,
            "device": self.device.type,
            "seconds": round(time.time() - start_time, 3),
            "trained": self.trained,
        }
        latents = torch.cat(kept, dim=1) if kept else None
        return Clip(
            frames=frames,
            fps=clip_fps,
            seed=seed,
            tail_latents=tail,
            recipe=recipe,
            latents=latents,
        )

    def _spans(self, t_lat: int) -> list[tuple[int, int]]:
        """The latent frames of each chunk that is sampled (and decoded) at once."""
        chunk = max(3, int(self.config.get("chunk_latents", 7)))
        spans, s0 = [], 0
        while s0 < t_lat:
            spans.append((s0, min(t_lat, s0 + chunk)))
            s0 = spans[-1][1]
        return spans

    def _decode_chunk(self, decoder, z: torch.Tensor, frames: np.ndarray, filled: int) -> int:
        """Decode one chunk's latents into `frames` from index `filled`; returns the new fill."""
        with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
            video = decoder.decode(z)  # (1, 3, T_chunk, H, W)
        n = min(video.shape[2], len(frames) - filled)
        frames[filled : filled + n] = to_uint8(video[0, :, :n].float().permute(1, 2, 3, 0))
        return filled + n

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor, frames: int) -> np.ndarray:
        """The frames (uint8, at the native rate) of latents a clip kept (`keep_latents`),
        decoded chunk by chunk as generation decodes them: with the decoder that made the clip,
        the clip exactly; with a decoder tuned since on the same latents, what it would make."""
        z = torch.as_tensor(latents).float().to(self.device)
        z = z[None] if z.ndim == 4 else z  # (1, C, t, h, w)
        if z.shape[1] != self.vae.config.latent_channels:
            raise EngineError(
                f"latents have {z.shape[1]} channels; this model's have "
                f"{self.vae.config.latent_channels}"
            )
        f = self.vae.config.spatial_factor
        h, w = z.shape[-2] * f, z.shape[-1] * f
        out = np.empty((frames, h, w, 3), np.uint8)
        decoder = self.vae.stream_decoder(tile=self._decode_tile(z.shape[-2], z.shape[-1]))
        filled = 0
        for a, b in self._spans(z.shape[2]):
            filled = self._decode_chunk(decoder, z[:, :, a:b], out, filled)
        return out[:filled]

    @property
    def latent_hash(self) -> str:
        """sha256 of every weight but the decoder's: models with the same value make the same
        latents (a decoder tuned on a frozen encoder keeps it), so kept latents can be decoded
        by either."""
        import hashlib

        from safetensors import safe_open

        digest = hashlib.sha256()
        with safe_open(str(self.model_dir / "model.safetensors"), "pt") as f:
            for key in sorted(f.keys()):
                if not key.startswith("vae.decoder."):
                    digest.update(key.encode())
                    digest.update(f.get_tensor(key).reshape(-1).view(torch.uint8).numpy())
        return digest.hexdigest()

    def _sample_chunk(
        self,
        noise,
        ctx: Context,
        text,
        text_mask,
        steps,
        g_text,
        g_ctx,
        on_step,
        ci,
        n_chunks,
        t_start,
        preview_every,
        sampler: str = "euler",
        g_min: float = 0.0,
    ) -> torch.Tensor:
        patch = self.dit.config.patch
        shape = noise.shape  # (1, C, t, h, w)
        grid = (shape[2] // patch[0], shape[3] // patch[1], shape[4] // patch[2])
        has_ctx = ctx.start is not None or ctx.previous is not None or bool(ctx.references)
        use_bare = has_ctx and abs(g_ctx - 1.0) > 1e-6
        eps0 = noise[:, :, :1]  # frame 0's noise, for the branch that is not given the start

        def bare_input(z: torch.Tensor, sigma: float) -> torch.Tensor:
            """The clip as the context-free branch sees it: without a start image, frame 0 is
            noisy at the current level like every other frame (as in text-to-video training)."""
            if ctx.start is None:
                return z
            zb = z.clone()
            zb[:, :, :1] = (1 - sigma) * ctx.start + sigma * eps0
            return zb

        use_uncond = abs(g_text - 1.0) > 1e-6

        def run(z, sigma, context: Context, rows: list[int]):
            """One batched forward; row i of the batch uses prompt row rows[i] (0 prompt, 1 uncond)."""
            sig = torch.full((z.shape[0],), sigma, device=self.device)
            seq = build_sequence(z, sig, patch, context)
            with torch.autocast(
                self.device.type, dtype=self.amp_dit, enabled=self.amp_dit is not None
            ):
                out = self.dit(seq.x, seq.sigma, seq.pos, seq.kind, text[rows], text_mask[rows])
            return unpatchify(out[:, seq.n_context :].float(), patch, grid)

        def guided_v(z: torch.Tensor, sigma: float) -> torch.Tensor:
            if use_uncond:  # prompt and unconditional text as one batch of two
                v2 = run(torch.cat([z, z]), sigma, _batched(ctx, 2), [0, 1])
                v_full, v_ctx = v2[:1], v2[1:]
            else:
                v_full = v_ctx = run(z, sigma, ctx, [0])
            if use_bare:
                v_bare = run(bare_input(z, sigma), sigma, Context(), [1])
                return guided(v_bare, v_ctx, v_full, g_text, g_ctx)
            return v_ctx + g_text * (v_full - v_ctx) if use_uncond else v_full

        def model_fn(z: torch.Tensor, sigma: float) -> torch.Tensor:
            # below g_min (the fine detail) guidance adds flicker, not accuracy: the conditional
            # velocity alone, one model call instead of two or three
            v = run(z, sigma, ctx, [0]) if sigma < g_min else guided_v(z, sigma)
            if ctx.start is not None:
                v[:, :, :1] = 0  # the start frame is given, not generated
            return v

        n_tokens = grid[0] * grid[1] * grid[2]
        sigmas = sigma_schedule(steps, resolution_shift(n_tokens))
        x = noise * sigmas[0]
        if ctx.start is not None:
            x[:, :, :1] = ctx.start

        def callback(d: dict) -> None:
            info = StepInfo(
                step=d["i"] + 1,
                steps=steps,
                t=d["sigma_next"],
                chunk=ci,
                chunks=n_chunks,
                elapsed_s=time.time() - t_start,
            )
            if preview_every and (d["i"] + 1) % preview_every == 0:
                info.preview = self._preview(d["denoised"])
            if on_step is not None and on_step(info) is False:
                raise Cancelled("generation cancelled")

        return get_sampler(sampler)(model_fn, x, sigmas, callback)

    def _preview(self, z: torch.Tensor) -> np.ndarray:
        frame = self._decode(z[:, :, :1])[0]
        return frame[::2, ::2].copy()

    def _decode_tile(self, h: int, w: int) -> int | None:
        """Spatial tile (latent pixels) for frames larger than 1280x720: the decoder's
        activations then stay bounded whatever the frame size."""
        f = self.vae.config.spatial_factor
        return None if h * w * f * f <= 1280 * 720 else max(16, 512 // f)

    def _decode(self, z: torch.Tensor) -> np.ndarray:
        with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
            x = self.vae.decode(z, chunk_latents=4)  # (1, 3, T, H, W) in [-1, 1]
        return to_uint8(x[0].float().permute(1, 2, 3, 0))


def _batched(ctx: Context, n: int) -> Context:
    def rep(t):
        return None if t is None else t.expand(n, *t.shape[1:])

    return Context(
        start=rep(ctx.start),
        previous=rep(ctx.previous),
        references=[rep(r) for r in ctx.references] if ctx.references else None,
        continues=ctx.continues,
    )
