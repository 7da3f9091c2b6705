"""Reads: the timeline, elements, takes, audio, assets and jobs, as frozen views.

The timeline listing is one query with correlated subqueries over indexed columns, so listing a
1,000-scene project stays within a few milliseconds of the equivalent hand-written sqlite3 query.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from .errors import NotFoundError
from .models import (
    Asset,
    AudioClip,
    AudioTrack,
    Element,
    ElementImage,
    ProjectRow,
    RenderJob,
    Scene,
    Take,
)
from .views import (
    AssetView,
    AudioClipView,
    AudioTrackView,
    ElementView,
    JobView,
    ProjectInfo,
    SceneView,
    TakeView,
)

_SEP = "\x1f"
SCENES_SQL = f"""
SELECT s.id, s.position, s.title, s.prompt, s.negative_prompt, s.duration, s.seed,
       s.image_asset_id, s.carry_over, s.carry_over_strength, s.chosen_take_id,
       (SELECT group_concat(e.name, '{_SEP}') FROM scene_elements se
          JOIN elements e ON e.id = se.element_id WHERE se.scene_id = s.id),
       (SELECT group_concat(t.id) FROM takes t WHERE t.scene_id = s.id),
       s.generation
FROM scenes s {{where}} ORDER BY s.position
"""


def project_info(conn: Connection, schema_version: int) -> ProjectInfo:
    r = conn.execute(ProjectRow.__table__.select()).one()
    return ProjectInfo(
        r.title, r.width, r.height, r.fps, r.style_prompt, json.loads(r.generation), schema_version
    )


def _scene(row: tuple) -> SceneView:
    elements = tuple(sorted(row[11].split(_SEP), key=str.lower)) if row[11] else ()
    takes = tuple(sorted(int(t) for t in row[12].split(","))) if row[12] else ()
    return SceneView(
        int(row[0]),
        int(row[1]),
        row[2],
        row[3],
        row[4],
        float(row[5]),
        row[6],
        row[7],
        bool(row[8]),
        float(row[9]),
        row[10],
        elements,
        takes,
        json.loads(row[13] or "{}"),
    )


def scenes(conn: Connection) -> list[SceneView]:
    return [_scene(r) for r in conn.exec_driver_sql(SCENES_SQL.format(where=""))]


def scene(conn: Connection, scene_id: int) -> SceneView:
    row = conn.exec_driver_sql(SCENES_SQL.format(where="WHERE s.id = ?"), (scene_id,)).first()
    if row is None:
        raise NotFoundError(f"no scene with id {scene_id}")
    return _scene(tuple(row))


def elements(conn: Connection) -> list[ElementView]:
    images: dict[int, list[int]] = {}
    for eid, aid in conn.execute(
        select(ElementImage.element_id, ElementImage.asset_id).order_by(ElementImage.position)
    ):
        images.setdefault(eid, []).append(aid)
    rows = conn.execute(Element.__table__.select().order_by(Element.name)).all()
    return [
        ElementView(r.id, r.name, r.kind, r.description, tuple(images.get(r.id, ()))) for r in rows
    ]


def _take(r) -> TakeView:  # type: ignore[no-untyped-def]
    return TakeView(
        r.id, r.scene_id, r.asset_id, json.loads(r.recipe), r.seed, r.job_id, r.created_at
    )


def takes(conn: Connection, scene_id: int) -> list[TakeView]:
    q = Take.__table__.select().where(Take.scene_id == scene_id).order_by(Take.id)
    return [_take(r) for r in conn.execute(q)]


def chosen_takes(conn: Connection) -> dict[int, tuple[TakeView, AssetView]]:
    """Every scene's chosen take with its video, by scene id: one query for the timeline."""
    asset_cols = [c.label(f"a_{c.name}") for c in _ASSET_COLS]
    q = (
        select(Scene.id.label("sid"), *Take.__table__.c, *asset_cols)
        .join(Take, Take.id == Scene.chosen_take_id)
        .join(Asset, Asset.id == Take.asset_id)
    )
    out = {}
    for r in conn.execute(q):
        asset = AssetView(*(getattr(r, f"a_{c.name}") for c in _ASSET_COLS))
        out[r.sid] = (_take(r), asset)
    return out


def take(conn: Connection, take_id: int) -> TakeView:
    r = conn.execute(Take.__table__.select().where(Take.id == take_id)).first()
    if r is None:
        raise NotFoundError(f"no take with id {take_id}")
    return _take(r)


def audio_tracks(conn: Connection) -> list[AudioTrackView]:
    clips: dict[int, list[AudioClipView]] = {}
    for c in conn.execute(AudioClip.__table__.select().order_by(AudioClip.start, AudioClip.id)):
        clips.setdefault(c.track_id, []).append(
            AudioClipView(
                c.id,
                c.track_id,
                c.asset_id,
                c.start,
                c.in_point,
                c.out_point,
                c.gain_db,
                c.fade_in,
                c.fade_out,
            )
        )
    rows = conn.execute(AudioTrack.__table__.select().order_by(AudioTrack.position))
    return [
        AudioTrackView(
            t.id,
            t.name,
            t.position,
            t.gain_db,
            bool(t.mute),
            bool(t.solo),
            tuple(clips.get(t.id, ())),
        )
        for t in rows
    ]


_ASSET_COLS = [
    c for c in Asset.__table__.c if c.name not in ("thumbnail", "waveform", "created_at")
]


def assets(conn: Connection) -> list[AssetView]:
    """Every medium stored in the file, oldest first (previews are fetched separately)."""
    rows = conn.execute(select(*_ASSET_COLS).order_by(Asset.created_at, Asset.id)).all()
    return [AssetView(*r) for r in rows]


def asset(conn: Connection, asset_id: int) -> AssetView:
    r = conn.execute(select(*_ASSET_COLS).where(Asset.id == asset_id)).first()
    if r is None:
        raise NotFoundError(f"no media with id {asset_id}")
    return AssetView(*r)


def asset_previews(conn: Connection, asset_id: int) -> tuple[bytes | None, bytes | None]:
    """(thumbnail JPEG, waveform uint8 peaks) of an asset."""
    r = conn.execute(select(Asset.thumbnail, Asset.waveform).where(Asset.id == asset_id)).first()
    if r is None:
        raise NotFoundError(f"no media with id {asset_id}")
    return r[0], r[1]


def _job(r) -> JobView:  # type: ignore[no-untyped-def]
    return JobView(
        r.id,
        r.scene_id,
        r.kind,
        json.loads(r.request),
        r.status,
        r.progress,
        r.error,
        bool(r.interrupted),
        r.created_at,
        r.started_at,
        r.finished_at,
    )


def jobs(conn: Connection, statuses: tuple[str, ...] | None = None) -> list[JobView]:
    q = RenderJob.__table__.select().order_by(RenderJob.id)
    if statuses:
        q = q.where(RenderJob.status.in_(statuses))
    return [_job(r) for r in conn.execute(q)]


def job(conn: Connection, job_id: int) -> JobView:
    r = conn.execute(RenderJob.__table__.select().where(RenderJob.id == job_id)).first()
    if r is None:
        raise NotFoundError(f"no render job with id {job_id}")
    return _job(r)
