"""Painting the timeline's lanes, hints, ruler and play head (the parts pinned to the view,
drawn in the view's foreground so they stay put while the items scroll)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from .. import theme
from .geometry import AUDIO_H, RULER_H, VIDEO_H
from .layout import format_time, ruler_step

if TYPE_CHECKING:
    from .view import TimelineView


def background(view: TimelineView, p: QPainter, rect: QRectF) -> None:
    g = view.geo
    p.fillRect(rect, theme.BG)
    p.fillRect(QRectF(rect.left(), g.video_top, rect.width(), VIDEO_H), theme.LANE)
    for lane in range(g.lanes):
        color = theme.LANE if lane < len(view.tracks) else theme.LANE_ALT
        p.fillRect(QRectF(rect.left(), g.audio_top(lane), rect.width(), AUDIO_H), color)


def foreground(view: TimelineView, p: QPainter, rect: QRectF) -> None:
    """Insertion and snap marks, the ruler pinned to the top, the play head."""
    g = view.geo
    origin = view.mapToScene(QPoint(0, 0))
    width = view.viewport().width()
    _hints(view, p, origin, width)
    for x, color in ((view.insert_line, theme.SNAP), (view.snap_line, theme.SNAP)):
        if x is not None:
            p.setPen(QPen(color, 2))
            p.drawLine(QPointF(x, g.video_top - 2), QPointF(x, g.video_top + VIDEO_H + 2))
    # ruler pinned to the top of the view
    top = origin.y()
    band = QRectF(rect.left(), top, rect.width(), RULER_H)
    p.fillRect(band, theme.PANEL)
    step = ruler_step(g.pps)
    font = QFont(p.font())
    font.setPointSizeF(7.5)
    p.setFont(font)
    t = math.floor(g.t(rect.left()) / step) * step
    while g.x(t) <= rect.right():
        x = g.x(t)
        p.setPen(theme.TEXT_DIM)
        p.drawLine(QPointF(x, top + RULER_H - 9), QPointF(x, top + RULER_H))
        p.drawText(QPointF(x + 3, top + 12), format_time(t, step))
        half = g.x(t + step / 2)
        p.drawLine(QPointF(half, top + RULER_H - 4), QPointF(half, top + RULER_H))
        t += step
    # play head
    x = g.x(view.transport.position)
    p.setPen(QPen(theme.PLAYHEAD, 1.5))
    p.drawLine(QPointF(x, top), QPointF(x, max(g.height, top + view.viewport().height())))
    p.setBrush(theme.PLAYHEAD)
    p.drawPolygon(
        [
            QPointF(x - 6, top + RULER_H - 10),
            QPointF(x + 6, top + RULER_H - 10),
            QPointF(x, top + RULER_H - 2),
        ]
    )


def _hints(view: TimelineView, p: QPainter, origin: QPointF, width: int) -> None:
    g = view.geo
    p.setPen(theme.TEXT_DIM)
    font = QFont(p.font())
    font.setPointSizeF(8.5)
    p.setFont(font)
    if not view.spans:
        r = QRectF(origin.x(), g.video_top, width, VIDEO_H)
        p.drawText(
            r,
            Qt.AlignmentFlag.AlignCenter,
            "Drop images or videos here, or double-click to add a scene",
        )
    for lane in range(g.lanes):
        top = g.audio_top(lane)
        if lane < len(view.tracks):
            label = view.tracks[lane].name + ("  (muted)" if view.tracks[lane].mute else "")
            r = QRectF(origin.x() + 4, top + AUDIO_H - 16, 160, 14)
            p.fillRect(
                QRectF(r.left(), r.top(), p.fontMetrics().horizontalAdvance(label) + 8, 14),
                QColor(0, 0, 0, 110),
            )
            p.drawText(r.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, label)
        else:
            r = QRectF(origin.x(), top, width, AUDIO_H)
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "Drop music, voice or sound effects here")
