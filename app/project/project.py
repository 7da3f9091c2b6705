"""`Project`: the one object through which the editor, the CLI, render and generation use a
project file. Reads return frozen views; every edit is a command run in one transaction with one
undo step; listeners (plain callables, no Qt) hear about every committed change."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from . import assets, history, jobs, media, queries, schema, store, validate
from .commands import AddTake, ChooseTake, Command, DeleteTake
from .edit_context import Ctx, translate
from .errors import ProjectError, ReadOnlyError
from .lock import ProjectLock
from .models import AssetChunk
from .views import (
    AssetView,
    AudioTrackView,
    Change,
    ElementView,
    JobView,
    ProjectInfo,
    SceneView,
    TakeView,
)

Listener = Callable[[Change], None]
_SUFFIX = {"image": ".png", "video": ".mp4", "audio": ".wav"}


@dataclass(frozen=True)
class TimelineEntry:
    """A scene in timeline order with its chosen take and that take's video (for export)."""

    scene: SceneView
    take: TakeView | None
    video: AssetView | None


class Project:
    def __init__(self, path: Path, readonly: bool, cache_dir: Path | None) -> None:
        self.path = path
        self.readonly = readonly
        self.cache_dir = cache_dir or platformdirs.user_cache_path("storyloom") / "media"
        self.schema_version = schema.SCHEMA_VERSION
        self.upgraded_from: int | None = None  # set when this open upgraded an older file
        self.backup_path: Path | None = None  # the copy written before that upgrade
        self.interrupted_jobs: list[JobView] = []  # found running by this open: show them
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._group: dict[str, Any] | None = None
        self._file_lock: ProjectLock | None = None
        self._engine = store.make_engine(path, readonly)
        self._conn = self._engine.connect()

    # ---- opening and closing -------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        title: str,
        size: tuple[int, int] = (1280, 720),
        fps: float = 24.0,
        cache_dir: Path | None = None,
    ) -> Project:
        path = Path(path)
        validate.text(title, "title", empty_ok=False)
        width, height = validate.frame_size(*size)
        validate.fps(fps)
        validate.text(str(path), "file name")
        store.check_writable(path)
        store.create_file(path, title, width, height, fps)
        return cls.open(path, cache_dir=cache_dir)

    @classmethod
    def open(
        cls, path: str | Path, *, readonly: bool = False, cache_dir: Path | None = None
    ) -> Project:
        """Open for editing (takes the lock, upgrades, finds interrupted jobs) or read-only."""
        path = Path(path)
        store.check_exists(path)
        lock = None
        if not readonly:
            store.check_writable(path)
            lock = ProjectLock(path)
            lock.acquire()
        try:
            project = cls(path, readonly, cache_dir)
            project._file_lock = lock
            project._start()
            return project
        except BaseException:
            if lock is not None:
                lock.release()
            raise

    def _start(self) -> None:
        try:
            raw = self._conn.connection.dbapi_connection
            assert raw is not None
            version = store.read_identity(raw, self.path)
            if self.readonly:
                if version < schema.SCHEMA_VERSION:
                    raise ReadOnlyError(f"{self.path}: needs an upgrade; open it once for editing")
                raw.execute("PRAGMA query_only = ON")
                return
            store.set_pragmas(raw)
            if version < schema.SCHEMA_VERSION:
                self.backup_path = schema.upgrade(raw, self.path, version)
                self.upgraded_from = version
            history.install_triggers(self._conn)
            self._conn.commit()  # installing temp triggers autobegan a transaction
            with self._conn.begin():
                ids = jobs.mark_interrupted(self._conn)
                self.interrupted_jobs = [queries.job(self._conn, i) for i in ids]
        except sqlite3.DatabaseError as e:
            self._shutdown()
            raise translate(e, self.path) from e
        except sa_exc.DBAPIError as e:
            self._shutdown()
            raise translate(e.orig, self.path) from e
        except BaseException:
            self._shutdown()
            raise

    def _shutdown(self) -> None:
        self._conn.close()
        self._engine.dispose()

    def close(self) -> None:
        with self._lock:
            if self._conn.closed:
                return
            self._shutdown()  # the last connection checkpoints the WAL into the file
            if self._file_lock is not None:
                self._file_lock.release()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- change notification --------------------------------------------------------------

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        self._listeners.remove(fn)

    def _notify(self, change: Change) -> None:
        for fn in list(self._listeners):
            fn(change)

    # ---- transactions ---------------------------------------------------------------------

    def _writable(self) -> None:
        if self.readonly:
            raise ReadOnlyError(f"{self.path}: opened read-only")
        if self._conn.closed:
            raise ProjectError(f"{self.path}: the project is closed")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            with self._conn.begin():
                yield
        except sa_exc.DBAPIError as e:
            raise translate(e.orig, self.path) from e

    def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            if self._conn.closed:
                raise ProjectError(f"{self.path}: the project is closed")
            if self._conn.in_transaction():
                return fn(self._conn, *args)
            with self._transaction():
                return fn(self._conn, *args)

    def execute(self, command: Command) -> Any:
        """Run one edit as one transaction and one undo step; returns the command's result."""
        with self._lock:
            self._writable()
            if self._group is not None:
                self._group["tables"].update(command.tables)
                return command.apply(Ctx(self._conn))
            with self._transaction():
                step = history.begin_step(self._conn, command.label, command.tables)
                result = command.apply(Ctx(self._conn))
                kept = history.end_step(self._conn, step)
        if kept:
            self._notify(Change(command.label, "do", command.tables))
        return result

    @contextmanager
    def group(self, label: str) -> Iterator[None]:
        """Several edits as one transaction and one undo step (nested groups merge)."""
        with self._lock:
            self._writable()
            if self._group is not None:
                yield
                return
            tables: set[str] = set()
            with self._transaction():
                step = history.begin_step(self._conn, label, ())
                self._group = {"tables": tables}
                try:
                    yield
                finally:
                    self._group = None
                self._conn.exec_driver_sql(
                    "UPDATE history_steps SET tables=? WHERE id=?", (",".join(sorted(tables)), step)
                )
                kept = history.end_step(self._conn, step)
        if kept:
            self._notify(Change(label, "do", tuple(sorted(tables))))

    def _replay(self, state: str, new_state: str, source: str) -> history.Step | None:
        with self._lock:
            self._writable()
            if self._group is not None:
                raise ProjectError("cannot undo or redo inside a group of edits")
            with self._transaction():
                step = history.peek(self._conn, state)
                if step is not None:
                    history.replay(self._conn, step, new_state)
        if step is not None:
            self._notify(Change(step.label, source, step.tables))
        return step

    def undo(self) -> history.Step | None:
        """Undo the last edit; returns it, or None when there is nothing to undo."""
        return self._replay("done", "undone", "undo")

    def redo(self) -> history.Step | None:
        return self._replay("undone", "done", "redo")

    def undo_step(self) -> history.Step | None:
        return self._read(history.peek, "done")

    def redo_step(self) -> history.Step | None:
        return self._read(history.peek, "undone")

    # ---- reads ----------------------------------------------------------------------------

    def info(self) -> ProjectInfo:
        return self._read(queries.project_info, self.schema_version)

    def scenes(self) -> list[SceneView]:
        return self._read(queries.scenes)

    def scene(self, scene_id: int) -> SceneView:
        return self._read(queries.scene, scene_id)

    def elements(self) -> list[ElementView]:
        return self._read(queries.elements)

    def takes(self, scene_id: int) -> list[TakeView]:
        return self._read(queries.takes, scene_id)

    def take(self, take_id: int) -> TakeView:
        return self._read(queries.take, take_id)

    def audio_tracks(self) -> list[AudioTrackView]:
        return self._read(queries.audio_tracks)

    def asset(self, asset_id: int) -> AssetView:
        return self._read(queries.asset, asset_id)

    def assets(self) -> list[AssetView]:
        """Every imported or generated medium in the file, oldest first."""
        return self._read(queries.assets)

    def asset_previews(self, asset_id: int) -> tuple[bytes | None, bytes | None]:
        """(thumbnail JPEG, waveform peaks as uint8 bytes) of an asset."""
        return self._read(queries.asset_previews, asset_id)

    def timeline(self) -> list[TimelineEntry]:
        """Scenes in order with their chosen take and its video: what export renders."""
        chosen = self._read(queries.chosen_takes)  # one query, not two per scene
        out = []
        for s in self.scenes():
            take, asset = chosen.get(s.id, (None, None))
            out.append(TimelineEntry(s, take, asset))
        return out

    def integrity_check(self) -> str:
        return self._read(lambda c: c.exec_driver_sql("PRAGMA integrity_check").scalar_one())

    # ---- media streaming ------------------------------------------------------------------

    def _fetch_chunk(self, asset_id: int, idx: int) -> bytes:
        q = select(AssetChunk.data).where(AssetChunk.asset_id == asset_id, AssetChunk.idx == idx)
        return self._read(lambda c: c.execute(q).scalar_one())

    def open_asset(self, asset_id: int) -> assets.AssetReader:
        """A seekable binary file object over the asset (PyAV can `av.open` it directly)."""
        a = self.asset(asset_id)
        return assets.AssetReader(self._fetch_chunk, a.id, a.size_bytes, a.chunk_size)

    def iter_asset(self, asset_id: int) -> Iterator[bytes]:
        a = self.asset(asset_id)
        return assets.iter_chunks(self._fetch_chunk, a.id, a.size_bytes, a.chunk_size)

    def asset_path(self, asset_id: int) -> Path:
        """A decoded-for-playback copy in the user cache directory (written once per hash)."""
        a = self.asset(asset_id)
        suffix = Path(a.original_name).suffix or _SUFFIX.get(a.kind, "")
        chunks = assets.iter_chunks(self._fetch_chunk, a.id, a.size_bytes, a.chunk_size)
        try:
            return assets.materialise(
                chunks, self.cache_dir, a.sha256, suffix.lower(), a.size_bytes
            )
        except OSError as e:
            raise ProjectError(
                f"cannot write media to the cache {self.cache_dir}: {e.strerror}"
            ) from e

    # ---- generation: jobs and takes -------------------------------------------------------

    def _job_write(self, label: str, fn: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            self._writable()
            with self._transaction():
                result = fn(self._conn, *args)
        self._notify(Change(label, "job", ("render_jobs",)))
        return result

    def create_job(self, scene_id: int | None, request: dict[str, Any], kind: str = "take") -> int:
        """Write a queued job before the engine is asked (so it can never be lost)."""
        return self._job_write("Queue job", jobs.create, scene_id, request, kind)

    def start_job(self, job_id: int) -> None:
        self._job_write("Start job", jobs.transition, job_id, "running", 0.0)

    def job_progress(self, job_id: int, progress: float) -> None:
        self._job_write("Job progress", jobs.transition, job_id, "running", progress)

    def finish_job(self, job_id: int) -> None:
        self._job_write("Job done", jobs.transition, job_id, "done")

    def fail_job(self, job_id: int, error: str) -> None:
        self._job_write("Job failed", jobs.transition, job_id, "failed", None, error or "failed")

    def cancel_job(self, job_id: int) -> None:
        self._job_write("Job cancelled", jobs.transition, job_id, "cancelled")

    def jobs(self, statuses: tuple[str, ...] | None = None) -> list[JobView]:
        return self._read(queries.jobs, statuses)

    def job(self, job_id: int) -> JobView:
        return self._read(queries.job, job_id)

    def add_take(
        self,
        scene_id: int,
        video: Path | bytes,
        recipe: dict[str, Any],
        info: media.MediaInfo | None = None,
        job_id: int | None = None,
        choose: bool = True,
    ) -> int:
        """Store a generated clip as a take (an undoable step). Pass `info` to skip probing."""
        return self.execute(AddTake(scene_id, video, info, None, recipe, None, job_id, choose))

    def choose_take(self, scene_id: int, take_id: int | None) -> None:
        self.execute(ChooseTake(scene_id, take_id))

    def delete_take(self, take_id: int) -> None:
        self.execute(DeleteTake(take_id))
