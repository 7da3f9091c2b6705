"""Audio edits: tracks (name, gain, mute, solo) holding clips (asset, start, in/out, gain, fades)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import delete, func, insert, select, update

from .. import validate
from ..errors import InvalidValueError, NotFoundError
from ..models import AudioClip, AudioTrack
from .base import UNSET, Command, EditContext

DEFAULT_TRACK = "Audio 1"


def track_id_for(ctx: EditContext, name: str) -> int:
    """The track with this name, made at the bottom if there is none."""
    validate.text(name, "track name", empty_ok=False)
    found = ctx.conn.execute(select(AudioTrack.id).where(AudioTrack.name == name)).scalar()
    if found is not None:
        return int(found)
    pos = ctx.conn.execute(select(func.count()).select_from(AudioTrack)).scalar_one()
    return int(
        ctx.conn.execute(insert(AudioTrack).values(name=name, position=pos)).inserted_primary_key[0]
    )


def _clip_values(src: Any) -> dict[str, Any]:
    v: dict[str, Any] = {}
    if src.start is not UNSET:
        v["start"] = validate.non_negative(src.start, "start")
    if src.in_point is not UNSET:
        v["in_point"] = validate.non_negative(src.in_point, "in point")
    if src.out_point is not UNSET:
        v["out_point"] = (
            None if src.out_point is None else validate.positive(src.out_point, "out point")
        )
    if src.gain_db is not UNSET:
        v["gain_db"] = validate.finite(src.gain_db, "gain")
    if src.fade_in is not UNSET:
        v["fade_in"] = validate.non_negative(src.fade_in, "fade-in")
    if src.fade_out is not UNSET:
        v["fade_out"] = validate.non_negative(src.fade_out, "fade-out")
    if v.get("out_point") is not None and v["out_point"] <= v.get("in_point", 0.0):
        raise InvalidValueError("the out point must come after the in point")
    return v


@dataclass
class AddAudioClip(Command):
    label: ClassVar[str] = "Add audio"
    tables: ClassVar[tuple[str, ...]] = ("audio_tracks", "audio_clips")
    path: Path | None = None
    asset_id: int | None = None
    track: str = DEFAULT_TRACK
    start: float = 0.0
    in_point: float = 0.0
    out_point: float | None = None
    gain_db: float = 0.0
    fade_in: float = 0.0
    fade_out: float = 0.0

    def apply(self, ctx: EditContext) -> int:
        values = _clip_values(self)
        asset_id = self.asset_id
        if self.path is not None:
            asset_id = ctx.import_media(Path(self.path), "audio")
        if asset_id is None:
            raise InvalidValueError("an audio clip needs a file")
        track_id = track_id_for(ctx, self.track)
        return int(
            ctx.conn.execute(
                insert(AudioClip).values(track_id=track_id, asset_id=asset_id, **values)
            ).inserted_primary_key[0]
        )


@dataclass
class EditAudioClip(Command):
    label: ClassVar[str] = "Edit audio clip"
    tables: ClassVar[tuple[str, ...]] = ("audio_tracks", "audio_clips")
    clip_id: int = 0
    track: Any = UNSET  # a track name (made if new)
    start: Any = UNSET
    in_point: Any = UNSET
    out_point: Any = UNSET
    gain_db: Any = UNSET
    fade_in: Any = UNSET
    fade_out: Any = UNSET

    def apply(self, ctx: EditContext) -> None:
        if (
            ctx.conn.execute(select(AudioClip.id).where(AudioClip.id == self.clip_id)).first()
            is None
        ):
            raise NotFoundError(f"no audio clip with id {self.clip_id}")
        values = _clip_values(self)
        if self.track is not UNSET:
            values["track_id"] = track_id_for(ctx, self.track)
        if values:
            ctx.conn.execute(update(AudioClip).where(AudioClip.id == self.clip_id).values(**values))


@dataclass
class RemoveAudioClip(Command):
    label: ClassVar[str] = "Remove audio clip"
    tables: ClassVar[tuple[str, ...]] = ("audio_clips",)
    clip_id: int = 0

    def apply(self, ctx: EditContext) -> None:
        if not ctx.conn.execute(delete(AudioClip).where(AudioClip.id == self.clip_id)).rowcount:
            raise NotFoundError(f"no audio clip with id {self.clip_id}")


@dataclass
class EditAudioTrack(Command):
    label: ClassVar[str] = "Edit audio track"
    tables: ClassVar[tuple[str, ...]] = ("audio_tracks",)
    track_id: int = 0
    name: Any = UNSET
    gain_db: Any = UNSET
    mute: Any = UNSET
    solo: Any = UNSET

    def apply(self, ctx: EditContext) -> None:
        values: dict[str, Any] = {}
        if self.name is not UNSET:
            values["name"] = validate.text(self.name, "track name", empty_ok=False)
        if self.gain_db is not UNSET:
            values["gain_db"] = validate.finite(self.gain_db, "gain")
        for flag in ("mute", "solo"):
            if getattr(self, flag) is not UNSET:
                values[flag] = bool(getattr(self, flag))
        done = ctx.conn.execute(
            update(AudioTrack).where(AudioTrack.id == self.track_id).values(**values)
            if values
            else select(AudioTrack.id).where(AudioTrack.id == self.track_id)
        )
        if (done.rowcount if values else len(done.all())) == 0:
            raise NotFoundError(f"no audio track with id {self.track_id}")
