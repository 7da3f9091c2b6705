"""Screenshots of the editor's main states for a person to look at (`make screenshots` runs this
under Xvfb): an empty project, the sample storyboard with takes, the inspector, the render queue
busy, and the export dialog. Writes PNGs of the whole screen to the output folder.

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m app.ui.screenshots -o build/screenshots
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PySide6.QtWidgets import QApplication

from app.project import AddTake, Project

from .app import make_app
from .first_run import build_sample, sample_spec
from .main_window import MainWindow
from .preferences.store import Preferences

SIZE = (1440, 900)


def footage(
    path: Path, spec: dict, seconds: float, fps: int = 12, size: tuple[int, int] = (320, 180)
) -> Path:
    """A stand-in take drawn from the sample's footage description: sky, horizon, ground and a
    figure walking across (what the engine is asked for, drawn directly)."""
    w, h = size
    sky, horizon, ground = (np.array(spec[k], np.float32) for k in ("sky", "horizon", "ground"))
    x0, x1 = spec.get("mara") or [0.5, 0.5]
    ys = np.linspace(0, 1, h // 2, dtype=np.float32)[:, None]
    top = (sky * (1 - ys) + horizon * ys)[:, None, :].repeat(w, 1)
    with av.open(str(path), "w") as box:
        stream = box.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = Fraction(1, fps)
        n = int(seconds * fps)
        for i in range(n):
            img = np.empty((h, w, 3), np.float32)  # (H, W, 3)
            img[: h // 2] = top
            img[h // 2 :] = ground
            cx = int((x0 + (x1 - x0) * i / max(1, n - 1)) * w)
            yy, xx = np.mgrid[0:h, 0:w]
            img[(xx - cx) ** 2 + (yy - int(h * 0.55)) ** 2 < (h * 0.07) ** 2] = (240, 130, 40)
            body = (abs(xx - cx) < h * 0.06) & (yy > h * 0.6) & (yy < h * 0.8)
            img[body] = (240, 130, 40)
            frame = av.VideoFrame.from_ndarray(img.clip(0, 255).astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    return path


def add_takes(path: Path, folder: Path) -> None:
    spec = sample_spec()
    with Project.open(path) as p:
        for i, (scene, s) in enumerate(zip(p.scenes(), spec["scenes"], strict=False)):
            clip = footage(folder / f"take{i}.mp4", s["footage"], s["duration"])
            p.execute(
                AddTake(
                    scene.id,
                    clip,
                    recipe={
                        "seed": s.get("seed"),
                        "prompt": s["prompt"],
                        "model": "storyloom-tiny",
                    },
                )
            )
            if i == 1:  # a second take to choose from
                alt = dict(s["footage"], mara=[0.8, 0.2])
                clip2 = footage(folder / f"take{i}b.mp4", alt, s["duration"])
                p.execute(AddTake(scene.id, clip2, recipe={"seed": 99}, choose=False))


def wait(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot(app: QApplication, window: MainWindow, out: Path, name: str) -> Path:
    wait(app, 0.6)
    if window.editor is not None:
        window.editor.doc.workers.wait(10000)
    wait(app, 0.3)
    screen = app.primaryScreen()
    g = window.frameGeometry()  # the screen under the window, so dialogs on top are in it
    pixmap = (
        screen.grabWindow(0, g.x(), g.y(), g.width(), g.height()) if screen is not None else None
    )
    if pixmap is None or pixmap.width() < SIZE[0]:  # no real screen (offscreen): the window
        pixmap = window.grab()
    target = out / f"{name}.png"
    pixmap.save(str(target))
    print(target)
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, default=Path("build/screenshots"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    app = make_app(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="storyloom-shots-") as tmp:
        folder = Path(tmp)
        prefs = Preferences(folder / "editor.ini")
        prefs.q.setValue("cache/dir", str(folder / "cache"))
        window = MainWindow(prefs)
        window.setGeometry(40, 30, *SIZE)
        window.show()

        window.create_project(folder / "Untitled.storyloom")
        shoot(app, window, args.out, "1-empty-project")

        sample = build_sample(folder / "The Lantern.storyloom", folder / "cache")
        add_takes(sample, folder)
        window.open_path(sample)
        ed = window.editor
        assert ed is not None
        ed.timeline.fit()
        ed.transport.seek(4.2)
        shoot(app, window, args.out, "2-storyboard-with-takes")

        second = ed.doc.scenes()[1].id
        ed.timeline.select_scene(second)
        ed.docks["inspector"].raise_()
        shoot(app, window, args.out, "3-inspector")

        # the queue busy: jobs on record as the generator writes them (one running, one queued)
        last = ed.doc.scenes()[-1]
        job = ed.doc.project.create_job(last.id, {"prompt": last.prompt, "steps": 20})
        ed.doc.project.start_job(job)
        ed.doc.project.job_progress(job, 0.45)
        ed.doc.project.create_job(ed.doc.scenes()[2].id, {"prompt": "queued"})
        ed.timeline.select_scene(last.id)
        shoot(app, window, args.out, "4-render-queue-busy")

        dialog = window.export_dialog()
        assert dialog is not None
        dialog.move(window.geometry().center() - dialog.rect().center())
        shoot(app, window, args.out, "5-export-dialog")
        dialog.close()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
