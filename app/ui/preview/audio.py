"""The preview's sound: the audio tracks mixed on a worker (clip start, in/out, clip and track
gain, fades, mute and solo) to 16-bit stereo, played through QtMultimedia from the play head.
Only forward playback at normal speed is heard; shuttling and scrubbing are silent."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Signal
from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices

from app.project import AudioTrackView, Project

from ..workers import TaskState, Workers
from .decode import MIX_RATE, decode_audio


def _db(gain_db: float) -> float:
    return float(10 ** (gain_db / 20))


def mix(project: Project, tracks: list[AudioTrackView], length: float, check=None) -> np.ndarray:
    """(n, 2) float32 of the whole timeline, `length` seconds long."""
    n = max(1, int(length * MIX_RATE))
    out = np.zeros((n, 2), np.float32)
    soloed = any(t.solo for t in tracks)
    decoded: dict[int, np.ndarray] = {}
    for track in tracks:
        if track.mute or (soloed and not track.solo):
            continue
        for c in track.clips:
            if check is not None:
                check()
            if c.asset_id not in decoded:
                with project.open_asset(c.asset_id) as f:
                    decoded[c.asset_id] = decode_audio(f, check=check)
            pcm = decoded[c.asset_id]
            a = int(c.in_point * MIX_RATE)
            b = len(pcm) if c.out_point is None else min(len(pcm), int(c.out_point * MIX_RATE))
            at = int(c.start * MIX_RATE)
            piece = pcm[a:b][: max(0, n - at)].copy()
            if not len(piece):
                continue
            piece *= _db(c.gain_db + track.gain_db)
            for seconds, ramp in ((c.fade_in, slice(None)), (c.fade_out, slice(None, None, -1))):
                k = min(len(piece), int(seconds * MIX_RATE))
                if k:
                    env = np.linspace(0.0, 1.0, k, dtype=np.float32)[:, None]
                    piece[ramp][:k] *= env
            out[at : at + len(piece)] += piece
    return np.clip(out, -1.0, 1.0)


class AudioPreview(QObject):
    sig_ready = Signal()  # a new mix is ready (start it if playing)

    def __init__(self, project: Project, workers: Workers, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project, self.workers = project, workers
        self._pcm: bytes | None = None
        self._stale = True
        self._task: TaskState | None = None
        self._buffer: QBuffer | None = None
        self._sink: QAudioSink | None = None
        self.length = 0.0
        self.available = not QMediaDevices.defaultAudioOutput().isNull()

    def invalidate(self, length: float) -> None:
        self.length = length
        self._stale = True
        self.stop()

    def prepare(self) -> None:
        """Mix on a worker when the tracks changed (before playing)."""
        if not self.available or not self._stale or self._task is not None:
            return
        self._stale = False
        tracks, length, project = self.project.audio_tracks(), self.length, self.project
        if not any(t.clips for t in tracks):
            self._pcm = None
            return

        def work(state: TaskState) -> bytes:
            pcm = mix(project, tracks, length, state.check)
            return (pcm * 32767).astype("<i2").tobytes()

        def done(data: bytes) -> None:
            self._task = None
            self._pcm = data
            self.sig_ready.emit()

        def failed(_msg: str) -> None:
            self._task = None

        self._task = self.workers.start(
            work, done, failed, on_cancelled=lambda: setattr(self, "_task", None)
        )

    def play(self, t: float) -> None:
        self.stop()
        if not self.available or self._pcm is None:
            return
        fmt = QAudioFormat()
        fmt.setSampleRate(MIX_RATE)
        fmt.setChannelCount(2)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray(self._pcm))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self._buffer.seek(min(len(self._pcm), int(t * MIX_RATE) * 4))
        self._sink = QAudioSink(QMediaDevices.defaultAudioOutput(), fmt, self)
        self._sink.start(self._buffer)

    def stop(self) -> None:
        if self._sink is not None:
            self._sink.stop()
            self._sink.deleteLater()
            self._sink = None
        if self._buffer is not None:
            self._buffer.close()
            self._buffer.deleteLater()
            self._buffer = None
