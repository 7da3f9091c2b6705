"""The JSON form of a project, shared by `info --json` and `scene list --json` (same names)."""

from __future__ import annotations

from typing import Any

from app.project import Project, SceneView


def _media(project: Project, asset_id: int | None) -> dict[str, Any] | None:
    if asset_id is None:
        return None
    a = project.asset(asset_id)
    return {"asset": a.id, "name": a.original_name, "kind": a.kind, "sha256": a.sha256}


def scene(project: Project, s: SceneView) -> dict[str, Any]:
    return {
        "id": s.id,
        "position": s.position,
        "title": s.title,
        "prompt": s.prompt,
        "negative_prompt": s.negative_prompt,
        "duration": s.duration,
        "seed": s.seed,
        "image": _media(project, s.image_asset_id),
        "elements": list(s.elements),
        "carry_over": s.carry_over,
        "carry_over_strength": s.carry_over_strength,
        "generation": dict(s.generation),
        "takes": list(s.takes),
        "chosen_take": s.chosen_take_id,
    }


def scenes(project: Project) -> list[dict[str, Any]]:
    return [scene(project, s) for s in project.scenes()]


def project(p: Project) -> dict[str, Any]:
    info = p.info()
    return {
        "title": info.title,
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "schema_version": info.schema_version,
        "style_prompt": info.style_prompt,
        "scenes": scenes(p),
        "elements": [
            {
                "id": e.id,
                "name": e.name,
                "kind": e.kind,
                "description": e.description,
                "images": [_media(p, a) for a in e.image_asset_ids],
            }
            for e in p.elements()
        ],
        "audio_tracks": [
            {
                "id": t.id,
                "name": t.name,
                "gain_db": t.gain_db,
                "mute": t.mute,
                "solo": t.solo,
                "clips": [
                    {
                        "id": c.id,
                        "media": _media(p, c.asset_id),
                        "start": c.start,
                        "in_point": c.in_point,
                        "out_point": c.out_point,
                        "gain_db": c.gain_db,
                        "fade_in": c.fade_in,
                        "fade_out": c.fade_out,
                    }
                    for c in t.clips
                ],
            }
            for t in p.audio_tracks()
        ],
        "interrupted_jobs": [j.id for j in p.interrupted_jobs],
    }
