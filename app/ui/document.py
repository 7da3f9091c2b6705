"""One open project as the editor sees it (the model of Shotcut's action -> command -> model ->
signal -> view): the project, its undo stack, worker threads, cached reads, and one signal,
`sig_changed`, that every view listens to. Views never write to the file themselves; they call
`run` / `execute` / `group` here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from app.project import (
    AssetView,
    Change,
    Command,
    ElementView,
    JobView,
    Project,
    SceneView,
    TakeView,
)
from app.render.provenance import read_recipe

from .media_cache import MediaCache
from .media_import import Imported, ImportMedia, probe
from .undo import UndoBridge
from .workers import TaskState, Workers

SCENE_TABLES = {"scenes", "takes", "scene_elements", "elements"}


@dataclass(frozen=True)
class SceneState:
    """What a scene's badge shows."""

    status: str  # none | queued | rendering | done | failed
    progress: float = 0.0
    error: str = ""


class ProjectDocument(QObject):
    sig_changed = Signal(object)  # frozenset of table names ("*" when unknown)
    sig_error = Signal(str)

    _sig_raw = Signal(str, object)  # from any thread, delivered on the GUI thread

    def __init__(self, project: Project, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.undo = UndoBridge(project, self)
        self.undo.sig_error.connect(self.sig_error)
        self.workers = Workers(2, self)
        self.media = MediaCache(project, self.workers, self)
        self.live: dict[int, SceneState] = {}  # scene id -> live state from the generator
        self._assets: dict[int, AssetView] = {}
        self._takes: dict[int, TakeView] = {}
        self._jobs: list[JobView] | None = None
        self._scenes: list[SceneView] | None = None
        self._elements: list[ElementView] | None = None
        self._pending: set[str] = set()
        self.closed = False
        self._history_dirty = False
        self._flush_timer = QTimer(self, singleShot=True, interval=0)
        self._flush_timer.timeout.connect(self._flush)
        self._sig_raw.connect(self._collect, Qt.ConnectionType.QueuedConnection)
        project.add_listener(self._listener)

    @property
    def path(self) -> Path:
        return self.project.path

    def close(self) -> None:
        self.closed = True
        self.workers.cancel_all()
        self.workers.wait()
        self._flush_timer.stop()
        try:
            self.project.remove_listener(self._listener)
        except ValueError:
            pass
        self.project.close()

    # ---- change notification ---------------------------------------------------------------

    def _listener(self, change: Change) -> None:  # any thread
        tables = set(change.tables) or {"*"}
        if tables & SCENE_TABLES or "*" in tables:
            self._scenes = None
        if tables & {"elements", "element_images", "*"}:
            self._elements = None
        if tables & {"render_jobs", "*"}:
            self._jobs = None
        self._sig_raw.emit(change.source, tuple(tables))

    def _collect(self, source: str, tables: tuple[str, ...]) -> None:
        if self.closed:  # delivered after the project closed: nothing left to show
            return
        if source != "job":
            self._history_dirty = True
        self._pending.update(tables)
        self._flush_timer.start()

    def _flush(self) -> None:
        tables = frozenset(self._pending)
        self._pending.clear()
        if self._history_dirty:
            self._history_dirty = False
            self.undo.sync()
        self.sig_changed.emit(tables)

    # ---- edits (GUI thread) ----------------------------------------------------------------

    def execute(self, command: Command) -> Any:
        return self.undo.execute(command)

    def group(self, label: str, fn: Callable[[Project], Any]) -> Any:
        return self.undo.group(label, fn)

    # ---- cached reads ------------------------------------------------------------------------

    def scenes(self) -> list[SceneView]:
        scenes = self._scenes
        if scenes is None:
            scenes = self._scenes = self.project.scenes()
        return scenes

    def scene(self, scene_id: int) -> SceneView | None:
        return next((s for s in self.scenes() if s.id == scene_id), None)

    def elements(self) -> list[ElementView]:
        elements = self._elements
        if elements is None:
            elements = self._elements = self.project.elements()
        return elements

    def take(self, take_id: int) -> TakeView:
        found = self._takes.get(take_id)
        if found is None:  # takes are immutable
            found = self._takes[take_id] = self.project.take(take_id)
        return found

    def picture_asset(self, scene: SceneView) -> int | None:
        """The asset that pictures a scene: its chosen take, else its start image."""
        if scene.chosen_take_id is not None:
            return self.take(scene.chosen_take_id).asset_id
        return scene.image_asset_id

    def jobs(self) -> list[JobView]:
        jobs = self._jobs
        if jobs is None:
            jobs = self._jobs = self.project.jobs()
        return jobs

    def scene_states(self) -> dict[int, SceneState]:
        """Per scene: its live generation state, else what its last job and takes say."""
        last: dict[int, JobView] = {}
        for j in self.jobs():
            if j.scene_id is not None:
                last[j.scene_id] = j
        out: dict[int, SceneState] = {}
        for s in self.scenes():
            live, job = self.live.get(s.id), last.get(s.id)
            if live is not None:
                out[s.id] = live
            elif job is not None and job.status in ("queued", "running"):
                status = "queued" if job.status == "queued" else "rendering"
                out[s.id] = SceneState(status, job.progress)
            elif (
                job is not None
                and job.status == "failed"
                and (s.chosen_take_id is None or (self.take(s.chosen_take_id).job_id or 0) < job.id)
            ):
                out[s.id] = SceneState("failed", 0.0, job.error)
            else:
                out[s.id] = SceneState("done" if s.chosen_take_id is not None else "none")
        return out

    def assets(self) -> list[AssetView]:
        """Every medium in the file, oldest first (one query; remembered like `asset`)."""
        found = self.project.assets()
        for a in found:
            self._assets.setdefault(a.id, a)
        return found

    def asset(self, asset_id: int) -> AssetView:
        found = self._assets.get(asset_id)
        if found is None:  # assets never change once stored
            found = self._assets[asset_id] = self.project.asset(asset_id)
        return found

    # ---- media import on a worker ------------------------------------------------------------

    def import_files(
        self,
        paths: list[Path],
        on_done: Callable[[list[Imported]], None],
        on_failed: Callable[[str], None],
        on_progress: Callable[[float], None] | None = None,
    ) -> TaskState:
        """Probe and store files on a worker; `on_done` gets them in order on the GUI thread.
        Any file that cannot be decoded fails the whole drop, and nothing is changed."""
        project = self.project

        def work(state: TaskState) -> list[Imported]:
            probed = []
            for i, path in enumerate(paths):
                state.check()
                probed.append((path, *probe(path)))
                state.set_progress((i + 1) / (2 * len(paths)))
            out = []
            for i, (path, kind, info) in enumerate(probed):
                state.check()
                asset_id = project.execute(ImportMedia(path, info))
                recipe = read_recipe(path) if kind == "video" else None  # "restore recipe"
                out.append(Imported(path, kind, asset_id, info.duration, recipe))
                state.set_progress(0.5 + (i + 1) / (2 * len(paths)))
            return out

        def done(items: list[Imported]) -> None:
            self.sig_changed.emit(frozenset({"assets"}))
            on_done(items)

        return self.workers.start(work, done, on_failed, on_progress)
