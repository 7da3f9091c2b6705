"""The timeline's items: a card per scene (thumbnail or filmstrip, the prompt's first words,
a state badge) and a clip per audio clip (its waveform). Items only paint; the view handles the
mouse and turns gestures into edits."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.project import AssetView, AudioClipView, SceneView

from .. import theme
from ..document import SceneState
from ..media_cache import MediaCache

EDGE_GRIP = 7  # px at a card's right edge that resize instead of move
LABEL_H = 20
NARROW = 28  # px: narrower cards are drawn as bars
STATE_TEXT = {"none": "no take", "queued": "queued", "done": "done", "failed": "failed"}


def first_words(prompt: str, n: int = 8) -> str:
    words = prompt.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


def _draw_fit(p: QPainter, img: QImage, rect: QRectF, x: float) -> float:
    """Draw `img` at height rect.height() from x; returns the width used."""
    w = rect.height() * img.width() / max(1, img.height())
    p.drawImage(QRectF(x, rect.top(), w, rect.height()), img)
    return w


class SceneCard(QGraphicsItem):
    kind = "scene"

    def __init__(self, media: MediaCache) -> None:
        super().__init__()
        self.media = media
        self.scene_view: SceneView | None = None
        self.state = SceneState("none")
        self.index = 0
        self.picture: int | None = None  # asset id of the take (or start image)
        self.picture_is_take = False
        self.w, self.h = 100.0, 80.0
        self.drop_hover = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)

    @property
    def scene_id(self) -> int:
        assert self.scene_view is not None
        return self.scene_view.id

    def set_data(
        self, scene: SceneView, index: int, state: SceneState, picture: int | None
    ) -> None:
        self.scene_view, self.index, self.state, self.picture = scene, index, state, picture
        self.picture_is_take = scene.chosen_take_id is not None
        self.setToolTip(
            f"Scene {index + 1} · {scene.duration:g} s\n{scene.prompt or '(no prompt yet)'}"
            + (f"\n{state.error}" if state.error else "")
        )
        self.update()

    def set_size(self, w: float, h: float) -> None:
        if (w, h) != (self.w, self.h):
            self.prepareGeometryChange()
            self.w, self.h = w, h

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.w, self.h)

    def on_edge(self, x_local: float) -> bool:
        return x_local >= self.w - EDGE_GRIP

    def hoverMoveEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        edge = self.on_edge(event.pos().x())
        self.setCursor(Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.OpenHandCursor)

    def paint(
        self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        s = self.scene_view
        if s is None:
            return
        if self.w < NARROW:  # zoomed far out: a plain bar in the state's colour is all that shows
            r = QRectF(0.5, 1, max(1.0, self.w - 1), self.h - 2)
            p.fillRect(r, theme.CARD if self.picture is not None else theme.CARD_EMPTY)
            p.fillRect(
                QRectF(r.left(), r.top(), r.width(), 4),
                theme.BADGE.get(self.state.status, theme.BADGE["none"]),
            )
            if self.isSelected() or self.drop_hover:
                p.fillRect(
                    QRectF(r.left(), r.bottom() - 3, r.width(), 3),
                    theme.SNAP if self.drop_hover else theme.ACCENT,
                )
            return
        r = QRectF(1, 1, self.w - 2, self.h - 2)
        path = QPainterPath()
        path.addRoundedRect(r, 5, 5)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillPath(path, theme.CARD if self.picture is not None else theme.CARD_EMPTY)
        p.save()
        p.setClipPath(path)
        self._paint_picture(p, r)
        self._paint_label(p, r, s)
        if self.state.status in ("rendering", "queued"):
            bar = QRectF(r.left(), r.bottom() - 4, r.width() * self.state.progress, 4)
            p.fillRect(bar, theme.BADGE["rendering"])
        p.restore()
        self._paint_badge(p, r)
        # the resize grip, then the outline (selection or drop target)
        p.fillRect(
            QRectF(r.right() - 3, r.top() + 8, 2, r.height() - 16), QColor(255, 255, 255, 60)
        )
        if self.isSelected() or self.drop_hover:
            p.setPen(QPen(theme.SNAP if self.drop_hover else theme.ACCENT, 2))
        else:
            p.setPen(QPen(QColor(0, 0, 0, 120), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)

    def _paint_picture(self, p: QPainter, r: QRectF) -> None:
        if self.picture is None:
            p.setPen(theme.TEXT_DIM)
            p.setFont(QFont(p.font().family(), 22, QFont.Weight.Bold))
            p.drawText(
                r.adjusted(0, 0, 0, -LABEL_H), Qt.AlignmentFlag.AlignCenter, str(self.index + 1)
            )
            return
        thumb = self.media.thumbnail(self.picture)
        if thumb is None:
            return
        area = QRectF(r.left(), r.top(), r.width(), r.height())
        tile = area.height() * thumb.width() / max(1, thumb.height())
        wide = self.picture_is_take and r.width() > 1.3 * tile
        strip = self.media.strip(self.picture) if wide else None
        if wide:  # a filmstrip across the card (the thumbnail repeated while it decodes)
            frames = strip or [thumb]
            x, i = area.left(), 0
            n = max(1, int(area.width() // tile) + 1)
            while x < area.right():
                x += _draw_fit(p, frames[min(len(frames) - 1, i * len(frames) // n)], area, x)
                i += 1
        else:
            _draw_fit(p, thumb, area, area.left())
        if not self.picture_is_take:  # a start image only: dim it, the scene has no take yet
            p.fillRect(area, QColor(20, 22, 26, 110))

    def _paint_label(self, p: QPainter, r: QRectF, s: SceneView) -> None:
        bar = QRectF(r.left(), r.bottom() - LABEL_H, r.width(), LABEL_H)
        p.fillRect(bar, QColor(12, 14, 18, 190))
        font = QFont(p.font())
        font.setPointSizeF(8.5)
        p.setFont(font)
        fm = QFontMetrics(font)
        dur = f"{s.duration:g}s"
        dur_w = fm.horizontalAdvance(dur) + 8
        text = f"{self.index + 1}  {first_words(s.prompt) or '(no prompt)'}"
        room = int(bar.width() - 8 - (dur_w if bar.width() > 90 else 0))
        p.setPen(theme.TEXT if s.prompt else theme.TEXT_DIM)
        p.drawText(
            bar.adjusted(5, 0, 0, 0),
            Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(text, Qt.TextElideMode.ElideRight, room),
        )
        if bar.width() > 90:
            p.setPen(theme.TEXT_DIM)
            p.drawText(
                bar.adjusted(0, 0, -5, 0),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                dur,
            )

    def _paint_badge(self, p: QPainter, r: QRectF) -> None:
        st = self.state
        if st.status == "rendering":
            text = f"{int(st.progress * 100)}%"
        else:
            text = STATE_TEXT.get(st.status, st.status)
        font = QFont(p.font())
        font.setPointSizeF(7.5)
        font.setBold(True)
        p.setFont(font)
        fm = QFontMetrics(font)
        w = fm.horizontalAdvance(text) + 10
        if w + 8 > r.width():
            w = 10  # too narrow for words: a dot
            text = ""
        badge = QRectF(r.right() - w - 4, r.top() + 4, w, 15)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(theme.BADGE.get(st.status, theme.BADGE["none"])))
        p.drawRoundedRect(badge, 7, 7)
        if text:
            p.setPen(QColor(255, 255, 255))
            p.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)


class AudioClipItem(QGraphicsItem):
    kind = "clip"

    def __init__(self, media: MediaCache) -> None:
        super().__init__()
        self.media = media
        self.clip: AudioClipView | None = None
        self.asset: AssetView | None = None
        self.track_name = ""
        self.pps = 40.0
        self.w, self.h = 100.0, 40.0
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    @property
    def clip_id(self) -> int:
        assert self.clip is not None
        return self.clip.id

    def set_data(self, clip: AudioClipView, asset: AssetView, track_name: str, pps: float) -> None:
        self.clip, self.asset, self.track_name, self.pps = clip, asset, track_name, pps
        self.setToolTip(f"{asset.original_name} · {track_name} · starts {clip.start:g} s")
        self.update()

    def set_size(self, w: float, h: float) -> None:
        if (w, h) != (self.w, self.h):
            self.prepareGeometryChange()
            self.w, self.h = w, h

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.w, self.h)

    def paint(
        self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self.clip is None or self.asset is None:
            return
        r = QRectF(0.5, 0.5, self.w - 1, self.h - 1)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(
            QPen(
                theme.ACCENT if self.isSelected() else theme.AUDIO.darker(150),
                2 if self.isSelected() else 1,
            )
        )
        p.setBrush(theme.AUDIO)
        p.drawRoundedRect(r, 4, 4)
        peaks = self.media.waveform(self.asset.id)
        if peaks is not None and peaks.size and self.asset.duration:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            p.setPen(theme.AUDIO_WAVE)
            mid, half = r.center().y() + 5, (r.height() - 16) / 2
            n, dur = peaks.size, self.asset.duration
            # only the visible columns of a long clip are drawn
            exposed = option.exposedRect if option is not None else r
            x0, x1 = max(2, int(exposed.left())), min(int(r.width()) - 2, int(exposed.right()) + 1)
            for x in range(x0, x1):
                t = self.clip.in_point + x / self.pps
                a = peaks[min(n - 1, int(t / dur * n))] / 255.0 * half
                p.drawLine(QPointF(x, mid - a), QPointF(x, mid + a))
        p.setPen(theme.TEXT)
        font = QFont(p.font())
        font.setPointSizeF(8)
        p.setFont(font)
        fm = QFontMetrics(font)
        p.drawText(
            r.adjusted(6, 2, -4, 0),
            Qt.AlignmentFlag.AlignTop,
            fm.elidedText(
                self.asset.original_name, Qt.TextElideMode.ElideRight, int(r.width() - 10)
            ),
        )
