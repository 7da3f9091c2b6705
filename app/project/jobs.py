"""Render jobs: written before the engine is asked, updated as it works, never silently lost.

Jobs are a log of what happened, so their changes are not undoable. While a project is open for
editing its process holds the lock, so a job still 'running' when the file is opened belonged to
a process that died: it is marked failed and interrupted, and the editor shows it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, insert, select, update

from .errors import InvalidValueError, NotFoundError
from .models import JOB_STATUSES, RenderJob, Scene

INTERRUPTED_MESSAGE = "interrupted: Storyloom stopped while this job was running"
_NEXT = {
    "queued": {"running", "cancelled", "failed"},
    "running": {"running", "done", "failed", "cancelled"},
}


def create(conn: Connection, scene_id: int | None, request: dict[str, Any], kind: str) -> int:
    if (
        scene_id is not None
        and conn.execute(select(Scene.id).where(Scene.id == scene_id)).first() is None
    ):
        raise NotFoundError(f"no scene with id {scene_id}")
    try:
        payload = json.dumps(request, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidValueError(f"a job's request must be plain JSON ({e})") from e
    return int(
        conn.execute(
            insert(RenderJob).values(
                scene_id=scene_id,
                kind=kind,
                request=payload,
                status="queued",
                progress=0.0,
                error="",
                interrupted=False,
                created_at=time.time(),
            )
        ).inserted_primary_key[0]
    )


def transition(
    conn: Connection, job_id: int, status: str, progress: float | None = None, error: str = ""
) -> None:
    if status not in JOB_STATUSES:
        raise InvalidValueError(f"unknown job status {status!r}")
    now_status = conn.execute(
        select(RenderJob.status).where(RenderJob.id == job_id)
    ).scalar_one_or_none()
    if now_status is None:
        raise NotFoundError(f"no render job with id {job_id}")
    if status not in _NEXT.get(now_status, set()):
        raise InvalidValueError(f"job {job_id} is {now_status}; it cannot become {status}")
    values: dict[str, Any] = {"status": status}
    now = time.time()
    if status == "running" and now_status == "queued":
        values["started_at"] = now
    if status in ("done", "failed", "cancelled"):
        values["finished_at"] = now
    if status == "done":
        values["progress"] = 1.0
    if progress is not None:
        values["progress"] = min(1.0, max(0.0, float(progress)))
    if error:
        values["error"] = error
    conn.execute(update(RenderJob).where(RenderJob.id == job_id).values(**values))


def mark_interrupted(conn: Connection) -> list[int]:
    ids = list(conn.execute(select(RenderJob.id).where(RenderJob.status == "running")).scalars())
    if ids:
        conn.execute(
            update(RenderJob)
            .where(RenderJob.id.in_(ids))
            .values(
                status="failed",
                interrupted=True,
                error=INTERRUPTED_MESSAGE,
                finished_at=time.time(),
            )
        )
    return ids
