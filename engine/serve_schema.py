"""The HTTP API's request and response bodies (pydantic: they are also the OpenAPI schema).

Field names are the engine CLI's (`python -m engine generate --help`). Images travel as base64
PNG or JPEG (a `data:` URL prefix is accepted). `previous` (carry-over from the previous scene)
is either one base64 video (MP4 or anything PyAV reads; its last frames are used) or a list of
base64 PNG/JPEG frames in time order.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_SIDE = 8192
MAX_AREA = 4096 * 4096  # the engine's own bound on width x height
MAX_FRAMES = 24 * 600
MAX_REFERENCES = 8
MAX_PREVIOUS_FRAMES = 64
MAX_PROMPT = 4000

Status = Literal["queued", "running", "done", "failed", "cancelled"]


class GenerationIn(BaseModel):
    """What to generate. Omitted sizes, fps, steps and guidance take the model's defaults."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(max_length=MAX_PROMPT)
    negative_prompt: str = Field("", max_length=MAX_PROMPT)
    width: int | None = Field(
        None, ge=8, le=MAX_SIDE, description="a multiple of the model's `multiple`"
    )
    height: int | None = Field(None, ge=8, le=MAX_SIDE)
    frames: int | None = Field(None, ge=1, le=MAX_FRAMES, description="exact frame count")
    seconds: float | None = Field(None, gt=0, le=600, description="duration (default 2 s)")
    fps: float | None = Field(None, ge=1, le=120)
    steps: int | None = Field(None, ge=1, le=1000)
    sampler: Literal["euler", "multistep"] | None = Field(
        None, description="ODE solver; omitted: the model's default"
    )
    guidance: float | None = Field(None, ge=0, le=100)
    context_guidance: float | None = Field(None, ge=0, le=100)
    guidance_min_sigma: float | None = Field(
        None, ge=0, le=1, description="guide only at noise levels >= this; omitted: the model's"
    )
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    image: str | None = Field(None, description="start image, base64 PNG/JPEG (image-to-video)")
    references: list[str] = Field(
        default_factory=list,
        max_length=MAX_REFERENCES,
        description="element reference images, base64",
    )
    previous: str | list[str] | None = Field(
        None,
        description="carry-over: the previous clip as one base64 video (MP4), or a list of base64 "
        "PNG/JPEG frames in time order; only its last frames are used",
    )
    carry_over_strength: float = Field(1.0, ge=0, le=4)
    preview_every: int = Field(0, ge=0, le=1000, description="a small preview frame every N steps")

    @model_validator(mode="after")
    def _sizes(self) -> GenerationIn:
        if self.frames is not None and self.seconds is not None:
            raise ValueError("give frames or seconds, not both")
        if self.width and self.height and self.width * self.height > MAX_AREA:
            raise ValueError(
                f"frame size {self.width}x{self.height} is larger than 4096x4096 pixels"
            )
        if isinstance(self.previous, list) and len(self.previous) > MAX_PREVIOUS_FRAMES:
            raise ValueError(
                f"previous: at most {MAX_PREVIOUS_FRAMES} frames (only the last few are used)"
            )
        return self


class GenerationCreated(BaseModel):
    id: str
    status: Status
    queue_position: int | None = Field(None, description="0: next to run")


class GenerationOut(BaseModel):
    id: str
    status: Status
    progress: float = Field(description="0..1 over all sampling steps")
    step: int
    steps: int
    chunk: int = Field(description="0-based chunk of a long clip")
    chunks: int
    eta_s: float | None = None
    elapsed_s: float | None = None
    queue_position: int | None = None
    cancel_requested: bool = False
    error: str = ""
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    recipe: dict[str, Any] | None = Field(
        None, description="when done: everything needed to redo it"
    )


class GenerationList(BaseModel):
    generations: list[GenerationOut]


class ModelOut(BaseModel):
    id: str | None
    hash: str | None = None
    loaded: bool
    loading: bool = False
    error: str | None = None
    trained: bool | None = None
    device: str | None = None
    native_width: int | None = None
    native_height: int | None = None
    native_fps: float | None = None
    multiple: int | None = Field(None, description="width and height must be multiples of this")
    default_steps: int | None = None


class ModelList(BaseModel):
    models: list[ModelOut]


class MemoryOut(BaseModel):
    process_rss_bytes: int | None = None
    system_available_bytes: int | None = None
    device_total_bytes: int | None = None
    device_free_bytes: int | None = None
    device_allocated_bytes: int | None = None


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"
    model_loaded: bool
    loading: bool
    load_error: str | None = None
    model: str | None = None
    device: str
    memory: MemoryOut
    queued: int
    running: str | None = None


class ErrorOut(BaseModel):
    detail: str
