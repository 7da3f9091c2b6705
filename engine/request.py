"""The engine's public request and result types (no torch: the app and the HTTP layer share them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class EngineError(Exception):
    """An error a user can meet (bad request, bad model folder); its message is one clear line."""


@dataclass
class GenerationRequest:
    """What to generate. Images are uint8 arrays (H, W, 3) in RGB; frames are (T, H, W, 3)."""

    prompt: str
    negative_prompt: str = ""
    width: int = 256
    height: int = 144
    frames: int | None = None  # exact frame count; wins over `seconds`
    seconds: float | None = 2.0
    fps: float | None = None  # None: the model's native fps
    steps: int | None = None  # None: the model's default
    sampler: str | None = None  # "euler" or "multistep"; None: the model's default
    guidance: float | None = None  # text guidance scale; None: model default
    context_guidance: float | None = None  # guidance on image/previous/reference context
    # guidance only while the noise level is at least this (0-1); below it the conditional
    # velocity alone, one model call a step instead of two or three. None: the model's default
    guidance_min_sigma: float | None = None
    seed: int | None = None  # None: a random seed, reported in the Clip
    image: np.ndarray | None = None  # start image -> image-to-video
    references: list[np.ndarray] = field(default_factory=list)  # element reference images
    previous: np.ndarray | None = None  # previous clip's frames (T, H, W, 3) for carry-over
    previous_latents: Any = None  # or its tail latents (from Clip.tail_latents), same model
    carry_over_strength: float = 1.0  # 0 disables the previous-scene context
    preview_every: int = 0  # decode a small preview frame every N steps (0: never)
    keep_latents: bool = False  # also return the whole generated latent (Clip.latents)

    def frame_count(self, native_fps: float) -> int:
        if self.frames is not None:
            return int(self.frames)
        fps = self.fps or native_fps
        return max(1, int(round((self.seconds or 0.0) * fps)))


@dataclass
class Clip:
    """A generated clip: frames (T, H, W, 3) uint8 RGB; a single frame is an image."""

    frames: np.ndarray
    fps: float
    seed: int
    tail_latents: Any = None  # torch tensor (C, t, h, w) on CPU: the last latent frames
    recipe: dict[str, Any] = field(default_factory=dict)
    latents: Any = None  # torch tensor (C, t, h, w) on CPU, when the request kept them

    @property
    def is_image(self) -> bool:
        return self.frames.shape[0] == 1

    @property
    def duration(self) -> float:
        return self.frames.shape[0] / self.fps


@dataclass
class StepInfo:
    """What the sampler reports after every step (k-diffusion style callback payload)."""

    step: int  # 1-based
    steps: int
    t: float  # noise level after this step (1 = noise, 0 = data)
    chunk: int = 0
    chunks: int = 1
    preview: np.ndarray | None = None  # small (h, w, 3) uint8 frame when asked for
    elapsed_s: float = 0.0

    @property
    def progress(self) -> float:
        return (self.chunk * self.steps + self.step) / max(1, self.chunks * self.steps)


class Cancelled(EngineError):
    """Raised out of generate() when the step callback asks to stop."""
