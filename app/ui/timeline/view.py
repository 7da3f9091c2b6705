"""The timeline (after OpenTimelineIO's viewer): a QGraphicsScene laid out in pixels per second,
a video lane of scene cards, audio lanes below, a ruler and a play head pinned to the view.
Ctrl+wheel zooms around the pointer, the wheel scrolls, F fits; gestures (gestures.py) and drops
(dropping.py) turn into edits; every edit comes back through `sig_changed` and is redrawn."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QMenu, QWidget

from app.project import AudioTrackView, StoryloomError

from .. import edits, theme
from ..document import SCENE_TABLES, ProjectDocument
from ..preview.transport import Transport
from ..selection import Selection
from . import dropping, gestures, painting
from .geometry import (
    AUDIO_H,
    DEFAULT_PPS,
    GAP,
    LEFT,
    MAX_PPS,
    MIN_PPS,
    RULER_H,
    TAIL,
    VIDEO_H,
    Geometry,
)
from .items import AudioClipItem, SceneCard
from .layout import Span, insertion_index, spans, total
from .toast import Toast

AUDIO_TABLES = {"audio_tracks", "audio_clips", "*"}


class TimelineView(QGraphicsView):
    sig_scene_activated = Signal(int)  # double-click on a card: edit its prompt
    sig_message = Signal(str, str)  # (text, "error" | "info"), also shown in place

    def __init__(
        self,
        doc: ProjectDocument,
        selection: Selection,
        transport: Transport,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.doc, self.selection, self.transport = doc, selection, transport
        self.setScene(QGraphicsScene(self))
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(theme.BG)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumHeight(RULER_H + VIDEO_H + AUDIO_H + 4 * GAP)
        self.geo = Geometry(DEFAULT_PPS, 1)
        self.auto_fit = True
        self.cards: dict[int, SceneCard] = {}
        self.clips: dict[int, AudioClipItem] = {}
        self.spans: list[Span] = []
        self.tracks: list[AudioTrackView] = []
        self.gesture: gestures.Gesture | None = None
        self.insert_line: float | None = None  # scene x of a drag's insertion marker
        self.snap_line: float | None = None
        self.context_actions: list[QAction] = []
        self.last_message: tuple[str, str] | None = None
        self._syncing = False
        self._message = Toast(self.viewport())
        self.scene().selectionChanged.connect(self._scene_selection_changed)
        selection.sig_changed.connect(self._apply_selection)
        doc.sig_changed.connect(self.refresh)
        doc.media.sig_ready.connect(lambda _id: self.viewport().update())
        transport.sig_position.connect(self._playhead_moved)
        self._last_playhead = 0.0
        self.refresh(frozenset({"*"}))

    # ---- model -> items ---------------------------------------------------------------------

    def refresh(self, tables: frozenset[str]) -> None:
        if tables & (SCENE_TABLES | {"*", "render_jobs"}):
            self._refresh_scenes()
        if tables & AUDIO_TABLES:
            self._refresh_audio()
        self.relayout()
        ids = set(self.cards)
        self.selection.keep_only(ids, set(self.clips))

    def _refresh_scenes(self) -> None:
        scenes = self.doc.scenes()
        states = self.doc.scene_states()
        seen = set()
        for i, s in enumerate(scenes):
            card = self.cards.get(s.id)
            if card is None:
                card = self.cards[s.id] = SceneCard(self.doc.media)
                self.scene().addItem(card)
            card.set_data(s, i, states[s.id], self.doc.picture_asset(s))
            seen.add(s.id)
        for sid in set(self.cards) - seen:
            self.scene().removeItem(self.cards.pop(sid))
        self.spans = spans(scenes)
        self.transport.fps = self.doc.project.info().fps

    def update_states(self) -> None:
        states = self.doc.scene_states()
        for sid, card in self.cards.items():
            if sid in states and card.scene_view is not None:
                card.set_data(card.scene_view, card.index, states[sid], card.picture)

    def _refresh_audio(self) -> None:
        self.tracks = self.doc.project.audio_tracks()
        seen = set()
        for t in self.tracks:
            for c in t.clips:
                item = self.clips.get(c.id)
                if item is None:
                    item = self.clips[c.id] = AudioClipItem(self.doc.media)
                    self.scene().addItem(item)
                item.set_data(c, self.doc.asset(c.asset_id), t.name, self.geo.pps)
                seen.add(c.id)
        for cid in set(self.clips) - seen:
            self.scene().removeItem(self.clips.pop(cid))

    def relayout(self) -> None:
        self.geo = Geometry(self.geo.pps, len(self.tracks) + 1)
        g = self.geo
        for sp in self.spans:
            card = self.cards[sp.scene_id]
            card.set_size(max(4.0, sp.duration * g.pps), VIDEO_H)
            card.setPos(g.x(sp.start), g.video_top)
        lane_of = {t.id: i for i, t in enumerate(self.tracks)}
        for item in self.clips.values():
            c = item.clip
            if c is None or item.asset is None:
                continue
            length = (
                c.out_point - c.in_point
                if c.out_point is not None
                else (item.asset.duration or 0.0) - c.in_point
            )
            item.pps = g.pps
            item.set_size(max(6.0, length * g.pps), AUDIO_H - 4)
            item.setPos(g.x(c.start), g.audio_top(lane_of.get(c.track_id, 0)) + 2)
        audio_end = max((i.x() + i.w for i in self.clips.values()), default=0.0)
        width = max(g.x(total(self.spans)), audio_end) + TAIL
        self.scene().setSceneRect(0, 0, max(width, self.viewport().width()), g.height)
        self.viewport().update()

    # ---- lanes -------------------------------------------------------------------------------

    def lane_name(self, lane: int) -> str:
        """The track on audio lane `lane`; the empty lane below the tracks names a new one."""
        if lane < len(self.tracks):
            return self.tracks[lane].name
        names = {t.name for t in self.tracks}
        n = len(self.tracks) + 1
        while f"Audio {n}" in names:
            n += 1
        return f"Audio {n}"

    def clip_lane(self, item: AudioClipItem) -> int:
        ids = [t.id for t in self.tracks]
        return ids.index(item.clip.track_id) if item.clip and item.clip.track_id in ids else 0

    def snap_time(
        self, t: float, exclude: int | None = None, grid: bool = False, playhead: bool = True
    ) -> float:
        return gestures.snapped(self, t, exclude, grid, playhead)

    # ---- zoom and scroll -----------------------------------------------------------------------

    def set_pps(self, pps: float, anchor: int | None = None, user: bool = True) -> None:
        self.auto_fit = self.auto_fit and not user
        pps = min(MAX_PPS, max(MIN_PPS, pps))
        anchor = self.viewport().width() // 2 if anchor is None else anchor
        t = self.geo.t(self.mapToScene(QPoint(anchor, 0)).x())
        self.geo = Geometry(pps, self.geo.lanes)
        self.relayout()
        self.horizontalScrollBar().setValue(int(self.geo.x(t) - anchor))

    def zoom(self, factor: float, anchor: int | None = None) -> None:
        self.set_pps(self.geo.pps * factor, anchor)

    def fit(self) -> None:
        """The whole film in view, with room after it to drop more."""
        audio_end = max((self.geo.t(i.x() + i.w) for i in self.clips.values()), default=0.0)
        length = max(total(self.spans), audio_end) or 30.0  # an empty film shows half a minute
        self.auto_fit = True
        self.set_pps((self.viewport().width() - LEFT - TAIL - 4) / length, 0, user=False)
        self.horizontalScrollBar().setValue(0)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(math.pow(1.0015, delta), int(event.position().x()))
        elif event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta)
        else:
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta)
        event.accept()

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        if self.auto_fit:  # the whole film fits until the user zooms
            self.fit()
        else:
            self.relayout()

    # ---- selection -------------------------------------------------------------------------------

    def _scene_selection_changed(self) -> None:
        if self._syncing:
            return
        order = [s.scene_id for s in self.spans]
        chosen = {i for i, c in self.cards.items() if c.isSelected()}
        current = self.selection.current if self.selection.current in chosen else None
        self.selection.set(
            [i for i in order if i in chosen],
            [i for i, c in self.clips.items() if c.isSelected()],
            current,
        )

    def _apply_selection(self) -> None:
        self._syncing = True
        try:
            for sid, card in self.cards.items():
                card.setSelected(sid in self.selection.scene_ids)
            for cid, item in self.clips.items():
                item.setSelected(cid in self.selection.clip_ids)
        finally:
            self._syncing = False

    def select_scene(self, scene_id: int, add: bool = False) -> None:
        ids = [*self.selection.scene_ids, scene_id] if add else [scene_id]
        self.selection.set(ids, self.selection.clip_ids if add else (), scene_id)

    # ---- mouse -----------------------------------------------------------------------------------

    def _item_at(self, vpos: QPoint) -> SceneCard | AudioClipItem | None:
        for item in self.items(vpos):
            if isinstance(item, (SceneCard, AudioClipItem)):
                return item
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        pos = self.mapToScene(event.position().toPoint())
        ctrl = bool(
            event.modifiers()
            & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        )
        if event.position().y() < RULER_H:
            self.gesture = gestures.Scrub(self, pos)
            return
        item = self._item_at(event.position().toPoint())
        if item is None:
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
            super().mousePressEvent(event)
            return
        self.setFocus()
        if ctrl:
            item.setSelected(not item.isSelected())
        elif not item.isSelected():
            self.scene().clearSelection()
            item.setSelected(True)
        if isinstance(item, SceneCard):
            if item.isSelected():
                self.selection.set(self.selection.scene_ids, self.selection.clip_ids, item.scene_id)
            local = item.mapFromScene(pos)
            self.gesture = (
                gestures.ResizeScene(self, item)
                if item.on_edge(local.x())
                else gestures.MoveScenes(self, item, pos)
            )
        else:
            self.gesture = gestures.MoveClip(self, item, pos)
        self._press_item = (item, ctrl)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.gesture is not None:
            self.gesture.move(self.mapToScene(event.position().toPoint()))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        gesture, self.gesture = self.gesture, None
        if gesture is None:
            super().mouseReleaseEvent(event)
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
            return
        dragged = getattr(gesture, "dragging", True)
        gesture.finish(self.mapToScene(event.position().toPoint()))
        item, ctrl = getattr(self, "_press_item", (None, False))
        if not dragged and item is not None and not ctrl:  # a plain click selects only that item
            self.scene().clearSelection()
            item.setSelected(True)
        self._press_item = (None, False)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        item = self._item_at(event.position().toPoint())
        pos = self.mapToScene(event.position().toPoint())
        if isinstance(item, SceneCard):
            self.sig_scene_activated.emit(item.scene_id)
        elif item is None and self.geo.lane_at(pos.y())[0] == "video":
            at = insertion_index(self.spans, self.geo.t(pos.x()))
            sid = self.run_edit(lambda: edits.add_scene(self.doc, at))
            if sid is not None:
                self.select_scene(sid)
                self.sig_scene_activated.emit(sid)

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.key() == Qt.Key.Key_Escape and self.gesture is not None:
            self.gesture.cancel()
            self.gesture = None
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        item = self._item_at(event.pos())
        if isinstance(item, SceneCard) and not item.isSelected():
            self.select_scene(item.scene_id)
        if self.context_actions:
            QMenu.exec(self.context_actions, event.globalPos(), None, self)

    # ---- drops -------------------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        dropping.drag_enter(self, event)

    def dragMoveEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        dropping.drag_move(self, event)

    def dragLeaveEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        dropping.clear_hover(self)

    def dropEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        dropping.drop(self, event)

    # ---- edits and messages -------------------------------------------------------------------------

    def run_edit(self, fn: Callable[[], object]) -> object:
        """Run an edit; an error a user can meet is shown in place and changes nothing."""
        try:
            return fn()
        except StoryloomError as e:
            self.show_message(str(e), "error")
            self.relayout()
            return None

    def show_message(self, text: str, level: str = "info", at: QPointF | None = None) -> None:
        self.last_message = (text, level)
        self._message.show_at(
            text, level, self.mapFromScene(at) if at is not None else QPoint(LEFT, RULER_H + 8)
        )
        self.sig_message.emit(text, level)

    def hide_message(self) -> None:
        self._message.hide()

    # ---- actions on the selection --------------------------------------------------------------------

    def delete_selected(self) -> None:
        scenes, clips = list(self.selection.scene_ids), list(self.selection.clip_ids)
        if clips:
            self.run_edit(lambda: edits.remove_clips(self.doc, clips))
        if scenes:
            self.run_edit(lambda: edits.remove_scenes(self.doc, scenes))

    def duplicate_selected(self) -> None:
        new = self.run_edit(
            lambda: edits.duplicate_scenes(self.doc, list(self.selection.scene_ids))
        )
        if new:
            self.selection.set(new, (), new[-1])

    def split_at_playhead(self) -> None:
        t = self.transport.position
        hit = next((s for s in self.spans if s.start < t < s.end), None)
        if hit is None:
            self.show_message("Put the play head inside a scene to split it", "info")
            return
        new = self.run_edit(lambda: edits.split_scene(self.doc, hit.scene_id, t - hit.start))
        if new is None:
            self.show_message("Too close to the scene's edge to split there", "info")

    # ---- play head ------------------------------------------------------------------------------------

    def _playhead_moved(self, t: float) -> None:
        vp = self.viewport()
        old = self.mapFromScene(QPointF(self.geo.x(self._last_playhead), 0)).x()
        new = self.mapFromScene(QPointF(self.geo.x(t), 0)).x()
        self._last_playhead = t
        if self.transport.playing and not 0 <= new < vp.width():  # follow playback a page at a time
            self.horizontalScrollBar().setValue(int(self.geo.x(t) - LEFT))
            return
        vp.update(QRect(old - 8, 0, 16, vp.height()))
        vp.update(QRect(new - 8, 0, 16, vp.height()))
        vp.update(QRect(0, 0, vp.width(), RULER_H))

    # ---- painting (painting.py) --------------------------------------------------------------------

    def drawBackground(self, p: QPainter, rect: QRectF) -> None:
        painting.background(self, p, rect)

    def drawForeground(self, p: QPainter, rect: QRectF) -> None:
        painting.foreground(self, p, rect)
