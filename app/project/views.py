"""Read-only snapshots handed to the editor, the CLI, render and generation. Plain frozen
dataclasses: no session, no lazy loading, safe to pass between threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProjectInfo:
    title: str
    width: int
    height: int
    fps: float
    style_prompt: str
    generation: dict[str, Any]
    schema_version: int


@dataclass(frozen=True)
class SceneView:
    id: int
    position: int  # 0-based place on the timeline
    title: str
    prompt: str
    negative_prompt: str
    duration: float  # seconds
    seed: int | None  # None: a new random seed for every take
    image_asset_id: int | None
    carry_over: bool
    carry_over_strength: float
    chosen_take_id: int | None
    elements: tuple[str, ...] = ()
    takes: tuple[int, ...] = ()
    generation: dict[str, Any] = field(default_factory=dict)  # overrides of project defaults


@dataclass(frozen=True)
class ElementView:
    id: int
    name: str
    kind: str
    description: str
    image_asset_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class TakeView:
    id: int
    scene_id: int
    asset_id: int
    recipe: dict[str, Any]
    seed: int | None
    job_id: int | None
    created_at: float


@dataclass(frozen=True)
class AudioClipView:
    id: int
    track_id: int
    asset_id: int
    start: float
    in_point: float
    out_point: float | None
    gain_db: float
    fade_in: float
    fade_out: float


@dataclass(frozen=True)
class AudioTrackView:
    id: int
    name: str
    position: int
    gain_db: float
    mute: bool
    solo: bool
    clips: tuple[AudioClipView, ...] = ()


@dataclass(frozen=True)
class AssetView:
    id: int
    sha256: str
    kind: str
    original_name: str
    format: str
    size_bytes: int
    chunk_size: int
    duration: float | None
    width: int | None
    height: int | None
    fps: float | None
    sample_rate: int | None
    channels: int | None


@dataclass(frozen=True)
class JobView:
    id: int
    scene_id: int | None
    kind: str
    request: dict[str, Any]
    status: str  # queued | running | done | failed | cancelled
    progress: float  # 0..1
    error: str
    interrupted: bool  # was running when a previous session died
    created_at: float
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True)
class Change:
    """What a listener hears after every committed change."""

    label: str
    source: str  # "do" | "undo" | "redo" | "job"
    tables: tuple[str, ...] = field(default_factory=tuple)
