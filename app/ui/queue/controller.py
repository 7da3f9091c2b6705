"""Generation from the editor: requests go, one at a time, to a worker thread that runs the
engine client's GenerationRunner (which writes each job to the project before it is sent, and
stores each take). Progress per sampling step comes back on the GUI thread; cancel stops the
running generation within a step and drops what was waiting."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal

from app.engine_client import EngineHandle, GenerationRunner, Progress

from ..document import ProjectDocument, SceneState
from ..workers import TaskState, Workers

PREVIEW_EVERY = 2  # sampling steps between live preview frames
LIVE = {"queued": "queued", "running": "rendering"}

EngineFactory = Callable[[], EngineHandle]


class GenerationController(QObject):
    sig_progress = Signal(object)  # Progress
    sig_busy = Signal(bool)
    sig_message = Signal(str, str)  # (text, level)

    _sig_worker_progress = Signal(object)

    def __init__(
        self, doc: ProjectDocument, engine_factory: EngineFactory, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.doc = doc
        self._factory = engine_factory
        self._engine: EngineHandle | None = None
        self._workers = Workers(1, self)  # one generation at a time, in the order asked
        self._runners: set[GenerationRunner] = set()
        self._skip: set[int] = set()  # scenes cancelled one by one, shared with every runner
        self._tasks: list[TaskState] = []
        self.last: dict[int, Progress] = {}  # job id -> its latest progress (ETA, preview)
        self._sig_worker_progress.connect(self._progress, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def set_engine_factory(self, factory: EngineFactory) -> None:
        """New preferences: the next generation uses the new engine (the old one is stopped)."""
        self._factory = factory
        old, self._engine = self._engine, None
        if old is not None:
            self._workers.start(lambda _s: old.close())

    # ---- requests ---------------------------------------------------------------------------

    def generate(self, scene_id: int, takes: int = 1) -> TaskState:
        self._skip.discard(scene_id)
        self._mark_queued([scene_id])
        return self._submit(lambda r: [r.generate(scene_id, takes)])

    def render(self, scene_ids: list[int]) -> TaskState | None:
        """Scenes in timeline order, following the carry-over chain."""
        if not scene_ids:
            self.sig_message.emit("Every scene already has a take", "info")
            return None
        self._skip.difference_update(scene_ids)
        self._mark_queued(scene_ids)
        return self._submit(lambda r: r.render(scene_ids))

    def render_missing(self) -> TaskState | None:
        return self.render([s.id for s in self.doc.scenes() if s.chosen_take_id is None])

    def render_from(self, scene_id: int) -> TaskState | None:
        scene = self.doc.scene(scene_id)
        if scene is None:
            return None
        return self.render([s.id for s in self.doc.scenes() if s.position >= scene.position])

    def retry(self, job_id: int) -> TaskState:
        job = self.doc.project.job(job_id)
        if job.scene_id is not None:
            self._skip.discard(job.scene_id)
            self._mark_queued([job.scene_id])
        return self._submit(lambda r: [r.retry(job_id)])

    def cancel_scene(self, scene_id: int) -> None:
        """Cancel one scene's generation, running or waiting; the rest of the queue goes on."""
        self._skip.add(scene_id)
        for r in list(self._runners):
            r.cancel_scene(scene_id)
        state = self.doc.live.get(scene_id)
        if state is not None and state.status == "queued":
            del self.doc.live[scene_id]
        self.doc.sig_changed.emit(frozenset({"render_jobs"}))

    def cancel(self) -> None:
        for st in self._tasks:
            st.cancel()
        for r in list(self._runners):
            r.cancel()
        for sid, state in list(self.doc.live.items()):
            if state.status == "queued":
                del self.doc.live[sid]
        self.doc.sig_changed.emit(frozenset({"render_jobs"}))

    def shutdown(self) -> None:
        """Closing the project: stop generating, wait, stop a local engine."""
        self.cancel()
        self._workers.wait(60000)
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    # ---- worker ------------------------------------------------------------------------------

    def _mark_queued(self, scene_ids: list[int]) -> None:
        for sid in scene_ids:
            if sid not in self.doc.live:
                self.doc.live[sid] = SceneState("queued")
        self.doc.sig_changed.emit(frozenset({"render_jobs"}))

    def _submit(self, job: Callable[[GenerationRunner], list]) -> TaskState:
        def work(state: TaskState) -> list:
            state.check()
            if self._engine is None:
                self._engine = self._factory()
            runner = GenerationRunner(
                self.doc.project,
                self._engine,
                self._sig_worker_progress.emit,
                PREVIEW_EVERY,
                skip=self._skip,
            )
            self._runners.add(runner)
            try:
                if state.cancelled:
                    return []
                return job(runner)
            finally:
                self._runners.discard(runner)

        st = self._workers.start(work, self._done, self._failed, on_cancelled=lambda: None)
        self._tasks.append(st)
        st.sig_finished.connect(lambda: self._finished(st), Qt.ConnectionType.QueuedConnection)
        self.sig_busy.emit(True)
        return st

    def _finished(self, st: TaskState) -> None:
        if st in self._tasks:
            self._tasks.remove(st)
        if not self._tasks:
            self.doc.live.clear()
            self.sig_busy.emit(False)
            self.doc.sig_changed.emit(frozenset({"render_jobs"}))

    def _done(self, results: list) -> None:
        failed = [r for r in results if r.status == "failed"]
        if failed:
            self.sig_message.emit(failed[0].error or "generation failed", "error")

    def _failed(self, message: str) -> None:
        self.sig_message.emit(message, "error")

    def _progress(self, p: Progress) -> None:
        if p.job_id is not None:
            self.last[p.job_id] = p
        if p.status in LIVE:
            self.doc.live[p.scene_id] = SceneState(LIVE[p.status], p.progress)
        else:
            self.doc.live.pop(p.scene_id, None)
            if p.status == "failed" and p.error:
                self.sig_message.emit(p.error, "error")
        self.sig_progress.emit(p)
