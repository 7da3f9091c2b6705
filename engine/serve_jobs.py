"""The generation queue behind the HTTP API: one job at a time in a worker thread, FIFO.

The model is loaded once by the worker (so the server answers health checks while it loads) and
stays loaded. A job's step callback publishes progress events and returns False once a cancel
was asked for, so a running job stops within one sampling step. A failure, an out-of-memory
error included, fails only its job: the worker goes on with the next one.

torch and the pipeline are imported by the worker thread only: importing this module is light.
"""

from __future__ import annotations

import gc
import json
import logging
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.request import Cancelled, EngineError, GenerationRequest, StepInfo

log = logging.getLogger("engine.serve")

FINISHED = ("done", "failed", "cancelled")
MAX_EVENTS = 256  # per job; older step events are dropped (ids stay absolute)


class QueueFull(EngineError):
    pass


@dataclass
class Event:
    id: int
    kind: str  # status | step | done | failed | cancelled
    data: dict[str, Any]


@dataclass
class Job:
    id: str
    request: GenerationRequest
    created_at: float
    status: str = "queued"
    step: int = 0
    steps: int = 0
    chunk: int = 0
    chunks: int = 1
    progress: float = 0.0
    eta_s: float | None = None
    error: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    cancel_requested: bool = False
    recipe: dict[str, Any] | None = None
    video: Path | None = None
    events: list[Event] = field(default_factory=list)
    next_event: int = 1


def is_out_of_memory(e: BaseException) -> bool:
    """CUDA's OutOfMemoryError, a CPU allocator failure, numpy's or Python's MemoryError."""
    if isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError":
        return True
    msg = str(e).lower()
    return any(
        s in msg
        for s in (
            "out of memory",
            "can't allocate memory",
            "cannot allocate memory",
            "insufficient memory",
        )
    )


def oom_message(req: GenerationRequest, device: str) -> str:
    size = f"{req.width}x{req.height}"
    hint = "a smaller size or fewer frames" + (
        "" if device == "cpu" else ", or the CPU (--device cpu)"
    )
    return f"out of memory on {device} while generating {size}: try {hint}"


