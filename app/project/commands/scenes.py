"""Scene edits: add, edit, move, remove. Positions stay 0-based and contiguous."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import delete, insert, select, update

from .. import validate
from ..errors import InvalidValueError
from ..models import Element, Scene, SceneElement
from .base import UNSET, Command, EditContext, element_ids, scene_count, scene_position

MENTION = re.compile(r"@([\w][\w-]*)")
DEFAULT_DURATION = 4.0


def mentioned_elements(ctx: EditContext, prompt: str) -> list[int]:
    """`@Mara` in a prompt links the element named Mara (unknown mentions stay plain text)."""
    names = {m.lower() for m in MENTION.findall(prompt)}
    if not names:
        return []
    rows = ctx.conn.execute(select(Element.id, Element.name)).all()
    return [int(i) for i, n in rows if n.lower() in names]


def _link(ctx: EditContext, scene_id: int, ids: list[int]) -> None:
    have = set(
        ctx.conn.execute(
            select(SceneElement.element_id).where(SceneElement.scene_id == scene_id)
        ).scalars()
    )
    for eid in dict.fromkeys(ids):
        if eid not in have:
            ctx.conn.execute(insert(SceneElement).values(scene_id=scene_id, element_id=eid))


@dataclass
class AddScene(Command):
    label: ClassVar[str] = "Add scene"
    tables: ClassVar[tuple[str, ...]] = ("scenes", "scene_elements")
    prompt: str = ""
    duration: float = DEFAULT_DURATION
    image: Path | None = None
    image_asset_id: int | None = None
    seed: int | None = None
    at: int | None = None  # None: at the end
    elements: list[str] = field(default_factory=list)
    title: str = ""
    negative_prompt: str = ""
    carry_over: bool = True
    carry_over_strength: float = 1.0
    generation: dict[str, Any] = field(default_factory=dict)  # overrides: steps, guidance

    def apply(self, ctx: EditContext) -> int:
        validate.text(self.prompt, "prompt")
        validate.text(self.title, "title")
        validate.text(self.negative_prompt, "negative prompt")
        validate.positive(self.duration, "duration")
        validate.seed(self.seed)
        ids = element_ids(ctx.conn, self.elements)
        n = scene_count(ctx.conn)
        at = n if self.at is None else self.at
        if at < 0:
            raise InvalidValueError(f"scene index must be 0 or more, got {at}")
        at = min(at, n)
        image_id = self.image_asset_id
        if self.image is not None:
            image_id = ctx.import_media(self.image, "image")
        if at < n:
            ctx.conn.execute(
                update(Scene).where(Scene.position >= at).values(position=Scene.position + 1)
            )
        scene_id = ctx.conn.execute(
            insert(Scene).values(
                position=at,
                title=self.title,
                prompt=self.prompt,
                negative_prompt=self.negative_prompt,
                duration=float(self.duration),
                seed=self.seed,
                image_asset_id=image_id,
                carry_over=self.carry_over,
                carry_over_strength=validate.finite(
                    self.carry_over_strength, "carry-over strength"
                ),
                generation=json.dumps(validate.scene_generation(self.generation), sort_keys=True),
            )
        ).inserted_primary_key[0]
        _link(ctx, scene_id, ids + mentioned_elements(ctx, self.prompt))
        return int(scene_id)


@dataclass
class EditScene(Command):
    """Change some fields of a scene; fields left UNSET keep their value."""

    label: ClassVar[str] = "Edit scene"
    tables: ClassVar[tuple[str, ...]] = ("scenes", "scene_elements")
    scene_id: int = 0
    prompt: Any = UNSET
    duration: Any = UNSET
    image: Any = UNSET  # Path to import, or None to clear
    image_asset_id: Any = UNSET
    seed: Any = UNSET  # int, or None for random
    elements: Any = UNSET  # list of names: replaces the scene's elements
    title: Any = UNSET
    negative_prompt: Any = UNSET
    carry_over: Any = UNSET
    carry_over_strength: Any = UNSET
    generation: Any = UNSET  # dict of overrides ({} for the project's defaults)

    def apply(self, ctx: EditContext) -> None:
        scene_position(ctx.conn, self.scene_id)  # raises for an unknown id
        values: dict[str, Any] = {}
        for name, what in (
            ("prompt", "prompt"),
            ("title", "title"),
            ("negative_prompt", "negative prompt"),
        ):
            v = getattr(self, name)
            if v is not UNSET:
                values[name] = validate.text(v, what)
        if self.duration is not UNSET:
            values["duration"] = validate.positive(self.duration, "duration")
        if self.seed is not UNSET:
            values["seed"] = validate.seed(self.seed)
        if self.carry_over is not UNSET:
            values["carry_over"] = bool(self.carry_over)
        if self.carry_over_strength is not UNSET:
            values["carry_over_strength"] = validate.finite(
                self.carry_over_strength, "carry-over strength"
            )
        if self.generation is not UNSET:
            values["generation"] = json.dumps(
                validate.scene_generation(self.generation), sort_keys=True
            )
        ids = element_ids(ctx.conn, self.elements) if self.elements is not UNSET else None
        if self.image_asset_id is not UNSET:
            values["image_asset_id"] = self.image_asset_id
        if self.image is not UNSET:
            values["image_asset_id"] = (
                None if self.image is None else ctx.import_media(Path(self.image), "image")
            )
        if values:
            ctx.conn.execute(update(Scene).where(Scene.id == self.scene_id).values(**values))
        if ids is not None:
            ctx.conn.execute(
                delete(SceneElement).where(
                    SceneElement.scene_id == self.scene_id, SceneElement.element_id.not_in(ids)
                )
            )
            _link(ctx, self.scene_id, ids)
        if "prompt" in values:
            _link(ctx, self.scene_id, mentioned_elements(ctx, values["prompt"]))


@dataclass
class MoveScene(Command):
    label: ClassVar[str] = "Move scene"
    tables: ClassVar[tuple[str, ...]] = ("scenes",)
    scene_id: int = 0
    to: int = 0

    def apply(self, ctx: EditContext) -> int:
        src = scene_position(ctx.conn, self.scene_id)
        if self.to < 0:
            raise InvalidValueError(f"scene index must be 0 or more, got {self.to}")
        dst = min(self.to, scene_count(ctx.conn) - 1)
        if dst > src:
            ctx.conn.execute(
                update(Scene)
                .where(Scene.position > src, Scene.position <= dst)
                .values(position=Scene.position - 1)
            )
        elif dst < src:
            ctx.conn.execute(
                update(Scene)
                .where(Scene.position >= dst, Scene.position < src)
                .values(position=Scene.position + 1)
            )
        ctx.conn.execute(update(Scene).where(Scene.id == self.scene_id).values(position=dst))
        return dst


@dataclass
class RemoveScene(Command):
    """Remove a scene with its takes (undo brings all of them back)."""

    label: ClassVar[str] = "Remove scene"
    tables: ClassVar[tuple[str, ...]] = ("scenes", "scene_elements", "takes")
    scene_id: int = 0

    def apply(self, ctx: EditContext) -> None:
        pos = scene_position(ctx.conn, self.scene_id)
        ctx.conn.execute(delete(Scene).where(Scene.id == self.scene_id))
        ctx.conn.execute(
            update(Scene).where(Scene.position > pos).values(position=Scene.position - 1)
        )
