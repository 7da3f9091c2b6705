"""The sample storyboard, built from resources/sample/storyboard.json and rendered headless
(`storyloom demo`, `make demo`).

    result, project_file = run_demo(Path("demo.mp4"))

Scenes get their takes from `generate_missing_takes` (the engine's default model); any scene
still without one gets procedural sample footage, stored as an imported take whose recipe says
"sample footage" (never dressed up as the model's output).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.project import (
    AddAudioClip,
    AddElement,
    AddScene,
    EditSettings,
    NotAProjectError,
    Project,
    ProjectLockedError,
)

from . import sample_media
from .errors import RenderError
from .export import ExportResult, Progress, export_film
from .settings import Cue, RenderSettings, Transition

FOOTAGE_SIZE = (480, 270)  # like a generated clip: smaller than the film; export scales it
SAMPLE_SOURCE = "sample footage"


def resources_dir() -> Path:
    """`resources/` as installed (the storyloom_resources package) or in a source checkout."""
    try:
        import storyloom_resources

        return Path(storyloom_resources.__file__).resolve().parent
    except ImportError:
        here = Path(__file__).resolve().parents[2] / "resources"
        if here.is_dir():
            return here
        raise RenderError("Storyloom's resources are missing: reinstall the application") from None


def load_storyboard() -> dict[str, Any]:
    path = resources_dir() / "sample" / "storyboard.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise RenderError(f"the sample storyboard {path} cannot be read ({e})") from e


def build_sample_project(path: Path, board: dict[str, Any], media: Path) -> Project:
    """A new project with the storyboard's elements, scenes (no takes yet) and audio."""
    p = Project.create(path, board["title"], size=tuple(board["size"]), fps=board["fps"])
    try:
        with p.group("Build the sample storyboard"):
            p.execute(EditSettings(style_prompt=board["style"]))
            for e in board["elements"]:
                img = sample_media.element_image(media / f"{e['name'].lower()}.png", e["image"])
                p.execute(
                    AddElement(
                        name=e["name"], description=e["description"], kind=e["kind"], images=[img]
                    )
                )
            for s in board["scenes"]:
                p.execute(
                    AddScene(
                        prompt=s["prompt"],
                        title=s["title"],
                        duration=s["duration"],
                        seed=s["seed"],
                        elements=s["elements"],
                    )
                )
            for a in board["audio"]:
                wav = sample_media.sound(media / f"{a['sound']}.wav", a["sound"], a["seconds"])
                p.execute(
                    AddAudioClip(
                        path=wav,
                        track=a["track"],
                        start=a["start"],
                        gain_db=a["gain_db"],
                        fade_in=a["fade_in"],
                        fade_out=a["fade_out"],
                    )
                )
    except BaseException:
        p.close()
        raise
    return p


def generate_missing_takes(
    project: Project,
    *,
    on_progress: Callable[[Any], None] | None = None,
    model: str | None = None,
    device: str = "auto",
) -> list[int]:
    """Generate a take with the engine (a local engine process, the default model unless
    `model` names a folder) for every scene that has none, in timeline order along the
    carry-over chain; return the ids of the scenes still without a take."""
    from app.engine_client import GenerationRunner, LocalEngine

    missing = [s.id for s in project.scenes() if s.chosen_take_id is None]
    if missing:
        with LocalEngine(model=model, device=device) as engine:
            GenerationRunner(project, engine, on_progress=on_progress).render(missing)
    return [s.id for s in project.scenes() if s.chosen_take_id is None]


def add_sample_footage(
    project: Project, scene_ids: list[int], board: dict[str, Any], media: Path
) -> list[int]:
    """Procedural footage as the take of each given scene, labelled as sample footage."""
    by_title = {s["title"]: s for s in board["scenes"]}
    takes = []
    for sid in scene_ids:
        scene = project.scene(sid)
        spec = by_title[scene.title]
        clip = sample_media.footage(
            media / f"scene{sid}.mp4",
            spec["footage"],
            scene.duration + 0.5,
            board["fps"],
            FOOTAGE_SIZE,
        )
        recipe = {
            "source": SAMPLE_SOURCE,
            "generator": "storyloom demo (procedural drawing, not the model)",
            "prompt": scene.prompt,
            "seed": None,
        }
        takes.append(project.add_take(sid, clip, recipe))
    return takes


def render_settings(board: dict[str, Any], preset: str) -> RenderSettings:
    r = board["render"]
    return RenderSettings(
        preset=preset,
        transition=Transition.parse(r["transition"]),
        title_card=r["title_card"],
        end_card=r["end_card"],
        subtitles=tuple(Cue(c["start"], c["end"], c["text"]) for c in board["subtitles"]),
    )


def _replaceable(target: Path) -> None:
    """The sample project is rebuilt each time: refuse to replace anything that is not one, or
    one that is open in a running Storyloom."""
    if not target.exists():
        return
    try:
        Project.open(target).close()
    except NotAProjectError as e:
        raise RenderError(
            f"{target} exists and is not a Storyloom project; choose another --project"
        ) from e
    except ProjectLockedError as e:
        raise RenderError(f"{target} is open in Storyloom; close it to rebuild the demo") from e


def run_demo(
    out: Path,
    project_path: Path | None = None,
    preset: str = "native",
    progress: Callable[[Progress], None] | None = None,
    generate: bool = True,
    on_generate: Callable[[Any], None] | None = None,
    on_sample_footage: Callable[[list[str]], None] | None = None,
) -> tuple[ExportResult, Path]:
    """Build the sample storyboard, generate its takes with the engine (or, with
    generate=False, give every scene procedural sample footage labelled as such), export.
    `on_sample_footage` hears the titles of the scenes that got sample footage instead."""
    out = Path(out)
    project_path = Path(project_path or out.with_suffix(".storyloom"))
    if not out.parent.is_dir():
        raise RenderError(f"the output folder {out.parent} does not exist")
    _replaceable(project_path)
    board = load_storyboard()
    building = project_path.with_name(f".{project_path.name}.{os.getpid()}.building")
    with tempfile.TemporaryDirectory(prefix="storyloom-demo-") as tmp:
        media = Path(tmp)
        project = build_sample_project(building, board, media)
        try:
            missing = [s.id for s in project.scenes()]
            if generate:
                missing = generate_missing_takes(project, on_progress=on_generate)
            add_sample_footage(project, missing, board, media)
            if missing and on_sample_footage is not None:
                on_sample_footage([project.scene(sid).title for sid in missing])
            result = export_film(project, out, render_settings(board, preset), progress=progress)
        finally:
            project.close()
    for suffix in ("-wal", "-shm"):  # a stale log of the old file must not meet the new one
        Path(f"{project_path}{suffix}").unlink(missing_ok=True)
    os.replace(building, project_path)
    return result, project_path
