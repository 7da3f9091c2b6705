"""The command layer: every edit is a small dataclass with `label`, `tables` and `apply(ctx)`.

`Project.execute(cmd)` runs `apply` in one SQLite transaction and records one undo step, so an
edit is saved the moment it is made. The editor wraps this in a QUndoCommand whose first `redo()`
calls `project.execute(cmd)`, later `redo()`s call `project.redo()` and `undo()` calls
`project.undo()`; the history itself lives in the file (see history.py), not in the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from sqlalchemy import Connection, select

from ..errors import NotFoundError
from ..media import MediaInfo
from ..models import Element, Scene


class EditContext(Protocol):
    """What a command may use while its transaction is open."""

    conn: Connection

    def import_media(self, path: Path, kind: str) -> int:
        """Probe, validate and store a file; returns its asset id (deduplicated)."""
        ...

    def store_media(self, data: Path | bytes, info: MediaInfo, name: str) -> int:
        """Store media whose info is already known (e.g. the engine's own output)."""
        ...


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # "leave this field as it is" where None is a meaningful value


@dataclass
class Command:
    label: ClassVar[str] = "Edit"
    tables: ClassVar[tuple[str, ...]] = ()

    def apply(self, ctx: EditContext) -> Any:
        raise NotImplementedError


def scene_position(conn: Connection, scene_id: int) -> int:
    pos = conn.execute(select(Scene.position).where(Scene.id == scene_id)).scalar_one_or_none()
    if pos is None:
        raise NotFoundError(f"no scene with id {scene_id}")
    return int(pos)


def scene_count(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT count(*) FROM scenes").scalar_one())


def element_ids(conn: Connection, names: list[str]) -> list[int]:
    """Element names -> ids (case-insensitive); an unknown name is an error."""
    rows = dict(conn.execute(select(Element.name, Element.id)).all())
    lowered = {n.lower(): i for n, i in rows.items()}
    out: list[int] = []
    for name in names:
        found = rows.get(name, lowered.get(name.lower()))
        if found is None:
            raise NotFoundError(f"no element named {name!r}")
        out.append(int(found))
    return out
