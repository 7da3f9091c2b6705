"""Element edits: characters, props, places and styles shared across scenes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import delete, func, insert, select, update

from .. import validate
from ..errors import InvalidValueError, NotFoundError
from ..models import ELEMENT_KINDS, Element, ElementImage
from .base import UNSET, Command, EditContext


def _check_kind(kind: str) -> str:
    if kind not in ELEMENT_KINDS:
        raise InvalidValueError(f"element kind must be one of {', '.join(ELEMENT_KINDS)}")
    return kind


def _check_name(ctx: EditContext, name: str, exclude_id: int | None = None) -> str:
    validate.text(name, "element name", empty_ok=False)
    if "," in name or name != name.strip():
        raise InvalidValueError(f"element name {name!r} must not contain commas or edge spaces")
    clash = ctx.conn.execute(
        select(Element.id).where(func.lower(Element.name) == name.lower())
    ).scalar_one_or_none()
    if clash is not None and clash != exclude_id:
        raise InvalidValueError(f"an element named {name!r} already exists")
    return name


def _add_images(ctx: EditContext, element_id: int, images: list[Path]) -> None:
    start = ctx.conn.execute(
        select(func.count()).select_from(ElementImage).where(ElementImage.element_id == element_id)
    ).scalar_one()
    for i, path in enumerate(images):
        asset_id = ctx.import_media(Path(path), "image")
        ctx.conn.execute(
            insert(ElementImage).values(
                element_id=element_id, asset_id=asset_id, position=start + i
            )
        )


@dataclass
class AddElement(Command):
    label: ClassVar[str] = "Add element"
    tables: ClassVar[tuple[str, ...]] = ("elements", "element_images")
    name: str = ""
    description: str = ""
    kind: str = "character"
    images: list[Path] = field(default_factory=list)

    def apply(self, ctx: EditContext) -> int:
        _check_name(ctx, self.name)
        validate.text(self.description, "description")
        _check_kind(self.kind)
        element_id = ctx.conn.execute(
            insert(Element).values(name=self.name, description=self.description, kind=self.kind)
        ).inserted_primary_key[0]
        _add_images(ctx, element_id, self.images)
        return int(element_id)


@dataclass
class EditElement(Command):
    label: ClassVar[str] = "Edit element"
    tables: ClassVar[tuple[str, ...]] = ("elements", "element_images")
    element_id: int = 0
    name: Any = UNSET
    description: Any = UNSET
    kind: Any = UNSET
    add_images: list[Path] = field(default_factory=list)
    remove_image_ids: list[int] = field(default_factory=list)  # element_images.id

    def apply(self, ctx: EditContext) -> None:
        exists = ctx.conn.execute(select(Element.id).where(Element.id == self.element_id)).first()
        if exists is None:
            raise NotFoundError(f"no element with id {self.element_id}")
        values: dict[str, Any] = {}
        if self.name is not UNSET:
            values["name"] = _check_name(ctx, self.name, exclude_id=self.element_id)
        if self.description is not UNSET:
            values["description"] = validate.text(self.description, "description")
        if self.kind is not UNSET:
            values["kind"] = _check_kind(self.kind)
        if values:
            ctx.conn.execute(update(Element).where(Element.id == self.element_id).values(**values))
        if self.remove_image_ids:
            ctx.conn.execute(
                delete(ElementImage).where(
                    ElementImage.element_id == self.element_id,
                    ElementImage.id.in_(self.remove_image_ids),
                )
            )
        _add_images(ctx, self.element_id, self.add_images)


@dataclass
class RemoveElement(Command):
    """Remove an element; scenes that used it lose the link (undo restores both)."""

    label: ClassVar[str] = "Remove element"
    tables: ClassVar[tuple[str, ...]] = ("elements", "element_images", "scene_elements")
    element_id: int = 0

    def apply(self, ctx: EditContext) -> None:
        gone = ctx.conn.execute(delete(Element).where(Element.id == self.element_id)).rowcount
        if not gone:
            raise NotFoundError(f"no element with id {self.element_id}")
