"""Project-wide settings: title, frame size, fps, shared style prompt, generation defaults."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import update

from .. import validate
from ..errors import InvalidValueError
from ..models import ProjectRow
from .base import UNSET, Command, EditContext


@dataclass
class EditSettings(Command):
    label: ClassVar[str] = "Edit project settings"
    tables: ClassVar[tuple[str, ...]] = ("project",)
    title: Any = UNSET
    width: Any = UNSET
    height: Any = UNSET
    fps: Any = UNSET
    style_prompt: Any = UNSET
    generation: Any = UNSET  # dict of default generation settings

    def apply(self, ctx: EditContext) -> None:
        values: dict[str, Any] = {}
        if self.title is not UNSET:
            values["title"] = validate.text(self.title, "title", empty_ok=False)
        if self.style_prompt is not UNSET:
            values["style_prompt"] = validate.text(self.style_prompt, "style prompt")
        if self.fps is not UNSET:
            values["fps"] = validate.fps(self.fps)
        if self.width is not UNSET or self.height is not UNSET:
            row = ctx.conn.execute(ProjectRow.__table__.select()).one()
            w = row.width if self.width is UNSET else int(self.width)
            h = row.height if self.height is UNSET else int(self.height)
            values["width"], values["height"] = validate.frame_size(w, h)
        if self.generation is not UNSET:
            try:
                values["generation"] = json.dumps(self.generation, sort_keys=True, allow_nan=False)
            except (TypeError, ValueError) as e:
                raise InvalidValueError(f"generation settings must be plain JSON ({e})") from e
        if values:
            ctx.conn.execute(update(ProjectRow).where(ProjectRow.id == 1).values(**values))
