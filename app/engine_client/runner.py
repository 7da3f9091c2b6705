"""Generating takes for a project's scenes through the engine, with every step on the record.

For each take: connect (starting the local engine when needed), build the request from the
project, write a RenderJob row, send, stream progress into the row, and on success store the MP4
as a Take with its recipe (chosen if the scene had none). A failure, a crash of the engine
included, is written into the job with its reason; the next job starts the engine again.

A storyboard render follows the carry-over chain: a scene with carry-over on uses the chosen take
of the scene before it, so it waits for that scene; if that scene ends with no take, it is
skipped with the reason. Scenes without carry-over do not depend on anything.

Runs on any thread (the editor calls it from a worker); `cancel()` and `cancel_scene()` may
come from another.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.project import Project, StoryloomError

from . import scene_request
from .client import EngineClient, EngineEvent
from .errors import EngineUnavailable
from .process import EngineHandle

PROGRESS_EVERY_S = 0.5  # at most this often a progress write to the project file


@dataclass(frozen=True)
class Progress:
    scene_id: int
    job_id: int | None
    take: int  # 0-based take of this scene
    takes: int
    status: str  # queued | running | done | failed | cancelled | skipped
    progress: float = 0.0
    step: int = 0
    steps: int = 0
    eta_s: float | None = None
    error: str = ""
    preview: str | None = None  # base64 PNG when previews were asked for


@dataclass
class SceneResult:
    scene_id: int
    status: str  # done | failed | cancelled | skipped
    take_ids: list[int] = field(default_factory=list)
    job_ids: list[int] = field(default_factory=list)
    error: str = ""


class GenerationRunner:
    def __init__(
        self,
        project: Project,
        engine: EngineHandle,
        on_progress: Callable[[Progress], None] | None = None,
        preview_every: int = 0,
        skip: set[int] | None = None,
    ) -> None:
        self.project, self.engine = project, engine
        self.on_progress = on_progress or (lambda p: None)
        self.preview_every = preview_every
        self._client: EngineClient | None = None
        self._model: dict[str, Any] = {}
        self._cancelled = threading.Event()
        self._current: tuple[EngineClient, str, int] | None = None  # client, engine job, scene
        # scenes cancelled one by one (shareable: the editor cancels scenes still waiting in
        # its queue before their runner exists)
        self.skip: set[int] = skip if skip is not None else set()

    # ------------------------------------------------------------------ public
    def cancel(self) -> None:
        """Stop: the running generation within one sampling step, nothing new after it."""
        self._cancelled.set()
        self._stop_current(None)

    def cancel_scene(self, scene_id: int) -> None:
        """Cancel one scene: its running take stops within a sampling step, its waiting takes
        are not sent; the other scenes go on (a scene carrying over from it is then skipped)."""
        self.skip.add(scene_id)
        self._stop_current(scene_id)

    def _stop_current(self, scene_id: int | None) -> None:
        current = self._current
        if current is not None and (scene_id is None or current[2] == scene_id):
            try:
                current[0].cancel(current[1])
            except StoryloomError:
                pass  # it has just finished, or the engine is gone: nothing left to stop

    def render(self, scene_ids: list[int] | None = None, takes: int = 1) -> list[SceneResult]:
        """Scenes in timeline order (all when None), following the carry-over chain."""
        self._cancelled.clear()
        wanted = None if scene_ids is None else set(scene_ids)
        results: dict[int, SceneResult] = {}
        by_position = {s.position: s for s in self.project.scenes()}
        for pos in sorted(by_position):
            scene = by_position[pos]
            if wanted is not None and scene.id not in wanted:
                continue
            before = by_position.get(pos - 1)
            waits_on = results.get(before.id) if before is not None and scene.carry_over else None
            if self._cancelled.is_set() or scene.id in self.skip:
                results[scene.id] = SceneResult(scene.id, "cancelled")
                self.on_progress(Progress(scene.id, None, 0, takes, "cancelled"))
            elif (
                waits_on is not None
                and waits_on.status != "done"
                and self.project.scene(waits_on.scene_id).chosen_take_id is None
            ):
                why = f"skipped: scene {waits_on.scene_id} before it has no take to carry over from"
                results[scene.id] = SceneResult(scene.id, "skipped", error=why)
                self.on_progress(Progress(scene.id, None, 0, takes, "skipped", error=why))
            else:
                results[scene.id] = self._scene(scene.id, takes)
        return list(results.values())

    def generate(self, scene_id: int, takes: int = 1) -> SceneResult:
        """New takes of one scene (carrying over from the previous scene's chosen take, if any)."""
        self._cancelled.clear()
        return self._scene(scene_id, takes)

    def retry(self, job_id: int) -> SceneResult:
        """Run a failed or interrupted job's scene again (as a new job)."""
        job = self.project.job(job_id)
        if job.scene_id is None:
            raise StoryloomError(f"job {job_id} belongs to no scene (was the scene removed?)")
        return self.generate(job.scene_id)

    # ------------------------------------------------------------------ one scene, one take
    def _scene(self, scene_id: int, takes: int) -> SceneResult:
        res = SceneResult(scene_id, "done")
        for i in range(takes):
            if self._cancelled.is_set() or scene_id in self.skip:
                res.status = "cancelled"
                break
            status, job_id, take_id, error = self._take(scene_id, i, takes)
            res.job_ids.append(job_id)
            if take_id is not None:
                res.take_ids.append(take_id)
            if status != "done":
                res.status, res.error = status, error
                break
        return res

    def _connect(self) -> tuple[EngineClient, dict[str, Any]]:
        client = self.engine.ensure()
        if client is not self._client:  # a new or restarted engine: ask what it serves
            self._client, self._model = client, client.models()[0]
        return client, self._model

    def _take(self, scene_id: int, i: int, n: int) -> tuple[str, int, int | None, str]:
        try:
            client, model = self._connect()
            req = scene_request.build(self.project, scene_id, model, i)
        except StoryloomError as e:  # no engine, or the scene's media cannot be sent
            job_id = self.project.create_job(scene_id, {"scene_id": scene_id, "take_index": i})
            self.project.fail_job(job_id, str(e))
            self.on_progress(Progress(scene_id, job_id, i, n, "failed", error=str(e)))
            return "failed", job_id, None, str(e)
        if self.preview_every:
            req.body["preview_every"] = self.preview_every
        job_id = self.project.create_job(scene_id, req.record)  # on record before it is sent
        self.on_progress(Progress(scene_id, job_id, i, n, "queued"))
        status, take_id, error = self._send(client, req, job_id, i, n)
        self.on_progress(
            Progress(scene_id, job_id, i, n, status, 1.0 if take_id else 0.0, error=error)
        )
        return status, job_id, take_id, error

    def _send(
        self, client: EngineClient, req: scene_request.SceneRequest, job_id: int, i: int, n: int
    ) -> tuple[str, int | None, str]:
        state = {"started": False, "written": 0.0}

        def start() -> None:
            if not state["started"]:
                state["started"] = True
                self.project.start_job(job_id)

        def on_event(ev: EngineEvent) -> None:
            if ev.kind == "status" and ev.data.get("status") == "running":
                start()
            elif ev.kind == "step":
                start()
                d = ev.data
                now = time.monotonic()
                if now - state["written"] >= PROGRESS_EVERY_S or d["progress"] >= 1.0:
                    state["written"] = now
                    self.project.job_progress(job_id, d["progress"])
                p = Progress(req.scene_id, job_id, i, n, "running", d["progress"], d["step"])
                self.on_progress(
                    replace(p, steps=d["steps"], eta_s=d.get("eta_s"), preview=d.get("preview"))
                )

        try:
            gid = client.submit(req.body)
            self._current = (client, gid, req.scene_id)
            if self._cancelled.is_set() or req.scene_id in self.skip:
                client.cancel(gid)
            final = client.wait(gid, on_event)
            if final["status"] == "cancelled":
                self.project.cancel_job(job_id)
                return "cancelled", None, ""
            if final["status"] != "done":
                self.project.fail_job(job_id, final.get("error") or "the engine failed")
                return "failed", None, final.get("error", "")
            start()
            take_id = self._store(client, gid, req, final.get("recipe") or {}, job_id)
            self.project.finish_job(job_id)
            return "done", take_id, ""
        except EngineUnavailable as e:
            why = f"the engine stopped during this job: {self.engine.died(wait=3.0) or e}"
            self.project.fail_job(job_id, why)
            return "failed", None, why
        except StoryloomError as e:  # refused by the engine, or the take could not be stored
            self.project.fail_job(job_id, str(e))
            return "failed", None, str(e)
        except Exception as e:  # a bug: leave no job 'running' behind, then let it surface
            self.project.fail_job(job_id, f"internal error: {type(e).__name__}: {e}")
            raise
        finally:
            self._current = None

    def _store(
        self,
        client: EngineClient,
        gid: str,
        req: scene_request.SceneRequest,
        recipe: dict[str, Any],
        job_id: int,
    ) -> int:
        video = client.download(gid)
        used = {
            k: req.record[k]
            for k in ("image_asset_id", "reference_asset_ids", "previous_take_id")
            if k in req.record
        }
        full = dict(recipe, **used, engine_job=gid, requested=_without_media(req.body))
        choose = self.project.scene(req.scene_id).chosen_take_id is None
        with tempfile.TemporaryDirectory(prefix="storyloom-take-") as tmp:
            path = Path(tmp) / f"scene-{req.scene_id}-job-{job_id}.mp4"
            path.write_bytes(video)
            return self.project.add_take(req.scene_id, path, full, job_id=job_id, choose=choose)


def _without_media(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("image", "references", "previous")}
