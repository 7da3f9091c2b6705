"""Provenance: what a film was made from, carried in the file and in a JSON sidecar, and read
back from an exported clip (to offer "restore recipe" when one is dragged into a project).

The recipe names the project's settings, every scene (prompt, seed, duration, elements, the take
used and that take's own recipe: model id and hash, prompt as sent, seed, steps, guidance), the
audio, the render settings and the output. MP4 and WebM carry it whole in their `description`
tag; GIF, PNG and WAV cannot, so the sidecar `OUT.recipe.json` is where it always is.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import av

from app.project import Project

from .formats import OutputSpec
from .plan import Plan
from .settings import RenderSettings

RECIPE_KEY = "storyloom_recipe"
RECIPE_VERSION = 1
MADE_WITH = "Made with Storyloom"


def version() -> str:
    try:
        return importlib_metadata.version("storyloom")
    except importlib_metadata.PackageNotFoundError:
        return "dev"


def sidecar_path(out: Path) -> Path:
    return out.with_name(out.name + ".recipe.json")


def _models(scenes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for s in scenes:
        r = (s.get("take") or {}).get("recipe") or {}
        if r.get("model"):
            key = (str(r["model"]), str(r.get("model_hash", "")))
            seen.setdefault(key, {"id": key[0], "hash": key[1] or None})
    return list(seen.values())


def build_recipe(
    project: Project, plan: Plan, settings: RenderSettings, spec: OutputSpec
) -> dict[str, Any]:
    info = project.info()
    scenes = []
    for seg in plan.segments:
        if seg.scene is None:
            continue
        s = seg.scene
        take = seg.take
        scenes.append(
            {
                "id": s.id,
                "position": s.position,
                "title": s.title,
                "prompt": s.prompt,
                "negative_prompt": s.negative_prompt,
                "duration": s.duration,
                "seed": s.seed,
                "elements": list(s.elements),
                "carry_over": s.carry_over,
                "transition_in": seg.transition_in.as_dict(),
                "take": None
                if take is None
                else {"id": take.id, "seed": take.seed, "recipe": take.recipe},
            }
        )
    elements = [
        {"name": e.name, "kind": e.kind, "description": e.description} for e in project.elements()
    ]
    audio = [
        {
            "label": src.label,
            "media": src.asset.original_name,
            "sha256": src.asset.sha256,
            "start": src.start,
            "in_point": src.in_point,
            "length": src.length,
            "gain_db": src.gain_db,
            "fade_in": src.fade_in,
            "fade_out": src.fade_out,
        }
        for src in plan.sources
    ]
    return {
        RECIPE_KEY: RECIPE_VERSION,
        "made_with": f"Storyloom {version()}",
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "project": {
            "title": info.title,
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "style_prompt": info.style_prompt,
            "generation": info.generation,
        },
        "models": _models(scenes),
        "scenes": scenes,
        "elements": elements,
        "audio": audio,
        "render": {
            "preset": spec.preset.name,
            "fit": settings.fit,
            "missing": settings.missing,
            "take": settings.take,
            "scenes": list(settings.scenes) if settings.scenes is not None else None,
            "title_card": settings.title_card,
            "end_card": settings.end_card,
            "subtitles": len(settings.subtitles),
            "normalise_db": settings.master.normalise_db,
            "ceiling_db": settings.master.ceiling_db,
        },
        "output": {
            "format": spec.format.name,
            "width": spec.width,
            "height": spec.height,
            "fps": float(spec.fps),
            "crf": spec.crf,
            "bitrate": spec.bitrate,
            "frames": plan.frames,
            "duration": plan.frames / float(spec.fps),
        },
    }


def tags(recipe: dict[str, Any]) -> dict[str, str]:
    """Container metadata: title, "Made with Storyloom" with the models, the whole recipe."""
    models = ", ".join(
        f"{m['id']} ({m['hash'][:12]})" if m.get("hash") else m["id"] for m in recipe["models"]
    )
    comment = f"{MADE_WITH}; model: {models}" if models else MADE_WITH
    return {
        "title": recipe["project"]["title"],
        "comment": comment,
        "description": json.dumps(recipe, ensure_ascii=False, separators=(",", ":")),
    }


def sidecar_bytes(recipe: dict[str, Any]) -> bytes:
    return (json.dumps(recipe, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _parse(text: str | None) -> dict[str, Any] | None:
    if not text or not text.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if RECIPE_KEY in data:
        return data
    if "model" in data and "prompt" in data:  # a clip straight from the engine: one take's recipe
        return {RECIPE_KEY: RECIPE_VERSION, "take_recipe": data}
    return None


def read_recipe(path: Path) -> dict[str, Any] | None:
    """The Storyloom recipe of an exported film or a generated clip, from its metadata or its
    sidecar; None when it is not ours (or cannot be read)."""
    path = Path(path)
    try:
        with av.open(str(path)) as box:
            meta = {k.lower(): v for k, v in box.metadata.items()}
            for key in ("description", "comment", "storyloom"):
                found = _parse(meta.get(key))
                if found is not None:
                    return found
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        pass
    side = sidecar_path(path)
    if side.is_file():
        try:
            return _parse(side.read_text("utf-8"))
        except (OSError, UnicodeDecodeError):
            return None
    return None


@dataclass(frozen=True)
class RestoredScene:
    """A scene as a recipe describes it: enough to generate it again with the same seed."""

    prompt: str
    duration: float
    seed: int | None = None
    negative_prompt: str = ""
    title: str = ""
    elements: tuple[str, ...] = ()
    carry_over: bool = True


def _num(v: Any, default: float) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and v > 0 else default


def _seed(v: Any) -> int | None:
    return int(v) if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def _text(v: Any) -> str:
    return v if isinstance(v, str) else ""


def restorable(recipe: dict[str, Any]) -> tuple[list[RestoredScene], list[dict[str, str]]]:
    """The scenes (and elements: name, kind, description) a recipe can restore. A film gives
    its scenes in order, each with the seed its take was generated with; a single generated
    clip gives one scene. Values of the wrong type are dropped, never trusted: a recipe comes
    from a file someone else may have written."""
    take = recipe.get("take_recipe")
    if isinstance(take, dict):
        frames, fps = take.get("frames"), take.get("fps")
        duration = _num(frames, 0) / _num(fps, 1) if _num(frames, 0) and _num(fps, 0) else 2.0
        scene = RestoredScene(
            prompt=_text(take.get("prompt")),
            duration=round(duration, 3),
            seed=_seed(take.get("seed")),
            negative_prompt=_text(take.get("negative_prompt")),
        )
        return ([scene] if scene.prompt else []), []
    scenes = []
    for s in recipe.get("scenes") or []:
        if not isinstance(s, dict) or not _text(s.get("prompt")):
            continue
        take = s.get("take") if isinstance(s.get("take"), dict) else {}
        seed = (
            _seed(take.get("seed")) if _seed(take.get("seed")) is not None else _seed(s.get("seed"))
        )
        names = s.get("elements") if isinstance(s.get("elements"), list) else []
        scenes.append(
            RestoredScene(
                prompt=_text(s.get("prompt")),
                duration=_num(s.get("duration"), 2.0),
                seed=seed,
                negative_prompt=_text(s.get("negative_prompt")),
                title=_text(s.get("title")),
                elements=tuple(n for n in names if isinstance(n, str) and n),
                carry_over=s.get("carry_over") is not False,
            )
        )
    elements = [
        {
            "name": e["name"],
            "kind": _text(e.get("kind")) or "character",
            "description": _text(e.get("description")),
        }
        for e in recipe.get("elements") or []
        if isinstance(e, dict) and _text(e.get("name"))
    ]
    return scenes, elements
