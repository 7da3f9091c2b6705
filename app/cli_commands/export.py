"""storyloom export FILE -o OUT [--preset NAME] [--scenes IDS | --range A-B | --take ID] ...
storyloom presets [--json]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.render import (
    FORMATS,
    PRESETS,
    MasterSettings,
    Progress,
    RenderError,
    RenderSettings,
    Transition,
    export_film,
    load_srt,
    select_scenes,
)
from app.render.settings import SPEEDS

from ._common import add_file, print_json, reading


def bitrate(text: str) -> int:
    t = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if scale > 1 else t) * scale
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"bitrate must look like 5M or 800k, got {text!r}") from e
    if value <= 0:
        raise argparse.ArgumentTypeError("the bitrate must be positive")
    return int(value)


def transition(text: str) -> Transition:
    try:
        return Transition.parse(text)
    except RenderError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def cut(text: str) -> tuple[int, Transition]:
    sid, eq, rest = text.partition("=")
    if not eq or not sid.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected SCENE_ID=KIND[:SECONDS], got {text!r}")
    return int(sid), transition(rest)


def positions(text: str) -> tuple[int, int]:
    a, dash, b = text.partition("-")
    try:
        lo, hi = int(a), int(b) if dash else int(a)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"range must look like 2-5, got {text!r}") from e
    return (lo, hi) if lo <= hi else (hi, lo)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="render the film (or part of it) to a video file")
    add_file(p)
    p.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        metavar="OUT",
        help="output file (.mp4 .webm .gif .wav), or a folder for --format png",
    )
    p.add_argument(
        "--preset",
        default="native",
        choices=sorted(PRESETS),
        help="frame size and quality (native: the project's size)",
    )
    p.add_argument("--format", choices=sorted(FORMATS), help="default: from OUT's suffix")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--scenes", help="scene ids: 4 | 4,7 | 4-9 (from scene 4 to scene 9)")
    which.add_argument(
        "--range",
        type=positions,
        metavar="START-END",
        help="timeline positions (0-based, inclusive), e.g. 0-2",
    )
    which.add_argument("--take", type=int, metavar="ID", help="export one take on its own")
    p.add_argument("--crf", type=int, help="quality: lower is better and larger")
    p.add_argument("--bitrate", type=bitrate, help="e.g. 8M (replaces --crf)")
    p.add_argument(
        "--speed",
        choices=SPEEDS,
        metavar="SPEED",
        help="x264/x265 speed preset: ultrafast ... veryslow (default: the preset's)",
    )
    p.add_argument(
        "--fit",
        choices=("fit", "fill"),
        default="fit",
        help="fit: letterbox/pillarbox; fill: crop to fill the frame",
    )
    p.add_argument(
        "--missing",
        choices=("placeholder", "refuse"),
        default="placeholder",
        help="a scene without a take: a titled card, or refuse to export",
    )
    p.add_argument(
        "--transition",
        type=transition,
        default=Transition(),
        metavar="KIND[:SECONDS]",
        help="every cut: cut | crossfade:0.5 | fade:1",
    )
    p.add_argument(
        "--cut",
        type=cut,
        action="append",
        default=[],
        metavar="ID=KIND[:SECONDS]",
        help="the cut into scene ID (repeatable)",
    )
    p.add_argument("--title-card", type=float, default=0.0, metavar="SECONDS")
    p.add_argument("--title", help="title card text (default: the project's title)")
    p.add_argument("--end-card", type=float, default=0.0, metavar="SECONDS")
    p.add_argument("--end-text", default="Made with Storyloom")
    p.add_argument("--subtitles", type=Path, metavar="SRT", help="burn in subtitles")
    p.add_argument("--no-normalise", action="store_true", help="keep the mix's level")
    p.add_argument("--no-take-audio", action="store_true", help="leave out the takes' own sound")
    p.add_argument("--no-sidecar", action="store_true", help="no OUT.recipe.json")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)

    p = sub.add_parser("presets", help="list the export presets and formats")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_presets)


def progress_line(pr: Progress) -> None:
    eta = f", {pr.eta_s:.0f} s left" if pr.eta_s is not None else ""
    sys.stderr.write(f"\r{pr.phase}: {pr.frames_done}/{pr.frames_total} frames{eta}    ")
    if pr.phase == "done":
        sys.stderr.write("\n")
    sys.stderr.flush()


def settings_from(args: argparse.Namespace, scene_ids: tuple[int, ...] | None) -> RenderSettings:
    return RenderSettings(
        preset=args.preset,
        format=args.format,
        crf=args.crf,
        bitrate=args.bitrate,
        speed=args.speed,
        fit=args.fit,
        missing=args.missing,
        transition=args.transition,
        transitions=dict(args.cut),
        title_card=args.title_card,
        title_text=args.title,
        end_card=args.end_card,
        end_text=args.end_text,
        subtitles=load_srt(args.subtitles) if args.subtitles else (),
        scenes=scene_ids,
        take=args.take,
        master=MasterSettings(
            normalise_db=None if args.no_normalise else -1.0, take_audio=not args.no_take_audio
        ),
        sidecar=not args.no_sidecar,
    )


def run(args: argparse.Namespace) -> int:
    with reading(args.file) as project:
        scene_ids = None
        if args.scenes:
            scene_ids = select_scenes(project.scenes(), args.scenes)
        elif args.range:
            scenes = project.scenes()
            lo, hi = args.range
            if lo < 0 or hi >= len(scenes):
                raise RenderError(f"range {lo}-{hi} is outside the timeline (0-{len(scenes) - 1})")
            scene_ids = tuple(s.id for s in scenes[lo : hi + 1])
        show = None if args.quiet or not sys.stderr.isatty() else progress_line
        result = export_film(project, args.output, settings_from(args, scene_ids), progress=show)
    size = f"{result.width}x{result.height} @ {result.fps:g} fps, " if result.frames else ""
    print(
        f"{result.path}  {size}{result.duration:.2f} s, {result.format}"
        f"{' with sound' if result.has_audio and result.frames else ''}"
        f" ({result.seconds:.1f} s to export)"
    )
    return 0


def list_presets(args: argparse.Namespace) -> int:
    if args.json:
        print_json(
            {
                "presets": [
                    {
                        "name": p.name,
                        "description": p.description,
                        "size": list(p.size) if p.size else None,
                        "short_side": p.short_side,
                    }
                    for p in PRESETS.values()
                ],
                "formats": [
                    {"name": f.name, "description": f.description, "suffixes": list(f.suffixes)}
                    for f in FORMATS.values()
                ],
            }
        )
        return 0
    print("presets (--preset):")
    for p in PRESETS.values():
        print(f"  {p.name:<10} {p.description}")
    print("formats (--format, or from the output's suffix):")
    for f in FORMATS.values():
        suffixes = " ".join(f.suffixes) or "(by name)"
        print(f"  {f.name:<10} {f.description}  [{suffixes}]")
    return 0
