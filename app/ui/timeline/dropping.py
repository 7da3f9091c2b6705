"""Drops on the timeline: files from the desktop (images, videos, audio, several at once),
elements from the elements panel, and media from the media bin. Where it lands decides what it
does: an image on the empty lane makes an image-to-video scene, on a scene it becomes the start
image; a video makes a scene whose take is that video (on a scene: a new take of it); audio on
an audio lane becomes a clip on that track at that time. A film or clip exported by Storyloom
offers to restore its recipe (its scenes, prompts, durations and seeds) instead. Files are decoded
on a worker; one that cannot be decoded is reported where it was dropped and nothing changes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtWidgets import QMessageBox

from app.render.provenance import restorable

from .. import edits
from ..media_import import Imported, media_kind
from .items import SceneCard
from .layout import insertion_index

if TYPE_CHECKING:
    from .view import TimelineView

MIME_ELEMENT = "application/x-storyloom-element"  # utf-8 element name
MIME_ASSETS = "application/x-storyloom-assets"  # JSON list of asset ids


@dataclass(frozen=True)
class Target:
    lane: str  # video | audio
    time: float
    index: int  # where new scenes go
    scene_id: int | None  # the card under the drop, if any
    track: str  # the audio track for audio


def local_files(mime: QMimeData) -> list[Path]:
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]


def accepts(mime: QMimeData) -> bool:
    return mime.hasFormat(MIME_ELEMENT) or mime.hasFormat(MIME_ASSETS) or bool(local_files(mime))


def target_at(view: TimelineView, pos: QPointF) -> Target:
    g = view.geo
    t = view.snap_time(g.t(pos.x()))
    lane, index = g.lane_at(pos.y())
    card = next((i for i in view.items(view.mapFromScene(pos)) if isinstance(i, SceneCard)), None)
    if lane == "audio":
        return Target("audio", t, insertion_index(view.spans, t), None, view.lane_name(index))
    track = view.tracks[0].name if view.tracks else view.lane_name(0)
    return Target(
        "video", t, insertion_index(view.spans, t), card.scene_id if card else None, track
    )


def clear_hover(view: TimelineView) -> None:
    for card in view.cards.values():
        if card.drop_hover:
            card.drop_hover = False
            card.update()
    view.insert_line = None
    view.viewport().update()


def drag_enter(view: TimelineView, event) -> None:  # type: ignore[no-untyped-def]
    if accepts(event.mimeData()):
        event.acceptProposedAction()
    else:
        event.ignore()


def drag_move(view: TimelineView, event) -> None:  # type: ignore[no-untyped-def]
    if not accepts(event.mimeData()):
        event.ignore()
        return
    target = target_at(view, view.mapToScene(event.position().toPoint()))
    clear_hover(view)
    if target.lane == "video" and target.scene_id is not None:
        view.cards[target.scene_id].drop_hover = True
        view.cards[target.scene_id].update()
    elif target.lane == "video":
        sp = view.spans
        at = sp[target.index].start if target.index < len(sp) else (sp[-1].end if sp else 0.0)
        view.insert_line = view.geo.x(at)
    event.setDropAction(Qt.DropAction.CopyAction)
    event.accept()


def drop(view: TimelineView, event) -> None:  # type: ignore[no-untyped-def]
    clear_hover(view)
    mime = event.mimeData()
    pos = view.mapToScene(event.position().toPoint())
    target = target_at(view, pos)
    event.setDropAction(Qt.DropAction.CopyAction)
    event.accept()
    if mime.hasFormat(MIME_ELEMENT):
        name = bytes(mime.data(MIME_ELEMENT).data()).decode("utf-8")
        if target.scene_id is None:
            view.show_message(f"Drop {name} on a scene to put it in that scene", "info", pos)
        else:
            view.run_edit(lambda: edits.add_element_to_scene(view.doc, target.scene_id, name))
        return
    if mime.hasFormat(MIME_ASSETS):
        ids = json.loads(bytes(mime.data(MIME_ASSETS).data()).decode("utf-8"))
        items = []
        for aid in ids:
            a = view.doc.asset(int(aid))
            items.append(Imported(Path(a.original_name or f"{a.kind}"), a.kind, a.id, a.duration))
        place(view, items, target, pos)
        return
    paths = local_files(mime)
    unknown = [p for p in paths if media_kind(p) is None]
    if unknown:
        view.show_message(
            f"{unknown[0].name}: not an image, video or audio file Storyloom can import",
            "error",
            pos,
        )
        return
    view.show_message(f"Importing {len(paths)} file{'s' * (len(paths) > 1)}…", "info", pos)
    view.doc.import_files(
        paths,
        on_done=lambda items: place(view, items, target, pos),
        on_failed=lambda msg: view.show_message(msg, "error", pos),
    )


def place(view: TimelineView, items: list[Imported], target: Target, pos: QPointF) -> None:
    """Put imported media where they were dropped (one undo step). A clip or film exported by
    Storyloom dropped on the empty lane offers to restore its recipe (as ComfyUI does)."""
    if not items:
        return
    onto = target.scene_id if target.lane == "video" else None
    ours = [i for i in items if edits.can_restore(i)] if onto is None else []
    restore = bool(ours) and ask_restore(view, ours)
    view.run_edit(
        lambda: edits.drop_media(
            view.doc, items, target.index, target.time, target.track, onto, restore=restore
        )
    )
    view._message.hide()


def ask_restore(view: TimelineView, items: list[Imported]) -> bool:
    n = sum(len(restorable(i.recipe or {})[0]) for i in items)
    names = ", ".join(i.path.name for i in items)
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Restore recipe",
        f"{names} {'was' if len(items) == 1 else 'were'} made with Storyloom.\n\n"
        f"Restore {'its' if len(items) == 1 else 'their'} recipe as {n} scene{'s' * (n > 1)} "
        "with the same prompts, durations and seeds, or import as plain video?",
        parent=view,
    )
    restore = box.addButton("Restore recipe", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Import as video", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(restore)
    box.exec()
    return box.clickedButton() is restore
