"""The preview player: the whole film or the selected scene at the play head, decoded through
PyAV on workers at a draft size, with its sound; play/pause, frame steps, loop. Scenes with no
take show their start image or a title card, as export would."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import theme
from ..document import ProjectDocument
from ..icons import icon
from ..media_cache import to_qimage
from ..selection import Selection
from ..timeline.layout import Span, format_time, span_at, spans, total
from .audio import AudioPreview
from .frames import FrameStore
from .transport import Transport

DRAFT = {"Draft 180p": 180, "Draft 360p": 360, "Full 720p": 720}


class Canvas(QWidget):
    """Paints one frame letterboxed in the project's aspect, or a card with a caption."""

    def __init__(self) -> None:
        super().__init__()
        self.image: QImage | None = None
        self.caption = ""
        self.dim = False
        self.aspect = 16 / 9
        self.setMinimumSize(240, 135)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_frame(self, image: QImage | None, caption: str = "", dim: bool = False) -> None:
        self.image, self.caption, self.dim = image, caption, dim
        self.update()

    def paintEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(10, 11, 13))
        w, h = self.width(), self.height()
        fw = min(w, h * self.aspect)
        fh = fw / self.aspect
        frame = QRectF((w - fw) / 2, (h - fh) / 2, fw, fh)
        p.fillRect(frame, QColor(0, 0, 0))
        if self.image is not None and not self.image.isNull():
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(frame, self.image)
            if self.dim:
                p.fillRect(frame, QColor(0, 0, 0, 120))
        if self.caption:
            p.setPen(theme.TEXT)
            font = QFont(p.font())
            font.setPointSizeF(11)
            p.setFont(font)
            p.drawText(
                frame.adjusted(20, 20, -20, -20),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.caption,
            )


