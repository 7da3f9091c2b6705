"""The editor at scale: a project of 500 scenes and 20 audio clips.

Prints the time to first paint of the timeline after opening, the time to scroll the whole
timeline a viewport at a time (against scrolling an empty view of the same size, measured in the
same run), frames per second while scrubbing (timeline + preview repaint per position), and the
event loop's latency during a generation by the real engine process (a tiny untrained model).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_scale.py [--scenes 500 --clips 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "app"))

import numpy as np  # noqa: E402
from media_files import make_mp4, make_png, make_wav  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView  # noqa: E402

from app.project import AddAudioClip, AddScene, AddTake, Project  # noqa: E402
from app.ui.app import make_app  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.preferences.store import Preferences  # noqa: E402


class PaintWatch(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.painted = False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.painted = True
        return False


def build(path: Path, folder: Path, scenes: int, clips: int) -> None:
    png, mp4, wav = (
        make_png(folder / "a.png"),
        make_mp4(folder / "t.mp4"),
        make_wav(folder / "w.wav", 3.0),
    )
    with Project.create(path, "Scale", (640, 360), 24) as p, p.group("build"):
        for i in range(scenes):
            sid = p.execute(
                AddScene(
                    prompt=f"scene {i}: a red ball bounces to the left",
                    duration=2.0 + i % 3,
                    image=png if i % 5 == 0 else None,
                )
            )
            if i % 2:
                p.execute(AddTake(sid, mp4, recipe={"seed": i}))
        for i in range(clips):
            p.execute(AddAudioClip(path=wav, track=f"Audio {1 + i % 2}", start=i * 40.0))


def scroll_all(app: QApplication, view: QGraphicsView) -> tuple[float, int]:
    bar = view.horizontalScrollBar()
    bar.setValue(0)
    steps = 0
    t = time.perf_counter()
    while True:
        view.viewport().repaint()
        app.processEvents()
        steps += 1
        if bar.value() >= bar.maximum():
            break
        bar.setValue(bar.value() + view.viewport().width())
    return time.perf_counter() - t, steps


def generation_latency(
    app: QApplication, window: MainWindow, folder: Path
) -> tuple[float, float, float]:
    model = folder / "tiny"
    subprocess.run(
        [sys.executable, "-m", "engine", "init", "--config", "test", "-o", str(model)],
        check=True,
        capture_output=True,
    )
    cfg = json.loads((model / "config.json").read_text())
    cfg["native"], cfg["sampling"]["steps"] = {"width": 64, "height": 48, "fps": 8.0}, 8
    (model / "config.json").write_text(json.dumps(cfg))
    ed = window.editor
    assert ed is not None
    ed.generator.set_engine_factory(
        lambda: __import__("app.engine_client", fromlist=["LocalEngine"]).LocalEngine(
            model=model, device="cpu"
        )
    )
    sid = ed.doc.scenes()[0].id
    lateness: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: lateness.append(max(0.0, clock.restart() - 10.0)))
    clock.start()
    timer.start()
    ed.generator.generate(sid)
    while ed.generator.busy or not lateness:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    a = np.array(lateness)
    return float(np.percentile(a, 50)), float(np.percentile(a, 95)), float(a.max())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=500)
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--no-generation", action="store_true")
    args = ap.parse_args()
    app = make_app()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "scale.storyloom"
        t = time.perf_counter()
        build(path, folder, args.scenes, args.clips)
        print(
            f"built {args.scenes} scenes, {args.clips} audio clips in {time.perf_counter() - t:.1f} s"
        )
        prefs = Preferences(folder / "editor.ini")
        prefs.q.setValue("cache/dir", str(folder / "cache"))
        window = MainWindow(prefs)
        window.resize(1440, 900)
        window.show()
        app.processEvents()
        t = time.perf_counter()
        assert window.open_path(path)
        ed = window.editor
        assert ed is not None
        watch = PaintWatch()
        ed.timeline.viewport().installEventFilter(watch)
        while not watch.painted:
            app.processEvents()
        print(f"open to first paint of the timeline: {(time.perf_counter() - t) * 1000:.0f} ms")
        ed.doc.workers.wait(60000)
        app.processEvents()

        view = ed.timeline
        view.set_pps(40)
        secs, steps = scroll_all(app, view)
        empty = QGraphicsView(
            QGraphicsScene(0, 0, view.sceneRect().width(), view.sceneRect().height())
        )
        empty.resize(view.size())
        empty.show()
        ref, ref_steps = scroll_all(app, empty)
        print(
            f"scroll the whole timeline ({steps} viewports, {view.sceneRect().width():.0f} px): {secs * 1000:.0f} ms, {secs / steps * 1000:.1f} ms per viewport (empty view: {ref / ref_steps * 1000:.1f} ms, x{secs / steps / max(ref / ref_steps, 1e-9):.1f})"
        )

        view.fit()
        positions = np.linspace(0, ed.transport.range[1] * 0.99, 200)
        t = time.perf_counter()
        for p in positions:
            ed.transport.seek(float(p))
            view.viewport().repaint()
            ed.preview.canvas.repaint()
            app.processEvents()
        secs = time.perf_counter() - t
        print(
            f"scrubbing (timeline and preview repainted per position): {len(positions) / secs:.0f} frames/s"
        )

        if not args.no_generation:
            p50, p95, worst = generation_latency(app, window, folder)
            print(
                f"event loop latency during a generation: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms (goal: p95 < 50 ms)"
            )
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
