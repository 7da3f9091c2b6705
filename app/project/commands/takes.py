"""Takes: adding one (generation's result, with its immutable recipe), choosing one, deleting one."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import delete, insert, select, update

from ..errors import InvalidValueError, NotFoundError
from ..media import MediaInfo
from ..models import Scene, Take
from .base import Command, EditContext, scene_position


@dataclass
class AddTake(Command):
    """Store a generated video as a take of a scene; by default it becomes the chosen take."""

    label: ClassVar[str] = "Add take"
    tables: ClassVar[tuple[str, ...]] = ("takes", "scenes")
    scene_id: int = 0
    video: Path | bytes | None = None
    info: MediaInfo | None = None  # known media info (skips probing); None: probe the file
    asset_id: int | None = None  # an already stored asset instead of `video`
    recipe: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    job_id: int | None = None
    choose: bool = True

    def apply(self, ctx: EditContext) -> int:
        scene_position(ctx.conn, self.scene_id)
        try:
            recipe = json.dumps(self.recipe, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise InvalidValueError(f"a take's recipe must be plain JSON ({e})") from e
        asset_id = self.asset_id
        if self.video is not None:
            if self.info is None:
                if not isinstance(self.video, Path):
                    raise InvalidValueError("video bytes need their MediaInfo")
                asset_id = ctx.import_media(self.video, "video")
            else:
                asset_id = ctx.store_media(self.video, self.info, "take.mp4")
        if asset_id is None:
            raise InvalidValueError("a take needs a video")
        seed = self.seed if self.seed is not None else self.recipe.get("seed")
        take_id = ctx.conn.execute(
            insert(Take).values(
                scene_id=self.scene_id,
                asset_id=asset_id,
                recipe=recipe,
                seed=seed,
                job_id=self.job_id,
                created_at=time.time(),
            )
        ).inserted_primary_key[0]
        if self.choose:
            ctx.conn.execute(
                update(Scene).where(Scene.id == self.scene_id).values(chosen_take_id=take_id)
            )
        return int(take_id)


@dataclass
class ChooseTake(Command):
    label: ClassVar[str] = "Choose take"
    tables: ClassVar[tuple[str, ...]] = ("scenes",)
    scene_id: int = 0
    take_id: int | None = None  # None: no chosen take

    def apply(self, ctx: EditContext) -> None:
        scene_position(ctx.conn, self.scene_id)
        if self.take_id is not None:
            owner = ctx.conn.execute(
                select(Take.scene_id).where(Take.id == self.take_id)
            ).scalar_one_or_none()
            if owner != self.scene_id:
                raise NotFoundError(f"scene {self.scene_id} has no take {self.take_id}")
        ctx.conn.execute(
            update(Scene).where(Scene.id == self.scene_id).values(chosen_take_id=self.take_id)
        )


@dataclass
class DeleteTake(Command):
    """Remove a take from its scene (undoable). When it was the chosen take, the newest other
    take becomes the chosen one (none if it was the last). Its video stays in the file's media
    until nothing refers to it, so undo brings the take back whole."""

    label: ClassVar[str] = "Delete take"
    tables: ClassVar[tuple[str, ...]] = ("takes", "scenes")
    take_id: int = 0

    def apply(self, ctx: EditContext) -> None:
        scene_id = ctx.conn.execute(
            select(Take.scene_id).where(Take.id == self.take_id)
        ).scalar_one_or_none()
        if scene_id is None:
            raise NotFoundError(f"no take with id {self.take_id}")
        chosen = ctx.conn.execute(
            select(Scene.chosen_take_id).where(Scene.id == scene_id)
        ).scalar_one()
        if chosen == self.take_id:
            newest = ctx.conn.execute(
                select(Take.id)
                .where(Take.scene_id == scene_id, Take.id != self.take_id)
                .order_by(Take.created_at.desc(), Take.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            ctx.conn.execute(
                update(Scene).where(Scene.id == scene_id).values(chosen_take_id=newest)
            )
        ctx.conn.execute(delete(Take).where(Take.id == self.take_id))
