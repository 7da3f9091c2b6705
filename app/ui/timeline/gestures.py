"""Mouse gestures on the timeline, each a small object the view feeds with mouse positions:
scrubbing the ruler, dragging scene cards to reorder, dragging a card's right edge to change its
duration, and moving audio clips in time and between lanes. A gesture shows its effect live and
makes one edit when the button is released."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF

from app.project import EditAudioClip

from .. import edits
from .geometry import SNAP_PX
from .layout import grid_step, insertion_index, snap

if TYPE_CHECKING:
    from .items import AudioClipItem, SceneCard
    from .view import TimelineView

DRAG_START_PX = 4


class Gesture:
    def move(self, pos: QPointF) -> None: ...

    def finish(self, pos: QPointF) -> None: ...

    def cancel(self) -> None: ...


class Scrub(Gesture):
    def __init__(self, view: TimelineView, pos: QPointF) -> None:
        self.view = view
        self.move(pos)

    def move(self, pos: QPointF) -> None:
        self.view.transport.seek(self.view.snap_time(self.view.geo.t(pos.x()), playhead=False))


class ResizeScene(Gesture):
    def __init__(self, view: TimelineView, card: SceneCard) -> None:
        self.view, self.card = view, card
        self.span = next(s for s in view.spans if s.scene_id == card.scene_id)
        self.duration = self.span.duration

    def move(self, pos: QPointF) -> None:
        v = self.view
        end = v.snap_time(v.geo.t(pos.x()), exclude=self.card.scene_id, grid=True)
        self.duration = max(edits.MIN_DURATION, end - self.span.start)
        self.card.set_size(self.duration * v.geo.pps, self.card.h)
        v.snap_line = v.geo.x(self.span.start + self.duration)
        v.viewport().update()

    def finish(self, pos: QPointF) -> None:
        self.view.snap_line = None
        if abs(self.duration - self.span.duration) >= 1e-3:
            self.view.run_edit(
                lambda: edits.set_duration(self.view.doc, self.card.scene_id, self.duration)
            )
        else:
            self.view.relayout()

    def cancel(self) -> None:
        self.view.snap_line = None
        self.view.relayout()


class MoveScenes(Gesture):
    """Drag the selected cards as a block; an insertion marker shows where they will land."""

    def __init__(self, view: TimelineView, card: SceneCard, pos: QPointF) -> None:
        self.view, self.card, self.origin = view, card, pos
        self.ids = [s.scene_id for s in view.spans if view.cards[s.scene_id].isSelected()]
        if card.scene_id not in self.ids:
            self.ids = [card.scene_id]
        self.start_x = {i: view.cards[i].x() for i in self.ids}
        self.dragging = False
        self.to: int | None = None

    def move(self, pos: QPointF) -> None:
        v = self.view
        dx = pos.x() - self.origin.x()
        if not self.dragging and abs(dx) < DRAG_START_PX:
            return
        self.dragging = True
        for i in self.ids:
            item = v.cards[i]
            item.setZValue(10)
            item.setX(self.start_x[i] + dx)
            item.setOpacity(0.8)
        centre = v.geo.t(self.card.x() + self.card.w / 2)
        self.to = insertion_index(v.spans, centre)
        marker = v.spans[self.to].start if self.to < len(v.spans) else v.spans[-1].end
        v.insert_line = v.geo.x(marker)
        v.viewport().update()

    def finish(self, pos: QPointF) -> None:
        v = self.view
        v.insert_line = None
        to, ids = self.to, self.ids
        for i in ids:
            v.cards[i].setOpacity(1.0)
            v.cards[i].setZValue(0)
        if self.dragging and to is not None:
            v.run_edit(lambda: edits.move_scenes(v.doc, ids, to) or v.relayout())
        else:
            v.relayout()

    def cancel(self) -> None:
        self.view.insert_line = None
        self.view.relayout()


class MoveClip(Gesture):
    def __init__(self, view: TimelineView, item: AudioClipItem, pos: QPointF) -> None:
        self.view, self.item, self.origin = view, item, pos
        self.start0 = item.clip.start if item.clip else 0.0
        self.y0 = item.y()
        self.dragging = False
        self.start = self.start0
        self.lane = view.clip_lane(item)

    def move(self, pos: QPointF) -> None:
        v = self.view
        delta = pos - self.origin
        if not self.dragging and abs(delta.x()) < DRAG_START_PX and abs(delta.y()) < DRAG_START_PX:
            return
        self.dragging = True
        self.start = v.snap_time(max(0.0, self.start0 + delta.x() / v.geo.pps), grid=True)
        kind, lane = v.geo.lane_at(pos.y())
        if kind == "audio":
            self.lane = lane
        self.item.setPos(v.geo.x(self.start), v.geo.audio_top(self.lane) + 2)
        self.item.setZValue(10)

    def finish(self, pos: QPointF) -> None:
        v, item = self.view, self.item
        item.setZValue(0)
        if not self.dragging or item.clip is None:
            return
        changes = {}
        if abs(self.start - self.start0) >= 1e-3:
            changes["start"] = round(self.start, 3)
        track = v.lane_name(self.lane)
        if track != item.track_name:
            changes["track"] = track
        if changes:
            cmd = EditAudioClip(item.clip_id, **changes)
            v.run_edit(lambda: v.doc.execute(cmd))
        else:
            v.relayout()

    def cancel(self) -> None:
        self.view.relayout()


def snap_targets(view: TimelineView, exclude: int | None = None) -> list[float]:
    targets = [view.transport.position]
    for s in view.spans:
        targets.append(s.start)
        if s.scene_id != exclude:
            targets.append(s.end)
    return targets


def snapped(view: TimelineView, t: float, exclude: int | None, grid: bool, playhead: bool) -> float:
    tol = SNAP_PX / view.geo.pps
    targets = snap_targets(view, exclude) if playhead else [s.start for s in view.spans]
    out = snap(t, targets, tol)
    if out == t and grid:
        step = grid_step(view.geo.pps)
        out = snap(t, [round(t / step) * step], tol)
    return out
