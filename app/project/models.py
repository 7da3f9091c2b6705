"""The project file's tables as typed SQLAlchemy 2 models.

Times are Unix seconds (float). Media live in `assets` + `asset_chunks`, content-addressed by
SHA-256; rows refer to media by asset id only, never by a path, so a copied file opens complete.
Scene positions are 0-based and contiguous; the command layer keeps them so.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")
ASSET_KINDS = ("image", "video", "audio")
ELEMENT_KINDS = ("character", "prop", "place", "style")


class Base(DeclarativeBase):
    pass


class ProjectRow(Base):
    """The single settings row (id 1)."""

    __tablename__ = "project"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    fps: Mapped[float] = mapped_column(Float)
    style_prompt: Mapped[str] = mapped_column(Text, default="", server_default="")
    generation: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")  # JSON
    created_at: Mapped[float] = mapped_column(Float)


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    original_name: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(Text, default="")  # container / codec short name
    size_bytes: Mapped[int] = mapped_column(Integer)
    chunk_size: Mapped[int] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    sample_rate: Mapped[int | None] = mapped_column(Integer, nullable=True)
    channels: Mapped[int | None] = mapped_column(Integer, nullable=True)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # JPEG
    waveform: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # uint8 peaks
    created_at: Mapped[float] = mapped_column(Float)


class AssetChunk(Base):
    __tablename__ = "asset_chunks"
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Scene(Base):
    __tablename__ = "scenes"
    __table_args__ = (Index("ix_scenes_position", "position"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="", server_default="")
    prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text, default="", server_default="")  # v2
    duration: Mapped[float] = mapped_column(Float)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: random per take
    image_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), nullable=True)
    carry_over: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("1"))
    carry_over_strength: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")
    # v3: overrides of the project's generation defaults (steps, guidance) as JSON
    generation: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    chosen_take_id: Mapped[int | None] = mapped_column(
        ForeignKey("takes.id", ondelete="SET NULL", use_alter=True), nullable=True
    )


class Element(Base):
    __tablename__ = "elements"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="character", server_default="character")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")


class ElementImage(Base):
    __tablename__ = "element_images"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    element_id: Mapped[int] = mapped_column(
        ForeignKey("elements.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    position: Mapped[int] = mapped_column(Integer)


class SceneElement(Base):
    __tablename__ = "scene_elements"
    scene_id: Mapped[int] = mapped_column(
        ForeignKey("scenes.id", ondelete="CASCADE"), primary_key=True
    )
    element_id: Mapped[int] = mapped_column(
        ForeignKey("elements.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RenderJob(Base):
    __tablename__ = "render_jobs"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scene_id: Mapped[int | None] = mapped_column(
        ForeignKey("scenes.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="take")
    request: Mapped[str] = mapped_column(Text)  # JSON of what was asked of the engine
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str] = mapped_column(Text, default="")
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Take(Base):
    """One generation of a scene; immutable (a schema trigger refuses updates)."""

    __tablename__ = "takes"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scene_id: Mapped[int] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    recipe: Mapped[str] = mapped_column(Text)  # JSON: model id/hash, prompt, seed, steps, ...
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("render_jobs.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[float] = mapped_column(Float)


class AudioTrack(Base):
    __tablename__ = "audio_tracks"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    position: Mapped[int] = mapped_column(Integer)
    gain_db: Mapped[float] = mapped_column(Float, default=0.0)
    mute: Mapped[bool] = mapped_column(Boolean, default=False)
    solo: Mapped[bool] = mapped_column(Boolean, default=False)


class AudioClip(Base):
    __tablename__ = "audio_clips"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(
        ForeignKey("audio_tracks.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    start: Mapped[float] = mapped_column(Float, default=0.0)  # seconds on the timeline
    in_point: Mapped[float] = mapped_column(Float, default=0.0)  # seconds into the asset
    out_point: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: to the end
    gain_db: Mapped[float] = mapped_column(Float, default=0.0)
    fade_in: Mapped[float] = mapped_column(Float, default=0.0)
    fade_out: Mapped[float] = mapped_column(Float, default=0.0)


class HistoryStep(Base):
    """One undoable edit; `state` is 'done' (undo stack) or 'undone' (redo stack)."""

    __tablename__ = "history_steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(8), index=True)
    tables: Mapped[str] = mapped_column(Text, default="")  # comma-joined, for listeners
    created_at: Mapped[float] = mapped_column(Float)


class HistoryOp(Base):
    """One inverse SQL statement recorded by the undo triggers."""

    __tablename__ = "history_ops"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_id: Mapped[int] = mapped_column(
        ForeignKey("history_steps.id", ondelete="CASCADE"), index=True
    )
    sql: Mapped[str] = mapped_column(Text)


# Tables whose every change is recorded for undo. Media and the job log are not: assets are
# append-only (undo never needs their bytes back) and jobs are a record of what happened.
UNDOABLE_TABLES = (
    "project",
    "scenes",
    "elements",
    "element_images",
    "scene_elements",
    "takes",
    "audio_tracks",
    "audio_clips",
)