class GenerationService:
    """Owns the model, the queue and the finished results (MP4 files in `workdir`)."""

    def __init__(
        self,
        model_dir: str | None,
        device: str,
        workdir: Path,
        keep_finished: int = 32,
        max_queued: int = 256,
    ) -> None:
        self.model_dir, self.device_name, self.workdir = model_dir, device, workdir
        self.keep_finished, self.max_queued = keep_finished, max_queued
        self.engine: Any = None  # engine.pipeline.Engine once loaded
        self.loading, self.load_error = True, None
        self._cond = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._queue: deque[str] = deque()
        self._running: str | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._work, name="engine-worker", daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stop = True
            for jid in self._queue:
                self._finish(self._jobs[jid], "cancelled", "the engine is shutting down")
            self._queue.clear()
            self._cond.notify_all()
        self._thread.join(timeout)

    # ------------------------------------------------------------------ the API's operations
    def submit(self, req: GenerationRequest) -> Job:
        with self._cond:
            if len(self._queue) >= self.max_queued:
                raise QueueFull(f"the queue is full ({self.max_queued} waiting generations)")
            job = Job(id=secrets.token_hex(8), request=req, created_at=time.time())
            self._jobs[job.id] = job
            self._queue.append(job.id)
            self._emit(job, "status")
            self._cond.notify_all()
            return job

    def get(self, jid: str) -> Job:
        with self._cond:
            return self._jobs[jid]  # KeyError -> 404

    def jobs(self) -> list[dict[str, Any]]:
        with self._cond:
            return [self._snapshot(j) for j in self._jobs.values()]

    def snapshot(self, jid: str) -> dict[str, Any]:
        with self._cond:
            return self._snapshot(self._jobs[jid])

    def cancel(self, jid: str) -> dict[str, Any]:
        """A queued job is cancelled at once; a running one at its next sampling step."""
        with self._cond:
            job = self._jobs[jid]
            if job.status == "queued":
                self._queue.remove(jid)
                self._finish(job, "cancelled", "")
            elif job.status == "running":
                job.cancel_requested = True
            return self._snapshot(job)

    def events_since(self, jid: str, after: int, timeout: float) -> tuple[list[Event], bool]:
        """Events with id > after (waiting up to `timeout` for one), and whether the job ended."""
        with self._cond:
            job = self._jobs[jid]
            self._cond.wait_for(
                lambda: job.next_event - 1 > after or job.status in FINISHED, timeout
            )
            return [e for e in job.events if e.id > after], job.status in FINISHED

    def counts(self) -> tuple[int, str | None]:
        with self._cond:
            return len(self._queue), self._running

    # ------------------------------------------------------------------ bookkeeping (lock held)
    def _snapshot(self, job: Job) -> dict[str, Any]:
        now = job.finished_at or time.time()
        return {
            "id": job.id,
            "status": job.status,
            "progress": round(job.progress, 4),
            "step": job.step,
            "steps": job.steps,
            "chunk": job.chunk,
            "chunks": job.chunks,
            "eta_s": job.eta_s,
            "error": job.error,
            "cancel_requested": job.cancel_requested,
            "elapsed_s": round(now - job.started_at, 3) if job.started_at else None,
            "queue_position": self._queue.index(job.id) if job.status == "queued" else None,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "recipe": job.recipe,
        }

    def _emit(self, job: Job, kind: str, data: dict[str, Any] | None = None) -> None:
        job.events.append(
            Event(job.next_event, kind, data if data is not None else self._snapshot(job))
        )
        job.next_event += 1
        if len(job.events) > MAX_EVENTS:
            del job.events[: len(job.events) - MAX_EVENTS]
        self._cond.notify_all()

    def _finish(self, job: Job, status: str, error: str) -> None:
        job.status, job.error, job.finished_at = status, error, time.time()
        req = job.request  # a finished job keeps its numbers, not its (possibly large) images
        req.image, req.references, req.previous, req.previous_latents = None, [], None, None
        job.eta_s = 0.0 if status == "done" else None
        self._emit(job, status)
        self._evict()

    def _evict(self) -> None:
        done = [j for j in self._jobs.values() if j.status in FINISHED]
        for job in done[: max(0, len(done) - self.keep_finished)]:
            del self._jobs[job.id]
            if job.video is not None:
                job.video.unlink(missing_ok=True)

    # ------------------------------------------------------------------ the worker thread
    def _load(self) -> None:
        try:
            from engine.pipeline import Engine

            engine = Engine.load(self.model_dir, device=self.device_name)
        except Exception as e:  # a broken model folder must not kill the server: health says why
            log.exception("model failed to load")
            with self._cond:
                self.loading, self.load_error = False, str(e) or type(e).__name__
            return
        with self._cond:
            self.engine, self.loading = engine, False

    def _work(self) -> None:
        self._load()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop or bool(self._queue))
                if self._stop:
                    return
                job = self._jobs[self._queue.popleft()]
                job.status, job.started_at, self._running = "running", time.time(), job.id
                self._emit(job, "status")
            try:
                self._run(job)
            finally:
                with self._cond:
                    self._running = None

    def _run(self, job: Job) -> None:
        from engine.media_io import write_video

        status, error, recipe, video = "failed", "", None, None
        try:
            if self.engine is None:
                raise EngineError(f"the model could not be loaded: {self.load_error}")
            clip = self.engine.generate(job.request, on_step=lambda info: self._on_step(job, info))
            recipe = dict(clip.recipe, job=job.id)
            video = self.workdir / f"{job.id}.mp4"
            write_video(video, clip.frames, clip.fps, metadata={"comment": json.dumps(recipe)})
            status = "done"
        except Cancelled:
            status = "cancelled"
        except EngineError as e:
            error = str(e)
        except Exception as e:  # noqa: BLE001 - every failure ends its job, never the service
            if is_out_of_memory(e):
                error = oom_message(job.request, self._device_type())
                log.warning("job %s: %s (%s)", job.id, error, e)
            else:
                log.exception("job %s failed", job.id)
                error = f"internal error: {type(e).__name__}: {e}"
        finally:
            if status != "done":
                self._release_memory()
        with self._cond:
            job.recipe, job.video = recipe, video
            if status == "done":
                job.progress = 1.0
            self._finish(job, status, error)

    def _on_step(self, job: Job, info: StepInfo) -> bool:
        preview = None
        if info.preview is not None:
            from engine.serve_media import encode_preview

            preview = encode_preview(info.preview)
        with self._cond:
            job.step, job.steps, job.chunk, job.chunks = (
                info.step,
                info.steps,
                info.chunk,
                info.chunks,
            )
            job.progress = info.progress
            elapsed = time.time() - (job.started_at or time.time())
            job.eta_s = (
                round(elapsed * (1 - job.progress) / job.progress, 2) if job.progress > 0 else None
            )
            data = {
                "step": info.step,
                "steps": info.steps,
                "chunk": info.chunk,
                "chunks": info.chunks,
                "progress": round(job.progress, 4),
                "eta_s": job.eta_s,
                "elapsed_s": round(elapsed, 3),
            }
            if preview:
                data["preview"] = preview
            self._emit(job, "step", data)
            return not (job.cancel_requested or self._stop)

    def _device_type(self) -> str:
        return self.engine.device.type if self.engine is not None else self.device_name

    def _release_memory(self) -> None:
        gc.collect()
        if self.engine is not None and self.engine.device.type == "cuda":
            import torch

            torch.cuda.empty_cache()
