"""The play head shared by the timeline and the preview: position, play/pause, J/K/L shuttle
rates, frame steps and looping over the whole film or one scene. The clock is monotonic wall
time, so playback keeps time however long a frame takes to show."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

SHUTTLE = (1.0, 2.0, 4.0, 8.0)


class Transport(QObject):
    sig_position = Signal(float)
    sig_playing = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.position = 0.0
        self.fps = 24.0
        self.rate = 0.0  # 0 paused; negative plays backwards
        self.loop = False
        self.range = (0.0, 0.0)  # what plays: the film, or one scene
        self._origin = (0.0, 0.0)  # (wall clock, position) when the rate last changed
        self._timer = QTimer(self, interval=15)
        self._timer.timeout.connect(self._tick)

    @property
    def playing(self) -> bool:
        return self.rate != 0.0

    def set_range(self, start: float, end: float) -> None:
        self.range = (start, max(start, end))
        if not start <= self.position <= self.range[1]:
            self.seek(start)

    def seek(self, t: float) -> None:
        lo, hi = self.range
        t = min(max(lo, t), hi) if hi > lo else max(0.0, t)
        self._origin = (time.monotonic(), t)
        if t != self.position:
            self.position = t
            self.sig_position.emit(t)

    def step(self, frames: int) -> None:
        self.pause()
        frame = round(self.position * self.fps) + frames
        self.seek(frame / self.fps)

    def _set_rate(self, rate: float) -> None:
        was = self.playing
        self.rate = rate
        self._origin = (time.monotonic(), self.position)
        if rate and not self._timer.isActive():
            lo, hi = self.range
            if rate > 0 and self.position >= hi:
                self.seek(lo)  # play from the start when parked at the end
            self._timer.start()
        elif not rate:
            self._timer.stop()
        if was != self.playing:
            self.sig_playing.emit(self.playing)

    def play(self) -> None:
        self._set_rate(1.0)

    def pause(self) -> None:
        self._set_rate(0.0)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def shuttle(self, direction: int) -> None:
        """L (+1) and J (-1): play that way, faster on each press; K (0) stops."""
        if direction == 0:
            self.pause()
            return
        speed = abs(self.rate) if self.rate * direction > 0 else 0.0
        faster = [s for s in SHUTTLE if s > speed]
        self._set_rate(direction * (faster[0] if faster else SHUTTLE[-1]))

    def _tick(self) -> None:
        wall0, pos0 = self._origin
        t = pos0 + (time.monotonic() - wall0) * self.rate
        lo, hi = self.range
        if t >= hi or t <= lo and self.rate < 0:
            if self.loop and hi > lo:
                self.seek(lo if self.rate > 0 else hi)
                return
            self.seek(hi if self.rate > 0 else lo)
            self.pause()
            return
        self.position = t
        self.sig_position.emit(t)
