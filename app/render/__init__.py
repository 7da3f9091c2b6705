"""Timeline -> film: the chosen takes in order, transitions, cards and subtitles, the mixed
sound, encoded through PyAV (no Qt, no torch; the editor and the CLI both call this).

    from app.render import RenderSettings, Transition, export_film
    export_film(project, Path("film.mp4"), RenderSettings(preset="web-720p",
                transition=Transition("crossfade", 0.5)), progress=print)

`read_recipe(path)` reads the recipe back from an exported film or a generated clip.
"""

from .errors import ExportCancelled, RenderError
from .export import ExportResult, Progress, export_film, plan_export
from .formats import FORMATS, PRESETS, OutputSpec
from .plan import Plan, select_scenes
from .provenance import RestoredScene, read_recipe, restorable, sidecar_path
from .settings import CUT, Cue, MasterSettings, RenderSettings, Transition
from .subtitles import load_srt, parse_srt

__all__ = [
    "CUT",
    "FORMATS",
    "PRESETS",
    "Cue",
    "ExportCancelled",
    "ExportResult",
    "MasterSettings",
    "OutputSpec",
    "Plan",
    "Progress",
    "RenderError",
    "RenderSettings",
    "Transition",
    "export_film",
    "load_srt",
    "parse_srt",
    "plan_export",
    "read_recipe",
    "restorable",
    "RestoredScene",
    "select_scenes",
    "sidecar_path",
]