class PreviewPlayer(QWidget):
    def __init__(
        self,
        doc: ProjectDocument,
        selection: Selection,
        transport: Transport,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.doc, self.selection, self.transport = doc, selection, transport
        self.frames = FrameStore(doc.project, doc.workers, self)
        self.audio = AudioPreview(doc.project, doc.workers, self)
        self.spans: list[Span] = []
        self.take_override: tuple[int, int] | None = (
            None  # (scene id, asset id) of a take played from the inspector
        )
        self.canvas = Canvas()
        self.time = QLabel("0:00.0 / 0:00.0")
        self.mode = QComboBox()
        self.mode.addItems(["Film", "Selected scene"])
        self.draft = QComboBox()
        self.draft.addItems(list(DRAFT))
        self.draft.setCurrentText("Draft 360p")
        self.buttons = {}
        row = QHBoxLayout()
        for key, name, tip in (
            ("start", "start", "Go to start (Home)"),
            ("back", "frame-back", "Previous frame (Left)"),
            ("play", "play", "Play / pause (Space)"),
            ("fwd", "frame-forward", "Next frame (Right)"),
            ("loop", "loop", "Loop (Ctrl+L)"),
        ):
            b = QToolButton(toolTip=tip, autoRaise=True)
            b.setIcon(icon(name))
            self.buttons[key] = b
            row.addWidget(b)
        self.buttons["loop"].setCheckable(True)
        row.addWidget(self.time)
        row.addStretch(1)
        row.addWidget(self.mode)
        row.addWidget(self.draft)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addWidget(self.canvas, 1)
        box.addLayout(row)
        self.buttons["start"].clicked.connect(lambda: transport.seek(transport.range[0]))
        self.buttons["back"].clicked.connect(lambda: transport.step(-1))
        self.buttons["fwd"].clicked.connect(lambda: transport.step(1))
        self.buttons["play"].clicked.connect(transport.toggle)
        self.buttons["loop"].toggled.connect(lambda on: setattr(transport, "loop", on))
        self.mode.currentTextChanged.connect(lambda _: self._update_range())
        self.draft.currentTextChanged.connect(
            lambda t: (self.frames.set_height(DRAFT[t]), self.render_now())
        )
        transport.sig_position.connect(lambda _t: self.render_now())
        transport.sig_playing.connect(self._playing_changed)
        selection.sig_changed.connect(self._selection_changed)
        doc.sig_changed.connect(self._changed)
        self.frames.sig_ready.connect(lambda _id: self.render_now())
        self.audio.sig_ready.connect(lambda: self._playing_changed(self.transport.playing))
        doc.media.sig_ready.connect(lambda _id: self.render_now())
        self._changed(frozenset({"*"}))

    # ---- model -----------------------------------------------------------------------------------

    def _changed(self, tables: frozenset[str]) -> None:
        if tables - {"render_jobs", "assets"}:
            self.spans = spans(self.doc.scenes())
            info = self.doc.project.info()
            self.canvas.aspect = info.width / info.height
            self.transport.fps = info.fps
            length = self.film_length()
            if tables & {"audio_tracks", "audio_clips", "*"} or length != self.audio.length:
                self.audio.invalidate(length)
            self._update_range()
            self.render_now()

    def film_length(self) -> float:
        end = total(self.spans)
        for t in self.doc.project.audio_tracks() if not end else ():
            end = max([end, *(c.start + 1 for c in t.clips)])
        return end

    def _selection_changed(self) -> None:
        if self.take_override and self.take_override[0] != self.selection.current:
            self.take_override = None
        self._update_range()

    def _update_range(self) -> None:
        sid = self.selection.current
        span = next((s for s in self.spans if s.scene_id == sid), None)
        if self.mode.currentText() == "Selected scene" and span is not None:
            self.transport.set_range(span.start, span.end)
        else:
            self.transport.set_range(0.0, total(self.spans))
        self.render_now()

    def play_take(self, take_id: int) -> None:
        """Play one take of a scene (from the inspector), in place of the chosen one."""
        take = self.doc.take(take_id)
        self.take_override = (take.scene_id, take.asset_id)
        self.mode.setCurrentText("Selected scene")
        self._update_range()
        self.transport.seek(self.transport.range[0])
        self.transport.play()

    # ---- drawing the frame at the play head ------------------------------------------------------------

    def render_now(self) -> None:
        t = self.transport.position
        lo, hi = self.transport.range
        self.time.setText(f"{format_time(t - lo, 0.5)} / {format_time(hi - lo, 0.5)}")
        self.buttons["play"].setIcon(icon("pause" if self.transport.playing else "play"))
        span = span_at(self.spans, t)
        scene = self.doc.scene(span.scene_id) if span is not None else None
        if span is None or scene is None:
            self.canvas.show_frame(None, "Add a scene to see it here")
            return
        asset = None
        if self.take_override and self.take_override[0] == scene.id:
            asset = self.take_override[1]
        elif scene.chosen_take_id is not None:
            asset = self.doc.take(scene.chosen_take_id).asset_id
        if asset is not None:
            video = self.frames.get(asset)
            if video is not None:
                frame = video.frame_at(t - span.start)
                self.canvas.show_frame(to_qimage(frame) if frame is not None else None)
                return
            if asset in self.frames.failed:
                self.canvas.show_frame(None, self.frames.failed[asset])
                return
            thumb = self.doc.media.thumbnail(asset)  # while the take decodes
            self.canvas.show_frame(thumb)
            return
        still = (
            self.doc.media.thumbnail(scene.image_asset_id)
            if scene.image_asset_id is not None
            else None
        )
        caption = f"Scene {span.index + 1} — no take yet\n{scene.prompt[:120]}"
        self.canvas.show_frame(still, caption, dim=True)

    def _playing_changed(self, playing: bool) -> None:
        self.render_now()
        if playing and self.transport.rate == 1.0:
            self.audio.prepare()
            self.audio.play(self.transport.position)
        else:
            self.audio.stop()
